"""Worked examples of the progress method (docs/methode-suivi.md), one per status and per reason."""

import math

import pytest

from suivi.core import progress as pg
from suivi.core.progress import (
    ACCELERATION,
    ON_TRACK,
    SCORE,
    STATUS_BY_CODE,
    STATUSES,
    Thresholds,
    assess,
    gap,
    gap_trend,
    pace_score,
    series_score,
    trend,
)


def up(year, value, thresholds=None):
    """Higher is better: baseline 40 in 2015, target 60 in 2025."""
    return assess(2015, 40, 2025, 60, year, value, "higher_better", thresholds)


def down(year, value, thresholds=None):
    """Lower is better: baseline 20 in 2015, target 10 in 2025."""
    return assess(2015, 20, 2025, 10, year, value, "lower_better", thresholds)


# --- one worked example per status ------------------------------------------------------------

@pytest.mark.parametrize(
    ("result", "status", "A", "E", "P"),
    [
        (up(2020, 61), "achieved", 1.05, 0.5, 2.1),
        (up(2020, 50), "on_track", 0.5, 0.5, 1.0),
        (up(2020, 48), "acceleration_needed", 0.4, 0.5, 0.8),
        (up(2020, 44), "limited", 0.2, 0.5, 0.4),
        (up(2020, 38), "deterioration", -0.1, 0.5, -0.2),
        (up(2025, 55), "not_achieved", 0.75, 1.0, 0.75),
        (down(2020, 9), "achieved", 1.1, 0.5, 2.2),
        (down(2020, 15), "on_track", 0.5, 0.5, 1.0),
        (down(2020, 16), "acceleration_needed", 0.4, 0.5, 0.8),
        (down(2020, 19), "limited", 0.1, 0.5, 0.2),
        (down(2020, 22), "deterioration", -0.2, 0.5, -0.4),
        (down(2027, 12), "not_achieved", 0.8, 1.0, 0.8),
    ],
)
def test_worked_examples(result, status, A, E, P):
    assert result.status == status
    assert result.label == STATUS_BY_CODE[status].label
    assert result.icon == STATUS_BY_CODE[status].icon
    assert result.reason is None and result.reason_text is None
    assert result.A == pytest.approx(A)
    assert result.E == pytest.approx(E)
    assert result.P == pytest.approx(P)


def test_labels_are_the_french_wording():
    assert [(s.code, s.label) for s in STATUSES] == [
        ("achieved", "Objectif atteint"),
        ("on_track", "En bonne voie"),
        ("acceleration_needed", "Progrès, accélération nécessaire"),
        ("limited", "Progrès limité"),
        ("deterioration", "Dégradation"),
        ("not_achieved", "Objectif non atteint"),
        ("not_assessable", "Non évaluable"),
    ]
    icons = [s.icon for s in STATUSES]
    assert len(set(icons)) == len(icons) and all(icons)
    assert all(s.colour.startswith("#") and len(s.colour) == 7 for s in STATUSES)


def test_assessment_keeps_its_inputs():
    r = down(2020, 15)
    assert (r.baseline_year, r.baseline, r.target_year, r.target, r.year, r.value) == (
        2015, 20.0, 2025, 10.0, 2020, 15.0)
    assert r.polarity == "lower_better" and r.d == -1
    assert r.thresholds == Thresholds(ON_TRACK, ACCELERATION)
    record = r.as_dict()
    assert record["status"] == "on_track" and record["label"] == "En bonne voie"
    assert record["threshold_on_track"] == 0.95 and record["threshold_acceleration"] == 0.60
    assert record["A"] == 0.5 and record["score"] == pytest.approx(pace_score(1.0))


def test_achieved_whatever_the_trend_and_at_equality():
    assert up(2016, 60).status == "achieved"          # V == C exactly, very early
    assert down(2016, 10).status == "achieved"
    assert up(2030, 70).status == "achieved"          # after the deadline
    r = assess(2015, 40, 2025, 40, 2020, 45, "higher_better")  # flat target, met
    assert r.status == "achieved" and r.A is None and r.E == 0.5


def test_elapsed_share_is_capped_at_one():
    r = up(2030, 50)                                  # 15 years out of 10
    assert r.E == 1.0
    assert r.status == "not_achieved"
    assert r.P == pytest.approx(0.5) == r.A


def test_deadline_reached_exactly_is_not_achieved():
    assert up(2025, 59.9).status == "not_achieved"
    assert up(2024, 59.9).status == "on_track"


# --- exact boundaries -------------------------------------------------------------------------

def test_boundary_pace_095_is_on_track():
    r = up(2020, 49.5)                                # A = 0.475, E = 0.5
    assert r.P == 0.95
    assert r.status == "on_track"
    assert up(2020, 49.4).status == "acceleration_needed"


