"""Build the four contract workbooks of data/contrats/ from the shared reference tables.

    .venv/bin/python tools/build_contracts.py

Reads ../shared/reference (tables rebuilt from the seed documents, with line references) and
checks some wording against ../shared/seeds, then writes amboise.xlsx, ales.xlsx, blois.xlsx
and tmvl.xlsx in the format of docs/format-classeur.md (sheets contrat, territoires,
arborescence, indicateurs, valeurs). The output is deterministic: same rows, same order and
the same bytes on every run (fixed document dates and zip timestamps).

Choices made where the reference is uncertain are written in the rows themselves (`note`,
`source`, `commentaire`) and listed by `--verbose` at the end of the run.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from collections import Counter
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REF = SHARED / "reference"
SEEDS = SHARED / "seeds"
OUT = ROOT / "data" / "contrats"

COLUMNS = {
    "contrat": ["code", "nom", "periode_debut", "periode_fin", "annee_reference", "annee_cible",
                "generation", "niveaux", "seuil_bonne_voie", "seuil_acceleration", "source"],
    "territoires": ["code", "libelle", "type", "geographie", "population", "annee_population",
                    "references", "anciens_codes", "source"],
    "arborescence": ["code", "parent", "niveau", "categorie", "libelle", "ordre", "source"],
    "indicateurs": ["code", "libelle", "unite", "polarite", "type", "objectifs", "parent",
                    "ventilations", "definition", "source", "frequence", "note"],
    "valeurs": ["indicateur", "territoire", "annee", "nature", "valeur", "ventilation",
                "modalite", "statut", "formulation", "source", "commentaire"],
}

INFERRED = "unité/polarité/type proposés, à vérifier"
ND_COMMENT = "Année non précisée dans la source ; rattachée à l'année du contrat (2015)"
FIXED_DATE = datetime(2015, 1, 1)
ZIP_DATE = (2015, 1, 1, 0, 0, 0)

# Everything left out of the workbooks, with the reason (printed at the end of the run).
SKIPPED: list[str] = []
DECISIONS: list[str] = []


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def clean(text: str) -> str:
    """Typographic apostrophes -> ', runs of whitespace -> one space (CONTRACTS.md rules)."""
    return " ".join(text.replace("\u2019", "'").replace("\u00a0", " ").split())


def seed_text(seed: str, first: int, last: int | None = None) -> str:
    """Lines first..last (1-based, inclusive) of a seed file, joined and cleaned."""
    path = next(SEEDS.glob(f"{seed}_*.txt"))
    lines = path.read_text(encoding="utf-8").splitlines()
    return clean(" ".join(lines[first - 1:(last or first)]))


def join(parts, sep: str = " ; ") -> str | None:
    kept = [p for p in parts if p]
    return sep.join(kept) if kept else None


def split_outside_parens(text: str, sep: str = ";") -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def breakdowns(text: str) -> tuple[str | None, str | None]:
    """'sexe (F/H); type (entreprise / association)' -> ('sexe;type', detail kept for the note).

    Keys are the words before any parenthesis; every `sexe…` variant becomes `sexe`.
    """
    if not text:
        return None, None
    keys: list[str] = []
    for part in split_outside_parens(text):
        key = re.sub(r"\s*\(.*\)\s*$", "", part).strip()
        if key.startswith("sexe"):
            key = "sexe"
        if key and key not in keys:
            keys.append(key)
    joined = ";".join(keys)
    detail = None if joined == ";".join(split_outside_parens(text)) else text
    return joined or None, detail


def seed_refs(prefix: str, refs: str) -> str | None:
    """'L293;L313' -> '001 L293; 001 L313'."""
    items = [r.strip() for r in refs.replace(",", ";").split(";") if r.strip()]
    return "; ".join(f"{prefix} {r}" for r in items) if items else None


UNIT_MAP = {"volume": "count"}


def unit_of(raw: str, notes: list[str]) -> str:
    if raw in UNIT_MAP:
        notes.append(f"unité d'origine « {raw} » codée {UNIT_MAP[raw]} (nombre)")
    return UNIT_MAP.get(raw, raw)


def polarity_of(raw: str, notes: list[str]) -> str:
    if raw == "target_range":
        notes.append("polarité d'origine « target_range » (mieux jusqu'à une cible, p. ex. la "
                     "parité) codée neutre : pas de statut automatique")
        return "neutral"
    return raw


def type_of(raw: str, notes: list[str]) -> str:
    if "/" in raw:
        first = raw.split("/")[0].strip()
        notes.append(f"type proposé « {raw} » : premier retenu ({first})")
        return first
    if "(" in raw:
        return raw.split("(")[0].strip()
    return raw


# --------------------------------------------------------------------------------------------
# Amboise
# --------------------------------------------------------------------------------------------

