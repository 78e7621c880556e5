"""What validation needs to know from the store: codes in use, the register's communes by
département, reference territories, and the baselines and previous values of the series a
file touches (through a temporary table of its keys, not the whole observation table)."""

from __future__ import annotations

import pandas as pd

SERIES = ["indicator_code", "territory_code", "breakdown", "modality"]
TEXT = {c: "VARCHAR" for c in SERIES}


def known_state(s) -> dict:
    """Contracts, territory codes, indicators, nodes, contract territories and scope, aliases
    and declared source variables."""
    return {
        "contracts": s.df("SELECT code, period_start, period_end, baseline_year FROM contract"),
        "territories": {r[0] for r in s.rows("SELECT code FROM territory")},
        "indicators": s.df("SELECT code, contract_code, unit, polarity FROM indicator"),
        "nodes": s.df("SELECT contract_code, code FROM node"),
        "contract_territories": s.df("SELECT contract_code, territory_code "
                                     "FROM contract_territory"),
        "aliases": dict(s.rows("SELECT alias, code FROM territory_alias")),
        "scope": s.df("SELECT contract_code, territory_code FROM contract_scope"),
        "variables": s.df("SELECT indicator_code, contract_code, variable, label "
                          "FROM indicator_variable"),
    }


def communes_of_department(s, department: str) -> pd.DataFrame:
    """The register's communes (and arrondissements municipaux) of a département."""
    return s.df("""
        SELECT t.code, t.label, t.kind FROM territory t
        JOIN territory_ref r ON r.territory_code = t.code
        WHERE t.kind IN ('commune', 'arrondissement_municipal') AND r.reference_code = ?""",
                [f"DEP-{department}"])


def references_of(s, codes: list[str]) -> pd.DataFrame:
    if not codes:
        return pd.DataFrame(columns=["territory_code", "reference_code", "rank"])
    return s.df("SELECT territory_code, reference_code, rank FROM territory_ref WHERE "
                f"territory_code IN ({', '.join('?' * len(codes))}) "
                "ORDER BY territory_code, rank", list(codes))


def _holds(s, nature: str, indicators) -> bool:
    """Whether the store holds any valued `nature` row of these indicators: a first load (a
    national init's 3 million values) then skips shipping its keys to the store."""
    codes = [str(c) for c in pd.unique(pd.Series(indicators).dropna())]
    if not codes:
        return False
    return bool(s.scalar(
        "SELECT count(*) FROM (SELECT 1 FROM observation WHERE nature = ? AND value IS NOT "
        f"NULL AND indicator_code IN ({', '.join('?' * len(codes))}) LIMIT 1) t",
        [nature, *codes]))


def baselines(s, series: pd.DataFrame) -> pd.DataFrame:
    """Stored baselines (`reference` values) of the given series: SERIES + year, value."""
    if not _holds(s, "reference", series["indicator_code"]):
        return pd.DataFrame(columns=[*SERIES, "year", "value"]).astype(
            {"year": "int64", "value": "float64"})
    s.put_frame("file_series", series[SERIES].drop_duplicates(), TEXT)
    try:
        return s.df("""
            SELECT o.indicator_code, o.territory_code, o.breakdown, o.modality, o.year, o.value
            FROM observation o JOIN file_series f ON o.indicator_code = f.indicator_code
              AND o.territory_code = f.territory_code AND o.breakdown = f.breakdown
              AND o.modality = f.modality
            WHERE o.nature = 'reference' AND o.value IS NOT NULL""")
    finally:
        s.drop("file_series")


def previous_actuals(s, rows: pd.DataFrame) -> pd.DataFrame:
    """For each (series, year) of `rows`, the stored actual of the year before: SERIES,
    year (the year it precedes) and value_prev."""
    if not _holds(s, "realise", rows["indicator_code"]):
        return pd.DataFrame(columns=[*SERIES, "year", "value_prev"]).astype(
            {"year": "int64", "value_prev": "float64"})
    keys = rows[[*SERIES, "year"]].drop_duplicates()
    s.put_frame("file_years", keys, {**TEXT, "year": "INTEGER"})
    try:
        return s.df("""
            SELECT o.indicator_code, o.territory_code, o.breakdown, o.modality,
                   o.year + 1 AS year, o.value AS value_prev
            FROM observation o JOIN file_years f ON o.indicator_code = f.indicator_code
              AND o.territory_code = f.territory_code AND o.breakdown = f.breakdown
              AND o.modality = f.modality AND o.year = f.year - 1
            WHERE o.nature = 'realise' AND o.value IS NOT NULL""")
    finally:
        s.drop("file_years")
