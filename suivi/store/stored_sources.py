"""How many values each source gave each contract, per year, stored and brought up to date
by the write that changes them.

Why: the bilan and the Word report list the sources of a contract's values up to the year
of the report. Counted in the request, that is a scan of every value: 0.65-1 s on
PostgreSQL for a national contract (3 million values), on each first visit after a change.
A few hundred rows per contract hold the same counts. As for the statuses
(suivi/store/stored_status.py), the transaction that lands a batch brings them up to date:
a load that changed values only adds the differences its own value versions make; other
writes (indicators, rollbacks, demo removal) count the contracts they touched again. Tests
compare the stored counts with the count from the values (reports.sources_from_values) for
every contract and year, after each kind of write, on both engines.
"""

from __future__ import annotations

import pandas as pd

TABLE = "source_count"
SCOPE = "touched_source_contracts"  # the contracts a write touched (stored_counts reads it)
RECOUNT = "recounted_source_contracts"  # those whose values are counted again
DELTA = "source_count_delta"  # the differences a load's own value versions make
MERGED = "source_count_merged"  # the groups DELTA reaches, their counts after the load

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

# A load's value versions, counted +1 when it created them and -1 when it superseded them,
# under the contract of their indicator (which the load did not change), in the groups of
# TABLE.
_DIFFERENCES = """
    SELECT i.contract_code, nullif(trim(o.source), '') AS source, o.year,
           sum(o.sign) AS n, sum(CASE WHEN o.status = 'demo' THEN o.sign ELSE 0 END) AS n_demo
    FROM (SELECT indicator_code, source, year, status, 1 AS sign FROM observation_v
          WHERE created_batch = {b} AND superseded_batch IS NULL AND value IS NOT NULL
          UNION ALL
          SELECT indicator_code, source, year, status, -1 FROM observation_v
          WHERE superseded_batch = {b} AND value IS NOT NULL) o
    JOIN indicator i ON i.code = o.indicator_code
    GROUP BY 1, 2, 3"""

_SAME_GROUP = ("d.contract_code = c.contract_code AND d.year IS NOT DISTINCT FROM c.year "
               "AND d.source IS NOT DISTINCT FROM c.source")


def mark(s, touched: str, load_batch: int | None = None) -> None:
    """Note in SCOPE the contracts whose counts the write may change: those of the
    indicators of the `touched` series, in any of their versions (an indicator moved from a
    contract to another changes both). Call it before the write moves the marks.

    When `load_batch` (a load, marked after its write) changed no indicator nor contract,
    only its own value versions move the counts: they are added as differences (DELTA)
    instead of counting every value of the contracts again, a scan of the national
    contract's 3 million values that took 2 s of a 10-value upload on PostgreSQL."""
    for stmt in s.dialect.temp_table(SCOPE, f"""
            SELECT DISTINCT contract_code FROM indicator_v
            WHERE code IN (SELECT indicator_code FROM {touched})"""):
        s.execute(stmt)
    if load_batch is not None and _values_only(s, load_batch):
        # (a literal batch id: PostgreSQL binds no parameter in CREATE TABLE AS)
        recount, delta = "FALSE", _DIFFERENCES.format(b=int(load_batch))
    else:
        recount, delta = "TRUE", _DIFFERENCES.format(b=0) + " HAVING FALSE"
    for name, select in ((RECOUNT, f"SELECT contract_code FROM {SCOPE} WHERE {recount}"),
                         (DELTA, delta)):
        for stmt in s.dialect.temp_table(name, select):
            s.execute(stmt)


def _values_only(s, batch_id: int) -> bool:
    """Whether the batch created or superseded no indicator nor contract version."""
    return not s.scalar("""
        SELECT count(*) FROM (
            SELECT 1 FROM indicator_v WHERE created_batch = ? OR superseded_batch = ?
            UNION ALL
            SELECT 1 FROM contract_v WHERE created_batch = ? OR superseded_batch = ?) t""",
        [batch_id] * 4)


def refresh(s) -> None:
    """Count again the values of the contracts `mark` noted, or add a load's differences,
    in the caller's transaction."""
    recount = f"SELECT contract_code FROM {RECOUNT}"
    s.execute(f"DELETE FROM {TABLE} WHERE contract_code IN ({recount})")
    s.execute(_COUNT.format(where=f" AND i.contract_code IN ({recount})"))
    # The groups the differences reach: their stored count plus the difference, or gone.
    reached = f"EXISTS (SELECT 1 FROM {DELTA} d WHERE {_SAME_GROUP})"
    for stmt in s.dialect.temp_table(MERGED, f"""
            SELECT contract_code, source, year, sum(n) AS n, sum(n_demo) AS n_demo FROM (
                SELECT c.contract_code, c.source, c.year, c.n, c.n_demo
                FROM {TABLE} c WHERE {reached}
                UNION ALL
                SELECT contract_code, source, year, n, n_demo FROM {DELTA}) t
            GROUP BY 1, 2, 3"""):
        s.execute(stmt)
    s.execute(f"DELETE FROM {TABLE} c WHERE {reached}")
    s.execute(f"INSERT INTO {TABLE} (contract_code, source, year, n, n_demo) "
              f"SELECT contract_code, source, year, n, n_demo FROM {MERGED} WHERE n > 0")
    for name in (MERGED, DELTA, RECOUNT, SCOPE):
        s.drop(name)


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