def build_amboise() -> dict[str, list[dict]]:
    d = REF / "amboise"
    hier = read_csv(d / "amboise_hierarchie.csv")
    prios = {r["priorite_num"]: r for r in read_csv(d / "amboise_priorites_variantes.csv")}
    actions = read_csv(d / "amboise_actions.csv")
    inds = read_csv(d / "amboise_indicateurs.csv")
    terrs = read_csv(d / "amboise_territoires.csv")
    figures = read_csv(d / "amboise_valeurs_chiffrees.csv")

    title = seed_text("001", 5, 13)
    assert "Protocole d'engagements réciproques et renforcés" in title, title
    contrat = [{
        "code": "AMBOISE-2015",
        "nom": "Contrat de Ville 2015 > 2022 – Amboise – Protocole d'engagements réciproques "
               "et renforcés – Novembre 2019",
        "periode_debut": 2015, "periode_fin": 2022,
        "annee_reference": 2019, "annee_cible": 2022, "generation": "2015-2022",
        "niveaux": "pilier > priorité > objectif spécifique > action",
        "source": "Contrat de ville d'Amboise 2015-2022 (seed 000, tableau des objectifs, "
                  "L1-403) et Protocole d'engagements réciproques et renforcés, novembre 2019 "
                  "(seed 001, L5-13 titre ; L50 prolongation à 2022 ; L299 situation de "
                  "référence 2019 et situation visée 2022)",
    }]

    # Territories: amboise_territoires.csv, with the unverified commune population left out.
    kinds = {"autre (pays / CLS)": "autre"}
    refs = {
        "AMB-QPV-PO": "AMB-COM;AMB-CCVA;AMB-BASSIN;DEP-37",
        "AMB-QPV-VE": "AMB-COM;AMB-CCVA;AMB-BASSIN;DEP-37",
        "AMB-COM": "AMB-CCVA;AMB-BASSIN;DEP-37",
        "AMB-CCVA": "DEP-37", "AMB-BASSIN": "DEP-37", "PAYS-LT": "DEP-37",
        "DEP-37": "REG-24;FR", "REG-24": "FR",
    }
    territoires = []
    for t in terrs:
        pop = t["population"]
        source = [t["src_001"] or None, t["note"] or None]
        population = None
        if pop and pop.isdigit():
            population = int(pop)
            source.append(f"population : {t['src_001']}, millésime non précisé "
                          "(géographie prioritaire 2015)")
        elif pop:
            source.append(f"population non renseignée : la table de référence propose "
                          f"« {pop} », valeur dérivée non vérifiée, à remplacer par la "
                          "population légale INSEE")
        kind = kinds.get(t["type"], t["type"])
        territoires.append({
            "code": t["territory_id"], "libelle": t["libelle"], "type": kind,
            "geographie": "qpv2015" if kind == "qpv" else None,
            "population": population, "annee_population": None,
            "references": refs.get(t["territory_id"]), "source": join(source),
        })
    DECISIONS.append("Amboise : population d'AMB-COM laissée vide (≈13 600 dérivé de « environ "
                     "20 % », non vérifié) ; années de population des 2 QPV vides (millésime "
                     "non précisé) ; PAYS-LT typé « autre ».")

    # Tree: pillar > priority > objectif spécifique > action.
    arbo: list[dict] = []
    pillars: dict[str, str] = {}
    for r in hier:
        pillars.setdefault(r["pilier_code"], r["pilier"])
    for i, (code, label) in enumerate(pillars.items(), 1):
        arbo.append({"code": code, "parent": None, "niveau": "pilier", "categorie": "objectif",
                     "libelle": label, "ordre": i,
                     "source": "001 L167-174 (tableau piliers / priorités)"})
    seen_prio: Counter = Counter()
    done: set[str] = set()
    for r in hier:
        p = r["priorite_num"]
        if p in done:
            continue
        done.add(p)
        seen_prio[r["pilier_code"]] += 1
        pv = prios[p]
        arbo.append({"code": p, "parent": r["pilier_code"], "niveau": "priorité",
                     "categorie": "objectif", "libelle": r["priorite_titre"],
                     "ordre": seen_prio[r["pilier_code"]],
                     "source": join([seed_refs("000", pv["src_000"]),
                                     seed_refs("001", pv["src_001"]),
                                     f"variantes : {pv['variantes']}" if pv["variantes"] else
                                     None])})
    os_rank: Counter = Counter()
    for r in hier:
        os_rank[r["priorite_num"]] += 1
        arbo.append({"code": r["os_code"], "parent": r["priorite_num"],
                     "niveau": "objectif spécifique", "categorie": "objectif",
                     "libelle": r["os_titre"], "ordre": os_rank[r["priorite_num"]],
                     "source": join([seed_refs("000", r["src_000"]),
                                     seed_refs("001", r["src_001"]),
                                     f"variantes : {r['os_variantes']}" if r["os_variantes"]
                                     else None])})
    act_rank: Counter = Counter()
    for a in actions:
        act_rank[a["os_code"]] += 1
        variant = a["variante_000"]
        arbo.append({"code": a["action_code"], "parent": a["os_code"], "niveau": "action",
                     "categorie": "action", "libelle": a["action_001"],
                     "ordre": act_rank[a["os_code"]],
                     "source": join([seed_refs("000", a["src_000"]),
                                     seed_refs("001", a["src_001"]),
                                     f"000 : {variant}" if variant and variant != "idem"
                                     else None])})

    # Indicators: all 89 rows, composite parents kept.
    indicateurs = []
    for r in inds:
        notes = [INFERRED]
        unite = unit_of(r["unite"], notes)
        polarite = polarity_of(r["polarite"], notes)
        typ = type_of(r["type_infere"], notes)
        objectifs = [r["priorite"]] + [o.strip() for o in r["os_infere"].split(";") if o]
        if r["os_infere"]:
            notes.append(f"rattachement à l'objectif spécifique {r['os_infere']} inféré "
                         "(le contrat rattache ses indicateurs à la priorité)")
        vent, detail = breakdowns(r["ventilation"])
        if detail:
            notes.append(f"ventilations détaillées : {detail}")
        if r["decoupage"] not in ("", "simple"):
            notes.append(f"découpage : {r['decoupage']}")
        notes.append(r["note"] or None)
        notes.append(join([seed_refs("000", r["src_000"]), seed_refs("001", r["src_001"])],
                          "; "))
        indicateurs.append({
            "code": r["indicator_id"], "libelle": r["libelle"], "unite": unite,
            "polarite": polarite, "type": typ, "objectifs": ";".join(objectifs),
            "parent": r["parent_id"] or None, "ventilations": vent,
            "definition": join([f"Échelle : {r['echelle']}" if r["echelle"] else None,
                                f"comparaison : {r['comparaison']}" if r["comparaison"]
                                else None]),
            "source": r["source_probable"] or None, "frequence": r["frequence"] or None,
            "note": join(notes),
        })

    # Values: only the measurements of amboise_valeurs_chiffrees.csv tied to an indicator.
    kept = {
        "AMB-V14": ("AMB-P5-06", ["AMB-QPV-PO", "AMB-QPV-VE"], 2019,
                    "2 passages par semaine (ramassage des corbeilles par les services "
                    "municipaux dans les deux quartiers, 2e passage expérimenté depuis juin "
                    "2019) : valeur hebdomadaire, pas un total annuel ; période de référence de "
                    "l'indicateur à préciser (AMB-V14)"),
        "AMB-V16": ("AMB-P4-05a", ["AMB-COM"], 2019,
                    "5 acteurs majeurs du réseau premier accueil : Ville, CCAS, MDS, Centre "
                    "social, ASHAJ (AMB-V16)"),
    }
    reasons = {
        "AMB-V01": "population : va dans territoires (AMB-QPV-PO)",
        "AMB-V02": "population : va dans territoires (AMB-QPV-VE)",
        "AMB-V03": "part de population (≈20 %) : contexte, aucun indicateur du contrat",
        "AMB-V04": "nombre de QPV : contexte, aucun indicateur",
        "AMB-V05": "nombre de QPV de TMVL : contexte, aucun indicateur",
        "AMB-V06": "nombre de QPV du département : contexte, aucun indicateur",
        "AMB-V07": "enveloppe budgétaire de la Ville : moyens, aucun indicateur du contrat",
        "AMB-V08": "dotation départementale : moyens, aucun indicateur",
        "AMB-V09": "actions cofinancées dans le département : aucun indicateur",
        "AMB-V10": "structures pilotes dans le département : aucun indicateur",
        "AMB-V11": "postes d'adultes-relais : moyens, aucun indicateur",
        "AMB-V12": "participation de l'État par poste : moyens, aucun indicateur",
        "AMB-V13": "délégués du Préfet : moyens, aucun indicateur",
        "AMB-V15": "fréquence d'enlèvement des encombrants (1/semaine) : AMB-P5-08 mesure un "
                   "volume, pas une fréquence",
        "AMB-V17": "0 maison de santé : référence implicite inférée, pas une mesure",
        "AMB-V18": "0 halte-garderie : référence implicite inférée, pas une mesure",
        "AMB-V19": "jalon (année de création d'un poste), pas une valeur",
        "AMB-V20": "tranche d'âge (paramètre), pas une valeur",
        "AMB-V21": "époque de construction (contexte), pas une valeur",
        "AMB-V22": "jalon (année), pas une valeur",
        "AMB-V23": "jalon (année), pas une valeur",
        "AMB-V24": "année cible du contrat (dans l'onglet contrat)",
        "AMB-V25": "année de référence du contrat (dans l'onglet contrat)",
        "AMB-V26": "référentiel national (40 actions), pas une valeur du contrat",
    }
    valeurs = []
    for f in figures:
        if f["id"] in kept:
            ind, territories, year, comment = kept[f["id"]]
            for terr in territories:
                valeurs.append({
                    "indicateur": ind, "territoire": terr, "annee": year, "nature": "realise",
                    "valeur": int(float(f["valeur"])), "statut": "valide",
                    "source": "Protocole d'engagements réciproques et renforcés, Amboise, "
                              f"novembre 2019 ; {f['src']}",
                    "commentaire": comment,
                })
        else:
            SKIPPED.append(f"Amboise {f['id']} ({f['valeur']} {f['unite']}) : "
                           f"{reasons.get(f['id'], 'pas de mesure rattachable')}")
    return {"contrat": contrat, "territoires": territoires, "arborescence": arbo,
            "indicateurs": indicateurs, "valeurs": valeurs}


# --------------------------------------------------------------------------------------------
# Alès
# --------------------------------------------------------------------------------------------

