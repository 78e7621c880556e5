"""The SQL status of every series equals `progress.assess` on the same inputs."""

import itertools
import math

import duckdb
import pytest

from suivi.core.progress import REASONS, STATUS_BY_CODE, Thresholds, is_missing
from suivi.store.schema import ensure_schema
from suivi.store.status_sql import (
    SERIES_KEY,
    fetch_series_status,
    pick_series_inputs,
    series_status_sql,
)

# Indicator -> (contract, polarity, unit). CV2 overrides the thresholds.
INDICATORS = {
    "UP": ("CV1", "higher_better", "count"),
    "DOWN": ("CV1", "lower_better", "percent"),
    "UP2": ("CV2", "higher_better", "rate"),
    "NEUTRAL": ("CV1", "neutral", "count"),
    "NOPOL": ("CV1", None, "count"),
}
CONTRACTS = {"CV1": (None, None), "CV2": (0.9, 0.5)}


def _series_rows():
    """(indicator, territory, breakdown, modality, year, nature, value) rows, deterministic.

    A grid of actual years x shares of the way to the target covers every pace status and the
    exact boundaries; the special cases after it cover every not_assessable reason and the
    selection rules (latest year, NaN, actuals before the baseline, breakdowns).
    """
    rows = []
    indicators = ["UP", "DOWN", "UP2"]
    years = [2017, 2020, 2023, 2025]
    shares = [-0.3, 0.0, 0.25, 0.3, 0.475, 0.6, 1.0, 1.2]
    for n, (year, share) in enumerate(itertools.product(years, shares)):
        ind = indicators[n % 3]
        d = -1 if ind == "DOWN" else 1
        base, target = 50.0, 50.0 + d * 20.0
        terr = f"Q{n:02d}"
        rows += [
            (ind, terr, "", "", 2015, "reference", base),
            (ind, terr, "", "", 2025, "cible", target),
            (ind, terr, "", "", year, "realise", base + share * (target - base)),
        ]

    def series(ind, terr, obs, breakdown="", modality=""):
        rows.extend((ind, terr, breakdown, modality, y, nat, v) for y, nat, v in obs)

    ref = [(2015, "reference", 40.0), (2025, "cible", 60.0)]
    series("UP", "S01", [(2025, "cible", 60.0), (2020, "realise", 50.0)])      # no baseline
    series("UP", "S02", [(2015, "reference", 40.0), (2020, "realise", 50.0)])  # no target
    series("UP", "S03", ref)                                                   # no actual
    series("UP", "S04", ref + [(2015, "realise", 45.0), (2012, "realise", 30)])  # not after b
    series("UP", "S05", [(2015, "reference", 40.0), (2025, "cible", 40.0),
                         (2020, "realise", 35.0)])                             # flat target
    series("NEUTRAL", "S06", ref + [(2020, "realise", 50.0)])
    series("NOPOL", "S07", ref + [(2020, "realise", 50.0)])
    series("UP", "S08", [(2015, "reference", 40.0), (2025, "cible", 30.0),
                         (2020, "realise", 20.0)])                             # target backwards
    series("UP", "S09", [(2015, "reference", 40.0), (2012, "cible", 60.0),
                         (2020, "realise", 50.0)])                             # T before b
    # latest reference and target win; a NaN or NULL latest actual is skipped
    series("UP", "S10", [(2014, "reference", 10.0), (2016, "reference", 40.0),
                         (2025, "cible", 60.0), (2024, "cible", 99.0),
                         (2019, "realise", 45.0), (2021, "realise", math.nan),
                         (2022, "realise", None)])
    # the latest reference has no value: the earlier one is the baseline
    series("DOWN", "S11", [(2015, "reference", 20.0), (2017, "reference", None),
                           (2025, "cible", 10.0), (2018, "realise", 16.0)])
    # same territory, one breakdown per modality
    series("UP", "S12", ref + [(2020, "realise", 49.0)], "sexe", "F")
    series("UP", "S12", ref + [(2020, "realise", 44.0)], "sexe", "H")
    series("UP", "S12", ref + [(2020, "realise", 50.0)])
    # floating-point noise right at P = 0.95, and contract thresholds on CV2 (P = 0.92)
    series("UP", "S13", [(2015, "reference", 10.2), (2025, "cible", 30.7),
                         (2019, "realise", 17.99)])
    series("UP2", "S14", ref + [(2020, "realise", 49.2)])
    series("UP", "S15", ref + [(2020, "realise", 49.2)])
    # only an actual at all: missing baseline and target
    series("UP", "S16", [(2020, "realise", 3.0)])
    return rows