def test_boundary_pace_060_is_acceleration_needed():
    r = up(2020, 46)                                  # A = 0.3, E = 0.5
    assert r.P == pytest.approx(0.6)
    assert r.status == "acceleration_needed"
    assert up(2020, 45.9).status == "limited"


def test_boundary_pace_zero_is_limited():
    r = up(2020, 40)
    assert r.P == 0.0
    assert r.status == "limited"
    assert up(2020, 39.99).status == "deterioration"


def test_floating_point_noise_at_a_threshold_counts_as_reaching_it():
    r = assess(2015, 10.2, 2025, 30.7, 2019, 17.99, "higher_better")
    assert r.P < 0.95 and r.P == pytest.approx(0.95, abs=1e-12)
    assert r.status == "on_track"


# --- not assessable, every reason -------------------------------------------------------------

@pytest.mark.parametrize(
    ("args", "reason", "text"),
    [
        ((None, None, 2025, 60, 2020, 50, "higher_better"), "missing_baseline", "référence"),
        ((2015, math.nan, 2025, 60, 2020, 50, "higher_better"), "missing_baseline",
         "référence"),
        ((2015, 40, None, None, 2020, 50, "higher_better"), "missing_target", "cible"),
        ((2015, 40, 2025, float("nan"), 2020, 50, "higher_better"), "missing_target", "cible"),
        ((2015, 40, 2025, 60, None, None, "higher_better"), "missing_value", "réalisée"),
        ((2015, 40, 2025, 60, 2020, math.nan, "higher_better"), "missing_value", "réalisée"),
        ((2015, 40, 2025, 60, 2015, 50, "higher_better"), "no_actual_after_baseline",
         "après l'année de référence"),
        ((2015, 40, 2025, 60, 2012, 50, "higher_better"), "no_actual_after_baseline",
         "après l'année de référence"),
        ((2015, 40, 2025, 40, 2020, 35, "higher_better"), "flat_target", "égale"),
        ((2015, 40, 2025, 60, 2020, 50, "neutral"), "neutral_polarity", "neutre"),
        ((2015, 40, 2025, 60, 2020, 50, None), "unknown_polarity", "inconnue"),
        ((2015, 40, 2025, 60, 2020, 50, "bogus"), "unknown_polarity", "inconnue"),
        ((2015, 40, 2025, 30, 2020, 25, "higher_better"), "target_against_polarity",
         "sens contraire"),
        ((2015, 40, 2015, 60, 2020, 50, "higher_better"), "target_year_not_after_baseline",
         "postérieure"),
    ],
)
def test_not_assessable_reasons(args, reason, text):
    r = assess(*args)
    assert r.status == "not_assessable"
    assert r.label == "Non évaluable"
    assert r.reason == reason
    assert text in r.reason_text
    assert (r.A, r.E, r.P) == (None, None, None)
    assert series_score(r) is None
    assert any(r.reason_text in line for line in r.explain())


def test_missing_is_never_zero():
    # a baseline of 0 is a value; an empty one is not
    assert assess(2015, 0, 2025, 10, 2020, 5, "higher_better").status == "on_track"
    assert assess(2015, None, 2025, 10, 2020, 5, "higher_better").reason == "missing_baseline"


def test_french_polarity_codes_are_accepted():
    assert assess(2015, 20, 2025, 10, 2020, 15, "baisse").status == "on_track"
    assert assess(2015, 40, 2025, 60, 2020, 50, "hausse").status == "on_track"
    assert assess(2015, 40, 2025, 60, 2020, 50, "neutre").reason == "neutral_polarity"


# --- thresholds -------------------------------------------------------------------------------

def test_thresholds_live_in_one_place():
    assert (ON_TRACK, ACCELERATION) == (0.95, 0.60)
    assert Thresholds() == Thresholds(0.95, 0.60)


def test_contract_thresholds_override_the_defaults():
    strict = Thresholds(on_track=1.0, acceleration=0.8)
    lenient = Thresholds(on_track=0.9, acceleration=0.5)
    r = up(2020, 49.2)                                # P = 0.92
    assert r.status == "acceleration_needed"
    assert up(2020, 49.2, lenient).status == "on_track"
    assert up(2020, 47.5, strict).status == "limited"     # P = 0.75
    assert up(2020, 47.5).status == "acceleration_needed"
    assert up(2020, 45.5, lenient).status == "acceleration_needed"  # P = 0.55
    assert up(2020, 49.2, lenient).thresholds == lenient


def test_thresholds_from_contract_row():
    assert Thresholds.from_contract(None, math.nan) == Thresholds()
    assert Thresholds.from_contract(0.9, None) == Thresholds(0.9, ACCELERATION)
    with pytest.raises(ValueError):
        Thresholds(on_track=0.5, acceleration=0.8)