def build_ales() -> dict[str, list[dict]]:
    d = REF / "ales"
    orients = read_csv(d / "ales_orientations.csv")
    hier = read_csv(d / "ales_hierarchie.csv")
    inds = read_csv(d / "ales_indicateurs.csv")

    assert "plan d'action 2015-2020 du contrat de ville d'Alès" in seed_text("002", 3, 4)
    contrat = [{
        "code": "ALES-2015",
        "nom": "Contrat de ville d'Alès Agglomération – Plan d'action 2015-2020",
        "periode_debut": 2015, "periode_fin": 2020, "annee_reference": None,
        "annee_cible": None, "generation": "2015-2022",
        "niveaux": "pilier > orientation > objectif opérationnel > action",
        "source": "Plan d'action 2015-2020 du contrat de ville d'Alès Agglomération (seed 002, "
                  "L3 ; tableau récapitulatif L88-143 ; plan L144-1092 ; Cahier 4 fiches "
                  "actions L1093-4312). Aucune situation de référence ni cible chiffrée.",
    }]
    territoires = [
        {"code": "ALS-COM", "libelle": "Alès", "type": "commune", "references": "ALS-AGGLO",
         "source": "002 (« faubourgs d'Alès », L749) ; le plan ne nomme aucun QPV : les QPV "
                   "doivent venir du référentiel national (décret n° 2014-1750, SIG Ville)"},
        {"code": "ALS-AGGLO", "libelle": "Alès Agglomération", "type": "epci",
         "source": "002 L3 ; QPV de l'agglomération à charger depuis le référentiel national"},
    ]
    DECISIONS.append("Alès : seuls la commune (ALS-COM) et l'EPCI (ALS-AGGLO) ; aucun QPV "
                     "(le plan n'en nomme pas).")

    arbo: list[dict] = []
    pillar_lines = {"1": 146, "2": 597, "3": 792, "4": 990}
    pillars: dict[str, str] = {}
    for o in orients:
        pillars.setdefault(o["pilier_num"], o["pilier"])
    for code, label in pillars.items():
        arbo.append({"code": code, "parent": None, "niveau": "pilier", "categorie": "objectif",
                     "libelle": label, "ordre": int(code),
                     "source": f"002 L{pillar_lines[code]} ; tableau récapitulatif L88-143"})
    rank: Counter = Counter()
    for o in orients:
        rank[o["pilier_num"]] += 1
        arbo.append({"code": o["orientation_code"], "parent": o["pilier_num"],
                     "niveau": "orientation", "categorie": "objectif",
                     "libelle": o["orientation"], "ordre": rank[o["pilier_num"]],
                     "source": f"002 L{o['src_line']} ({o['nb_oo_annonce']} objectifs "
                               f"opérationnels et {o['nb_actions_annonce']} actions annoncés)"})
    oo_seen: set[str] = set()
    for r in hier:
        if r["oo_code"] not in oo_seen:
            oo_seen.add(r["oo_code"])
            rank[r["orientation_code"]] += 1
            no_action = None if r["action_code"] else r["note"]
            arbo.append({"code": r["oo_code"], "parent": r["orientation_code"],
                         "niveau": "objectif opérationnel", "categorie": "objectif",
                         "libelle": r["objectif_operationnel"],
                         "ordre": rank[r["orientation_code"]],
                         "source": join([f"002 L{r['oo_src_line']}", no_action])})
        if r["action_code"]:
            rank[r["oo_code"]] += 1
            src = f"002 L{r['action_src_line']}" if r["action_src_line"].isdigit() else None
            arbo.append({"code": r["action_code"], "parent": r["oo_code"], "niveau": "action",
                         "categorie": "action", "libelle": r["action"],
                         "ordre": rank[r["oo_code"]],
                         "source": join([src, r["note"] or None])})

    indicateurs = []
    for r in inds:
        notes = [INFERRED]
        unite = unit_of(r["unite"], notes)
        polarite = polarity_of(r["polarite"], notes)
        typ = type_of(r["type_infere"], notes)
        objectifs = [r["orientation_code"]]
        if r["oo_code_infere"]:
            objectifs.append(r["oo_code_infere"])
            notes.append(f"rattachement à l'objectif opérationnel {r['oo_code_infere']} inféré "
                         f"(confiance {r['confiance_rattachement']}) ; l'orientation est "
                         "explicite")
        vent, detail = breakdowns(r["ventilation"])
        if detail:
            notes.append(f"ventilations détaillées : {detail}")
        notes.append(r["note"] or None)
        notes.append(f"002 {r['src_line']}")
        indicateurs.append({
            "code": r["ind_id"], "libelle": r["libelle"], "unite": unite,
            "polarite": polarite, "type": typ, "objectifs": ";".join(objectifs),
            "parent": None, "ventilations": vent,
            "definition": f"Indicateur de la fiche action de l'orientation "
                          f"{r['orientation_code']} (rubrique « EVALUATION / INDICATEURS »)",
            "source": "opérateurs des actions (bilans annuels)",
            "frequence": "annuelle (bilan d'action, proposée)",
            "note": join(notes),
        })
    return {"contrat": contrat, "territoires": territoires, "arborescence": arbo,
            "indicateurs": indicateurs, "valeurs": []}


# --------------------------------------------------------------------------------------------
# Tours Métropole Val de Loire
# --------------------------------------------------------------------------------------------


def _de(word: str) -> str:
    """« de » before a word, elided before a vowel: « d'impact », « de résultat »."""
    return f"d'{word}" if word[:1].lower() in "aeiouyàâéèêëîïôûü" else f"de {word}"


def build_tmvl() -> dict[str, list[dict]]:
    d = REF / "tmvl"
    fields = {r["field_key"]: r for r in read_csv(d / "tmvl_fiche_projet_champs.csv")}
    inds = read_csv(d / "tmvl_indicateurs.csv")
    assert seed_text("004", 2) == "Contrat de ville TMVL 2024-2030"
    contrat = [{
        "code": "TMVL-2024", "nom": "Contrat de ville TMVL 2024-2030",
        "periode_debut": 2024, "periode_fin": 2030, "annee_reference": None,
        "annee_cible": None, "generation": "2024-2030",
        "niveaux": "enjeu > orientation > fiche projet",
        "source": "Contrat de ville Tours Métropole Val de Loire 2024-2030, fiche projet "
                  "n° 3.2.1 (seed 004, L2-275)",
    }]
    territoires = [{
        "code": "TMVL-EPCI", "libelle": "Tours Métropole Val de Loire", "type": "epci",
        "source": "004 L2 ; la fiche vise les « Habitants des QPV » sans les nommer (L111-115) : "
                  "QPV 2024 à charger depuis le référentiel national ; 10 QPV en géographie "
                  "2015 selon 001 L183",
    }]
    arbo = [
        {"code": "3", "parent": None, "niveau": "enjeu", "categorie": "objectif",
         "libelle": fields["enjeu"]["valeur_fiche_3.2.1"], "ordre": 1,
         "source": f"004 {fields['enjeu']['src_004']}"},
        {"code": "3.2", "parent": "3", "niveau": "orientation", "categorie": "objectif",
         "libelle": fields["orientation_strategique"]["valeur_fiche_3.2.1"], "ordre": 1,
         "source": f"004 {fields['orientation_strategique']['src_004']}"},
        {"code": "3.2.1", "parent": "3.2", "niveau": "fiche projet", "categorie": "action",
         "libelle": fields["titre"]["valeur_fiche_3.2.1"], "ordre": 1,
         "source": f"004 {fields['titre']['src_004']} ; pilote : "
                   f"{fields['pilote']['valeur_fiche_3.2.1']} ; période 2024-2030"},
    ]
    indicateurs = []
    for r in inds:
        notes = ["unité/polarité proposées, à vérifier (type donné par la fiche)"]
        vent, detail = breakdowns(r["ventilation"])
        if detail:
            notes.append(f"ventilations détaillées (proposées) : {detail}")
        notes += [r["note"] or None, f"004 {r['src_004']}"]
        indicateurs.append({
            "code": r["indicator_id"], "libelle": r["libelle"], "unite": r["unite"],
            "polarite": r["polarite"], "type": r["type"], "objectifs": "3.2.1",
            "parent": None, "ventilations": vent,
            "definition": f"Indicateur {_de(r['type'])} de la fiche projet 3.2.1 ; échelle : "
                          f"{r['echelle']}",
            "source": r["source_probable"] or None, "frequence": None,
            "note": join(notes),
        })
    return {"contrat": contrat, "territoires": territoires, "arborescence": arbo,
            "indicateurs": indicateurs, "valeurs": []}


# --------------------------------------------------------------------------------------------
# Blois
# --------------------------------------------------------------------------------------------

