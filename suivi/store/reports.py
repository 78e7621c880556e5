"""Queries of the printed documents (the HTML bilan and the Word report): gaps of every
quartier to its commune, latest values, sources, values by sex and by funder."""

from __future__ import annotations

import pandas as pd

from suivi.store import stored_sources
from suivi.store.gaps_sql import gap_rows_sql
from suivi.store.queries import in_list


def quartier_gaps(s, contract: str, year: int, quartier: str | None) -> pd.DataFrame:
    """Per quartier (or the one given) x comparable indicator: the gap to its commune (else
    its nearest reference territory), first and latest, up to `year`, computed from the
    observations. The pages and documents read the stored gaps (stored_gaps.read); this is
    their definition, which tests compare them with."""
    d = s.dialect
    sql = gap_rows_sql(d, where=" AND ct.contract_code = $c"
                       + (" AND t.code = $q" if quartier else ""),
                       ind_where=" AND contract_code = $c", years=" AND o.year <= $y") + f"""
SELECT quartier, min(quartier_label) AS quartier_label, indicator_code,
       min(indicator_label) AS indicator_label, min(unit) AS unit, reference_code,
       min(reference_label) AS reference_label, count(*) AS n_years,
       min(year) AS first_year, {d.latest("gap", "-year", "TRUE")} AS first_gap,
       max(year) AS year, {d.latest("gap", "year", "TRUE")} AS gap,
       {d.latest("qpv_value", "year", "TRUE")} AS qpv_value,
       {d.latest("ref_value", "year", "TRUE")} AS ref_value
FROM g
GROUP BY quartier, indicator_code, reference_code  -- the labels follow their codes
ORDER BY quartier, indicator_code"""
    params = {"c": contract, "y": int(year)}
    if quartier:
        params["q"] = quartier
    return s.df(sql, params)


def value_sources(s, contract: str, year: int, territories: list[str] | None) -> pd.DataFrame:
    """Each source of the values up to `year`, with its count, years and demo count: the
    stored counts for the whole contract (stored_sources), counted from the values for a
    few territories."""
    if territories is None:
        return stored_sources.read(s, contract, year)
    return sources_from_values(s, contract, year, territories)


def sources_from_values(s, contract: str, year: int,
                        territories: list[str] | None) -> pd.DataFrame:
    """value_sources counted from the values (the definition of the stored counts)."""
    extra, params = in_list("o.territory_code", territories)
    return s.df(f"""
        SELECT coalesce(nullif(trim(o.source), ''), '{stored_sources.UNNAMED}') AS "Source",
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
