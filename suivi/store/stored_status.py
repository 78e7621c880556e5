"""The status and the projection of every series, stored, and brought up to date by the
write that changes them.

Why: computing the statuses of a national contract (270 000 series, 3 million values) takes
seconds, and every page needs them right after each load, in every replica. So the load
transaction that lands a batch also recomputes the stored status of the series that batch
touched, and only those; a rollback and the removal of demonstration values do the same in
their own transaction. Readers then select rows instead of aggregating the observations.

One row per series and *step*: the status as of year Y is the row with
valid_from <= Y < valid_to (NULL: unbounded), so that every year the sidebar offers is
stored at once, in about one row per actual value. The latest step of each series (valid_to
NULL) is also copied into a table of its own, TABLE; STEPS holds every step: the pages
open on the latest year, whose statuses are (nearly) all latest steps, and a national
contract holds 273 000 of those among 2.8 million steps. PostgreSQL scanned the 690 MB of
every step for them (1 s). An earlier year reads the latest steps from TABLE and the earlier
ones from STEPS (valid_to > Y: never a latest step), through an index on valid_to, which
DuckDB's zone maps give alike.

The formula is the one of suivi/store/status_sql.py (`status_steps_sql` shares it with
`series_status_sql`); the stored tables hold codes only, labels are joined when read
(`with_labels`). Each step also holds the projection to the target year as of that step
(suivi/store/projection_sql.py, PROJECTION_COLUMNS): the points of a projection change
only where a step starts. tests/test_stored_status.py recomputes every status from scratch
after loads, reloads, rollbacks and demo removal, on both engines, and finds the stored ones
equal (the projections too).
"""

from __future__ import annotations

import pandas as pd

from suivi.store import stored_counts, stored_gaps, stored_sources
from suivi.store.projection_sql import STORED_COLUMNS as PROJECTION_COLUMNS
from suivi.store.projection_sql import with_projection_steps
from suivi.store.status_sql import (
    SERIES_KEY,
    STATUS_COLUMNS,
    score_sql,
    status_steps_sql,
    with_labels,
)

TABLE = "series_status"  # the latest step of each series (valid_to NULL), a copy
STEPS = "series_status_step"  # every step, the latest included
TABLES = (TABLE, STEPS)
RETIRED = ("series_status_past",)  # until schema 10, the earlier steps only
# What a write brings up to date.
DERIVED = (*TABLES, stored_gaps.TABLE, stored_sources.TABLE, *stored_counts.TABLES)
TOUCHED = "touched_series"

_TYPES = {
    "d": "INTEGER", "baseline_year": "INTEGER", "target_year": "INTEGER", "year": "INTEGER",
    "last_actual_year": "INTEGER", "valid_from": "INTEGER", "valid_to": "INTEGER",
    "baseline": "DOUBLE PRECISION", "target": "DOUBLE PRECISION", "value": "DOUBLE PRECISION",
    "A": "DOUBLE PRECISION", "E": "DOUBLE PRECISION", "P": "DOUBLE PRECISION",
    "threshold_on_track": "DOUBLE PRECISION", "threshold_acceleration": "DOUBLE PRECISION",
    "demo": "BOOLEAN",
    "n_points": "INTEGER", "first_year": "INTEGER", "last_year": "INTEGER", "reach_year": "INTEGER",
    "last_value": "DOUBLE PRECISION", "slope": "DOUBLE PRECISION",
    "expected": "DOUBLE PRECISION", "half_band": "DOUBLE PRECISION",
}
_STEP_COLUMNS = (*STATUS_COLUMNS, "valid_from", "valid_to", "demo")
COLUMNS = (*_STEP_COLUMNS, *PROJECTION_COLUMNS)


def _name(column: str) -> str:
    return f'"{column}"' if column in ("A", "E", "P") else column


_LIST = ", ".join(_name(c) for c in COLUMNS)
_STEP_LIST = ", ".join(_name(c) for c in _STEP_COLUMNS)
_KEY = ", ".join(SERIES_KEY)
_SAME_SERIES = " AND ".join(f"t.{k} = x.{k}" for k in SERIES_KEY)  # rows t and x