BLOIS_ENJEUX = {  # enjeu -> (title line, [(first, last) line of each "Axe stratégique n"])
    1: (958, [(959, 960), (962, 963), (965, 966), (968, 970)]),
    2: (1021, [(1022, 1023), (1025, 1026), (1028, 1030), (1032, 1033), (1035, 1035),
               (1037, 1038), (1040, 1041)]),
    3: (1103, [(1104, 1107), (1109, 1111), (1113, 1115), (1117, 1119), (1121, 1122)]),
    4: (1212, [(1213, 1214), (1216, 1218), (1220, 1222), (1224, 1225), (1227, 1228),
               (1230, 1231)]),
    5: (1320, [(1321, 1322), (1324, 1326), (1328, 1329), (1331, 1332), (1334, 1336),
               (1338, 1338), (1340, 1340)]),
}

# The 25 national follow-up indicators of the State cards (Annexe 6, « INDICATEURS DE SUIVI »):
# (seed lines, card, unit, polarity, type, axes, extra note)
BLOIS_NATIONAL = [
    ((3525, 3525), "Éducation nationale – DSDEN 41 (BOP 140)", "percent", "higher_better",
     "moyens", "E4.A3", None),
    ((3526, 3526), "Éducation nationale – DSDEN 41 (BOP 140)", "percent", "higher_better",
     "moyens", "E4.A3", None),
    ((3911, 3911), "DT ARS 41", "percent", "higher_better", "réalisation", "E2.A5", None),
    ((3912, 3912), "DT ARS 41", "count", "higher_better", "réalisation", "E2.A5", None),
    ((3913, 3915), "DT ARS 41", "count", "higher_better", "réalisation", "E5.A7",
     "fréquence « annuelle » inscrite dans le libellé"),
    ((3973, 3973), "CAF 41 (CNAF)", "count", "higher_better", "réalisation", "E4.A1",
     "deux nombres dans un même libellé (places nouvelles, places rénovées) : saisir chacun "
     "avec la ventilation « type de place » (nouvelle / rénovée)"),
    ((4342, 4342), "DDCSPP 41 (BOP 163, CNDS, 137, 104, 177)", "count", "higher_better",
     "résultat", "E5.A3", None),
    ((4343, 4343), "DDCSPP 41 (BOP 163, CNDS, 137, 104, 177)", "count", "higher_better",
     "résultat", "E5.A3", "sous-ensemble féminin de l'indicateur précédent"),
    ((4344, 4344), "DDCSPP 41 (BOP 163, CNDS, 137, 104, 177)", "percent", "higher_better",
     "moyens", "E5.A3", "part de crédits (en €)"),
    ((4345, 4345), "DDCSPP 41 (BOP 163, CNDS, 137, 104, 177)", "percent", "higher_better",
     "résultat", "E4.A5", None),
    ((4346, 4346), "DDCSPP 41 (BOP 163, CNDS, 137, 104, 177)", "count", "higher_better",
     "réalisation", "E2.A3", None),
    ((4347, 4347), "DDCSPP 41 (BOP 163, CNDS, 137, 104, 177)", "count", "higher_better",
     "résultat", "E2.A1", None),
    ((4771, 4771), "UT DIRECCTE 41 (BOP 102)", "percent", "higher_better", "résultat", "E3.A5",
     "objectif chiffré cité ailleurs : 20 % des jeunes des QPV en emplois d'avenir "
     "(003 l. 1189, 4731)"),
    ((4772, 4772), "UT DIRECCTE 41 (BOP 102)", "percent", "higher_better", "résultat", "E3.A2",
     None),
    ((4773, 4773), "UT DIRECCTE 41 (BOP 102)", "percent", "higher_better", "résultat", "E3.A2",
     None),
    ((4774, 4774), "UT DIRECCTE 41 (BOP 102)", "count", "higher_better", "résultat", "E3.A4",
     None),
    ((4951, 4952), "Justice – Procureur / DPJJ 41 / SPIP (BOP 182-107-101)", "count",
     "higher_better", "réalisation", None, None),
    ((4954, 4955), "Justice – Procureur / DPJJ 41 / SPIP (BOP 182-107-101)", "count",
     "higher_better", "réalisation", None, None),
    ((4957, 4957), "Justice – Procureur / DPJJ 41 / SPIP (BOP 182-107-101)", "count",
     "higher_better", "réalisation", None, None),
    ((4958, 4958), "Justice – Procureur / DPJJ 41 / SPIP (BOP 182-107-101)", "count",
     "higher_better", "réalisation", None, None),
    ((5077, 5077), "Intérieur – DDSP 41 (BOP 176-152)", "count", "higher_better", "moyens",
     None, None),
    ((5078, 5078), "Intérieur – DDSP 41 (BOP 176-152)", "count", "higher_better", "moyens",
     None, None),
    ((5079, 5079), "Intérieur – DDSP 41 (BOP 176-152)", "count", "higher_better", "moyens",
     None, None),
    ((5080, 5080), "Intérieur – DDSP 41 (BOP 176-152)", "count", "neutral", "contexte", None,
     "« Blois n'a pas été retenue pour avoir un ou des quartiers en ZSP » (003 l. 4964)"),
    ((5289, 5290), "Pôle emploi", "percent", "higher_better", "réalisation", "E3.A3",
     "parenthèse non fermée dans la source [sic]"),
]

