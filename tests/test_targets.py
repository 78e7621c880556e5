"""Each target wording the contracts use, resolved against a baseline."""

import math

import pytest

from suivi.core.targets import resolve_target


@pytest.mark.parametrize(
    ("wording", "baseline", "value", "factor", "delta", "direction"),
    [
        ("diviser par deux", 40, 20, 0.5, None, "down"),
        ("Diviser par 2 le nombre de logements vacants", 40, 20, 0.5, None, "down"),
        ("doubler", 40, 80, 2.0, None, "up"),
        ("tripler", 40, 120, 3.0, None, "up"),
        ("+10 %", 40, 44, 1.1, None, "up"),
        ("+10%", 30, 33, 1.1, None, "up"),
        ("augmenter de 10 %", 40, 44, 1.1, None, "up"),
        ("-5 %", 40, 38, 0.95, None, "down"),
        ("baisser de 5 %", 40, 38, 0.95, None, "down"),
        ("-5 points", 40, 35, None, -5.0, "down"),
        ("baisser de 5 points", 40, 35, None, -5.0, "down"),
        ("+3 points", 40, 43, None, 3.0, "up"),
        ("diminuer de 2,5 points", 40, 37.5, None, -2.5, "down"),
        ("réduire de moitié", 40, 20, 0.5, None, "down"),
        ("Réduire de 10 %", 40, 36, 0.9, None, "down"),
        ("réduire d'un tiers", 30, 20, 2 / 3, None, "down"),
        ("augmenter de moitié", 40, 60, 1.5, None, "up"),
    ],
)
def test_relative_targets(wording, baseline, value, factor, delta, direction):
    r = resolve_target(wording, baseline, "percent")
    assert r.kind == "relative"
    assert r.value == pytest.approx(value)
    assert r.factor == (pytest.approx(factor) if factor is not None else None)
    assert r.delta == delta
    assert r.direction == direction
    assert r.wording == wording
    assert r.explanation.startswith("Cible relative à la situation de référence")


def test_relative_explanation_shows_the_computation_in_french():
    r = resolve_target("diminuer de 2,5 points", 12.5, "percent")
    assert r.value == 10
    assert r.explanation.endswith("12,5 − 2,5 = 10.")
    assert "pas en points" in resolve_target("+10 %", 40, "percent").explanation
    assert "pas en points" not in resolve_target("+10 %", 40, "count").explanation


def test_case_accents_and_typography_are_ignored():
    for wording in ("DIVISER PAR DEUX", "Réduire De Moitié", "reduire de moitie",
                    "réduire\u00a0de moitié"):
        r = resolve_target(wording, 12, "count")
        assert (r.kind, r.value) == ("relative", 6)
    r = resolve_target("−5\u202fpoints", 40, "percent")     # typographic minus, narrow space
    assert (r.kind, r.value) == ("relative", 35)


def test_relative_target_without_baseline_has_no_value():
    for baseline in (None, math.nan):
        r = resolve_target("doubler", baseline, "count")
        assert r.kind == "relative" and r.value is None and r.factor == 2
        assert "situation de référence manquante" in r.explanation


def test_horizon_and_year_are_read_out():
    r = resolve_target("doubler en 3 ans", 4, "count")
    assert (r.kind, r.value, r.horizon_years, r.year) == ("relative", 8, 3, None)
    r = resolve_target("8 structures en 2022", None, "count")
    assert (r.kind, r.value, r.year) == ("absolute", 8, 2022)


@pytest.mark.parametrize(
    ("wording", "value"),
    [
        ("8 structures", 8),
        ("8 structures en 2022", 8),
        ("12,5 %", 12.5),
        ("atteindre 60 %", 60),
        ("1 200 heures d'insertion d'ici 2030", 1200),
        ("passer de 10 à 20 places", 20),
        ("limiter à 15 %", 15),
    ],
)
def test_absolute_targets(wording, value):
    r = resolve_target(wording, 40, "count")
    assert r.kind == "absolute"
    assert r.value == value
    assert r.factor is None and r.delta is None


@pytest.mark.parametrize(
    ("wording", "factor"),
    [
        ("réduire l'écart de moitié", 0.5),
        ("Réduire de moitié l'écart avec la commune", 0.5),
        ("réduire de moitié l’écart avec l'EPCI", 0.5),
        ("diviser l'écart par deux", 0.5),
        ("réduire l'écart de 30 %", 0.7),
        ("réduire l'écart d'un tiers", 2 / 3),
        ("combler l'écart avec la commune", 0.0),
    ],
)
def test_gap_targets(wording, factor):
    r = resolve_target(wording, 40, "percent")
    assert r.kind == "gap"
    assert r.value is None                    # needs the reference territory's series
    assert r.factor == pytest.approx(factor)
    assert r.direction == "down"
    assert "territoire de référence" in r.explanation


def test_gap_direction_only():
    r = resolve_target("réduire l'écart avec la commune", 40, "percent")
    assert (r.kind, r.factor, r.value, r.direction) == ("gap", None, None, "down")
    assert "tendance de l'écart" in r.explanation


@pytest.mark.parametrize(
    ("wording", "direction"),
    [
        ("augmenter", "up"),
        ("Augmenter le nombre de bénéficiaires", "up"),
        ("maintenir", "stable"),
        ("Maintenir le niveau", "stable"),
        ("diminuer", "down"),
        ("réduire le non-recours", "down"),
    ],
)
def test_direction_only_targets(wording, direction):
    r = resolve_target(wording, 40, "count")
    assert r.kind == "direction"
    assert r.value is None and r.factor is None
    assert r.direction == direction
    assert "tendance" in r.explanation


@pytest.mark.parametrize("wording", ["", "   ", "à définir", "voir fiche action", None])
def test_unknown_wordings_are_reported(wording):
    r = resolve_target(wording, 40, "count")
    assert r.kind == "unknown"
    assert r.value is None
    assert "non reconnue" in r.explanation or "vide" in r.explanation
