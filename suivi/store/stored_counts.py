"""The latest statuses of each contract, counted, stored and brought up to date by the write
that changes them.

Why: every page opens on a summary of the contract's statuses as of its latest year (the
sidebar's default): how many series per territory and status, per indicator, status,
reason and projection (stored_status.overview), and the catalogue's flags per indicator.
Counted in the request, that is two scans of the latest step of every series: 0.2 s on
PostgreSQL for a national contract (326 000 series), paid on the first visit after each
change, in every replica. A few thousand rows per contract hold the same counts.

The counts cover the latest steps (stored_status.TABLE) only: they are the statuses as of
any year from the latest start of a step of the contract on (`max_from`), since every
earlier step ended at the start of a later one. Earlier years, and counts over some
territories only, are counted from the steps as before. The transaction that lands a batch
counts again, in the contracts whose series it touched (those stored_sources.mark notes),
the counts of those series' territories and indicators; tests compare the stored counts
with the counts from the steps for every contract and year, after loads, reloads,
rollbacks and demo removal, on both engines (tests/conftest.assert_stored_equal_recomputed).
"""

from __future__ import annotations

TERRITORY = "status_count_territory"
INDICATOR = "status_count_indicator"
TABLES = (TERRITORY, INDICATOR)

DDL = [
    f"CREATE TABLE IF NOT EXISTS {TERRITORY} (contract_code VARCHAR NOT NULL, "
    "territory_code VARCHAR, status VARCHAR, n BIGINT, demo BIGINT, "
    "score_sum DOUBLE PRECISION, n_scored BIGINT)",
    f"CREATE TABLE IF NOT EXISTS {INDICATOR} (contract_code VARCHAR NOT NULL, "
    "indicator_code VARCHAR, status VARCHAR, reason VARCHAR, projection VARCHAR, n BIGINT, "
    "demo BIGINT, has_baseline BOOLEAN, has_target BOOLEAN, last_year INTEGER, "
    "max_from INTEGER)",
]
PG_INDEXES = [f"CREATE INDEX IF NOT EXISTS {t}_contract ON {t} (contract_code)" for t in TABLES]

# The groupings, over rows of steps with the columns they name (`score`: status_sql.score_sql).
TERRITORY_COUNTS = """territory_code, status, count(*) AS n,
    count(*) FILTER (WHERE demo) AS demo, sum(score) AS score_sum, count(score) AS n_scored"""
INDICATOR_COUNTS = """indicator_code, status, reason, projection, count(*) AS n,
    count(*) FILTER (WHERE demo) AS demo, bool_or(baseline IS NOT NULL) AS has_baseline,
    bool_or(target IS NOT NULL) AS has_target, max(last_actual_year) AS last_year"""
TERRITORY_KEY = "territory_code, status"
INDICATOR_KEY = "indicator_code, status, reason, projection"


# Per table, the counts of the latest steps in `{steps}` (stored_status.TABLE) matching
# `{where}`.
_COUNTS = {
    TERRITORY: f"""
        INSERT INTO {TERRITORY} SELECT contract_code, {TERRITORY_COUNTS}
        FROM (SELECT contract_code, territory_code, status, demo, {{score}} AS score
              FROM {{steps}} WHERE {{where}}) q
        GROUP BY contract_code, {TERRITORY_KEY}""",
    INDICATOR: f"""
        INSERT INTO {INDICATOR} SELECT contract_code, {INDICATOR_COUNTS},
               max(valid_from) AS max_from
        FROM {{steps}} WHERE {{where}}
        GROUP BY contract_code, {INDICATOR_KEY}""",
}
# What each table's counts group by, besides the contract: the column a write's series name.
_GROUPED_BY = {TERRITORY: "territory_code", INDICATOR: "indicator_code"}


def refresh(s, steps: str, score: str, scope: str, touched: str) -> None:
    """Count again, in the caller's transaction once their latest steps are up to date, the
    groups the write may change: in the contracts listed in the table `scope` (column
    contract_code), those of the territories, and those of the indicators, of the series
    listed in `touched`. (Each count groups the steps of one territory or of one
    indicator; a whole contract took 0.4 s of a 10-value upload on PostgreSQL.)"""
    contracts = f"contract_code IN (SELECT contract_code FROM {scope})"
    for table, column in _GROUPED_BY.items():
        where = f"{contracts} AND {column} IN (SELECT {column} FROM {touched})"
        s.execute(f"DELETE FROM {table} WHERE {where}")
        s.execute(_COUNTS[table].format(steps=steps, score=score, where=where))


def rebuild(s, steps: str, score: str) -> None:
    for table in TABLES:
        s.execute(f"DELETE FROM {table}")
        s.execute(_COUNTS[table].format(steps=steps, score=score, where="TRUE"))


# --- Reading -------------------------------------------------------------------------------

def holds(s, contract_code: str, as_of: int | None) -> bool:
    """Whether the stored counts are the contract's statuses as of `as_of` (None: the
    latest): no step of the contract starts after it. (A contract without steps has no
    counts, and none from the steps either.)"""
    if as_of is None:
        return True
    latest = s.scalar(f"SELECT max(max_from) FROM {INDICATOR} WHERE contract_code = ?",
                      [contract_code])
    return latest is None or int(latest) <= int(as_of)


def territory(s, contract_code: str):
    return s.table_df(f"SELECT {TERRITORY_KEY}, n, demo, score_sum, n_scored FROM {TERRITORY} "
                      "WHERE contract_code = ?", [contract_code])


INDICATOR_ROWS = f"""SELECT {INDICATOR_KEY}, n, demo, has_baseline, has_target, last_year
    FROM {INDICATOR} WHERE contract_code = ?"""

# What the catalogue says of each indicator's data (queries.indicators), as of its latest
# steps (one per series, the latest actual included): a scan of the observations of a
# national contract took PostgreSQL 1 s on every page's sidebar after a load, a scan of the
# latest steps 0.08 s.
INDICATOR_DATA_SQL = f"""
    SELECT indicator_code, bool_or(has_baseline) AS has_baseline,
           bool_or(has_target) AS has_target, max(last_year) AS last_year,
           bool_or(demo > 0) AS has_demo
    FROM {INDICATOR} WHERE contract_code = ? GROUP BY indicator_code"""


def has_demo(s, contract_code: str) -> bool:
    """Whether a series of the contract holds a demonstration value."""
    return bool(s.scalar(f"SELECT count(*) FROM (SELECT 1 FROM {INDICATOR} "
                         "WHERE contract_code = ? AND demo > 0 LIMIT 1) t", [contract_code]))