# Blois territories: code, label, kind, geography, population, population year, refs, source.
BLO_REFS_QPV = "BLO-COM;BLO-AGGLOPOLYS;BLO-DEP-41;BLO-REG-24;BLO-FR"
BLO_REFS_CUCS = "BLO-CUCS-RESTE;BLO-COM;BLO-AGGLOPOLYS;BLO-DEP-41"
BLO_REFS_VEILLE = "BLO-COM;BLO-AGGLOPOLYS;BLO-DEP-41"
T1_SRC = "INSEE – par IRIS, 2011 ; 003 l. 192-234 (tableau « Population par quartier »)"
BLOIS_TERRITORIES = [
    ("BLO-QPV-NORD", "Quartiers nord (QPV : Bégon, Croix Chevalier, Kennedy, Coty)", "qpv",
     "qpv2015", 10880, None, BLO_REFS_QPV,
     "003 l. 756-777 (« les quartiers nord de la Ville de Blois », 10 880 habitants, "
     "millésime non précisé) ; code QPV officiel absent du document : à prendre dans la liste "
     "du décret n° 2014-1750 / SIG Ville"),
    ("BLO-VEILLE-QUINIERE", "Quinière (quartier de veille active)", "quartier_veille",
     "qpv2015", None, None, BLO_REFS_VEILLE,
     "003 l. 789-815, fiche quartier l. 845-891 (sorti de la géographie prioritaire : revenus "
     "au-dessus du seuil)"),
    ("BLO-VEILLE-CORNILLETTES", "Les Cornillettes (quartier de veille active)",
     "quartier_veille", "qpv2015", 2319, 2011, BLO_REFS_VEILLE,
     "003 l. 789-815, fiche quartier l. 895-933 (2 319 habitants, l. 915 ; sorti car moins de "
     "1 000 habitants sous le seuil de revenu, méthode carroyée)"),
    ("BLO-VEILLE-VIENNE", "Quartier Vienne (quartier de veille active)", "quartier_veille",
     "qpv2015", None, None, BLO_REFS_VEILLE,
     "003 l. 812 (ancien quartier politique de la ville sorti sur le critère de revenu)"),
    ("BLO-CUCS-NORD", "Quartiers Nord (CUCS : Croix Chevalier, Sarrazines, Coty, Kennedy)",
     "quartier_cucs", "cucs", 11766, 2011, BLO_REFS_CUCS, T1_SRC),
    ("BLO-CUCS-CROIX-CHEVALIER", "Croix Chevalier", "quartier_cucs", "cucs", 3780, 2011,
     BLO_REFS_CUCS, T1_SRC),
    ("BLO-CUCS-SARRAZINES", "Sarrazines", "quartier_cucs", "cucs", 1562, 2011, BLO_REFS_CUCS,
     T1_SRC),
    ("BLO-CUCS-COTY", "Coty", "quartier_cucs", "cucs", 3818, 2011, BLO_REFS_CUCS, T1_SRC),
    ("BLO-CUCS-KENNEDY", "Kennedy", "quartier_cucs", "cucs", 2606, 2011, BLO_REFS_CUCS, T1_SRC),
    ("BLO-CUCS-QUINIERE", "Quinière (diagnostic CUCS, IRIS)", "quartier_cucs", "cucs", 4426,
     2011, BLO_REFS_CUCS, T1_SRC),
    ("BLO-CUCS-CORNILLETTES", "Cornillettes (diagnostic CUCS, IRIS)", "quartier_cucs", "cucs",
     2319, 2011, BLO_REFS_CUCS, T1_SRC),
    ("BLO-CUCS-OBSERVES", "Quartiers observés (Quartiers Nord, Quinière, Cornillettes)",
     "quartier_cucs", "cucs", 18511, 2011, "BLO-CUCS-RESTE;BLO-COM;BLO-AGGLOPOLYS", T1_SRC),
    ("BLO-CUCS-RESTE", "Reste de Blois (hors quartiers observés)", "quartier_cucs", "cucs",
     27879, 2011, "BLO-COM", T1_SRC),
    ("BLO-CUCS-QP", "Quartiers prioritaires (CUCS), agrégat non nommé", "quartier_cucs", "cucs",
     None, None, BLO_REFS_CUCS,
     "003 l. 239-240, 332, 353 (« quartiers prioritaires » du diagnostic, agrégat non défini)"),
    ("BLO-CUCS-OBSERVES-HC", "Quartiers observés hors Cornillettes", "quartier_cucs", "cucs",
     None, None, BLO_REFS_CUCS, "003 l. 596"),
    ("BLO-CUCS-TERR-PRIO", "Territoire prioritaire (CAF, périmètre non précisé)",
     "quartier_cucs", "cucs", None, None, BLO_REFS_CUCS,
     "003 l. 445-447 : 9 415 habitants couverts = 71 % d'un dénominateur (~13 260) qui ne "
     "correspond ni aux Quartiers Nord CUCS (11 766) ni au QPV (10 880)"),
    ("BLO-IRIS-CROIX-CHEVALIER-1", "Croix Chevalier 1 (IRIS)", "quartier_cucs", "cucs", None,
     None, BLO_REFS_CUCS, "003 l. 346-351, 489-553 (unité infra-quartier)"),
    ("BLO-IRIS-CROIX-CHEVALIER-2", "Croix Chevalier 2 (IRIS)", "quartier_cucs", "cucs", None,
     None, BLO_REFS_CUCS, "003 l. 489-553 (unité infra-quartier, tableau T7 non repris)"),
    ("BLO-IRIS-COTY-1", "Coty 1 (IRIS)", "quartier_cucs", "cucs", None, None, BLO_REFS_CUCS,
     "003 l. 489-553 (unité infra-quartier, tableau T7 non repris)"),
    ("BLO-IRIS-COTY-2", "Coty 2 (IRIS)", "quartier_cucs", "cucs", None, None, BLO_REFS_CUCS,
     "003 l. 489-553 (unité infra-quartier, tableau T7 non repris)"),
    ("BLO-IRIS-SARRAZINES-HS-2", "Sarrazines Hautes Saules 2 (IRIS)", "quartier_cucs", "cucs",
     None, None, BLO_REFS_CUCS, "003 l. 553 (unité infra-quartier, tableau T7 non repris)"),
    ("BLO-COM", "Commune de Blois", "commune", None, 45903, None,
     "BLO-AGGLOPOLYS;BLO-DEP-41;BLO-REG-24;BLO-FR",
     "003 l. 777 (45 903 habitants, millésime non précisé ; la somme des IRIS 2011 du "
     "tableau l. 192-234 donne 46 390)"),
    ("BLO-AGGLOPOLYS", "Agglopolys (CA de Blois)", "epci", None, None, None,
     "BLO-DEP-41;BLO-REG-24;BLO-FR", "003 (« CA de Blois Agglopolys », l. 553-560)"),
    ("BLO-AU", "Aire urbaine de Blois", "aire_urbaine", None, None, None, "BLO-FR",
     "003 l. 770"),
    ("BLO-DEP-41", "Loir-et-Cher", "departement", None, None, None, "BLO-REG-24;BLO-FR",
     "003 ; code propre au classeur Blois"),
    ("BLO-DEP-18", "Cher", "departement", None, None, None, "BLO-REG-24", "003 l. 4494-4530"),
    ("BLO-DEP-28", "Eure-et-Loir", "departement", None, None, None, "BLO-REG-24",
     "003 l. 3230, 4494-4530"),
    ("BLO-DEP-36", "Indre", "departement", None, None, None, "BLO-REG-24",
     "003 l. 3227-3230, 4494-4530"),
    ("BLO-DEP-37", "Indre-et-Loire", "departement", None, None, None, "BLO-REG-24",
     "003 l. 4494-4530 ; même territoire que DEP-37 du classeur Amboise (code distinct pour "
     "garder chaque classeur autonome)"),
    ("BLO-DEP-45", "Loiret", "departement", None, None, None, "BLO-REG-24",
     "003 l. 3227, 4494-4530"),
    ("BLO-REG-24", "Région Centre", "region", None, None, None, "BLO-FR",
     "003 l. 4494-4530 (51 QPV, 52 selon l. 1739) ; même territoire que REG-24 du classeur "
     "Amboise (code distinct pour garder chaque classeur autonome)"),
    ("BLO-FR", "France", "france", None, None, None, None,
     "003 ; même territoire que FR du classeur Amboise (code distinct pour garder chaque "
     "classeur autonome)"),
    ("BLO-ACAD-OT", "Académie d'Orléans-Tours", "academie", None, None, None, "BLO-FR",
     "003 l. 3183-3302, 3405-3408 (Rectorat)"),
    ("BLO-ML", "Mission Locale de Blois", "autre", None, None, None, None,
     "003 l. 4467-4473 (UT DIRECCTE 41)"),
    ("BLO-ND-41", "Territoire non précisé (Blois ou Loir-et-Cher)", "autre", None, None, None,
     None, "003 l. 4472-4473 : le territoire des chiffres compétences clés et SIAE n'est pas "
               "précisé"),
    ("BLO-COLLEGE-BEGON", "Collège Bégon", "autre", None, None, None, None,
     "003 l. 3114-3131 (DSDEN 41)"),
    ("BLO-COLLEGE-RABELAIS", "Collège Rabelais", "autre", None, None, None, None,
     "003 l. 3114-3131 (DSDEN 41)"),
    ("BLO-SECTEUR-BEGON", "Secteur du collège Bégon (écoles)", "autre", None, None, None, None,
     "003 l. 3114-3131 (DSDEN 41)"),
    ("BLO-SECTEUR-RABELAIS", "Secteur du collège Rabelais (écoles)", "autre", None, None, None,
     None, "003 l. 3114-3131 (DSDEN 41)"),
    ("BLO-SECTEUR-COLLEGES", "Secteur des collèges Bégon et Rabelais (QPV)", "autre", None,
     None, None, None, "003 l. 3133 (DSDEN 41) ; périmètre scolaire, distinct du QPV"),
    ("BLO-UEAJ-VDL", "UEAJ Val de Loire (Blois et Tours)", "autre", None, None, None, None,
     "003 l. 4786-4863 (DPJJ 41)"),
    ("BLO-UEMO", "UEMO de Blois", "autre", None, None, None, None,
     "003 l. 4786-4863 (DPJJ 41, STEMOI)"),
    ("BLO-QP-BLOIS", "Quartiers prioritaires de Blois (libellé DPJJ)", "autre", None, None,
     None, None, "003 l. 4786-4863 : « quartiers prioritaires de Blois », périmètre non "
                 "précisé (QPV ou ZUS)"),
    ("BLO-QP-BLOIS-VENDOME", "Quartiers prioritaires de Blois ou Vendôme", "autre", None, None,
     None, None, "003 l. 4786-4863 (DPJJ 41)"),
    ("BLO-COM-VENDOME", "Vendôme", "commune", None, None, None, "BLO-DEP-41",
     "003 l. 4786-4863"),
    ("BLO-COM-ROMORANTIN", "Romorantin-Lanthenay", "commune", None, None, None, "BLO-DEP-41",
     "003 l. 4786-4863 (écrit « Romorantin » et « Romorantin-Lanthenay »)"),
    ("BLO-ZUS-ZRR", "ZUS et ZRR (niveau non précisé)", "autre", None, None, None, None,
     "003 l. 4062 (DDCSPP 41)"),
    ("BLO-ZUS-FR", "ZUS (France entière)", "autre", None, None, None, None,
     "003 l. 4073 (DDCSPP 41, statistique nationale)"),
    ("BLO-HORS-ZUS-FR", "Hors ZUS (France entière)", "autre", None, None, None, None,
     "003 l. 4073-4074 (DDCSPP 41, statistique nationale)"),
    ("BLO-ZONE-POLICE", "Zone police de Blois", "autre", None, None, None, None,
     "003 l. 4966 (DDSP 41)"),
]

