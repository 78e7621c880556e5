"""Queries of the printed documents (the HTML bilan and the Word report): gaps of every
quartier to its commune, latest values, sources, values by sex and by funder."""

from __future__ import annotations

import pandas as pd

from suivi.core.vocab import COMPARABLE_UNITS, QUARTIER_KINDS, sql_list
from suivi.store.queries import in_list
from suivi.store.status_sql import gap_sql

# The labels travel with the rows (no join back to the quartiers and indicators after the
# grouping): PostgreSQL misjudges these small sets and joined them by nested loops, which
# took half of its 3 s on a national contract. The grouping is by codes only (hashing the
# labels too cost DuckDB 0.05 s of 0.4 nationally).
_GAPS_SQL = """
WITH q AS (
    SELECT t.code, t.label FROM contract_territory ct JOIN territory t ON t.code = ct.territory_code
    WHERE ct.contract_code = $c AND t.kind IN {kinds}{only}
), ranked AS (  -- the commune of each quartier, else its nearest reference territory
    SELECT r.territory_code AS quartier, q.label AS quartier_label, r.reference_code,
           rt.label AS reference_label,
           row_number() OVER (PARTITION BY r.territory_code
                              ORDER BY CASE WHEN rt.kind = 'commune' THEN 0 ELSE 1 END,
                                       r.rank) AS rn
    FROM territory_ref r JOIN q ON q.code = r.territory_code
    JOIN territory rt ON rt.code = r.reference_code
), pairs AS (
    SELECT quartier, quartier_label, reference_code, reference_label FROM ranked WHERE rn = 1
), ind AS (
    SELECT code, label, unit, polarity
    FROM indicator WHERE contract_code = $c AND unit IN {units}
), g AS (
    SELECT p.quartier, p.quartier_label, p.reference_code, p.reference_label,
           o.indicator_code, ind.label AS indicator_label, ind.unit, o.year,
           o.value AS qpv_value, r.value AS ref_value, {gap} AS gap
    FROM pairs p
    JOIN observation o ON o.territory_code = p.quartier
    JOIN ind ON ind.code = o.indicator_code
    JOIN observation r ON r.territory_code = p.reference_code
     AND r.indicator_code = o.indicator_code AND r.year = o.year
    WHERE o.nature = 'realise' AND o.breakdown = '' AND o.modality = '' AND o.value IS NOT NULL
      AND o.year <= $y AND NOT {o_nan}
      AND r.nature = 'realise' AND r.breakdown = '' AND r.modality = '' AND r.value IS NOT NULL
      AND NOT {r_nan}
)
SELECT quartier, min(quartier_label) AS quartier_label, indicator_code,
       min(indicator_label) AS indicator_label, min(unit) AS unit, reference_code,
       min(reference_label) AS reference_label, count(*) AS n_years,
       min(year) AS first_year, {first_gap} AS first_gap, max(year) AS year,
       {last_gap} AS gap, {last_qpv} AS qpv_value, {last_ref} AS ref_value
FROM g
GROUP BY quartier, indicator_code, reference_code  -- the labels follow their codes
"""


def quartier_gaps(s, contract: str, year: int, quartier: str | None) -> pd.DataFrame:
    """Per quartier (or the one given) x comparable indicator: the gap to its commune (else
    its nearest reference territory), first and latest, up to `year`."""
    d = s.dialect
    sql = _GAPS_SQL.format(
        kinds=sql_list(QUARTIER_KINDS), units=sql_list(COMPARABLE_UNITS),
        only=" AND t.code = $q" if quartier else "",
        gap=gap_sql("ind.polarity", "r.value", "o.value"),
        o_nan=d.is_nan("o.value"), r_nan=d.is_nan("r.value"),
        first_gap=d.latest("gap", "-year", "TRUE"),
        last_gap=d.latest("gap", "year", "TRUE"),
        last_qpv=d.latest("qpv_value", "year", "TRUE"),
        last_ref=d.latest("ref_value", "year", "TRUE"))
    params = {"c": contract, "y": int(year)}
    if quartier:
        params["q"] = quartier
    return s.df(sql, params)


def value_sources(s, contract: str, year: int, territories: list[str] | None) -> pd.DataFrame:
    """Each source of the values up to `year`, with its count, years and demo count."""
    extra, params = in_list("o.territory_code", territories)
    return s.df(f"""
        SELECT coalesce(nullif(trim(o.source), ''), 'Source non précisée') AS "Source",
               count(*) AS "Valeurs (nombre)", min(o.year) AS "Première année",
               max(o.year) AS "Dernière année",
               count(*) FILTER (WHERE o.status = 'demo') AS "Dont valeurs de démonstration"
        FROM observation o JOIN indicator i ON i.code = o.indicator_code
        WHERE i.contract_code = ? AND o.year <= ? AND o.value IS NOT NULL{extra}
        GROUP BY 1 ORDER BY 2 DESC, 1""", [contract, int(year), *params])


def latest_values(s, contract: str, year: int, territories: list[str] | None) -> pd.DataFrame:
    """Latest actual up to `year` of each (indicator, territory) total, and whether it is a
    demonstration value."""
    d = s.dialect
    extra, params = in_list("o.territory_code", territories)
    return s.df(f"""
        SELECT o.indicator_code, o.territory_code, max(o.year) AS year,
               {d.latest("o.value", "o.year", "TRUE")} AS value,
               {d.latest("o.status", "o.year", "TRUE")} = 'demo' AS demo
        FROM observation o JOIN indicator i ON i.code = o.indicator_code
        WHERE i.contract_code = ? AND o.nature = 'realise' AND o.breakdown = ''
          AND o.modality = '' AND o.value IS NOT NULL AND NOT {d.is_nan("o.value")}
          AND o.year <= ?{extra}
        GROUP BY o.indicator_code, o.territory_code""", [contract, int(year), *params])


def node_sources(s, contract: str) -> pd.DataFrame:
    return s.df("SELECT code, source FROM node WHERE contract_code = ?", [contract])


def indicator_links(s, contract: str) -> pd.DataFrame:
    return s.df("SELECT indicator_code, node_code FROM indicator_node WHERE contract_code = ?",
                [contract])


def breakdown_values(s, contract: str, year: int, territories: list[str] | None,
                     breakdowns: list[str]) -> pd.DataFrame:
    """Actual values up to `year` broken down by one of `breakdowns` (folded: `sexe`,
    `financeur`...)."""
    d = s.dialect
    extra, params = in_list("o.territory_code", territories)
    return s.df(f"""
        SELECT o.indicator_code, o.territory_code, o.breakdown, o.modality, o.year, o.value,
               o.status = 'demo' AS demo
        FROM observation o JOIN indicator i ON i.code = o.indicator_code
        WHERE i.contract_code = ? AND o.nature = 'realise'
          AND lower(trim(o.breakdown)) IN ({', '.join('?' * len(breakdowns))})
          AND o.value IS NOT NULL AND NOT {d.is_nan("o.value")} AND o.year <= ?{extra}""",
                [contract, *breakdowns, int(year), *params])


def series_rows(s, indicator: str, territory: str, year: int) -> list[tuple]:
    """(year, nature, value) of one series' totals, actuals up to `year`."""
    return s.rows("""
        SELECT year, nature, value FROM observation
        WHERE indicator_code = ? AND territory_code = ? AND breakdown = '' AND modality = ''
          AND (nature <> 'realise' OR year <= ?)""", [indicator, territory, int(year)])