@pytest.fixture
def con(empty_db):
    """A store (DuckDB or PostgreSQL) holding the series of _series_rows, written directly."""
    import pandas as pd

    from suivi.store import open_store

    with open_store(empty_db).session() as con:
        ensure_schema(con)
        for code, (on_track, acceleration) in CONTRACTS.items():
            con.execute(
                "INSERT INTO contract_v (code, name, baseline_year, target_year, "
                "threshold_on_track, threshold_acceleration, created_batch) "
                "VALUES (?, ?, 2015, 2025, ?, ?, 1)",
                [code, f"Contrat {code}", on_track, acceleration],
            )
        for code, (contract, polarity, unit) in INDICATORS.items():
            con.execute(
                "INSERT INTO indicator_v (code, contract_code, label, unit, polarity, type, "
                "created_batch) VALUES (?, ?, ?, ?, ?, 'résultat', 1)",
                [code, contract, f"Indicateur {code}", unit, polarity],
            )
        rows = pd.DataFrame(_series_rows(), columns=[*SERIES_KEY, "year", "nature", "value"])
        con.put_frame("rows", rows, {"year": "INTEGER", "value": "DOUBLE PRECISION"})
        con.execute(
            "INSERT INTO observation_v (indicator_code, territory_code, breakdown, modality, "
            "year, nature, value, status, created_batch) SELECT indicator_code, territory_code, "
            "breakdown, modality, year, nature, value, 'valide', 1 FROM rows")
        # a superseded version must be ignored: it would make S03 assessable
        con.execute(
            "INSERT INTO observation_v (indicator_code, territory_code, breakdown, modality, "
            "year, nature, value, created_batch, superseded_batch) "
            "VALUES ('UP', 'S03', '', '', 2020, 'realise', 55.0, 1, 2)")
        yield con


def _python_assessment(con, row):
    obs = con.rows(
        "SELECT year, nature, value FROM observation WHERE indicator_code = ? "
        "AND territory_code = ? AND breakdown = ? AND modality = ?",
        [row[k] for k in SERIES_KEY],
    )
    on_track, acceleration = CONTRACTS[row["contract_code"]]
    return pick_series_inputs(obs), Thresholds.from_contract(on_track, acceleration)


def _same(a, b):
    """Both missing, or equal within 1e-9."""
    if is_missing(a):
        return b is None
    return b is not None and abs(a - b) <= 1e-9


def test_sql_status_equals_python_assess_for_every_series(con):
    df = fetch_series_status(con)
    expected_series = {r[:4] for r in _series_rows()}
    assert len(df) == len(expected_series) >= 40
    assert set(df[list(SERIES_KEY)].itertuples(index=False, name=None)) == expected_series
    for row in df.to_dict("records"):
        inputs, thresholds = _python_assessment(con, row)
        a = inputs.assess(row["polarity"], thresholds)
        key = tuple(row[k] for k in SERIES_KEY)
        assert row["status"] == a.status, key
        assert (row["reason"] if isinstance(row["reason"], str) else None) == a.reason, key
        assert row["label"] == a.label and row["icon"] == a.icon, key
        for col in ("A", "E", "P"):
            assert _same(row[col], getattr(a, col)), (key, col, row[col], getattr(a, col))
        # the SQL picked the same inputs as the Python helper
        for col in ("baseline_year", "baseline", "target_year", "target", "year", "value"):
            assert _same(row[col], getattr(inputs, col)), (key, col)
        assert row["threshold_on_track"] == thresholds.on_track
        assert row["threshold_acceleration"] == thresholds.acceleration


