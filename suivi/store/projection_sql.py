"""The projection of every series of a contract, computed in SQL.

The bilan and the report need a projection for thousands of series; the engine computes the
weighted sums of suivi/core/projection.py with one GROUP BY instead of a Python loop per series.
The SQL is a transcription of `suivi.core.projection.project`, rule for rule and with the same
sums (x = year - first year, w = 1 + x), and its constants come from suivi/core/projection.py and
suivi/core/progress.py; tests/test_projection.py checks that both give the same outcome, reach
year, expected value and band for every series of the embedded default.

The projection of every series is stored with its status, for every year at once
(suivi/store/stored_status.py, `with_projection_steps` on the status steps that carry the
running sums), and pages read it; `projection_sql` computes it from the observations, and
tests check the stored one against it.

Series inputs follow suivi/store/status_sql.py: the baseline year is the latest `reference` year
with a value, the target the latest `cible` row with a value, and the points are the
`realise` values strictly after the baseline (every one when there is no baseline), up to
`as_of`. A NaN value counts as missing.
"""

from __future__ import annotations

import pandas as pd

from suivi.core import progress as pg
from suivi.core import projection as pj
from suivi.store.dialect import DUCKDB, Dialect
from suivi.store.status_sql import SERIES_KEY, _double, _polarity_sign_sql, _texts, point_sums

_KEY = ", ".join(SERIES_KEY)

# As of one year (the later actuals already filtered out by `{where}`): each series'
# baseline and target, and the sums of its points (the actuals with a value strictly after
# the baseline, x counted from the first of them), next to its polarity. Window functions
# mark the points and one GROUP BY sums them: no join between series-level tables, whose
# row counts PostgreSQL's planner guesses badly (it chose a nested loop over thousands of
# series).
_SOURCE_AS_OF = """
obs AS (
    SELECT o.indicator_code, o.territory_code, o.breakdown, o.modality, o.year, o.nature,
           CASE WHEN {nan} THEN NULL ELSE o.value END AS value
    FROM observation o
    JOIN indicator i ON i.code = o.indicator_code
    {where}
),
based AS (
    SELECT obs.*, max(year) FILTER (WHERE nature = 'reference' AND value IS NOT NULL)
               OVER (PARTITION BY {key}) AS baseline_year
    FROM obs
),
flagged AS (
    SELECT based.*, (nature = 'realise' AND value IS NOT NULL
                     AND (baseline_year IS NULL OR year > baseline_year)) AS point
    FROM based
),
points AS (
    SELECT flagged.*,
        CASE WHEN point THEN CAST(year - min(year) FILTER (WHERE point)
                                      OVER (PARTITION BY {key}) AS DOUBLE PRECISION) END AS x
    FROM flagged
),
series AS (
    SELECT {key}, max(baseline_year) AS baseline_year,
        max(year) FILTER (WHERE nature = 'cible' AND value IS NOT NULL) AS target_year,
        {target} AS target,
        nullif(count(x), 0) AS n_points, min(year) FILTER (WHERE point) AS first_year,
        max(year) FILTER (WHERE point) AS last_year, {last_value} AS last_value, {point_sums}
    FROM points GROUP BY {key}
),
source AS (
    SELECT series.*, i.polarity, {sign} AS d
    FROM series JOIN indicator i ON i.code = series.indicator_code
)"""

# For every year at once: the rows of the status steps, which carry the running sums
# (status_sql.status_steps_sql).
_SOURCE_STEPS = """
source AS ({steps})"""

# suivi.core.projection.project on the sums of `source` (whichever way they were summed).
_FORMULA = """
fit AS (
    SELECT src.*,
        src.swx / src.sw AS mx, src.swy / src.sw AS my,
        src.swxx - src.swx * src.swx / src.sw AS sxx,
        src.swxy - src.swx * src.swy / src.sw AS sxy,
        src.swyy - src.swy * src.swy / src.sw AS syy
    FROM source src
),
lines AS (
    SELECT *,
        CASE WHEN n_points >= {min_points} THEN sxy / sxx END AS slope,
        CASE WHEN n_points >= {band_points}
             THEN CASE WHEN syy - (sxy / sxx) * sxy > {rss_floor} * syy
                       THEN syy - (sxy / sxx) * sxy ELSE 0.0 END / (n_points - 2) END AS s2
    FROM fit
),
reasons AS (
    SELECT *,
        CASE
            WHEN polarity IN ({neutral}) THEN 'neutral_polarity'
            WHEN d IS NULL THEN 'unknown_polarity'
            WHEN target_year IS NULL OR target IS NULL THEN 'missing_target'
            WHEN coalesce(n_points, 0) < {min_points} THEN 'too_few_values'
        END AS early_reason,
        CAST(first_year AS DOUBLE PRECISION) + mx + (target - my) / slope AS year_star
    FROM lines
),
outcome AS (
    SELECT *,
        CASE WHEN early_reason IS NULL AND d * (last_value - target) < -{tol}
                  AND d * slope > {tol}
             THEN greatest(ceil(year_star - {eps}), CAST(last_year + 1 AS DOUBLE PRECISION))
             END AS reach0
    FROM reasons
)
SELECT {columns},
    CASE WHEN early_reason IS NULL THEN my + slope * (target_year - first_year - mx) END
        AS expected,
    CASE WHEN early_reason IS NULL AND s2 IS NOT NULL
         THEN {z} * sqrt(s2 * (1.0 / sw + (target_year - first_year - mx)
                                         * (target_year - first_year - mx) / sxx)) END
        AS half_band,
    CASE
        WHEN early_reason IS NOT NULL THEN 'not_projectable'
        WHEN d * (last_value - target) >= -{tol} THEN 'achieved'
        WHEN d * slope <= {tol} THEN 'never'
        WHEN reach0 - last_year > {horizon} THEN 'never'
        WHEN reach0 <= target_year THEN 'on_time'
        ELSE 'late'
    END AS projection,
    CASE
        WHEN early_reason IS NOT NULL THEN early_reason
        WHEN d * (last_value - target) >= -{tol} THEN NULL
        WHEN d * slope <= {tol} THEN 'wrong_direction'
        WHEN reach0 - last_year > {horizon} THEN 'beyond_horizon'
    END AS projection_reason,
    CASE WHEN reach0 - last_year <= {horizon} THEN CAST(reach0 AS INTEGER) END AS reach_year
FROM outcome"""