# --- score ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("P", "score"),
    [(-2.0, -5.0), (-0.6, -5.0), (0.0, -2.5), (0.6, 0.0), (0.775, 1.25), (0.95, 2.5),
     (1.125, 3.75), (1.3, 5.0), (4.0, 5.0)],
)
def test_pace_score_mapping(P, score):
    assert pace_score(P) == pytest.approx(score)


def test_series_score():
    assert SCORE == ((-0.6, -5.0), (0.6, 0.0), (0.95, 2.5), (1.3, 5.0))
    assert series_score(up(2020, 61)) == 5.0
    assert series_score(up(2020, 50)) == pytest.approx(2.5 + 2.5 * (1.0 - 0.95) / 0.35)
    assert series_score(up(2020, 38)) == pytest.approx(-5 + 5 * (-0.2 + 0.6) / 1.2)
    # not achieved: E = 1, so the pace is the achievement A = 0.75
    r = up(2025, 55)
    assert series_score(r) == pytest.approx(2.5 * 0.15 / 0.35) == r.score
    assert series_score(assess(2015, 40, 2025, 60, 2020, 50, "neutral")) is None


# --- explanation ------------------------------------------------------------------------------

def test_explain_substitutes_the_numbers_in_french():
    r = assess(2015, 12.5, 2022, 8, 2020, 10.2, "lower_better")
    assert r.status == "acceleration_needed"
    text = "\n".join(r.explain())
    assert "Situation de référence (b, B) : 2015 → 12,5" in text
    assert "Situation visée (T, C) : 2022 → 8" in text
    assert "Dernier réalisé (t, V) : 2020 → 10,2" in text
    assert "plus bas = mieux (d = −1)" in text
    assert "A = (V − B) / (C − B) = (10,2 − 12,5) / (8 − 12,5) = 0,511" in text
    assert "E = min(1 ; (t − b) / (T − b)) = min(1 ; (2020 − 2015) / (2022 − 2015)) = 0,714" \
        in text
    assert "P = A / E = 0,511 / 0,714 = 0,716" in text
    assert "en bonne voie si P ≥ 0,95" in text and "0,6 ≤ P < 0,95" in text
    assert "Statut : ⚠ Progrès, accélération nécessaire" in text
    assert r.formula == "P = A / E = 0,511 / 0,714 = 0,716"
    assert "." not in r.formula                      # decimal comma only


def test_explain_of_achieved_and_not_achieved():
    r = up(2020, 61.5)
    assert r.formula == "d × (V − C) = 1 × (61,5 − 60) = 1,5 ≥ 0 : cible atteinte"
    assert r.explain()[-1] == "Statut : ✔ Objectif atteint"
    r = up(2025, 55)
    assert r.formula == ("A = (V − B) / (C − B) = (55 − 40) / (60 − 40) = 0,75 "
                         "(75\u202f% du chemin parcouru)")
    assert any("Échéance passée (t = 2025 ≥ T = 2025)" in line for line in r.explain())
    custom = up(2020, 50, Thresholds(0.9, 0.5))
    assert any("en bonne voie si P ≥ 0,9 ;" in line for line in custom.explain())


def test_french_number_format():
    assert pg.fr_number(1234.5) == "1\u202f234,5"
    assert pg.fr_number(-0.25) == "−0,25"
    assert pg.fr_number(2.0) == "2"
    assert pg.fr_percent(0.5) == "50\u202f%"


# --- trend ------------------------------------------------------------------------------------

def test_relative_trend():
    t = trend([(2015, 100), (2020, 110)], "count", "higher_better")
    assert t.kind == "relative" and t.status == "favorable"
    assert t.label == "Tendance favorable"
    assert t.rate == pytest.approx(1.1 ** 0.2 - 1)
    assert trend([(2015, 100), (2020, 110)], "count", "lower_better").status == "defavorable"
    assert trend([(2015, 100), (2020, 110)], "count", "lower_better").label == \
        "Tendance défavorable"
    s = trend([(2015, 100), (2020, 101)], "count", "higher_better")
    assert s.status == "stable" and s.label == "Stable"


def test_relative_trend_uses_first_and_last_actual_and_skips_missing():
    points = [(2020, 90), (2015, 100), (2018, None), (2019, math.nan), (2016, 120)]
    t = trend(points, "count", "higher_better")
    assert (t.start_year, t.start_value, t.end_year, t.end_value) == (2015, 100.0, 2020, 90.0)
    assert t.status == "defavorable"
    assert t.rate == pytest.approx(0.9 ** 0.2 - 1)


