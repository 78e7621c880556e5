"""Comparisons between quartiers and reference territories, and their downloads.

The Comparer page lets an evaluator put side by side any indicators, quartiers and reference
territories. This module turns the values of `queries.values_for` into the tables the page
shows and the files it offers, so that the page itself only lays them out.

Gaps follow docs/methode-suivi.md: for rates, percents, ratios and scores the gap is
g = d * (Ref - QPV) in points (positive = the quartier lags) and the ratio QPV / Ref. Counts are
never compared raw: both values become a rate per 1 000 inhabitants when both populations are
known, and otherwise no gap is given (a note says why).
"""

from __future__ import annotations

import pandas as pd

from suivi.core import progress as pg
from suivi.core.exports import csv_bytes, xlsx_bytes  # noqa: F401 (the pages' downloads)
from suivi.core.vocab import COMPARABLE_UNITS, LABELS, labelled

COUNT_UNITS = ("count",)
PER_INHABITANTS = 1000

#: What the gap is measured in, by unit (the gap of a count is per 1 000 inhabitants).
GAP_BASIS = {"percent": "points de %", "rate": "points", "ratio": "ratio", "score": "points",
             "count": "pour 1 000 hab."}

NOTE_NO_POPULATION = ("effectif : population inconnue, pas d'écart (les effectifs ne se "
                      "comparent pas bruts)")
NOTE_NOT_COMPARABLE = "unité non comparable : pas d'écart"
NOTE_NEUTRAL = "polarité neutre : écart absolu |réf. − quartier|, sans sens de retard"
NOTE_NO_REF_VALUE = "pas de valeur du territoire de référence cette année-là"

VALUE_COLUMNS = ["indicator_code", "indicator_label", "unit", "polarity", "territory_code",
                 "territory_label", "territory_kind", "year", "value", "status", "source"]


def status_label(status) -> str:
    """French label of a value's status (« démonstration », « provisoire »...)."""
    if status is None or (isinstance(status, float) and pd.isna(status)):
        return ""
    return LABELS["status"].get(status, str(status))


def _complete(values: pd.DataFrame) -> pd.DataFrame:
    out = values.copy()
    for col in VALUE_COLUMNS:
        if col not in out.columns:
            out[col] = pd.Series(dtype="object")
    return out


def up_to(values: pd.DataFrame, as_of: int | None) -> pd.DataFrame:
    """Actuals up to the evaluation year chosen in the sidebar (later ones are ignored)."""
    values = _complete(values)
    if as_of is None:
        return values
    return values[values["year"] <= int(as_of)].reset_index(drop=True)


def values_within(pool: pd.DataFrame, pool_territories: list[str], indicators: list[str],
                  territories: list[str]) -> pd.DataFrame | None:
    """The rows of `pool` (`queries.values_for` of every indicator for `pool_territories`)
    for a selection it covers, in the query's order; None when a territory is outside it.
    The page's first selection (the quartier and its references) then costs no second scan
    of the values (60 ms on a national database)."""
    if not set(territories) <= set(pool_territories):
        return None
    keep = pool["indicator_code"].isin(indicators) & pool["territory_code"].isin(territories)
    return pool[keep].reset_index(drop=True)


def default_indicators(catalogue: pd.DataFrame, limit: int = 1) -> list[str]:
    """A useful first selection: the first indicators with actuals and a comparable unit."""
    with_data = catalogue[catalogue["last_year"].notna()]
    comparable = with_data[with_data["unit"].isin(COMPARABLE_UNITS)]
    pick = comparable if len(comparable) else with_data
    return pick["code"].head(limit).tolist()


def default_indicator_for(values: pd.DataFrame, quartier: str | None, references: list[str],
                          catalogue: pd.DataFrame) -> list[str]:
    """First indicator worth comparing for this quartier: comparable unit, an actual for the
    quartier and for one of its reference territories; else the best available.

    `values`: `queries.values_for` of the catalogue's indicators for the quartier and its
    references (a few territories, so this stays cheap on a national database)."""
    if quartier is None or values.empty:
        return default_indicators(catalogue)
    actual = values[values["value"].notna()]
    in_q = set(actual.loc[actual["territory_code"] == quartier, "indicator_code"])
    in_ref = set(actual.loc[actual["territory_code"].isin(references), "indicator_code"])
    comparable = set(catalogue.loc[catalogue["unit"].isin(COMPARABLE_UNITS), "code"])
    codes = catalogue["code"].tolist()
    for wanted in (in_q & in_ref & comparable, in_q & comparable, in_q):
        found = [c for c in codes if c in wanted]
        if found:
            return found[:1]
    return default_indicators(catalogue)


