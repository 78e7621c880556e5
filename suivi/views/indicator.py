"""What the indicator sheet (« Fiche indicateur ») and the catalogue show, as plain tables.

The sheet explains one indicator: its metadata, its values per territory, how the status of
each quartier was computed and how its values changed from batch to batch. Statuses here come
from `suivi.core.progress.assess` on the inputs picked by `suivi.store.status_sql.pick_series_inputs`,
the same rules as the SQL statuses of the other pages: an indicator has only a handful of
series, so computing them in Python lets the page show every intermediate number.

The catalogue helpers (search, filters, ✔/✘ columns) live here too: they describe indicators.
"""

from __future__ import annotations

import pandas as pd

from suivi.core import fmt
from suivi.core import progress as pg
from suivi.core.projection import Projection, project
from suivi.core.vocab import LABELS, QUARTIER_KINDS
from suivi.store.status_sql import pick_series_inputs
from suivi.views.compare import status_label

NATURE_ORDER = {"reference": 0, "cible": 1, "realise": 2}
#: Without a selected quartier, the sheet shows at most this many (national contracts).
MAX_QUARTIERS = 5
#: When only wider territories have values, the sheet shows at most this many of them.
MAX_TERRITORIES = 8
YES, NO = "✔ oui", "✘ non"


def label_of(kind: str, code) -> str:
    """French label of a vocabulary code (unit, polarity, type, nature, kind)."""
    if code is None or (isinstance(code, float) and pd.isna(code)) or code == "":
        return "–"
    return LABELS[kind].get(code, str(code))