# Territory names of the t*.csv tables -> codes (exact strings; t9 rows go to the veille
# quartiers, the same names elsewhere to the CUCS-era IRIS quartiers).
BLOIS_NAMES = {
    "Quartiers Nord": "BLO-CUCS-NORD", "Croix Chevalier": "BLO-CUCS-CROIX-CHEVALIER",
    "Sarrazines": "BLO-CUCS-SARRAZINES", "Coty": "BLO-CUCS-COTY",
    "Kennedy": "BLO-CUCS-KENNEDY", "Quinière": "BLO-CUCS-QUINIERE",
    "Cornillettes": "BLO-CUCS-CORNILLETTES", "Quartiers observés": "BLO-CUCS-OBSERVES",
    "Reste de Blois": "BLO-CUCS-RESTE", "Quartiers prioritaires (CUCS)": "BLO-CUCS-QP",
    "Quartiers observés (hors Cornillettes)": "BLO-CUCS-OBSERVES-HC",
    "Territoire prioritaire": "BLO-CUCS-TERR-PRIO",
    "Croix Chevalier 1": "BLO-IRIS-CROIX-CHEVALIER-1",
    "Quartiers nord": "BLO-QPV-NORD", "QPV Blois": "BLO-QPV-NORD",
    "Quartier prioritaire (Bégon Croix Chevalier Kennedy Coty)": "BLO-QPV-NORD",
    "Commune de Blois": "BLO-COM", "Blois": "BLO-COM",
    "Agglomération (Agglopolys)": "BLO-AGGLOPOLYS", "Aire urbaine de Blois": "BLO-AU",
    "France": "BLO-FR", "Région Centre": "BLO-REG-24", "Loir-et-Cher": "BLO-DEP-41",
    "Cher": "BLO-DEP-18", "Eure-et-Loir": "BLO-DEP-28", "Indre": "BLO-DEP-36",
    "Indre-et-Loire": "BLO-DEP-37", "Loiret": "BLO-DEP-45",
    "Académie d'Orléans-Tours": "BLO-ACAD-OT", "Mission Locale de Blois": "BLO-ML",
    "n.d. (Blois/Loir-et-Cher)": "BLO-ND-41", "Collège Bégon": "BLO-COLLEGE-BEGON",
    "Collège Rabelais": "BLO-COLLEGE-RABELAIS",
    "Secteur du collège Bégon (écoles)": "BLO-SECTEUR-BEGON",
    "Secteur du collège Rabelais (écoles)": "BLO-SECTEUR-RABELAIS",
    "Secteur collèges Bégon/Rabelais (QPV)": "BLO-SECTEUR-COLLEGES",
    "UEAJ Val de Loire (Blois et Tours)": "BLO-UEAJ-VDL", "UEMO de Blois": "BLO-UEMO",
    "Quartiers prioritaires de Blois": "BLO-QP-BLOIS",
    "Quartiers prioritaires de Blois ou Vendôme": "BLO-QP-BLOIS-VENDOME",
    "Vendôme": "BLO-COM-VENDOME", "Romorantin": "BLO-COM-ROMORANTIN",
    "Romorantin-Lanthenay": "BLO-COM-ROMORANTIN", "ZUS et ZRR (niveau n.d.)": "BLO-ZUS-ZRR",
    "ZUS (France)": "BLO-ZUS-FR", "Hors ZUS (France)": "BLO-HORS-ZUS-FR",
    "Zone police de Blois": "BLO-ZONE-POLICE",
}
BLOIS_T9_NAMES = {"Quinière": "BLO-VEILLE-QUINIERE", "Cornillettes": "BLO-VEILLE-CORNILLETTES"}

# Default line range of each table in seed 003 (when the row's source gives none).
BLOIS_TABLE_LINES = {
    "t1": ("192-234", "Population par quartier et évolution"),
    "t2": ("243-249", "Indicateur de jeunesse"),
    "t3": ("250-308", "Structure familiale"),
    "t4": ("360-398", "Bénéficiaires de la clause d'insertion 2013"),
    "t5": ("360-398", "Nombre de demandeurs d'emploi au 31/12/13"),
    "t6": ("346-351", "Taux d'emploi des 16-64 ans, Croix Chevalier 1 / commune"),
    "t8": (None, "Partie I, diagnostic"),
    "t9": (None, "Fiches quartier de veille active"),
    "t10": (None, "Nouvelle géographie prioritaire"),
    "t11": ("3114-3131", "Collèges du QPV"),
    "t12": ("3247-3253", "Taux de réussite au DNB selon l'origine sociale, session 2013"),
    "t12b": ("3276-3293", "Taux de réussite au baccalauréat selon l'origine sociale, "
                          "session 2013"),
    "t12c": (None, "Académie d'Orléans-Tours et France"),
    "t13": ("4494-4530", "Quartiers prioritaires de la région Centre par département"),
    "t15": ("4467-4473", "Mission Locale / IAE Blois"),
    "t16": ("4786-4863", "Justice (PJJ, SPIP)"),
    "t17": (None, "Cahier d'engagement de l'État, autres chiffres"),
}

UNIT_WORDS = {
    "%": "percent", "€": "eur", "M€": "eur", "ratio": "ratio", "indice": "ratio",
    "personnes/ménage": "ratio", "ans": "count",
}
COUNT_WORDS = {"habitants", "personnes", "familles", "élèves", "étudiants", "jeunes",
               "contrats", "salariés", "quartiers", "communes", "EPCI", "enfants",
               "allocataires", "personnels"}