def values_table(values: pd.DataFrame, order: list[str] | None = None) -> pd.DataFrame:
    """The values behind the chart, one row per indicator x territory x year (French columns),
    territories in the `order` given (the order of the selections)."""
    v = _complete(values)
    if order:
        rank = {c: i for i, c in enumerate(order)}
        v = v.assign(_t=v["territory_code"].map(rank).fillna(len(rank))) \
            .sort_values(["indicator_code", "_t", "year"])
    out = pd.DataFrame({
        "Indicateur": v["indicator_code"],
        "Libellé": v["indicator_label"],
        "Territoire": v["territory_label"],
        "Année": v["year"].astype("Int64"),
        "Valeur": v["value"].astype("Float64"),
        "Unité": labelled("unit", v["unit"]),
        "Statut de la valeur": v["status"].map(status_label),
        "Source": v["source"],
    })
    return out.reset_index(drop=True)


def gap_table(values: pd.DataFrame, quartiers: list[str], references: list[str],
              territories: pd.DataFrame) -> pd.DataFrame:
    """Per indicator x quartier x reference territory x year: both values, the gap and ratio.

    `territories` gives code, label and population (for counts). One row per year in which the
    quartier has a value; the reference value may be missing that year (then no gap).
    Columns (English, for the page and the exports to rename): indicator_code,
    indicator_label, unit, polarity, qpv_code, qpv_label, reference_code, reference_label,
    year, qpv_value, ref_value, basis, qpv_compared, ref_compared, gap, ratio, demo, note.
    """
    columns = ["indicator_code", "indicator_label", "unit", "polarity", "qpv_code", "qpv_label",
               "reference_code", "reference_label", "year", "qpv_value", "ref_value", "basis",
               "qpv_compared", "ref_compared", "gap", "ratio", "demo", "note"]
    v = _complete(values)
    v = v[v["value"].notna()]
    q = v[v["territory_code"].isin(quartiers)]
    r = v[v["territory_code"].isin(references)]
    if q.empty or not references:
        return pd.DataFrame(columns=columns)
    q = q.rename(columns={"territory_code": "qpv_code", "territory_label": "qpv_label",
                          "value": "qpv_value", "status": "qpv_status"})
    refs = pd.DataFrame({"reference_code": references})
    labels = dict(zip(territories["code"], territories["label"]))
    refs["reference_label"] = refs["reference_code"].map(labels).fillna(refs["reference_code"])
    pairs = q.merge(refs, how="cross")
    r = r.rename(columns={"territory_code": "reference_code", "value": "ref_value",
                          "status": "ref_status"})[["indicator_code", "reference_code", "year",
                                                    "ref_value", "ref_status"]]
    out = pairs.merge(r, on=["indicator_code", "reference_code", "year"], how="left")

    population = territories.set_index("code")["population"] if "population" in territories \
        else pd.Series(dtype="float64")
    pop_q = out["qpv_code"].map(population).astype("Float64")
    pop_r = out["reference_code"].map(population).astype("Float64")
    is_count = out["unit"].isin(COUNT_UNITS)
    comparable = out["unit"].isin(COMPARABLE_UNITS)
    per_head = is_count & pop_q.gt(0).fillna(False) & pop_r.gt(0).fillna(False)
    qv = out["qpv_value"].astype("Float64")
    rv = out["ref_value"].astype("Float64")
    out["qpv_compared"] = qv.where(comparable).fillna(
        (qv / pop_q * PER_INHABITANTS).where(per_head))
    out["ref_compared"] = rv.where(comparable).fillna(
        (rv / pop_r * PER_INHABITANTS).where(per_head))
    out["basis"] = out["unit"].map(GAP_BASIS).where(comparable | per_head)
    d = out["polarity"].map(pg.POLARITY_SIGN).astype("Float64")
    out["gap"] = pg.gap_values(out["qpv_compared"], out["ref_compared"], out["polarity"])
    ratio = out["qpv_compared"] / out["ref_compared"]
    out["ratio"] = ratio.where(out["ref_compared"].ne(0).fillna(False))
    # Drop floating-point noise (38.0 - 24.9 = 13.100000000000001) before display and export.
    for col in ("qpv_compared", "ref_compared", "gap"):
        out[col] = out[col].round(9)
    out["ratio"] = out["ratio"].round(6)
    out["demo"] = out["qpv_status"].eq("demo") | out["ref_status"].eq("demo").fillna(False)

    note = pd.Series("", index=out.index, dtype="object")
    note = note.mask(out["ref_value"].isna(), NOTE_NO_REF_VALUE)
    note = note.mask(comparable & d.isna() & out["ref_value"].notna(), NOTE_NEUTRAL)
    note = note.mask(is_count & ~per_head, NOTE_NO_POPULATION)
    note = note.mask(~comparable & ~is_count, NOTE_NOT_COMPARABLE)
    out["note"] = note
    # Keep the order of the selections (quartiers, then references from nearest to widest).
    out["_q"] = out["qpv_code"].map({c: i for i, c in enumerate(quartiers)})
    out["_r"] = out["reference_code"].map({c: i for i, c in enumerate(references)})
    out = out.sort_values(["indicator_code", "_q", "_r", "year"])
    return out[columns].reset_index(drop=True)


