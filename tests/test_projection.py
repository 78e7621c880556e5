"""Projection to the target year: worked examples, the SQL twin, and the indicator page."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from suivi.core import progress as pg
from suivi.core import projection as pj
from suivi.core.projection import project
from suivi.store import queries
from suivi.store.projection_sql import fetch_projections
from suivi.store.status_sql import SERIES_KEY, pick_series_inputs
from tests.conftest import connection

# --- worked examples (docs/methode-projection.md gives the same ones) -------------------------


def test_on_track_reaches_the_target_before_the_deadline():
    # baseline 40 in 2019, target 60 in 2025; +4 a year since: 60 is reached in 2024
    p = project([(2019, 40), (2020, 44), (2021, 48), (2022, 52)], "higher_better", 2025, 60,
                baseline_year=2019)
    assert p.points == ((2020, 44.0), (2021, 48.0), (2022, 52.0))  # the baseline year is out
    assert p.weights == (1.0, 2.0, 3.0)
    assert p.status == "on_time" and p.reach_year == 2024
    assert p.slope == pytest.approx(4.0)
    assert p.expected == pytest.approx(64.0)
    low, high = p.band
    assert low == pytest.approx(64.0, abs=1e-4) and high == pytest.approx(64.0, abs=1e-4)
    assert p.sentence == "Au rythme actuel, la cible serait atteinte en 2024, avant " \
                         "l'échéance de 2025."
    assert p.short == "en 2024"


def test_late_recent_years_weigh_more():
    # flat then +6: the weighted slope is 3,6 a year (ordinary least squares would say 3)
    p = project([(2020, 40), (2021, 40), (2022, 46)], "higher_better", 2025, 60,
                baseline_year=2019)
    assert p.slope == pytest.approx(3.6)
    assert p.fit.value_at(2022) == pytest.approx(45.4)
    assert p.expected == pytest.approx(56.2)          # 45,4 + 3 x 3,6
    # year* = 2022 + (60 - 45,4) / 3,6 = 2026,06 -> 2027
    assert p.status == "late" and p.reach_year == 2027
    assert p.sentence == "Au rythme actuel, la cible serait atteinte en 2027, après " \
                         "l'échéance de 2025."
    # residuals 1,8 ; -1,8 ; 0,6 -> s² = (1,8² x 1 + 1,8² x 2 + 0,6² x 3) / (3 - 2) = 10,8
    # se(2025)² = s² (1 / Σw + (x - x̄)² / Sxx) with x = 5, x̄ = 4/3, Sxx = 10/3
    assert p.fit.variance == pytest.approx(10.8)
    se = math.sqrt(10.8 * (1 / 6 + (5 - 4 / 3) ** 2 / (10 / 3)))
    low, high = p.band
    assert low == pytest.approx(56.2 - 2 * se) and high == pytest.approx(56.2 + 2 * se)
    assert p.expected_text("percent") == (f"56,2\u202f% en 2025 (entre "
                                          f"{pg.fr_percent((56.2 - 2 * se) / 100)} et "
                                          f"{pg.fr_percent((56.2 + 2 * se) / 100)})")


def test_never_at_this_pace():
    p = project([(2020, 45), (2021, 44), (2022, 43)], "higher_better", 2025, 60, 2019)
    assert p.status == "never" and p.reason == "wrong_direction" and p.reach_year is None
    assert p.sentence == "Au rythme actuel, la cible ne serait pas atteinte : pas à ce rythme."
    assert p.short == "pas à ce rythme"
    flat = project([(2020, 45), (2021, 45)], "higher_better", 2025, 60, 2019)
    assert flat.status == "never"
    slow = project([(2020, 40), (2021, 40.1)], "higher_better", 2025, 60, 2019)  # 200 years
    assert slow.status == "never" and slow.reason == "beyond_horizon"
    assert slow.sentence == ("Au rythme actuel, la cible ne serait pas atteinte avant "
                             f"{2021 + pj.HORIZON} : pas à ce rythme.")


def test_lower_is_better_with_two_points_only():
    # unemployment 20 -> 10 by 2025; 18 then 16: -2 a year, 10 reached in 2024; no band
    p = project([(2020, 18), (2021, 16)], "lower_better", 2025, 10, baseline_year=2019)
    assert p.status == "on_time" and p.reach_year == 2024
    assert p.slope == pytest.approx(-2.0) and p.expected == pytest.approx(8.0)
    assert p.band is None and p.fit.variance is None
    assert all(low is None for _, _, low, _ in p.line())
    rising = project([(2020, 18), (2021, 19)], "baisse", 2025, 10, 2019)
    assert rising.status == "never"


def test_target_already_met_and_deadline_passed():
    met = project([(2020, 50), (2021, 61)], "higher_better", 2025, 60, 2019)
    assert met.status == "achieved" and met.reach_year is None
    assert met.sentence == "La cible est déjà atteinte (dernière valeur : 2021)."
    # deadline 2022 passed, 2023 still short: at +2 a year the target comes in 2025
    late = project([(2021, 52), (2022, 54), (2023, 56)], "higher_better", 2022, 60, 2019)
    assert late.status == "late" and late.reach_year == 2025
    assert late.expected_text() == ""  # no "value expected in 2022" after 2022
    # the line already crosses the target but the last actual does not: the year after it
    noisy = project([(2020, 40), (2021, 70), (2022, 59)], "higher_better", 2025, 60, 2019)
    assert noisy.status == "on_time" and noisy.reach_year == 2023


@pytest.mark.parametrize(
    ("points", "polarity", "target", "reason"),
    [
        ([(2020, 1), (2021, 2)], "neutral", 60, "neutral_polarity"),
        ([(2020, 1), (2021, 2)], None, 60, "unknown_polarity"),
        ([(2020, 1), (2021, 2)], "higher_better", None, "missing_target"),
        ([(2020, 1), (2021, math.nan)], "higher_better", 60, "too_few_values"),
        ([(2019, 1), (2021, 2)], "higher_better", 60, "too_few_values"),  # 2019 = baseline
    ],
)
def test_not_projectable(points, polarity, target, reason):
    p = project(points, polarity, 2025, target, baseline_year=2019)
    assert p.status == "not_projectable" and p.reason == reason
    assert p.sentence == pj.PROJECTION_REASONS[reason] and p.line() == []


def test_progress_module_exposes_the_projection():
    assert pg.project([(2020, 18), (2021, 16)], "lower_better", 2025, 10, 2019) == \
        project([(2020, 18), (2021, 16)], "lower_better", 2025, 10, 2019)


# --- the SQL twin -------------------------------------------------------------------------------

def python_projections(db, contract: str, as_of: int) -> dict[tuple, pj.Projection]:
    """project() on every series of the contract, inputs picked like the SQL's."""
    with connection(db, read_only=True) as con:
        obs = con.df("""
            SELECT o.indicator_code, o.territory_code, o.breakdown, o.modality, o.year,
                   o.nature, o.value, i.polarity
            FROM observation o JOIN indicator i ON i.code = o.indicator_code
            WHERE i.contract_code = ? AND (o.nature <> 'realise' OR o.year <= ?)""",
                          [contract, as_of])
    out = {}
    for key, part in obs.groupby(list(SERIES_KEY)):
        rows = list(zip(part["year"], part["nature"], part["value"]))
        inputs = pick_series_inputs(rows)
        actual = [(y, v) for y, n, v in rows if n == "realise"]
        out[key] = project(actual, part["polarity"].iloc[0], inputs.target_year, inputs.target,
                           inputs.baseline_year)
    return out


