"""The progress status of every series of a contract, computed in SQL.

Pages that show a whole contract need thousands of statuses at once; computing them in the
store avoids a Python loop. The SQL below is a transcription of `suivi.core.progress.assess`,
rule for rule and with the same arithmetic, and its thresholds, tolerance, polarity codes,
labels and reason texts are generated from suivi/core/progress.py, so that no number or label
is written twice. It is written once for both engines; the latest value of a series and NaN go
through the dialect (suivi/store/dialect.py). tests/test_status_sql.py checks that SQL and
Python give the same status and the same A, E, P, on DuckDB and PostgreSQL.

A series is (indicator_code, territory_code, breakdown, modality). Its inputs are picked by
the rules of `pick_series_inputs`, which the SQL applies identically:
- baseline (b, B): the `reference` row with a value and the greatest year;
- target (T, C): the `cible` row with a value and the greatest year;
- actual (t, V): the `realise` row with a value and the greatest year strictly after b (any
  year when there is no baseline, so that the latest value can still be shown);
- last actual year: the latest `realise` year with a value, whatever b; when there is no actual
  after b but an earlier one, the status says `no_actual_after_baseline` rather than
  `missing_value`.
A NaN value counts as missing, like NULL.

SQL identifiers are case-insensitive, so b/B, t/T cannot both be column names: the columns use
the names of the `Assessment` fields (baseline_year = b, baseline = B, target_year = T,
target = C, year = t, value = V), then A, E, P.
"""

from __future__ import annotations

from dataclasses import dataclass

from suivi.core import progress as pg
from suivi.core.progress import Assessment, Thresholds
from suivi.store.dialect import DUCKDB, Dialect

SERIES_KEY = ("indicator_code", "territory_code", "breakdown", "modality")


def _double(x: float) -> str:
    """A float constant as an exact double literal (a bare 0.95 would be a DECIMAL)."""
    return f"CAST('{float(x)!r}' AS DOUBLE PRECISION)"


def _text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _texts(values) -> str:
    return ", ".join(_text(v) for v in values)


def _values_table(rows, columns: str) -> str:
    body = ", ".join("(" + _texts(r) + ")" for r in rows)
    return f"(VALUES {body}) AS {columns}"


def _polarity_sign_sql(column: str) -> str:
    whens = " ".join(f"WHEN {_text(code)} THEN {sign}" for code, sign in pg.POLARITY_SIGN.items())
    return f"CASE {column} {whens} END"


_KEY = ", ".join(SERIES_KEY)
_REF = "nature = 'reference' AND value IS NOT NULL"
_CIBLE = "nature = 'cible' AND value IS NOT NULL"
_REAL = "nature = 'realise' AND value IS NOT NULL"

# The observations of the series in scope, NaN read as missing. `{join}` restricts them to a
# table of series keys (the series a batch touched), `{where}` to a contract and a year.
_OBS = """
obs AS (
    SELECT o.indicator_code, o.territory_code, o.breakdown, o.modality, o.year, o.nature,
           CASE WHEN {nan} THEN NULL ELSE o.value END AS value, o.status
    FROM observation o
    JOIN indicator i ON i.code = o.indicator_code
    {join}
    {where}
)"""

# The inputs as of one year (the actuals after it already filtered out by `{where}`).
_PICKED_AS_OF = """
bases AS (
    SELECT {key}, max(year) FILTER (WHERE {ref}) AS baseline_year
    FROM obs GROUP BY {key}
),
picked AS (
    SELECT {key},
        {baseline_year} AS baseline_year,
        {baseline} AS baseline,
        max(year) FILTER (WHERE {cible}) AS target_year,
        {target} AS target,
        max(year) FILTER (WHERE {real} AND {after}) AS year,
        {value} AS value,
        max(year) FILTER (WHERE {real}) AS last_actual_year
    FROM obs JOIN bases USING ({key})
    GROUP BY {key}
)"""