# Context indicators whose direction is obvious; every other one is neutral.
BLOIS_POLARITY = {
    "Revenu médian": "higher_better", "Taux d'emploi des 16-64 ans": "higher_better",
    "Demandeurs d'emploi": "lower_better",
    "Taux de réussite au DNB": "higher_better",
    "Taux de réussite bac général": "higher_better",
    "Taux de réussite bac technologique": "higher_better",
    "Taux de réussite bac professionnel": "higher_better",
    "Taux de réussite au DNB (prose)": "higher_better", "Taux d'accès au DNB": "higher_better",
    "Entrée en 6e avec au moins un an de retard (école publique)": "lower_better",
    "Élèves de 3e avec au moins un an de retard": "lower_better",
    "Taux d'accès au bac GT des élèves de 2nde GT": "higher_better",
    "Taux d'accès au bac pro des élèves de 2nde pro": "higher_better",
    "Taux de poursuite d'études des nouveaux bacheliers": "higher_better",
    "Non-recours au RSA socle (bénéficiaires potentiels)": "lower_better",
    "Femmes déclarant des violences au sein du couple": "lower_better",
    "PRU - taux d'engagement": "higher_better", "PRU - taux de réalisation": "higher_better",
}
# Remarks from blois/NOTES.md carried to the value they concern: (table, territory, label).
BLOIS_FLAGS = {
    ("t2", "Quartiers observés", "Indicateur de jeunesse", "2011"):
        "imprimé « 1.045 » avec 3 décimales (les autres en ont 1) : coquille possible, "
        "conservé tel quel",
    ("t15", "Mission Locale de Blois", "Part des jeunes inscrits résidant en ZUS (publiée)",
     "2013"):
        "valeur publiée ; 701 / 3 451 = 20,3 % (écart avec la source, même 19,2 % imprimé pour "
        "le CIVIS : erreur de copie probable)",
    ("t9", "Quinière", "Part des moins de 25 ans", "n.d."):
        "valeur peu plausible pour un quartier de 4 426 habitants (coquille ou autre base ?), "
        "conservée telle quelle",
    ("t1", "Kennedy", "Évolution de la population", "2006-2011"):
        "évolution faussée par les démolitions du PRU (003 l. 188-190)",
    ("t1", "Coty", "Évolution de la population", "2006-2011"):
        "évolution faussée par les démolitions du PRU (003 l. 188-190)",
    ("t1", "Croix Chevalier", "Évolution de la population", "2006-2011"):
        "évolution faussée par les démolitions du PRU (003 l. 188-190)",
    ("t8", "Territoire prioritaire", "Part de la population couverte par la CAF",
     "2013-12-31"):
        "dénominateur « territoire prioritaire » incertain (9 415 / 0,71 ≈ 13 260 habitants)",
}


def blois_year(raw: str) -> tuple[int, str | None]:
    """Year of a t*.csv row and the comment explaining how it was obtained."""
    if re.fullmatch(r"\d{4}", raw):
        return int(raw), None
    if raw == "n.d.":
        return 2015, ND_COMMENT
    if m := re.fullmatch(r"(\d{4})/(\d{2})", raw):
        return int(m.group(1)), f"année scolaire {raw}"
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", raw):
        return int(m.group(1)), f"date exacte : {m.group(3)}/{m.group(2)}/{m.group(1)}"
    if raw == "fin 2012-2013":
        return 2013, "période « depuis fin 2012 et sur 2013 » ; rattachée à 2013"
    if m := re.fullmatch(r"(\d{4})-(\d{4})", raw):
        return int(m.group(2)), f"période {raw} ; rattachée à sa dernière année"
    if m := re.fullmatch(r"rentrée (\d{4})", raw):
        return int(m.group(1)), f"rentrée {m.group(1)}"
    if raw == "fin PRU":
        return 2015, ("valeur annoncée « au terme du PRU » (003 l. 5170, « ne sera que "
                      "partiellement réalisé au terme du PRU (25%) ») ; fin du PRU 2005-2015 "
                      "inférée : rattachée à 2015")
    raise ValueError(f"année non reconnue : {raw!r}")


def blois_indicator_label(table: str, label: str) -> tuple[str, str | None, str | None]:
    """Table label -> (indicator label, breakdown, modality) for the tables with categories."""
    if table in ("t12", "t12b") and (m := re.fullmatch(r"(.+) - (origine .+|ensemble)", label)):
        base, part = m.groups()
        if part == "ensemble":
            return base, None, None
        return base, "origine sociale", part.removeprefix("origine ")
    if table == "t6" and (m := re.fullmatch(r"Taux d'emploi des (femmes|hommes) 16-64 ans",
                                            label)):
        return "Taux d'emploi des 16-64 ans", "sexe", "F" if m.group(1) == "femmes" else "H"
    return label, None, None


def build_blois() -> dict[str, list[dict]]:
    d = REF / "blois"
    footer = seed_text("003", 816)
    assert "CONTRAT DE VILLE 2015 – 2020 BLOIS" in footer, footer
    contrat = [{
        "code": "BLOIS-2015", "nom": "Contrat de Ville 2015 – 2020 – Blois",
        "periode_debut": 2015, "periode_fin": 2020, "annee_reference": None,
        "annee_cible": None, "generation": "2015-2022", "niveaux": "enjeu > axe",
        "source": "Contrat de ville de Blois 2015-2020 (seed 003 ; intitulé du pied de page "
                  "l. 816) : Partie II orientations "
                  "stratégiques l. 935-1446 ; Annexe 6 Cahier d'engagement de l'État "
                  "(indicateurs de suivi) l. 3097-5436 ; diagnostic Partie I l. 171-933",
    }]

    territoires = [
        {"code": c, "libelle": lab, "type": kind, "geographie": geo, "population": pop,
         "annee_population": year, "references": refs, "source": src}
        for c, lab, kind, geo, pop, year, refs, src in BLOIS_TERRITORIES
    ]

    # Tree: the 5 enjeux and their numbered "Axe stratégique" (transversal rubriques left out).
    arbo: list[dict] = []
    for n, (title_line, axes) in BLOIS_ENJEUX.items():
        title = seed_text("003", title_line)
        m = re.fullmatch(rf"Enjeu {n} \| (.+)", title)
        assert m, title
        arbo.append({"code": f"E{n}", "parent": None, "niveau": "enjeu",
                     "categorie": "objectif", "libelle": m.group(1).strip(), "ordre": n,
                     "source": f"003 l. {title_line} (liste des enjeux l. 943-951)"})
        for k, (first, last) in enumerate(axes, 1):
            text = seed_text("003", first, last)
            m = re.fullmatch(rf"Axe stratégique {k} : (.+)", text)
            assert m, text
            label = m.group(1).strip().replace("..", ".")
            arbo.append({"code": f"E{n}.A{k}", "parent": f"E{n}", "niveau": "axe",
                         "categorie": "objectif", "libelle": label, "ordre": k,
                         "source": f"003 l. {first}-{last}" if last != first
                         else f"003 l. {first}"})
    DECISIONS.append("Blois : seuls les « Axe stratégique n » numérotés sont des axes (29) ; "
                     "les rubriques transversales (coordination, communication, implication "
                     "des habitants, jeunesse, égalité F/H, discriminations) et les encadrés "
                     "« droit commun » ne sont pas des nœuds.")

    # The 25 national indicators.
    indicateurs = []
    for i, (lines, card, unit, pol, typ, axes, extra) in enumerate(BLOIS_NATIONAL, 1):
        first, last = lines
        label = seed_text("003", first, last).lstrip("\uf0fc").strip()
        ref = f"003 l. {first}" if first == last else f"003 l. {first}-{last}"
        vent = "type de place" if i == 6 else None
        indicateurs.append({
            "code": f"BLO-NAT-{i:02d}", "libelle": label, "unite": unit, "polarite": pol,
            "type": typ, "objectifs": axes, "parent": None, "ventilations": vent,
            "definition": "Indicateur national de suivi (CGET / conventions "
                          "interministérielles) repris dans la fiche du service : " + card,
            "source": card, "frequence": "annuelle" if i == 5 else None,
            "note": join([INFERRED, "rattachement à l'axe proposé (le contrat ne relie pas ces "
                          "indicateurs aux axes)" if axes else "aucun axe rattaché",
                          "aucune valeur de référence ni cible dans le contrat", extra, ref]),
        })

    # Context indicators and values: every figure of the t*.csv tables.
    files = sorted(d.glob("t*.csv"), key=lambda p: int(re.match(r"t(\d+)", p.name).group(1)))
    diag: dict[str, dict] = {}
    valeurs: list[dict] = []
    for path in files:
        table = path.name.split("_")[0]
        if path.name.startswith("t12_"):
            table = {"1": "t12", "2": "t12b", "3": "t12c"}[path.stem[-1]]
        default_lines, caption = BLOIS_TABLE_LINES[table]
        for row in read_csv(path):
            if row["unit"] == "arrow":
                SKIPPED.append(f"Blois {path.name} : {row['territory']} / {row['indicator']} "
                               f"({row['year']}) = « {row['value']} » : flèche de tendance, "
                               "pas un nombre")
                continue
            label, vent, modal = blois_indicator_label(table, row["indicator"])
            unit_word = row["unit"]
            unit = UNIT_WORDS.get(unit_word) or ("count" if unit_word in COUNT_WORDS else None)
            assert unit, (path.name, unit_word)
            key = label
            if key not in diag:
                pol = BLOIS_POLARITY.get(label, "neutral")
                diag[key] = {
                    "code": f"BLO-DIAG-{len(diag) + 1:03d}", "libelle": label, "unite": unit,
                    "polarite": pol, "type": "contexte", "objectifs": None, "parent": None,
                    "ventilations": vent, "definition": None,
                    "source": re.sub(r"\s*\(l\..*\)\s*$", "", row["source"]) or None,
                    "frequence": None,
                    "note": join([
                        "indicateur de contexte créé pour porter les chiffres du diagnostic "
                        f"(table {path.name} de shared/reference/blois : {caption})",
                        f"unité déduite de la table ({unit_word}) ; polarité/type proposés, à "
                        "vérifier",
                        "libellé construit à partir des lignes du tableau" if vent else None,
                        "âge moyen en années (unité « nombre »)" if unit_word == "ans" else None,
                    ]),
                }
            ind = diag[key]
            assert ind["unite"] == unit, (label, ind["unite"], unit)
            year, comment = blois_year(row["year"])
            value = float(row["value"])
            comments = [comment]
            if unit_word == "M€":
                comments.append(f"publié en millions d'euros ({row['value']} M€)")
                value *= 1_000_000
            m = re.fullmatch(r"(.*?)\s*\(l\.\s*([\d\-–]+)(?:;\s*'(.+)')?\)\s*", row["source"])
            if m:
                src_name, lines, wording = m.groups()
                if wording:
                    comments.append(f"formulation de la source : « {wording} »")
            else:
                src_name, lines = row["source"], default_lines
            comments.append(BLOIS_FLAGS.get((table, row["territory"], row["indicator"],
                                             row["year"])))
            names = BLOIS_T9_NAMES if table == "t9" else {}
            territory = names.get(row["territory"]) or BLOIS_NAMES[row["territory"]]
            valeurs.append({
                "indicateur": ind["code"], "territoire": territory, "annee": year,
                "nature": "realise", "valeur": int(value) if value.is_integer() else value,
                "ventilation": vent, "modalite": modal, "statut": "valide",
                "source": join([src_name or None, "contrat de ville de Blois 2015-2020 "
                                f"(seed 003), l. {lines}"]),
                "commentaire": join(comments),
            })
    # One more real figure of the State card: no ZSP covers the Blois QPV (l. 4964).
    valeurs.append({
        "indicateur": "BLO-NAT-24", "territoire": "BLO-QPV-NORD", "annee": 2015,
        "nature": "realise", "valeur": 0, "statut": "valide",
        "source": "DDSP 41 ; contrat de ville de Blois 2015-2020 (seed 003), l. 4964",
        "commentaire": "« Blois n'a pas été retenue pour avoir un ou des quartiers en ZSP » ; "
                       + ND_COMMENT,
    })
    DECISIONS.append("Blois : valeur 0 ajoutée pour BLO-NAT-24 (aucune ZSP, l. 4964), seule "
                     "valeur d'un indicateur national donnée par le texte.")
    indicateurs += list(diag.values())
    keys = Counter((v["indicateur"], v["territoire"], v["annee"], v["nature"],
                    v.get("ventilation"), v.get("modalite")) for v in valeurs)
    dup = [k for k, n in keys.items() if n > 1]
    assert not dup, dup
    return {"contrat": contrat, "territoires": territoires, "arborescence": arbo,
            "indicateurs": indicateurs, "valeurs": valeurs}


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