def gap_summary(gaps: pd.DataFrame) -> pd.DataFrame:
    """Whether each gap narrows or widens (progress.gap_trend), one row per comparison.

    The number of comparisons is the number of selected indicators x quartiers x references,
    a handful, so a loop over groups is fine here.
    """
    rows = []
    usable = gaps[gaps["gap"].notna()] if len(gaps) else gaps
    for (ind, _qpv, _ref), part in usable.groupby(["indicator_code", "qpv_code", "reference_code"],
                                                sort=False):
        trend = pg.gap_trend(list(zip(part["year"], part["gap"])))
        first = part.iloc[0]
        rows.append({"indicator_code": ind, "qpv_label": first["qpv_label"],
                     "reference_label": first["reference_label"], "basis": first["basis"],
                     "start_year": trend.start_year, "start_gap": trend.start_gap,
                     "end_year": trend.end_year, "end_gap": trend.end_gap,
                     "slope": trend.slope, "trend": trend.label})
    return pd.DataFrame(rows, columns=["indicator_code", "qpv_label", "reference_label", "basis",
                                       "start_year", "start_gap", "end_year", "end_gap",
                                       "slope", "trend"])


#: French column names of the gap table, for the page and the downloads.
GAP_COLUMNS_FR = {
    "indicator_code": "Indicateur", "indicator_label": "Libellé", "qpv_label": "Quartier",
    "reference_label": "Territoire de référence", "year": "Année",
    "qpv_value": "Valeur quartier", "ref_value": "Valeur référence",
    "basis": "Écart exprimé en", "qpv_compared": "Quartier (base de l'écart)",
    "ref_compared": "Référence (base de l'écart)", "gap": "Écart d × (réf. − quartier)",
    "ratio": "Ratio quartier / réf.", "unit": "Unité", "demo": "Valeurs de démonstration",
    "note": "Remarque",
}


def gap_table_fr(gaps: pd.DataFrame) -> pd.DataFrame:
    """The gap table with French headers and text for units and flags."""
    out = gaps.assign(unit=labelled("unit", gaps["unit"]),
                      demo=gaps["demo"].map({True: "oui", False: ""}))
    keep = [c for c in GAP_COLUMNS_FR if c in out.columns]
    return out[keep].rename(columns=GAP_COLUMNS_FR).reset_index(drop=True)


def summary_table_fr(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.rename(columns={
        "indicator_code": "Indicateur", "qpv_label": "Quartier",
        "reference_label": "Territoire de référence", "basis": "Écart exprimé en",
        "start_year": "Première année", "start_gap": "Écart initial",
        "end_year": "Dernière année", "end_gap": "Dernier écart",
        "slope": "Variation par an", "trend": "Évolution"}).reset_index(drop=True)


# --- Downloads --------------------------------------------------------------------------------

def download_sheets(values: pd.DataFrame, gaps: pd.DataFrame,
                    order: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The tables offered for download, with French headers."""
    return {"valeurs": values_table(values, order), "ecarts": gap_table_fr(gaps)}