# The inputs for every year at once, as steps: the inputs as of year Y are those of the row
# with valid_from <= Y < valid_to (NULL: unbounded). Each actual with a value starts a step
# (it becomes the latest actual, after the baseline or not); before the first one, a series
# exists from its first row of any nature, as in the query for one year (which keeps every
# reference and target row and the actuals up to the year, valued or not).
# Each step also carries the running sums of the projection (suivi/store/projection_sql.py)
# over the points up to it: the actuals with a value after the baseline, x counted from the
# first of them. The steps without points (before the baseline or any actual) come first.
_PICKED_STEPS = """
heads AS (
    SELECT {key},
        max(year) FILTER (WHERE {ref}) AS baseline_year,
        {baseline} AS baseline,
        max(year) FILTER (WHERE {cible}) AS target_year,
        {target} AS target,
        CASE WHEN count(*) FILTER (WHERE nature <> 'realise') = 0 THEN min(year) END
            AS appears,
        min(year) FILTER (WHERE {real}) AS first_actual,
        bool_or(status = 'demo') AS demo,
        row_number() OVER () AS sid
    FROM obs GROUP BY {key}
),
steps AS (
    SELECT h.sid, o.year AS valid_from, o.value, TRUE AS actual,
        (h.baseline_year IS NULL OR o.year > h.baseline_year) AS point
    FROM obs o JOIN heads h USING ({key}) WHERE {real_o}
    UNION ALL
    SELECT sid, appears, NULL, FALSE, FALSE FROM heads
    WHERE appears IS NULL OR first_actual IS NULL OR appears < first_actual
),
firsts AS (
    SELECT sid, min(valid_from) AS first_point FROM steps WHERE point GROUP BY sid
),
bounded AS (
    SELECT st.*,
        lead(valid_from) OVER w AS valid_to,
        nullif(count(x) OVER w, 0) AS n_points, {point_sums}
    FROM (SELECT steps.*, f.first_point,
              CASE WHEN point THEN CAST(valid_from - f.first_point AS DOUBLE PRECISION) END AS x
          FROM steps LEFT JOIN firsts f USING (sid)) st
    WINDOW w AS (PARTITION BY sid ORDER BY valid_from NULLS FIRST
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
picked AS (
    SELECT h.indicator_code, h.territory_code, h.breakdown, h.modality,
        h.baseline_year, h.baseline, h.target_year, h.target,
        CASE WHEN st.point THEN st.valid_from END AS year,
        CASE WHEN st.point THEN st.value END AS value,
        CASE WHEN st.actual THEN st.valid_from END AS last_actual_year,
        st.valid_from, st.valid_to, h.demo,
        st.n_points, CASE WHEN st.point THEN st.first_point END AS first_year,
        {point_names}
    FROM bounded st JOIN heads h ON h.sid = st.sid
)"""

#: The weighted sums over a series' points that suivi.core.projection fits its line with
#: (x: the year counted from the first point; w = 1 + x), by the name SQL gives them.
POINT_SUMS = {"sw": "1 + x", "swx": "(1 + x) * x", "swy": "(1 + x) * value",
              "swxx": "(1 + x) * x * x", "swxy": "(1 + x) * x * value",
              "swyy": "(1 + x) * value * value"}


def point_sums(over: str = "") -> str:
    """The select list of POINT_SUMS, as aggregates or, with `over`, as window sums."""
    return ", ".join(f"sum({e}){over} AS {name}" for name, e in POINT_SUMS.items())


# progress.assess on the picked inputs: written once, whichever way they were picked.
_FORMULA = """
inputs AS (
    SELECT p.*, i.contract_code, i.polarity, i.unit,
        {sign} AS d,
        coalesce(c.threshold_on_track, {on_track}) AS threshold_on_track,
        coalesce(c.threshold_acceleration, {acceleration}) AS threshold_acceleration,
        CASE WHEN p.target <> p.baseline
             THEN (p.value - p.baseline) / (p.target - p.baseline) END AS a0,
        CASE WHEN p.target_year > p.baseline_year
             THEN least(CAST(p.year - p.baseline_year AS DOUBLE PRECISION)
                        / CAST(p.target_year - p.baseline_year AS DOUBLE PRECISION),
                        CAST(1 AS DOUBLE PRECISION)) END AS e0
    FROM picked p
    JOIN indicator i ON i.code = p.indicator_code
    LEFT JOIN contract c ON c.code = i.contract_code
),
reasons AS (
    SELECT *,
        CASE
            WHEN polarity IN ({neutral}) THEN 'neutral_polarity'
            WHEN d IS NULL THEN 'unknown_polarity'
            WHEN baseline IS NULL THEN 'missing_baseline'
            WHEN target IS NULL THEN 'missing_target'
            WHEN value IS NULL AND last_actual_year IS NOT NULL THEN 'no_actual_after_baseline'
            WHEN value IS NULL THEN 'missing_value'
            WHEN d * (value - target) >= -{tol} THEN NULL
            WHEN target = baseline THEN 'flat_target'
            WHEN d * (target - baseline) < 0 THEN 'target_against_polarity'
            WHEN target_year <= baseline_year THEN 'target_year_not_after_baseline'
        END AS reason
    FROM inputs
),
statuses AS (
    SELECT *,
        CASE
            WHEN reason IS NOT NULL THEN 'not_assessable'
            WHEN d * (value - target) >= -{tol} THEN 'achieved'
            WHEN year >= target_year THEN 'not_achieved'
            WHEN a0 / e0 >= threshold_on_track - {tol} THEN 'on_track'
            WHEN a0 / e0 >= threshold_acceleration - {tol} THEN 'acceleration_needed'
            WHEN a0 / e0 >= {deterioration} - {tol} THEN 'limited'
            ELSE 'deterioration'
        END AS status
    FROM reasons
)
SELECT s.indicator_code, s.territory_code, s.breakdown, s.modality, s.contract_code,
    s.polarity, s.unit, s.d,
    s.baseline_year, s.baseline, s.target_year, s.target, s.year, s.value,
    s.last_actual_year,
    CASE WHEN s.reason IS NULL THEN s.a0 END AS "A",
    CASE WHEN s.reason IS NULL THEN s.e0 END AS "E",
    CASE WHEN s.reason IS NULL THEN s.a0 / s.e0 END AS "P",
    s.threshold_on_track, s.threshold_acceleration,
    s.status, s.reason{extra}
FROM statuses s"""