def test_relative_trend_boundary_half_percent_is_stable():
    exactly = trend([(2015, 100), (2016, 100.5)], "count", "higher_better")
    assert exactly.rate == pytest.approx(0.005)
    assert exactly.status == "stable"
    assert trend([(2015, 100), (2016, 100.6)], "count", "higher_better").status == "favorable"
    assert trend([(2015, 100), (2016, 99.4)], "count", "higher_better").status == "defavorable"


def test_points_trend_for_percent_and_rate():
    t = trend([(2015, 20.0), (2020, 21.0)], "percent", "higher_better")
    assert t.kind == "points" and t.rate == pytest.approx(0.2) and t.status == "favorable"
    assert trend([(2015, 20.0), (2020, 21.0)], "rate", "lower_better").status == "defavorable"
    boundary = trend([(2015, 20.0), (2020, 20.5)], "percent", "higher_better")
    assert boundary.rate == pytest.approx(0.1) and boundary.status == "stable"
    noisy = trend([(2019, 20.2), (2020, 20.3)], "percent", "higher_better")
    assert noisy.rate > 0.1 and noisy.status == "stable"   # 0.1 plus float noise
    assert any("point par an" in line for line in t.explain())


def test_trend_from_zero_and_negative_values():
    from_zero = trend([(2015, 0), (2018, 3)], "count", "higher_better")
    assert from_zero.status == "favorable" and from_zero.rate is None
    assert "Départ à 0" in from_zero.explain()[0]
    assert trend([(2015, 0), (2018, 0)], "count", "higher_better").status == "stable"
    assert trend([(2015, 0), (2018, 2)], "count", "lower_better").status == "defavorable"
    to_zero = trend([(2015, 4), (2018, 0)], "count", "lower_better")
    assert to_zero.status == "favorable" and to_zero.rate == pytest.approx(1.0)
    neg = trend([(2015, -3), (2018, 2)], "count", "higher_better")
    assert neg.status == "not_assessable" and neg.reason == "negative_value"


def test_trend_not_assessable():
    one = trend([(2015, 3), (2016, None)], "count", "higher_better")
    assert one.status == "not_assessable" and one.reason == "too_few_values"
    assert "deux valeurs" in one.reason_text
    assert trend([(2015, 3), (2016, 4)], "count", "neutral").reason == "neutral_polarity"
    assert trend([(2015, 3), (2016, 4)], "count", None).reason == "unknown_polarity"


def test_trend_explain_in_french():
    t = trend([(2015, 100), (2020, 110)], "count", "higher_better")
    lines = t.explain()
    assert lines[0].endswith("= 1,92\u202f% par an")
    assert lines[1] == "Seuil : ± 0,5\u202f% par an"
    assert lines[2] == "⊕ Tendance favorable"


# --- gap --------------------------------------------------------------------------------------

def test_gap_lower_is_better():
    g = gap(30, 20, "lower_better")           # unemployment: quartier 30 %, commune 20 %
    assert g.gap == 10 and g.difference == 10 and g.ratio == 1.5
    assert g.lags is True


def test_gap_higher_is_better():
    g = gap(60, 70, "higher_better")          # employment rate
    assert g.gap == 10 and g.difference == -10 and g.ratio == pytest.approx(60 / 70)
    assert g.lags is True
    ahead = gap(75, 70, "higher_better")
    assert ahead.gap == -5 and ahead.lags is False


def test_gap_missing_zero_reference_and_neutral():
    assert gap(None, 20, "lower_better").gap is None
    assert gap(30, math.nan, "lower_better").ratio is None
    zero = gap(3, 0, "higher_better")
    assert zero.gap == -3 and zero.ratio is None
    neutral = gap(30, 20, "neutral")  # no direction: the absolute difference, never "lags"
    assert neutral.gap == 10 and neutral.difference == 10 and neutral.lags is None
    assert gap(20, 30, "neutral").gap == 10


def test_gap_trend():
    r = gap_trend([(2015, 10.0), (2020, 8.0)])
    assert r.status == "reduces" and r.label == "l'écart se réduit"
    assert r.slope == pytest.approx(-0.4)
    w = gap_trend([(2015, 10.0), (2020, 12.0)])
    assert w.status == "widens" and w.label == "l'écart se creuse"
    s = gap_trend([(2015, 10.0), (2020, 10.5)])   # exactly 0.1 a year
    assert s.status == "stable" and s.label == "l'écart est stable"
    assert gap_trend([(2015, 10.0), (2020, 9.5)]).status == "stable"
    assert gap_trend([(2015, 10.0), (2016, None)]).status == "not_assessable"
    assert gap_trend([(2015, -1.0), (2020, -3.0)]).quartier_ahead is True
    assert r.quartier_ahead is False