def write_workbook(path: Path, sheets: dict[str, list[dict]]) -> None:
    """Write the five sheets, then re-zip with fixed timestamps so the bytes are stable."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, columns in COLUMNS.items():
        ws = wb.create_sheet(name)
        ws.append(columns)
        for row in sheets[name]:
            unknown = set(row) - set(columns)
            assert not unknown, (name, unknown)
            ws.append([row.get(c) for c in columns])
        ws.freeze_panes = "A2"
    wb.properties.creator = "tools/build_contracts.py"
    wb.properties.created = FIXED_DATE
    buf = io.BytesIO()
    wb.save(buf)
    stamp = FIXED_DATE.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp + rb"\g<2>", data)
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def self_check(name: str, sheets: dict[str, list[dict]]) -> str:
    levels = Counter(r["niveau"] for r in sheets["arborescence"])
    contract = sheets["contrat"][0]
    order = [lvl.strip() for lvl in contract["niveaux"].split(">")]
    per_level = ", ".join(f"{lvl} {levels[lvl]}" for lvl in order)
    return (f"{contract['code']:<13} {name:<13} nœuds : {per_level} | indicateurs "
            f"{len(sheets['indicateurs'])} | territoires {len(sheets['territoires'])} | "
            f"valeurs {len(sheets['valeurs'])}")


# The seeds' local codes for communes, EPCI, départements, région and France -> the official
# register's codes (data/referentiel/, tools/build_register.py). A workbook then only cites
# those territories (label, population and references come from the register) and keeps its
# old code as an alias (`anciens_codes`), so that files written with it still load.
REGISTER_CODES = {
    "AMB-COM": "COM-37003", "AMB-CCVA": "EPCI-200043065",
    "ALS-COM": "COM-30007", "ALS-AGGLO": "EPCI-200066918",
    "TMVL-EPCI": "EPCI-243700754",
    "BLO-COM": "COM-41018", "BLO-AGGLOPOLYS": "EPCI-200030385",
    "BLO-COM-VENDOME": "COM-41269", "BLO-COM-ROMORANTIN": "COM-41194",
    "BLO-DEP-41": "DEP-41", "BLO-DEP-18": "DEP-18", "BLO-DEP-28": "DEP-28",
    "BLO-DEP-36": "DEP-36", "BLO-DEP-37": "DEP-37", "BLO-DEP-45": "DEP-45",
    "BLO-REG-24": "REG-24", "BLO-FR": "FR",
    "DEP-37": "DEP-37", "REG-24": "REG-24", "FR": "FR",
}


def use_register_codes(sheets: dict[str, list[dict]]) -> None:
    """Replace local codes of register territories by the register's, everywhere."""
    def rename(code):
        return REGISTER_CODES.get(code, code) if isinstance(code, str) else code

    for row in sheets.get("valeurs", []):
        row["territoire"] = rename(row["territoire"])
    rows = []
    for row in sheets["territoires"]:
        if row.get("references"):
            row["references"] = ";".join(dict.fromkeys(
                rename(c) for c in row["references"].split(";")))
        code = row["code"]
        if code in REGISTER_CODES:
            official = REGISTER_CODES[code]
            rows.append({"code": official,
                         "anciens_codes": code if code != official else None})
        else:
            rows.append(row)
    sheets["territoires"] = rows


def main(argv: list[str]) -> int:
    built = {
        "amboise.xlsx": build_amboise(), "ales.xlsx": build_ales(),
        "blois.xlsx": build_blois(), "tmvl.xlsx": build_tmvl(),
    }
    for sheets in built.values():
        use_register_codes(sheets)
    # Territory codes are unique across the database, except the register's, which workbooks
    # only cite; indicator codes are unique.
    official = set(REGISTER_CODES.values())
    for sheet in ("territoires", "indicateurs"):
        rows = [r for s in built.values() for r in s[sheet]
                if not (sheet == "territoires" and r["code"] in official)]
        codes = Counter(r["code"] for r in rows)
        clash = [c for c, n in codes.items() if n > 1]
        assert not clash, (sheet, clash)
    for name, sheets in built.items():
        write_workbook(OUT / name, sheets)
    print(f"Classeurs écrits dans {OUT.relative_to(ROOT)}/ :")
    for name, sheets in built.items():
        print("  " + self_check(name, sheets))
    if "--verbose" in argv:
        print("\nDécisions :")
        for line in DECISIONS:
            print("  - " + line)
        print("\nNon repris :")
        for line in SKIPPED:
            print("  - " + line)
    else:
        print(f"({len(SKIPPED)} chiffres non repris, {len(DECISIONS)} décisions : --verbose)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