_AS_OF_COLUMNS = ("indicator_code, territory_code, breakdown, modality, polarity, d, "
                  "baseline_year, target_year, target, n_points, first_year, last_year, "
                  "last_value, slope")

# The formula's inputs and slope kept with each stored step, then its outputs.
_STORED_INPUTS = ("n_points", "first_year", "last_year", "last_value", "slope")
#: What the stored statuses (suivi/store/stored_status.py) keep of each step's projection.
STORED_COLUMNS = (*_STORED_INPUTS, "expected", "half_band", "projection", "projection_reason",
                  "reach_year")


def _parts(dialect: Dialect, where: str = "", columns: str = "") -> dict:
    return dict(
        where=where, columns=columns, key=_KEY, nan=dialect.is_nan("o.value"),
        target=dialect.latest("value", "year", "nature = 'cible' AND value IS NOT NULL"),
        last_value=dialect.latest("value", "year", "point"),
        sign=_polarity_sign_sql("i.polarity"),
        neutral=_texts(sorted(pg.NEUTRAL_POLARITIES)),
        min_points=int(pj.MIN_POINTS), band_points=int(pj.BAND_POINTS),
        tol=_double(pg.TOLERANCE), rss_floor=_double(pj.RSS_FLOOR), eps=_double(pj.REACH_EPSILON),
        z=_double(pj.BAND_Z), horizon=int(pj.HORIZON), point_sums=point_sums(),
    )


def projection_sql(contract_code: str | None = None, as_of: int | None = None,
                   dialect: Dialect = DUCKDB) -> tuple[str, list]:
    """SQL text and parameters: one row per series with at least one observation, computed
    from the observations (the stored projections are checked against it).

    Columns: the series key, polarity, d, baseline_year, target_year, target, n_points,
    first_year, last_year, last_value, slope, expected, half_band, projection (status code),
    projection_reason, reach_year. Restricted to one contract and to actuals up to `as_of`
    when given.
    """
    conditions, params = [], []
    if contract_code is not None:
        conditions.append("i.contract_code = ?")
        params.append(contract_code)
    if as_of is not None:
        conditions.append("(o.nature <> 'realise' OR o.year <= ?)")
        params.append(int(as_of))
    where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    parts = _parts(dialect, where=where, columns=_AS_OF_COLUMNS)
    sql = "WITH " + ",".join(t.format(**parts) for t in (_SOURCE_AS_OF, _FORMULA))
    return sql, params


def with_projection_steps(status_steps: str, columns: str, dialect: Dialect) -> str:
    """SQL text: the rows of `status_steps` (status_sql.status_steps_sql, its output columns
    to keep listed in `columns`) each with the projection as of its step, STORED_COLUMNS
    last.

    A step starts at each actual with a value, and only those change the points, so the
    projection as of any year is the one of the step holding it."""
    parts = _parts(dialect, columns=", ".join([columns, *_STORED_INPUTS]))
    return "WITH " + ",".join(t.format(**parts, steps=status_steps)
                              for t in (_SOURCE_STEPS, _FORMULA))


def fetch_projections(s, contract_code: str | None = None,
                      as_of: int | None = None) -> pd.DataFrame:
    """Projections computed from the observations, with the French sentence and short text
    of suivi/core/projection.py (pages read the stored ones: queries.projections)."""
    return describe(s.df(*projection_sql(contract_code, as_of, dialect=s.dialect)))


def describe(df: pd.DataFrame) -> pd.DataFrame:
    """Add `projection_sentence` and `projection_short`, worded by suivi/core/projection.py.

    The wording depends on a handful of columns only, so each distinct combination is worded
    once (a national contract has 270 000 series but a few hundred combinations).
    """
    cols = ["projection", "projection_reason", "reach_year", "target_year", "last_year"]
    if df.empty:
        return df.assign(projection_sentence=pd.Series(dtype="object"),
                         projection_short=pd.Series(dtype="object"))
    combos = df[cols].drop_duplicates()
    words = [(pj.projection_sentence(*_plain(status, reason, reach, target_year, last)),
              pj.projection_short(*_plain(status, reach, target_year)))
             for status, reason, reach, target_year, last in combos.itertuples(index=False)]
    combos = combos.assign(projection_sentence=[w[0] for w in words],
                           projection_short=[w[1] for w in words])
    return df.merge(combos, on=cols, how="left")


def _plain(*values):
    """NaN and pandas NA as None, for the wording functions."""
    return tuple(None if pg.is_missing(v) and not isinstance(v, str) else v for v in values)
