"""The gap of every quartier to its commune, stored, and brought up to date by the write
that changes it.

Why: the bilan and the Word report show, for every quartier and comparable indicator, the
latest gap to its commune and how it moved since the first year. Computed in the request,
that is a join of the observations with themselves: 0.7 s on DuckDB and 2.6 s on PostgreSQL
for a national contract after an upload. So, as for the statuses
(suivi/store/stored_status.py), the transaction that lands a batch recomputes the gaps it
may have changed, and readers select rows.

One row per quartier, indicator and *year with a gap* (both values known), with what the
gaps up to that year give: the first year and gap, the count of years, the latest values.
The gaps as of year Y are the rows with valid_from <= Y < valid_to (NULL: unbounded). The
formula is the one of suivi/store/gaps_sql.py, shared with the query from scratch,
`reports.quartier_gaps`; tests/test_stored_status.py finds both equal after loads, reloads,
rollbacks and demo removal, on both engines (tests/conftest.assert_stored_equal_recomputed).

What a batch may change, noted by `mark` while its marks are still in place: the quartiers
of the series it touched and those whose reference territories it touched; every quartier
of a contract whose own rows, territories or indicators it changed; every contract when it
changed the territories or the register's links.
"""

from __future__ import annotations

import pandas as pd

from suivi.core import progress as pg
from suivi.store.gaps_sql import gap_rows_sql

TABLE = "gap_step"
SCOPE = "touched_gap_scope"

_COLUMNS = ("contract_code", "quartier", "reference_code", "indicator_code", "valid_from",
            "valid_to", "n_years", "first_year", "first_gap", "year", "gap", "qpv_value",
            "ref_value")
_TYPES = {"valid_from": "INTEGER", "valid_to": "INTEGER", "n_years": "INTEGER",
          "first_year": "INTEGER", "year": "INTEGER", "first_gap": "DOUBLE PRECISION",
          "gap": "DOUBLE PRECISION", "qpv_value": "DOUBLE PRECISION",
          "ref_value": "DOUBLE PRECISION"}
_LIST = ", ".join(_COLUMNS)

DDL = [f"CREATE TABLE IF NOT EXISTS {TABLE} ("
       + ", ".join(f"{c} {_TYPES.get(c, 'VARCHAR')}" for c in _COLUMNS) + ")"]
PG_INDEXES = [f"CREATE INDEX IF NOT EXISTS {TABLE}_quartier ON {TABLE} "
              "(contract_code, quartier)"]

# The steps: each year with a gap starts one, which holds until the next.
_STEPS = """
SELECT contract_code, quartier, reference_code, indicator_code, year AS valid_from,
       lead(year) OVER (PARTITION BY contract_code, quartier, indicator_code ORDER BY year)
           AS valid_to,
       count(*) OVER w AS n_years, first_value(year) OVER w AS first_year,
       first_value(gap) OVER w AS first_gap, year, gap, qpv_value, ref_value
FROM g
WINDOW w AS (PARTITION BY contract_code, quartier, indicator_code ORDER BY year
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"""


# --- Writing -------------------------------------------------------------------------------

def mark(s, touched: str, batch_id: int | None = None) -> None:
    """Note in SCOPE the (contract, quartier) pairs whose gaps the write may change (quartier
    NULL: all of the contract's), from `touched` (the series a batch or the demo removal
    touched) and the rows `batch_id` created or superseded. Call it before the write moves
    or deletes the marks."""
    whole = "SELECT NULL AS contract_code WHERE FALSE"
    if batch_id is not None:
        b = int(batch_id)  # a literal: PostgreSQL binds no parameter in CREATE TABLE AS
        batch = f"(created_batch = {b} OR superseded_batch = {b})"
        register = (f"EXISTS (SELECT 1 FROM territory_v WHERE {batch}) "
                    f"OR EXISTS (SELECT 1 FROM territory_ref_v WHERE {batch})")
        whole = f"""
            SELECT code AS contract_code FROM contract_v WHERE {batch} OR {register}
            UNION SELECT contract_code FROM contract_territory_v WHERE {batch}
            UNION SELECT contract_code FROM indicator_v WHERE {batch}"""
    territories = f"SELECT DISTINCT territory_code FROM {touched}"
    scope = f"""
        SELECT contract_code, CAST(NULL AS VARCHAR) AS quartier FROM ({whole}) w
        UNION
        SELECT ct.contract_code, ct.territory_code FROM contract_territory ct
        WHERE ct.territory_code IN ({territories})
        UNION
        SELECT ct.contract_code, ct.territory_code FROM contract_territory ct
        JOIN territory_ref r ON r.territory_code = ct.territory_code
        WHERE r.reference_code IN ({territories})"""
    for stmt in s.dialect.temp_table(SCOPE, f"SELECT DISTINCT * FROM ({scope}) t"):
        s.execute(stmt)


