"""The status bars as inline SVG (suivi/views/charts.status_bars_svg), drawn by the Vue
d'ensemble and the bilan: proportions, numbers, escaping, and a Markdown-proof block."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from markdown_it import MarkdownIt

from suivi.core import progress as pg
from suivi.views import charts

CODES = [info.code for info in pg.STATUSES]


def counts(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index").reindex(columns=CODES).fillna(0)


def bars_by_row(svg: str) -> list[list[float]]:
    """The widths of each row's segments, rows told apart by their y."""
    rows: dict[str, list[float]] = {}
    for y, w in re.findall(r'<rect x="[\d.]+" y="([\d.]+)" width="([\d.]+)" height="18"', svg):
        rows.setdefault(y, []).append(float(w))
    return list(rows.values())


def test_segments_are_proportional_and_numbers_only_where_they_fit():
    frame = counts({"A": {"on_track": 300, "deterioration": 100},
                    "B": {"on_track": 2, "limited": 198},
                    "C": {}})
    svg = charts.status_bars_svg(frame, ["Groupe A", "Groupe B", "Groupe C"], "Titre")
    widths = bars_by_row(svg)
    assert len(widths) == 2  # C has no series: no segment, its total says 0
    assert sum(widths[0]) == np.float64(342.0)  # the longest row fills the bars' width
    assert sum(widths[1]) == np.round(342 * 200 / 400, 1)
    assert widths[0] == [256.5, 85.5]
    texts = re.findall(r"<text[^>]*>([^<]+)</text>", svg)
    assert "300" in texts and "100" in texts and "198" in texts
    assert "2" not in texts  # 1.7 units wide: no room for its number (its <title> has it)
    assert "Groupe A – En bonne voie : 300 série(s)" in svg
    assert "Groupe B – En bonne voie : 2 série(s)" in svg
    assert texts.count("400") == 2  # A's total and the axis' last tick
    ticks = re.findall(r'class="tick">([^<]+)</text>', svg)
    assert ticks == ["0", "100", "200", "300", "400", "nombre de séries"]  # round values


def test_a_missing_label_reads_as_a_dash():
    svg = charts.status_bars_svg(counts({"A": {"on_track": 3}}), [np.nan], "T")
    assert "<tspan" in svg and ">–</tspan>" in svg and "nan" not in svg


def test_the_axis_counts_in_round_steps():
    frame = counts({"A": {"on_track": 75_021}})
    svg = charts.status_bars_svg(frame, ["A"], "T")
    ticks = re.findall(r'class="tick">([^<]+)</text>', svg)[:-1]
    assert [int(t.replace("\u202f", "")) for t in ticks] == [0, 20_000, 40_000, 60_000]


def test_missing_counts_are_zero_and_long_labels_wrap_without_cut():
    frame = counts({"A": {"on_track": np.nan, "limited": 5}})
    label = "Favoriser l'accès aux droits et aux services publics de tous les habitants"
    svg = charts.status_bars_svg(frame, [label], "Statut des séries par priorité")
    assert len(bars_by_row(svg)) == 1 and "En bonne voie :" not in svg
    lines = re.findall(r"<tspan[^>]*>([^<]+)</tspan>", svg)
    assert len(lines) == 3 and " ".join(lines) == label.replace("'", "&#x27;")
    assert "…" not in svg


def test_text_is_escaped_and_the_block_is_never_read_as_markdown():
    frame = counts({"A": {"achieved": 4}})
    label = "Emploi *jeunes* & __seniors__ <b>[site](https://ex.fr)</b> $x$\n\nsuite"
    block = charts.status_bars_block(charts.status_bars_svg(frame, [label], "Titre <i>"))
    assert "<b>" not in block and "<i>" not in block and "&lt;b&gt;" in block
    html = MarkdownIt("commonmark").render(block)  # the rules Streamlit's Markdown follows
    assert not re.search(r"<(em|strong|a|code|p)\b", html), html
    assert html.strip() == block.strip()  # an HTML block: passed through as it is
