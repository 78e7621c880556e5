"""Controlled vocabularies: the canonical code stored in the database and the spellings staff use.

Staff write French (`pourcentage`, `hausse`), the reference tables use English codes
(`percent`, `higher_better`): both are accepted, and only the canonical code is stored.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower-case, accent-free, trimmed form used to compare headers and vocabulary."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def _aliases(table: dict[str, list[str]]) -> dict[str, str]:
    out = {}
    for code, spellings in table.items():
        for s in [code, *spellings]:
            out[fold(s)] = code
    return out


UNITS = {
    "count": ["nombre", "effectif", "volume", "nb"],
    "percent": ["pourcentage", "%", "pourcent", "part"],
    "rate": ["taux"],
    "ratio": ["indice"],
    "score": ["note"],
    "eur": ["euros", "euro", "€"],
    "bool": ["booleen", "oui/non"],
    "text": ["texte"],
    "composite": ["compose"],
}
POLARITIES = {
    "higher_better": ["hausse", "plus haut mieux", "croissant"],
    "lower_better": ["baisse", "plus bas mieux", "decroissant"],
    "neutral": ["neutre"],
}
INDICATOR_TYPES = {
    "realisation": [], "resultat": [], "impact": [], "contexte": [], "moyens": [],
}
NATURES = {
    "reference": ["situation de reference", "ref", "baseline"],
    "cible": ["situation visee", "objectif", "target", "visee"],
    "realise": ["realisee", "valeur", "constate", "actual"],
}
STATUSES = {
    "valide": ["validee", "definitif", "definitive"],
    "provisoire": ["provisional"],
    "non_disponible": ["nd", "n.d.", "n d", "non disponible", "indisponible"],
    "secret_statistique": ["secret", "s", "secret statistique"],
    "demo": ["demonstration"],
}
TERRITORY_KINDS = {
    "qpv": ["quartier prioritaire"],
    "quartier_veille": ["quartier de veille", "veille active", "quartier veille"],
    "quartier_cucs": ["cucs", "quartier cucs"],
    "commune": ["ville"],
    "arrondissement_municipal": ["arrondissement", "arrondissement municipal"],
    "epci": ["intercommunalite", "agglomeration", "communaute de communes"],
    "bassin_emploi": ["bassin d'emploi", "bassin"],
    "aire_urbaine": ["aire urbaine"],
    "departement": [],
    "academie": [],
    "region": [],
    "france": ["national"],
    "autre": [],
}
GEOGRAPHIES = {"cucs": [], "qpv2015": ["2015"], "qpv2024": ["2024"]}
CATEGORIES = {"objectif": ["objective"], "action": ["fiche projet"]}

ALIASES = {
    "unit": _aliases(UNITS),
    "polarity": _aliases(POLARITIES),
    "type": _aliases(INDICATOR_TYPES),
    "nature": _aliases(NATURES),
    "status": _aliases(STATUSES),
    "kind": _aliases(TERRITORY_KINDS),
    "geography": _aliases(GEOGRAPHIES),
    "category": _aliases(CATEGORIES),
}

# French labels shown to users, from the canonical codes.
LABELS = {
    "unit": {"count": "nombre", "percent": "pourcentage", "rate": "taux", "ratio": "ratio",
             "score": "score", "eur": "euros", "bool": "oui/non", "text": "texte",
             "composite": "composé"},
    "polarity": {"higher_better": "plus haut = mieux", "lower_better": "plus bas = mieux",
                 "neutral": "neutre"},
    "nature": {"reference": "Situation de référence", "cible": "Situation visée",
               "realise": "Réalisé"},
    "status": {"valide": "validé", "provisoire": "provisoire",
               "non_disponible": "non disponible", "secret_statistique": "secret statistique",
               "demo": "démonstration"},
    "type": {"realisation": "réalisation", "resultat": "résultat", "impact": "impact",
             "contexte": "contexte", "moyens": "moyens"},
    "kind": {"qpv": "QPV", "quartier_veille": "quartier de veille",
             "quartier_cucs": "quartier (CUCS)", "commune": "commune",
             "arrondissement_municipal": "arrondissement municipal", "epci": "EPCI",
             "bassin_emploi": "bassin d'emploi", "aire_urbaine": "aire urbaine",
             "departement": "département", "academie": "académie", "region": "région",
             "france": "France", "autre": "autre"},
}



def labelled(kind: str, codes):
    """A column (pandas Series) of `kind` codes as their French labels; an unknown code as
    it is."""
    return codes.map(LABELS[kind]).fillna(codes)


# Territory kinds that are quartiers (the others are reference territories), and units whose
# values compare across territories (a count is compared per inhabitant or as a share).
QUARTIER_KINDS = ("qpv", "quartier_veille", "quartier_cucs")
COMPARABLE_UNITS = ("percent", "rate", "ratio", "score")
# Units whose values are numbers a yearly template asks for (not texts or composites).
MEASURABLE_UNITS = ("count", "percent", "rate", "ratio", "score", "eur")


def sql_list(codes) -> str:
    """('a', 'b'): a list of these codes inside a query (they are ours, never user input)."""
    return "(" + ", ".join("'" + c.replace("'", "''") + "'" for c in codes) + ")"


# Territory kinds as a quartier's page titles them (LABELS["kind"] is the short form).
KIND_TITLES = {
    "qpv": "Quartier prioritaire de la politique de la ville (QPV)",
    "quartier_veille": "Quartier de veille active",
    "quartier_cucs": "Quartier du contrat urbain de cohésion sociale (CUCS)",
    "commune": "Commune", "arrondissement_municipal": "Arrondissement municipal",
    "epci": "Intercommunalité (EPCI)", "bassin_emploi": "Bassin d'emploi",
    "aire_urbaine": "Aire urbaine", "departement": "Département", "academie": "Académie",
    "region": "Région", "france": "France", "autre": "Autre territoire",
}
GEOGRAPHY_TITLES = {
    "cucs": "Géographie des CUCS (avant 2015)",
    "qpv2015": "Géographie prioritaire 2015",
    "qpv2024": "Géographie prioritaire 2024",
}

# Status codes that carry no number: the value is missing by nature, never imputed.
NO_VALUE_STATUSES = {"non_disponible", "secret_statistique"}