def refresh(s) -> None:
    """Recompute the gaps of the pairs `mark` noted, inside the caller's transaction."""
    s.refresh_statistics([SCOPE])
    # Whole contracts, then single quartiers: two plain joins (one condition with an OR
    # was a nested loop over the 150 000 national rows, 6 s on PostgreSQL).
    whole = f"SELECT contract_code FROM {SCOPE} WHERE quartier IS NULL"
    s.execute(f"DELETE FROM {TABLE} WHERE contract_code IN ({whole})")
    s.execute(f"DELETE FROM {TABLE} g USING {SCOPE} x "
              "WHERE x.contract_code = g.contract_code AND x.quartier = g.quartier")
    s.execute(f"INSERT INTO {TABLE} ({_LIST}) " + steps_sql(s.dialect, f"""
        AND (ct.contract_code IN ({whole}) OR EXISTS (SELECT 1 FROM {SCOPE} x
             WHERE x.contract_code = ct.contract_code AND x.quartier = ct.territory_code))"""))
    s.drop(SCOPE)


def rebuild(s) -> None:
    """Every stored gap recomputed (a first load, or a database from before this table)."""
    s.execute(f"DELETE FROM {TABLE}")
    s.execute(f"INSERT INTO {TABLE} ({_LIST}) {steps_sql(s.dialect)}")


def steps_sql(dialect, where: str = "") -> str:
    """The steps of the quartiers of contract_territory `ct` matching `where` (all when
    empty), in the order of _COLUMNS."""
    return gap_rows_sql(dialect, where=where) + _STEPS


# --- Reading -------------------------------------------------------------------------------

def _as_of(quartier: str | None) -> str:
    only = " AND g.quartier = ?" if quartier else ""
    return ("g.contract_code = ? AND g.valid_from <= ? "
            f"AND (g.valid_to IS NULL OR g.valid_to > ?){only}")


def _as_of_params(contract: str, year: int, quartier: str | None) -> list:
    return [contract, int(year), int(year), *([quartier] if quartier else [])]


#: Slope of the gap a year since its first year, and its trend: pg.gap_trend's rule (the
#: bilan's gap_table applies it to the rows read; a test finds both agree).
SLOPE_SQL = "CASE WHEN year > first_year THEN (gap - first_gap) / (year - first_year) END"
_BOUND = repr(float(pg.TREND_POINTS + pg.TOLERANCE))
TREND_SQL = (f"CASE WHEN slope > {_BOUND} THEN 'widens' WHEN slope < -{_BOUND} THEN 'reduces' "
             "WHEN slope IS NOT NULL THEN 'stable' ELSE 'not_assessable' END")


def summary(s, contract: str, year: int, quartier: str | None = None) -> pd.DataFrame:
    """Per indicator, the gaps as of `year` of the contract's quartiers (or the one given)
    counted by trend, and their median: indicator_code, indicator_label, unit, n, one count
    per pg.GAP_TRENDS key (n_reduces...), median_gap. What the bilan of a national contract
    shows instead of its 66 000 gaps, which PostgreSQL took 0.4 s to send."""
    counts = ", ".join(f"count(*) FILTER (WHERE trend = '{k}') AS n_{k}" for k in pg.GAP_TRENDS)
    return s.table_df(f"""
        SELECT q.indicator_code, i.label AS indicator_label, i.unit, q.n, {
            ", ".join(f"q.n_{k}" for k in pg.GAP_TRENDS)}, q.median_gap
        FROM (SELECT indicator_code, count(*) AS n, {counts},
                     percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap
              FROM (SELECT indicator_code, gap, {TREND_SQL} AS trend
                    FROM (SELECT g.indicator_code, g.gap, {SLOPE_SQL} AS slope
                          FROM {TABLE} g WHERE {_as_of(quartier)}) r) t
              GROUP BY indicator_code) q
        JOIN indicator i ON i.code = q.indicator_code
        ORDER BY q.indicator_code""", _as_of_params(contract, year, quartier))


def read(s, contract: str, year: int, quartier: str | None = None) -> pd.DataFrame:
    """The gaps as of `year` of the contract's quartiers (or the one given), with the
    labels and units of today: the columns of reports.quartier_gaps, ordered by quartier
    and indicator."""
    return s.table_df(f"""
        SELECT g.quartier, t.label AS quartier_label, g.indicator_code,
               i.label AS indicator_label, i.unit, g.reference_code,
               rt.label AS reference_label, g.n_years, g.first_year, g.first_gap, g.year,
               g.gap, g.qpv_value, g.ref_value
        FROM {TABLE} g
        JOIN territory t ON t.code = g.quartier
        JOIN territory rt ON rt.code = g.reference_code
        JOIN indicator i ON i.code = g.indicator_code
        WHERE {_as_of(quartier)}
        ORDER BY g.quartier, g.indicator_code""", _as_of_params(contract, year, quartier))
