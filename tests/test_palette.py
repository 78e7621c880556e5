"""The status palettes, checked in pure Python: contrast against the page (WCAG) and
distinguishability for colour-blind readers (simulated deuteranopia and protanopia).

Icons and French labels already carry every status; the colours must still not mislead: two
statuses that look alike to a deuteranope would make a stacked bar unreadable to them.
"""

from __future__ import annotations

import itertools

import pytest

from suivi.core import colours
from suivi.core import progress as pg

PALETTES = {"statuts": pg.STATUSES, "tendances": pg.TREND_STATUSES}


@pytest.mark.parametrize("name", PALETTES)
def test_each_colour_stands_out_from_the_page_and_carries_readable_numbers(name):
    for info in PALETTES[name]:
        assert colours.contrast(info.colour, colours.WHITE) >= colours.MIN_GRAPHIC_CONTRAST, (
            f"{info.label} ({info.colour}) is too pale on the white page")
        ink = colours.text_on(info.colour)
        assert colours.contrast(info.colour, ink) >= colours.MIN_TEXT_CONTRAST, (
            f"the count printed on {info.label} ({info.colour}) in {ink} is hard to read")


@pytest.mark.parametrize("vision", list(colours.CVD_MATRICES))
@pytest.mark.parametrize("name", PALETTES)
def test_every_two_statuses_stay_apart_for_colour_blind_readers(name, vision):
    for a, b in itertools.combinations(PALETTES[name], 2):
        d = colours.delta_e(a.colour, b.colour, vision)
        assert d >= colours.MIN_DELTA_E, (
            f"{a.label} and {b.label} look alike with {vision}: ΔE {d:.1f}")


def test_the_checks_catch_the_palette_they_replaced():
    """The checks are not vacuous: the former palette's gold, orange and light green were too
    pale on white, and the gold beside Okabe-Ito's vermillion merges for a deuteranope."""
    for pale in ("#5aae61", "#e6ab02", "#e08214", "#999999"):
        assert colours.contrast(pale, colours.WHITE) < colours.MIN_GRAPHIC_CONTRAST
    assert colours.delta_e("#B58500", "#D55E00", "deutéranopie") < colours.MIN_DELTA_E
    assert colours.delta_e("#B58500", "#D55E00") > 30  # yet far apart for normal vision
    assert colours.text_on("#005C42") == colours.WHITE
    assert colours.text_on("#B58500") == colours.BLACK
    assert round(colours.contrast("#767676", "#ffffff"), 2) == 4.54  # WCAG's reference grey