def _text(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return "–"
    return str(value)


# --- Metadata ---------------------------------------------------------------------------------

def metadata_rows(indicator: dict, catalogue: pd.DataFrame,
                  objectives: pd.DataFrame) -> pd.DataFrame:
    """Two-column table (Rubrique, Contenu) describing the indicator."""
    code = indicator["code"]
    labels = dict(zip(catalogue["code"], catalogue["label"]))
    parent = indicator.get("parent_code")
    children = catalogue.loc[catalogue["parent_code"] == code, "code"].tolist()
    objs = " ; ".join(f"{r.code} ({r.level}) – {r.label}" for r in objectives.itertuples()) \
        if len(objectives) else "–"
    rows = [
        ("Code", code),
        ("Intitulé", indicator["label"]),
        ("Définition", _text(indicator.get("definition"))),
        ("Unité", label_of("unit", indicator.get("unit"))),
        ("Polarité", label_of("polarity", indicator.get("polarity"))),
        ("Type", label_of("type", indicator.get("type"))),
        ("Source", _text(indicator.get("source"))),
        ("Fréquence", _text(indicator.get("frequency"))),
        ("Objectif(s) mesuré(s)", objs),
        ("Indicateur parent", f"{parent} – {labels.get(parent, '')}" if _text(parent) != "–"
         else "–"),
        ("Sous-indicateurs", " ; ".join(f"{c} – {labels[c]}" for c in children) or "–"),
        ("Ventilations prévues", _text(indicator.get("breakdowns")).replace(";", " ; ")),
        ("Note", _text(indicator.get("note"))),
    ]
    return pd.DataFrame(rows, columns=["Rubrique", "Contenu"])


def summary_line(indicator: dict) -> str:
    """One line of the essentials, shown above the chart (the full table is in an expander)."""
    parts = [f"Unité : {label_of('unit', indicator.get('unit'))}",
             f"Polarité : {label_of('polarity', indicator.get('polarity'))}",
             f"Type : {label_of('type', indicator.get('type'))}",
             f"Source : {_text(indicator.get('source'))}",
             f"Fréquence : {_text(indicator.get('frequency'))}"]
    return " · ".join(parts)


def breakdown_label(option: tuple[str, str]) -> str:
    breakdown, modality = option
    return "Ensemble (sans ventilation)" if not breakdown else f"{breakdown} : {modality}"


def breakdown_options(breakdowns: pd.DataFrame) -> list[tuple[str, str]]:
    """(breakdown, modality) pairs, the whole population first."""
    options = list(zip(breakdowns["breakdown"], breakdowns["modality"]))
    options.sort(key=lambda o: (o != ("", ""), o))
    return options or [("", "")]


# --- Values -----------------------------------------------------------------------------------

def up_to(obs: pd.DataFrame, as_of: int | None) -> pd.DataFrame:
    """Drop actuals after the evaluation year (as the SQL statuses do); keep baseline and target."""
    if as_of is None or obs.empty:
        return obs
    keep = (obs["nature"] != "realise") | (obs["year"] <= int(as_of))
    return obs[keep].reset_index(drop=True)


PREDECESSOR = "QPV 2015 correspondant"


def territory_order(quartiers: list[str], references: pd.DataFrame,
                    predecessors: pd.DataFrame | None = None) -> list[str]:
    """Quartiers first, then the 2015 QPVs they succeed, then their reference territories
    from the nearest to the widest."""
    refs = [c for c in references["code"].tolist() if c not in quartiers] \
        if len(references) else []
    preds = predecessors["code"].tolist() if predecessors is not None else []
    return list(dict.fromkeys([*quartiers, *preds, *refs]))


def shown_quartiers(all_obs: pd.DataFrame, territories: pd.DataFrame,
                    quartier: str | None) -> tuple[list[str], int]:
    """The quartiers whose series the sheet shows: the chosen one, else those with values
    (at most MAX_QUARTIERS: a national contract has hundreds); and how many had values."""
    if quartier:
        return [quartier], 1
    with_values = set(all_obs["territory_code"])
    codes = territories.loc[territories["kind"].isin(QUARTIER_KINDS), "code"]
    found = [q for q in codes if q in with_values]
    return found[:MAX_QUARTIERS], len(found)


def shown_values(all_obs: pd.DataFrame, territories: pd.DataFrame, quartiers: list[str],
                 references: pd.DataFrame, predecessors: pd.DataFrame,
                 year: int | None) -> tuple[list[str], pd.DataFrame, int | None]:
    """The territories shown, nearest first, and their values up to `year`: the quartiers,
    the 2015 QPVs they succeed (named as such), their reference territories. When none of
    them has a value, the wider territories that do (académie, France…): then the third item
    is how many territories have values, else None."""
    order = territory_order(quartiers, references, predecessors)
    obs = label_predecessors(up_to(all_obs[all_obs["territory_code"].isin(order)], year),
                             predecessors)
    if not obs.empty or all_obs.empty:
        return order, obs, None
    known = territories[territories["code"].isin(set(all_obs["territory_code"]))]
    order = territory_order([], known)[:MAX_TERRITORIES]
    return order, up_to(all_obs[all_obs["territory_code"].isin(order)], year), len(known)


def label_predecessors(obs: pd.DataFrame, predecessors: pd.DataFrame) -> pd.DataFrame:
    """Name a predecessor's rows « QPV 2015 correspondant : <label> (<code>) » wherever they
    are shown (legend, table): a separate series of another geography, never the quartier's."""
    if predecessors.empty or obs.empty:
        return obs
    names = {r.code: f"{PREDECESSOR} : {r.label} ({r.code})" for r in predecessors.itertuples()}
    label = obs["territory_code"].map(names)
    return obs.assign(territory_label=label.fillna(obs["territory_label"]))


def chart_rows(obs: pd.DataFrame, quartiers: list[str]) -> pd.DataFrame:
    """Rows to draw: everything for the quartiers, only the actuals of the reference
    territories (their own baselines and targets would crowd the chart; the table has them)."""
    if not quartiers:
        return obs
    keep = obs["territory_code"].isin(quartiers) | (obs["nature"] == "realise")
    return obs[keep]


def data_table(obs: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """The values shown beside the chart: territory, year, value, nature, value status (the
    value before the nature: in the narrow column beside the chart, it was out of sight)."""
    if obs.empty:
        return pd.DataFrame(columns=["Territoire", "Année", "Valeur", "Nature",
                                     "Statut de la valeur", "Source"])
    rank = {code: i for i, code in enumerate(order)}
    o = obs.assign(_t=obs["territory_code"].map(rank).fillna(len(rank)),
                   _n=obs["nature"].map(NATURE_ORDER)).sort_values(["_t", "year", "_n"])
    return pd.DataFrame({
        "Territoire": o["territory_label"].fillna(o["territory_code"]),
        "Année": o["year"].astype("Int64"),
        "Valeur": o["value"].astype("Float64"),
        "Nature": o["nature"].map(lambda n: label_of("nature", n)),
        "Statut de la valeur": o["status"].map(status_label),
        "Source": o["source"],
    }).reset_index(drop=True)


# --- Détail du calcul -------------------------------------------------------------------------

def thresholds_of(contract: dict | None) -> pg.Thresholds:
    if not contract:
        return pg.DEFAULT_THRESHOLDS
    return pg.Thresholds.from_contract(contract.get("threshold_on_track"),
                                       contract.get("threshold_acceleration"))


def assess_territory(obs: pd.DataFrame, territory: str, polarity,
                     thresholds: pg.Thresholds | None = None) -> pg.Assessment:
    """Status of one territory's series; `obs` holds one breakdown, already cut at the year."""
    part = obs[obs["territory_code"] == territory]
    rows = list(zip(part["year"], part["nature"], part["value"]))
    return pick_series_inputs(rows).assess(polarity, thresholds)


def project_territory(obs: pd.DataFrame, territory: str, polarity) -> Projection:
    """Projection of one territory's series to its target year (suivi/core/projection.py), from
    the same inputs as `assess_territory`: `obs` holds one breakdown, already cut at the year."""
    part = obs[obs["territory_code"] == territory]
    rows = list(zip(part["year"], part["nature"], part["value"]))
    inputs = pick_series_inputs(rows)
    actual = [(year, value) for year, nature, value in rows if nature == "realise"]
    return project(actual, polarity, inputs.target_year, inputs.target, inputs.baseline_year)


def calculation_table(a: pg.Assessment) -> pd.DataFrame:
    """Every input, intermediate and threshold behind a status (French numbers)."""
    n = pg.fr_number
    th = a.thresholds
    rows = [
        ("b", "Année de la situation de référence", _text(a.baseline_year)),
        ("B", "Situation de référence", n(a.baseline)),
        ("T", "Année de la situation visée", _text(a.target_year)),
        ("C", "Situation visée (cible)", n(a.target)),
        ("t", "Année du dernier réalisé", _text(a.year)),
        ("V", "Dernier réalisé", n(a.value)),
        ("d", "Polarité (+1 : plus haut = mieux ; −1 : plus bas = mieux)",
         {1: "+1", -1: "−1"}.get(a.d) or label_of("polarity", a.polarity)),
        ("A", "Taux d'atteinte (V − B) / (C − B)",
         f"{n(a.A)} ({pg.fr_percent(a.A)})" if a.A is not None else "—"),
        ("E", "Part du temps écoulé min(1 ; (t − b) / (T − b))", n(a.E)),
        ("P", "Rythme A / E", n(a.P)),
        ("seuil", "En bonne voie si P ≥", n(th.on_track)),
        ("seuil", "Accélération nécessaire si P ≥", n(th.acceleration)),
        ("seuil", "Dégradation si P <", n(pg.DETERIORATION)),
        ("statut", "Statut", f"{a.icon} {a.label}"),
    ]
    return pd.DataFrame(rows, columns=["Symbole", "Grandeur", "Valeur"])


# --- History of values ------------------------------------------------------------------------

def history_table(history: pd.DataFrame, labels: dict[str, str], order: list[str],
                  breakdown: tuple[str, str] = ("", "")) -> pd.DataFrame:
    """Every version of the values shown: current or superseded, by which batch and when."""
    columns = ["Territoire", "Année", "Nature", "Valeur", "Statut de la valeur", "Version",
               "Lot", "Fichier", "Chargée le", "Remplacée par le lot"]
    h = history[history["territory_code"].isin(order)
                & (history["breakdown"] == breakdown[0])
                & (history["modality"] == breakdown[1])]
    if h.empty:
        return pd.DataFrame(columns=columns)
    rank = {code: i for i, code in enumerate(order)}
    h = h.assign(_t=h["territory_code"].map(rank), _n=h["nature"].map(NATURE_ORDER)) \
        .sort_values(["_t", "year", "_n", "created_batch"], ascending=[True, True, True, False])
    current = h["courant"].astype(bool)
    return pd.DataFrame({
        "Territoire": h["territory_code"].map(labels).fillna(h["territory_code"]),
        "Année": h["year"].astype("Int64"),
        "Nature": h["nature"].map(lambda x: label_of("nature", x)),
        "Valeur": h["value"].astype("Float64"),
        "Statut de la valeur": h["status"].map(status_label),
        "Version": current.map({True: "✔ courante", False: "✘ remplacée"}),
        "Lot": h["created_batch"].astype("Int64"),
        "Fichier": h["file_name"],
        "Chargée le": h["loaded_at"].map(lambda d: "–" if pd.isna(d) else fmt.date_fr(d)),
        "Remplacée par le lot": h["superseded_batch"].astype("Int64"),
    }).reset_index(drop=True)


def changed_only(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of the values that have more than one version (the interesting part)."""
    if table.empty:
        return table
    key = ["Territoire", "Année", "Nature"]
    versions = table.groupby(key, sort=False)["Version"].transform("size")
    return table[versions > 1].reset_index(drop=True)


# --- Catalogue --------------------------------------------------------------------------------

def fold(series: pd.Series) -> pd.Series:
    """Lower-case, accent-free text, so that « echec » finds « Échec »."""
    return (series.fillna("").astype(str).str.normalize("NFKD")
            .str.replace(r"[\u0300-\u036f]", "", regex=True).str.casefold())


def search(catalogue: pd.DataFrame, text: str) -> pd.DataFrame:
    """Indicators whose code, label or definition contain every word typed (accents ignored)."""
    words = fold(pd.Series([text or ""])).iloc[0].split()
    if not words or catalogue.empty:
        return catalogue
    haystack = fold(catalogue["code"]) + " " + fold(catalogue["label"]) + " " \
        + fold(catalogue["definition"])
    mask = pd.Series(True, index=catalogue.index)
    for word in words:
        mask &= haystack.str.contains(word, regex=False)
    return catalogue[mask]


def with_flags(catalogue: pd.DataFrame, year: int | None) -> pd.DataFrame:
    """Adds has_recent (a value in the last three years up to `year`)."""
    since = pg.recent_since(year)
    last = catalogue["last_year"]
    recent = last.notna() & (last >= since) if since is not None else last.notna()
    return catalogue.assign(has_recent=recent.astype(bool))


def filter_catalogue(catalogue: pd.DataFrame, types=(), units=(), polarities=(),
                     baseline: bool | None = None, target: bool | None = None,
                     recent: bool | None = None) -> pd.DataFrame:
    """Empty choices mean no filter; True/False keeps indicators with/without the data."""
    df = catalogue
    if types:
        df = df[df["type"].isin(types)]
    if units:
        df = df[df["unit"].isin(units)]
    if polarities:
        df = df[df["polarity"].isin(polarities)]
    for column, wanted in (("has_baseline", baseline), ("has_target", target),
                           ("has_recent", recent)):
        if wanted is not None:
            df = df[df[column].astype(bool) == wanted]
    return df


def sheet_link(code: str, contract: str, year: int | None = None) -> str:
    link = f"/fiche-indicateur?indicateur={code}&contrat={contract}"
    return link if year is None else f"{link}&annee={year}"


def catalogue_table(catalogue: pd.DataFrame, contract: str, year: int | None) -> pd.DataFrame:
    """The catalogue as shown and downloaded: French headers, ✔/✘ columns, a link per row."""
    c = catalogue
    flag = {True: YES, False: NO}
    return pd.DataFrame({
        "Fiche": [sheet_link(code, contract, year) for code in c["code"]],
        "Code": c["code"],
        "Intitulé": c["label"],
        "Type": c["type"].map(lambda x: label_of("type", x)),
        "Unité": c["unit"].map(lambda x: label_of("unit", x)),
        "Polarité": c["polarity"].map(lambda x: label_of("polarity", x)),
        "Objectifs": c["objectifs"].fillna("–"),
        "Situation de référence": c["has_baseline"].astype(bool).map(flag),
        "Situation visée": c["has_target"].astype(bool).map(flag),
        "Données récentes": c["has_recent"].astype(bool).map(flag),
        "Dernière année": c["last_year"].astype("Int64"),
        "Démonstration": c["has_demo"].astype(bool).map({True: "démo", False: ""}),
        "Définition": c["definition"].fillna(""),
        "Source": c["source"].fillna(""),
        "Fréquence": c["frequency"].fillna(""),
        "Parent": c["parent_code"].fillna(""),
    }).reset_index(drop=True)