@pytest.mark.parametrize("as_of", [2021, 2023])
@pytest.mark.parametrize("source", ["computed", "stored"])
def test_sql_equals_python_on_every_series(default_db, as_of, source):
    expected = python_projections(default_db, "AMBOISE-2015", as_of)
    with connection(default_db, read_only=True) as con:
        sql = (fetch_projections if source == "computed" else queries.projections)(
            con, "AMBOISE-2015", as_of)
    assert len(sql) == len(expected) > 200
    outcomes = set()
    for row in sql.to_dict("records"):
        p = expected[tuple(row[k] for k in SERIES_KEY)]
        outcomes.add(p.status)
        assert row["projection"] == p.status, row
        assert (row["projection_reason"] if isinstance(row["projection_reason"], str)
                else None) == p.reason
        assert (None if pd.isna(row["reach_year"]) else row["reach_year"]) == p.reach_year
        assert row["projection_sentence"] == p.sentence
        assert row["projection_short"] == p.short
        if p.status != "not_projectable":
            assert row["expected"] == pytest.approx(p.expected)
            assert row["n_points"] == len(p.points)
            band = p.band
            if band is None:
                assert pd.isna(row["half_band"])
            else:
                assert row["half_band"] == pytest.approx((band[1] - band[0]) / 2, abs=1e-9)
    assert {"on_time", "late", "never", "not_projectable"} <= outcomes