DDL = [
    f"CREATE TABLE IF NOT EXISTS {table} ("
    + ", ".join(f"{_name(c)} {_TYPES.get(c, 'VARCHAR')}"
                + (" NOT NULL" if c in SERIES_KEY else "") for c in COLUMNS) + ")"
    for table in TABLES
]
# PostgreSQL: a contract's rows and a quartier's rows without a scan of every step; the
# earlier steps still holding a year (valid_to > Y) without a scan of the others.
PG_INDEXES = [
    *(f"CREATE INDEX IF NOT EXISTS {table}_contract ON {table} (contract_code, territory_code)"
      for table in TABLES),
    *(f"CREATE INDEX IF NOT EXISTS {table}_series ON {table} ({_KEY})" for table in TABLES),
    f"CREATE INDEX IF NOT EXISTS {STEPS}_valid_to ON {STEPS} (valid_to)",
]
# Every table a write brings up to date, for the schema: the statuses', the gaps', the counts'.
DERIVED_DDL = DDL + stored_gaps.DDL + stored_sources.DDL + stored_counts.DDL
DERIVED_PG_INDEXES = (PG_INDEXES + stored_gaps.PG_INDEXES + stored_sources.PG_INDEXES
                      + stored_counts.PG_INDEXES)


# --- Writing -------------------------------------------------------------------------------

def mark_touched(s, batch_id: int | None = None, demo: bool = False,
                 load: bool = False) -> None:
    """Note (in a temporary table) the series whose status a write may change: those with a
    value version created or superseded by `batch_id`, every series of an indicator or a
    contract version created or superseded by it (polarity, unit, thresholds), or every
    series holding a demonstration value (`demo`); and the quartiers whose stored gaps and
    the contracts whose source counts it may change (stored_gaps.mark, stored_sources.mark).
    Call it before the write when the write erases the marks (a rollback clears
    `superseded_batch`, demo removal deletes rows); `load`: after the write of load
    `batch_id`, whose own versions then give the source counts' differences."""
    if demo:
        series = f"SELECT {_KEY} FROM observation_v WHERE status = 'demo'"
    else:
        b = int(batch_id)  # a literal: PostgreSQL binds no parameter in CREATE TABLE AS
        batch = f"(created_batch = {b} OR superseded_batch = {b})"
        indicators = f"""
            SELECT code FROM indicator_v WHERE {batch}
            UNION
            SELECT code FROM indicator WHERE contract_code IN (
                SELECT code FROM contract_v WHERE {batch})"""
        # (every series has one latest step: TABLE lists them all)
        series = f"""
            SELECT {_KEY} FROM observation_v WHERE {batch}
            UNION
            SELECT {_KEY} FROM observation WHERE indicator_code IN ({indicators})
            UNION
            SELECT {_KEY} FROM {TABLE} WHERE indicator_code IN ({indicators})"""
    for stmt in s.dialect.temp_table(TOUCHED, f"SELECT DISTINCT {_KEY} FROM ({series}) t"):
        s.execute(stmt)
    stored_gaps.mark(s, TOUCHED, None if demo else batch_id)
    stored_sources.mark(s, TOUCHED, batch_id if load else None)


def refresh(s) -> None:
    """Recompute the stored status of the series `mark_touched` noted (inside the caller's
    transaction: readers see the old statuses or the new ones with the batch). PostgreSQL
    plans it on fresh statistics: the marks and the batch's own rows are not yet analysed,
    and a plan made for the tables before the batch ran for minutes; the tables the batch
    changed by less than autovacuum's threshold keep theirs."""
    s.refresh_statistics(s.changed_enough([TOUCHED, "observation_v", *TABLES]))
    for table in TABLES:
        s.execute(f"DELETE FROM {table} t USING {TOUCHED} x WHERE {_SAME_SERIES}")
    _insert_steps(s, TOUCHED)
    stored_gaps.refresh(s)
    stored_counts.refresh(s, TABLE, _score(s), stored_sources.SCOPE, TOUCHED)
    s.drop(TOUCHED)
    stored_sources.refresh(s)


def after_batch(s, batch_id: int) -> None:
    """The statuses a load batch changed, recomputed in its transaction. Onto a store with
    no stored status yet (a first load, the values of a national init), every series is new:
    computing them all skips the marking and the join with the marks."""
    if not s.holds_rows(TABLE):
        rebuild(s)
        return
    mark_touched(s, batch_id, load=True)
    refresh(s)


def rebuild(s) -> None:
    """Every stored status, gap and source count recomputed (a database created before
    the tables existed, or a first load)."""
    s.refresh_statistics(["observation_v"])
    for table in TABLES:
        s.execute(f"DELETE FROM {table}")
    _insert_steps(s, None)
    stored_gaps.rebuild(s)
    stored_sources.rebuild(s)
    stored_counts.rebuild(s, TABLE, _score(s))


def _score(s) -> str:
    return score_sql("status", '"P"', '"A"', s.dialect)


