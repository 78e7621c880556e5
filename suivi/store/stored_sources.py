"""How many values each source gave each contract, per year, stored and brought up to date
by the write that changes them.

Why: the bilan and the Word report list the sources of a contract's values up to the year
of the report. Counted in the request, that is a scan of every value: 0.65-1 s on
PostgreSQL for a national contract (3 million values), on each first visit after a change.
A few hundred rows per contract hold the same counts. As for the statuses
(suivi/store/stored_status.py), the transaction that lands a batch counts again the
contracts of the series it touched; tests compare the stored counts with the count from
the values (reports.sources_from_values) for every contract and year, on both engines.
"""

from __future__ import annotations

import pandas as pd

TABLE = "source_count"
SCOPE = "touched_source_contracts"

DDL = [f"CREATE TABLE IF NOT EXISTS {TABLE} (contract_code VARCHAR NOT NULL, source VARCHAR, "
       "year INTEGER, n BIGINT, n_demo BIGINT)"]
PG_INDEXES = [f"CREATE INDEX IF NOT EXISTS {TABLE}_contract ON {TABLE} (contract_code)"]

UNNAMED = "Source non précisée"

_COUNT = f"""
    INSERT INTO {TABLE} (contract_code, source, year, n, n_demo)
    SELECT i.contract_code, nullif(trim(o.source), ''), o.year, count(*),
           count(*) FILTER (WHERE o.status = 'demo')
    FROM observation o JOIN indicator i ON i.code = o.indicator_code
    WHERE o.value IS NOT NULL{{where}}
    GROUP BY 1, 2, 3"""


def mark(s, touched: str) -> None:
    """Note in SCOPE the contracts whose counts the write may change: those of the
    indicators of the `touched` series, in any of their versions (an indicator moved from a
    contract to another changes both). Call it before the write moves the marks."""
    for stmt in s.dialect.temp_table(SCOPE, f"""
            SELECT DISTINCT contract_code FROM indicator_v
            WHERE code IN (SELECT indicator_code FROM {touched})"""):
        s.execute(stmt)


def refresh(s) -> None:
    """Count again the values of the contracts `mark` noted, in the caller's transaction."""
    scope = f"SELECT contract_code FROM {SCOPE}"
    s.execute(f"DELETE FROM {TABLE} WHERE contract_code IN ({scope})")
    s.execute(_COUNT.format(where=f" AND i.contract_code IN ({scope})"))
    s.drop(SCOPE)


def rebuild(s) -> None:
    s.execute(f"DELETE FROM {TABLE}")
    s.execute(_COUNT.format(where=""))


def read(s, contract: str, year: int) -> pd.DataFrame:
    """Each source of the contract's values up to `year`: the columns of
    reports.sources_from_values."""
    return s.df(f"""
        SELECT coalesce(source, '{UNNAMED}') AS "Source",
               CAST(sum(n) AS BIGINT) AS "Valeurs (nombre)", min(year) AS "Première année",
               max(year) AS "Dernière année",
               CAST(sum(n_demo) AS BIGINT) AS "Dont valeurs de démonstration"
        FROM {TABLE} WHERE contract_code = ? AND year <= ?
        GROUP BY 1 ORDER BY 2 DESC, 1""", [contract, int(year)])