#: Columns of a status row, in order (`label`, `icon` and `reason_text` joined last).
STATUS_COLUMNS = ("indicator_code", "territory_code", "breakdown", "modality", "contract_code",
                  "polarity", "unit", "d", "baseline_year", "baseline", "target_year", "target",
                  "year", "value", "last_actual_year", "A", "E", "P", "threshold_on_track",
                  "threshold_acceleration", "status", "reason")


def score_sql(status: str, p: str, a: str, dialect: Dialect) -> str:
    """progress.series_score in SQL: +5 when achieved, none when not assessable, else the
    pace (the achievement A once the period is over) mapped linearly between the SCORE
    points and clipped at both ends (progress.pace_score). Tests compare it with
    suivi.views.overview.scores series by series."""
    pace = f"(CASE WHEN {status} = 'not_achieved' THEN {a} ELSE {p} END)"
    (x0, y0), pairs = pg.SCORE[0], list(zip(pg.SCORE, pg.SCORE[1:]))
    segments = " ".join(
        f"WHEN {pace} <= {_double(x1)} THEN {_double(y0_)} + {_double(y1 - y0_)} * "
        f"({pace} - {_double(x0_)}) / {_double(x1 - x0_)}"
        for (x0_, y0_), (x1, y1) in pairs)
    return (f"CASE WHEN {status} = 'achieved' THEN {_double(pg.SCORE_ACHIEVED)} "
            f"WHEN {status} = 'not_assessable' OR {pace} IS NULL OR {dialect.is_nan(pace)} "
            "THEN NULL "
            f"WHEN {pace} <= {_double(x0)} THEN {_double(y0)} {segments} "
            f"ELSE {_double(pg.SCORE[-1][1])} END")


def _quoted(column: str) -> str:
    return f'"{column}"' if column in ("A", "E", "P") else column


def with_labels(sql: str, extra: tuple[str, ...] = ()) -> str:
    """Status rows (STATUS_COLUMNS, then `extra`) with the French label, icon and reason text
    of suivi/core/progress.py, joined by code so that no label is stored or written twice."""
    cols = ", ".join(f"q.{_quoted(c)}" for c in STATUS_COLUMNS if c != "reason")
    labels = _values_table([(s.code, s.label, s.icon) for s in pg.STATUSES],
                           "l(status, label, icon)")
    reasons = _values_table(pg.REASONS.items(), "r(reason, reason_text)")
    more = "".join(f", q.{c}" for c in extra)
    return f"""SELECT {cols}, l.label, l.icon, q.reason, r.reason_text{more}
FROM ({sql}) q
JOIN {labels} ON l.status = q.status
LEFT JOIN {reasons} ON r.reason = q.reason"""


def _status_sql(picked: str, dialect: Dialect, where: str = "", join: str = "",
                extra: str = "") -> str:
    after = "(bases.baseline_year IS NULL OR year > bases.baseline_year)"
    parts = {
        "key": _KEY,
        "nan": dialect.is_nan("o.value"), "where": where, "join": join,
        "baseline_year": dialect.any_value("bases.baseline_year"),
        "baseline": dialect.latest("value", "year", _REF),
        "target": dialect.latest("value", "year", _CIBLE),
        "value": dialect.latest("value", "year", f"{_REAL} AND {after}"),
        "ref": _REF, "cible": _CIBLE, "real": _REAL, "after": after,
        "real_o": "o.nature = 'realise' AND o.value IS NOT NULL",
        "sign": _polarity_sign_sql("i.polarity"),
        "neutral": _texts(sorted(pg.NEUTRAL_POLARITIES)),
        "on_track": _double(pg.ON_TRACK), "acceleration": _double(pg.ACCELERATION),
        "deterioration": _double(pg.DETERIORATION), "tol": _double(pg.TOLERANCE),
        "extra": extra,
        "point_sums": point_sums(" OVER w"),
        "point_names": ", ".join(f"st.{name}" for name in POINT_SUMS),
    }
    return "WITH " + ",".join(
        part.format(**parts) for part in (_OBS, picked, _FORMULA))