def test_stored_projections_of_a_few_territories_equal_the_whole_contracts(default_db):
    with connection(default_db, read_only=True) as con:
        whole = queries.projections(con, "AMBOISE-2015", 2023)
        some = queries.projections(con, "AMBOISE-2015", 2023, ["AMB-QPV-VE", "COM-37003"])
    assert set(some["territory_code"]) == {"AMB-QPV-VE", "COM-37003"}
    key = list(SERIES_KEY)
    whole = whole[whole["territory_code"].isin(["AMB-QPV-VE", "COM-37003"])]
    pd.testing.assert_frame_equal(whole.sort_values(key).reset_index(drop=True),
                                  some.sort_values(key).reset_index(drop=True))


# --- the indicator page states what the function says ------------------------------------------

def test_indicator_page_sentence_and_chart_equal_the_function(app):
    at = app(page="app_pages/fiche_indicateur.py", contrat="AMBOISE-2015",
             quartier="AMB-QPV-VE", annee=2023, indicateur="AMB-P3-02")
    with connection(app.db, read_only=True) as con:
        obs = con.df("""
            SELECT year, nature, value, i.polarity FROM observation o
            JOIN indicator i ON i.code = o.indicator_code
            WHERE indicator_code = 'AMB-P3-02' AND territory_code = 'AMB-QPV-VE'
              AND breakdown = '' AND (nature <> 'realise' OR year <= 2023)""")
    rows = list(zip(obs["year"], obs["nature"], obs["value"]))
    inputs = pick_series_inputs(rows)
    p = project([(y, v) for y, n, v in rows if n == "realise"], obs["polarity"].iloc[0],
                inputs.target_year, inputs.target, inputs.baseline_year)
    assert p.status == "late" and len(p.points) == 3  # 2021, 2022, 2023 after the 2019 baseline
    assert p.sentence.startswith(f"Au rythme actuel, la cible serait atteinte en {p.reach_year}")
    assert f"**La Verrerie** : {p.sentence}" in [m.value for m in at.markdown]
    detail = next(e for e in at.expander if e.label.startswith("Détail du calcul"))
    assert any(p.sentence in m.value and "poids 3" in m.value for m in detail.markdown)

    import json

    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    # Long legend entries are wrapped on two lines (<br>) so they fit a column at 1 024 px.
    traces = {(t.get("name") or "").replace("<br>", " "): t for t in spec["data"]}
    line = traces["La Verrerie – projection au rythme actuel"]
    assert line["line"]["dash"] == "dot"
    assert line["x"][0] == 2023 and line["x"][-1] == p.reach_year
    assert line["y"][-1] == pytest.approx(p.fit.value_at(p.reach_year))
    band = traces["La Verrerie – marge d'incertitude de la projection"]
    assert band["fill"] == "tonexty"
    assert band["y"][-1] == pytest.approx(p.fit.band_at(p.reach_year)[0])


def test_bilan_states_the_projection_of_each_series(default_db):
    from suivi.views import bilan as tb

    with connection(default_db, read_only=True) as con:
        report = tb.build_bilan(con, "AMBOISE-2015", 2023, "AMB-QPV-VE")
        python = python_projections(default_db, "AMBOISE-2015", 2023)
    series = report.tables["indicateurs"]
    row = series[(series["Code indicateur"] == "AMB-P3-02")
                 & (series["Code territoire"] == "AMB-QPV-VE")].iloc[0]
    p = python[("AMB-P3-02", "AMB-QPV-VE", "", "")]
    assert row["Au rythme actuel"] == p.short == f"en {p.reach_year} (après 2022)"
    assert f"<td>{p.short}</td>" in report.html
    shown = {(r["Code indicateur"], r["Code territoire"]): r["Au rythme actuel"]
             for r in series.to_dict("records") if r["Ventilation"] == ""}
    assert shown == {k[:2]: python[k].short for k in python
                     if k[1] in set(series["Code territoire"]) and k[2] == ""}
    late = sum(p.status == "late" for k, p in python.items()
               if k[1] in set(series["Code territoire"]))
    assert f"{late} après l&#x27;échéance" in report.html
    assert "Projection au rythme actuel (méthode des progrès anticipés" in report.html