def _insert_steps(s, series_table: str | None) -> None:
    """The steps of the series in `series_table` (every series when None), computed once
    into STEPS, then the latest ones copied to TABLE (through a temporary table instead, the
    national init's statuses took 6.5 s instead of 3.3). STEPS keeps the latest steps too:
    on DuckDB, deleting rows written earlier in the same transaction made the commit rewrite
    the table (2.0 s of the national init, 0.18 s of a 200 000-row upload; bench/README.md).
    PostgreSQL fills both tables from one computation (a data-modifying common table, which
    DuckDB lacks)."""
    steps = steps_sql(s.dialect, series_table)
    if s.dialect.name == "postgresql":
        s.execute(f"""
            WITH steps AS ({steps}),
            latest AS (INSERT INTO {TABLE} ({_LIST})
                       SELECT {_LIST} FROM steps WHERE valid_to IS NULL)
            INSERT INTO {STEPS} ({_LIST}) SELECT {_LIST} FROM steps""")
        return
    s.execute(f"INSERT INTO {STEPS} ({_LIST}) {steps}")
    of_series = "" if series_table is None else \
        f" AND EXISTS (SELECT 1 FROM {series_table} x WHERE {_SAME_SERIES})"
    # The copy in no particular order: kept in the order of STEPS (the window's, by series
    # number), it ran on one thread (a national init's 273 000 latest steps: 0.9 s instead
    # of 0.4). Readers filter by contract and territory, which that order did not group
    # either. The values keep their order: their zone maps serve the pages' reads.
    with s.unordered_writes():
        s.execute(f"INSERT INTO {TABLE} ({_LIST}) SELECT {_LIST} FROM {STEPS} t "
                  f"WHERE valid_to IS NULL{of_series}")


def steps_sql(dialect, series_table: str | None = None) -> str:
    """Every step of the series in `series_table` (every series when None): the status
    (suivi/store/status_sql.py) and the projection (suivi/store/projection_sql.py) as of that
    step, in the order of COLUMNS."""
    return with_projection_steps(status_steps_sql(dialect, series_table), _STEP_LIST, dialect)


# --- Reading -------------------------------------------------------------------------------

def read_sql(contract_code: str | None, as_of: int | None,
             territory_codes=None) -> tuple[str, list]:
    """The stored statuses as of `as_of` (None: the latest): the columns of
    series_status_sql, then `demo` (the series holds a demonstration value)."""
    cols = ", ".join(_name(c) for c in STATUS_COLUMNS)
    sql, params = _read_sql(contract_code, as_of, territory_codes, f"{cols}, demo")
    return with_labels(sql, ("demo",)), params


def _read_sql(contract_code: str | None, as_of: int | None, territory_codes,
              columns: str) -> tuple[str, list]:
    """`columns` of the steps holding `as_of` (None: the latest) in a contract and among
    `territory_codes`, when given: the latest steps that began by then and the earlier ones
    that still held it."""
    conditions, params = [], []
    if contract_code is not None:
        conditions.append("contract_code = ?")
        params.append(contract_code)
    if territory_codes is not None:
        codes = list(dict.fromkeys(territory_codes))
        if not codes:
            conditions.append("1 = 0")
        else:
            conditions.append(f"territory_code IN ({', '.join('?' * len(codes))})")
            params.extend(codes)
    if as_of is None:
        where = " AND ".join(conditions) or "TRUE"
        return f"SELECT {columns} FROM {TABLE} WHERE {where}", params
    year = int(as_of)
    where = " AND ".join([*conditions, "(valid_from IS NULL OR valid_from <= ?)"])
    return (f"SELECT {columns} FROM {TABLE} WHERE {where} UNION ALL "
            f"SELECT {columns} FROM {STEPS} WHERE {where} AND valid_to > ?",
            [*params, year, *params, year, year])


def read(s, contract_code: str | None, as_of: int | None,
         territory_codes=None) -> pd.DataFrame:
    sql, params = read_sql(contract_code, as_of, territory_codes)
    return s.table_df(sql, params)


def read_projections(s, contract_code: str | None, as_of: int | None,
                     territory_codes=None) -> pd.DataFrame:
    """The stored projections as of `as_of` (None: the latest): the series key, target_year,
    then PROJECTION_COLUMNS."""
    sql, params = _read_sql(contract_code, as_of, territory_codes,
                            ", ".join([*SERIES_KEY, "target_year", *PROJECTION_COLUMNS]))
    return s.table_df(sql, params)