def series_status_sql(contract_code: str | None = None, as_of: int | None = None,
                      dialect: Dialect = DUCKDB) -> tuple[str, list]:
    """SQL text and parameters: one row per series with at least one observation, computed
    from the observations (the stored statuses, suivi/store/stored_status.py, are checked
    against it).

    Columns: STATUS_COLUMNS then label, icon, reason, reason_text. Restricted to one
    contract when `contract_code` is given, and to the actuals up to `as_of` (the year chosen
    in the sidebar) when it is given.
    """
    conditions, params = [], []
    if contract_code is not None:
        conditions.append("i.contract_code = ?")
        params.append(contract_code)
    if as_of is not None:  # the status as it stood in year `as_of`: later actuals are ignored
        conditions.append("(o.nature <> 'realise' OR o.year <= ?)")
        params.append(int(as_of))
    where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    return with_labels(_status_sql(_PICKED_AS_OF, dialect, where)), params


def status_steps_sql(dialect: Dialect, series_table: str | None = None) -> str:
    """SQL text: the status of each series for every year at once, as steps (`valid_from`,
    `valid_to`: the row holds for the years valid_from <= Y < valid_to, NULL unbounded);
    STATUS_COLUMNS then valid_from, valid_to and `demo` (the series holds a demonstration
    value), without labels. Restricted to the series keys
    listed in `series_table` when given. The same inputs and formula as series_status_sql:
    as of any year, the step holding it equals that query's row."""
    join = ""
    if series_table:
        on = " AND ".join(f"x.{k} = o.{k}" for k in SERIES_KEY)
        join = f"JOIN {series_table} x ON {on}"
    sums = "".join(f", s.{name}" for name in POINT_SUMS)
    return _status_sql(_PICKED_STEPS, dialect, join=join,
                       extra=", s.valid_from, s.valid_to, s.demo, s.n_points, s.first_year, "
                             f"s.year AS last_year, s.value AS last_value{sums}")


def fetch_series_status(s, contract_code: str | None = None, as_of: int | None = None):
    """The statuses as a pandas DataFrame (one row per series), computed from the
    observations."""
    sql, params = series_status_sql(contract_code, as_of, s.dialect)
    return s.df(sql, params)


# --- The same selection in Python -------------------------------------------------------------

@dataclass(frozen=True)
class SeriesInputs:
    """Inputs picked from the observations of one series (see the module docstring)."""

    baseline_year: int | None = None
    baseline: float | None = None
    target_year: int | None = None
    target: float | None = None
    year: int | None = None
    value: float | None = None
    last_actual_year: int | None = None
    last_actual_value: float | None = None

    def assess(self, polarity, thresholds: Thresholds | None = None) -> Assessment:
        """`progress.assess` on these inputs.

        Without an actual after the baseline, the latest earlier actual is passed on, so that
        the reason is `no_actual_after_baseline` and not `missing_value`, as in the SQL.
        """
        year, value = self.year, self.value
        if year is None:
            year, value = self.last_actual_year, self.last_actual_value
        return pg.assess(self.baseline_year, self.baseline, self.target_year, self.target,
                         year, value, polarity, thresholds)


def _row(row) -> tuple:
    if isinstance(row, dict):
        return row["year"], row["nature"], row["value"]
    year, nature, value = row
    return year, nature, value


def _latest(rows, nature: str, after: int | None = None) -> tuple[int | None, float | None]:
    found = [(int(y), float(v)) for y, n, v in rows
             if n == nature and not pg.is_missing(v) and not pg.is_missing(y)
             and (after is None or int(y) > after)]
    return max(found) if found else (None, None)


def pick_series_inputs(rows) -> SeriesInputs:
    """Pick b, B, T, C, t, V from the observation rows of one series.

    `rows`: mappings with keys year, nature, value, or (year, nature, value) tuples. A series
    has at most one row per (year, nature), so the greatest year is never tied.
    """
    rows = [_row(r) for r in rows]
    b, B = _latest(rows, "reference")
    T, C = _latest(rows, "cible")
    t, V = _latest(rows, "realise", after=b)
    last_t, last_v = _latest(rows, "realise")
    return SeriesInputs(b, B, T, C, t, V, last_t, last_v)


def gap_sql(polarity: str, ref: str, qpv: str) -> str:
    """progress.gap in SQL, the one rule every page, the bilan and the report use:
    d * (Ref - QPV) (positive = the quartier lags); for a neutral indicator, where lagging
    has no meaning, the absolute difference |Ref - QPV|."""
    sign = _polarity_sign_sql(polarity)
    return f"CASE WHEN ({sign}) IS NULL THEN abs({ref} - {qpv}) ELSE ({sign}) * ({ref} - {qpv}) END"

