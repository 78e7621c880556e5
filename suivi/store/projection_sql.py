"""The projection of every series of a contract, computed in SQL.

The bilan and the report need a projection for thousands of series; DuckDB computes the
weighted sums of suivi/core/projection.py with one GROUP BY instead of a Python loop per series.
The SQL is a transcription of `suivi.core.projection.project`, rule for rule and with the same
sums (x = year - first year, w = 1 + x), and its constants come from suivi/core/projection.py and
suivi/core/progress.py; tests/test_projection.py checks that both give the same outcome, reach
year, expected value and band for every series of the embedded default.

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
from suivi.store.status_sql import SERIES_KEY, _double, _polarity_sign_sql, _texts

_KEY = ", ".join(SERIES_KEY)

_SQL = """
WITH obs AS (
    SELECT o.indicator_code, o.territory_code, o.breakdown, o.modality, o.year, o.nature,
           CASE WHEN {nan} THEN NULL ELSE o.value END AS value
    FROM observation o
    JOIN indicator i ON i.code = o.indicator_code
    {where}
),
heads AS (
    SELECT {key},
        max(year) FILTER (WHERE nature = 'reference' AND value IS NOT NULL) AS baseline_year,
        max(year) FILTER (WHERE nature = 'cible' AND value IS NOT NULL) AS target_year,
        {target} AS target
    FROM obs GROUP BY {key}
),
points AS (
    SELECT o.indicator_code, o.territory_code, o.breakdown, o.modality, o.year, o.value,
           CAST(o.year - min(o.year) OVER (PARTITION BY {okey}) AS DOUBLE PRECISION) AS x
    FROM obs o JOIN heads h USING ({key})
    WHERE o.nature = 'realise' AND o.value IS NOT NULL
      AND (h.baseline_year IS NULL OR o.year > h.baseline_year)
),
sums AS (
    SELECT {key}, count(*) AS n_points, min(year) AS first_year, max(year) AS last_year,
        {last_value} AS last_value,
        sum(1 + x) AS sw, sum((1 + x) * x) AS swx, sum((1 + x) * value) AS swy,
        sum((1 + x) * x * x) AS swxx, sum((1 + x) * x * value) AS swxy,
        sum((1 + x) * value * value) AS swyy
    FROM points GROUP BY {key}
),
fit AS (
    SELECT h.*, s.n_points, s.first_year, s.last_year, s.last_value, s.sw,
        i.polarity, {sign} AS d,
        s.swx / s.sw AS mx, s.swy / s.sw AS my,
        s.swxx - s.swx * s.swx / s.sw AS sxx,
        s.swxy - s.swx * s.swy / s.sw AS sxy,
        s.swyy - s.swy * s.swy / s.sw AS syy
    FROM heads h LEFT JOIN sums s USING ({key})
    JOIN indicator i ON i.code = h.indicator_code
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
SELECT indicator_code, territory_code, breakdown, modality, polarity, d,
    baseline_year, target_year, target, n_points, first_year, last_year, last_value, slope,
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
FROM outcome
"""


def projection_sql(contract_code: str | None = None, as_of: int | None = None,
                   territory_code: str | None = None,
                   dialect: Dialect = DUCKDB) -> tuple[str, list]:
    """SQL text and parameters: one row per series with at least one observation.

    Columns: the series key, polarity, d, baseline_year, target_year, target, n_points,
    first_year, last_year, last_value, slope, expected, half_band, projection (status code),
    projection_reason, reach_year. Restricted to one contract, to actuals up to `as_of` and to
    one territory when given (an equality DuckDB pushes below the window, see
    queries.series_status_for).
    """
    conditions, params = [], []
    if contract_code is not None:
        conditions.append("i.contract_code = ?")
        params.append(contract_code)
    if territory_code is not None:
        conditions.append("o.territory_code = ?")
        params.append(territory_code)
    if as_of is not None:
        conditions.append("(o.nature <> 'realise' OR o.year <= ?)")
        params.append(int(as_of))
    where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    sql = _SQL.format(
        where=where, key=_KEY, nan=dialect.is_nan("o.value"),
        target=dialect.latest("value", "year", "nature = 'cible' AND value IS NOT NULL"),
        last_value=dialect.latest("value", "year", "TRUE"), okey=", ".join(f"o.{k}" for k in SERIES_KEY),
        sign=_polarity_sign_sql("i.polarity"),
        neutral=_texts(sorted(pg.NEUTRAL_POLARITIES)),
        min_points=int(pj.MIN_POINTS), band_points=int(pj.BAND_POINTS),
        tol=_double(pg.TOLERANCE), rss_floor=_double(pj.RSS_FLOOR), eps=_double(pj.REACH_EPSILON), z=_double(pj.BAND_Z),
        horizon=int(pj.HORIZON),
    )
    return sql, params


def fetch_projections(s, contract_code: str | None = None, as_of: int | None = None,
                      territory_codes=None) -> pd.DataFrame:
    """Projections as a DataFrame, with the French sentence and short text of
    suivi/core/projection.py; one query per territory when `territory_codes` is given."""
    if territory_codes is None:
        sql, params = projection_sql(contract_code, as_of, dialect=s.dialect)
        return describe(s.df(sql, params))
    parts = []
    for code in dict.fromkeys([*territory_codes, None]):  # None: an empty frame's columns
        sql, params = projection_sql(contract_code, as_of, code, s.dialect)
        if code is None:
            parts.append(s.df(f"SELECT * FROM ({sql}) q WHERE 1 = 0", params))
        else:
            parts.append(s.df(sql, params))
    found = [p for p in parts if len(p)]
    df = pd.concat(found, ignore_index=True) if found else parts[-1]
    return describe(df)


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