def test_every_status_and_reason_is_covered(con):
    df = fetch_series_status(con)
    assert set(df["status"]) == set(STATUS_BY_CODE)
    assert set(df["reason"].dropna()) == set(REASONS)
    labels = dict(zip(df["status"], df["label"]))
    assert labels["acceleration_needed"] == "Progrès, accélération nécessaire"
    texts = dict(zip(df["reason"], df["reason_text"]))
    assert texts["missing_baseline"] == REASONS["missing_baseline"]


def _one(con, territory, indicator="UP", breakdown="", modality=""):
    df = fetch_series_status(con)
    hit = df[(df.territory_code == territory) & (df.indicator_code == indicator)
             & (df.breakdown == breakdown) & (df.modality == modality)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_selected_inputs_and_statuses(con):
    s10 = _one(con, "S10")
    assert (s10.baseline_year, s10.baseline, s10.target_year, s10.target) == (2016, 40, 2025, 60)
    assert (s10.year, s10.value) == (2019, 45)       # NaN 2021 and NULL 2022 skipped
    assert s10.P == pytest.approx(0.25 / (3 / 9))   # A = 0.25, E = 3/9, P = 0.75
    assert s10.status == "acceleration_needed"
    s11 = _one(con, "S11", "DOWN")
    assert (s11.baseline_year, s11.baseline, s11.status) == (2015, 20, "on_track")
    s04 = _one(con, "S04")
    assert (s04.status, s04.reason, s04.last_actual_year) == (
        "not_assessable", "no_actual_after_baseline", 2015)
    assert s04.value is None or math.isnan(s04.value)
    assert _one(con, "S03").reason == "missing_value"        # superseded row ignored
    assert _one(con, "S12", breakdown="sexe", modality="F").status == "acceleration_needed"
    assert _one(con, "S12", breakdown="sexe", modality="H").status == "limited"
    assert _one(con, "S12").status == "on_track"
    assert _one(con, "S13").status == "on_track"             # P = 0.9499999999999998
    assert _one(con, "S14", "UP2").status == "on_track"      # CV2: on track from 0.9
    assert _one(con, "S15").status == "acceleration_needed"  # CV1 defaults: 0.95
    s16 = _one(con, "S16")
    assert (s16.reason, s16.year, s16.value) == ("missing_baseline", 2020, 3.0)


def test_exact_boundaries_in_sql(con):
    df = fetch_series_status(con)
    grid = df[df.territory_code.str.startswith("Q") & (df.year == 2020)]
    by_p = {round(p, 9): s for p, s in zip(grid.P, grid.status)}
    assert by_p[0.95] == "on_track"
    assert by_p[0.6] == "acceleration_needed"
    assert by_p[0.0] == "limited"


def test_contract_filter_and_view(con):
    sql, params = series_status_sql("CV2", dialect=con.dialect)
    assert params == ["CV2"]
    only = con.df(sql, params)
    assert set(only.contract_code) == {"CV2"} and set(only.indicator_code) == {"UP2"}
    assert len(only) == sum(1 for key in {r[:4] for r in _series_rows()} if key[0] == "UP2")
    everything = fetch_series_status(con)
    assert len(everything) == len({r[:4] for r in _series_rows()})
    assert everything["status"].nunique() == len(STATUS_BY_CODE)
    sql_all, params_all = series_status_sql()
    assert params_all == [] and "0.95" in sql_all and "?" not in sql_all


def test_gap_sql_is_the_single_gap_rule():
    """Gap to the reference: d * (Ref - QPV), and |Ref - QPV| for a neutral indicator."""

    from suivi.store.status_sql import gap_sql

    con = duckdb.connect()
    rows = con.execute(f"""
        SELECT p, {gap_sql('p', 'ref', 'qpv')} FROM (VALUES
            ('higher_better', 60.0, 40.0), ('lower_better', 10.0, 25.0),
            ('neutral', 10.0, 25.0)) t(p, ref, qpv) ORDER BY p""").fetchall()
    assert rows == [("higher_better", 20.0), ("lower_better", 15.0), ("neutral", 15.0)]


def test_method_summary_states_the_contract_thresholds():
    from suivi.core import progress as pg

    text = pg.method_summary(pg.Thresholds(on_track=0.9, acceleration=0.5))
    assert "P ≥ 0,9" in text and "0,5 ≤ P < 0,9" in text
    assert "P ≥ 0,95" in pg.method_summary()