#: What `overview` counts: each set's grouping columns, then the columns it keeps.
_SETS = {
    "node": (("node_code", "status"), ("n", "demo")),
    "territory": (("territory_code", "status"), ("n", "demo", "score_sum", "n_scored")),
    "indicator": (("indicator_code",), ("n", "has_baseline", "has_target", "last_year")),
    "indicator_status": (("node_code", "indicator_code", "status"), ("n",)),
    "reason": (("status", "reason"), ("n",)),
    "projection": (("projection",), ("n",)),
}
# The columns of the GROUPING SETS (every set but "territory", counted apart).
_GROUPED = ("node_code", "indicator_code", "status", "reason", "projection")


def overview(s, contract_code: str, as_of: int | None, territory_codes=None,
             stored: bool = True) -> dict[str, pd.DataFrame]:
    """The statuses of a contract (among `territory_codes` when given) as of `as_of`,
    counted by the engine: what the pages' summaries and the bilan beyond its detail limit
    show, without reading the 270 000 series of a national contract
    (suivi.views.overview takes these counts or the series alike). One frame per _SETS
    entry, named after it:

    - "node": node_code (the first node the indicator measures), status, n, demo;
    - "territory": territory_code, status, n, demo, score_sum, n_scored (status_sql.score_sql);
    - "indicator": indicator_code, n_series, has_baseline, has_target, last_year;
    - "indicator_status": node_code, indicator_code, status, n;
    - "reason": status, reason, n;
    - "projection": projection (the outcome), n.

    `n` counts series, `demo` those holding a demonstration value.

    Two queries, each a plain grouping of the rows: the territories', and a first grouping
    per indicator, status, reason and projection (a few hundred rows) that one GROUPING SETS
    turns into the other sets. One query sharing the rows between both (a common table)
    cost PostgreSQL 0.4 s on a national contract, as it kept the rows and scanned them
    alone; apart, each is a parallel scan, 0.18 s together; DuckDB 0.06 s either way.

    Over the whole contract as of its latest year (or later), the counts come from
    suivi/store/stored_counts.py instead (0.2 s less on PostgreSQL); `stored=False` counts
    the steps (tests compare both)."""
    from_store = stored and territory_codes is None and stored_counts.holds(
        s, contract_code, as_of)
    if from_store:
        territory = stored_counts.territory(s, contract_code)
        rows, params = stored_counts.INDICATOR_ROWS, [contract_code]
    else:
        sql, params = _read_sql(contract_code, as_of, territory_codes,
                                f"territory_code, status, demo, {_score(s)} AS score")
        territory = s.table_df(f"""
            SELECT {stored_counts.TERRITORY_COUNTS} FROM ({sql}) q
            GROUP BY {stored_counts.TERRITORY_KEY}""", params)
        sql, params = _read_sql(contract_code, as_of, territory_codes,
                                "indicator_code, status, reason, projection, demo, baseline, "
                                "target, last_actual_year")
        rows = (f"SELECT {stored_counts.INDICATOR_COUNTS} FROM ({sql}) q "
                f"GROUP BY {stored_counts.INDICATOR_KEY}")
    sets = {name: by for name, (by, _) in _SETS.items() if name != "territory"}
    counts = s.table_df(f"""
        SELECT GROUPING({", ".join(_GROUPED)}) AS grouping_id, node_code, indicator_code,
               status, reason, projection, CAST(sum(n) AS BIGINT) AS n,
               CAST(sum(demo) AS BIGINT) AS demo, bool_or(has_baseline) AS has_baseline,
               bool_or(has_target) AS has_target, max(last_year) AS last_year
        FROM ({rows}) p
        LEFT JOIN (SELECT indicator_code AS node_indicator, min(node_code) AS node_code
                   FROM indicator_node WHERE contract_code = ?
                   GROUP BY indicator_code) n ON n.node_indicator = p.indicator_code
        GROUP BY GROUPING SETS ({", ".join(f"({', '.join(by)})" for by in sets.values())})""",
                        [*params, contract_code])
    out = {"territory": territory}
    for name, by in sets.items():
        # GROUPING sets a bit, leftmost column highest, for each column not grouped by.
        grouping_id = sum(1 << (len(_GROUPED) - 1 - i)
                          for i, c in enumerate(_GROUPED) if c not in by)
        out[name] = counts.loc[counts["grouping_id"] == grouping_id,
                               [*by, *_SETS[name][1]]].reset_index(drop=True)
    out["indicator"] = out["indicator"].rename(columns={"n": "n_series"})
    return {name: out[name] for name in _SETS}
