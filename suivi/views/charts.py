"""Plotly figures for the pages, French-formatted (`separators=", "`), titled, with units on
the axes; and the status bars as inline SVG for the Vue d'ensemble and the bilan. Status
colours come from suivi/core/progress.py; trends and territories use other palettes so a
trend is never mistaken for a target status.
"""

from __future__ import annotations

import functools
import html
import textwrap

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from suivi.core import colours, fmt
from suivi.core import progress as pg

TERRITORY_COLOURS = ["#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6",
                     "#a5a5a5", "#843c0c"]
FONT = dict(family="Marianne, Arial, sans-serif", size=13)


LEGEND_ROW = 24  # px per legend row


TITLE_WIDTH = 38  # characters per title line (titles do not wrap by themselves in plotly)
LEGEND_WIDTH = 36  # characters per legend line: an entry fits a chart in a column at 1 024 px


class FrozenFigure(go.Figure):
    """A finished figure that keeps its dict form.

    st.plotly_chart calls `to_dict()` on every rerun: a deep copy plus a base64 pass over
    every array, 0.4 s for the national map's 1 580 quartiers and some 50 ms for a status
    chart. Pages build their figures once per data version (ui.memo) and never change them
    afterwards, so the dict is computed once, on the first call.
    """

    def to_dict(self):
        cached = self.__dict__.get("_frozen_dict")
        if cached is None:
            # The figure's own validated data and layout, not deep-copied: nothing changes
            # them any more (the deep copy of the national map's 110 000 objects took 15 ms).
            # Each trace is copied shallowly (plotly.io.to_json pops a trace's `uid`). The
            # charts' arrays are lists, which plotly's base64 pass leaves as they are
            # (tests/test_maps.py compares every chart's dict with plotly's).
            cached = ({"data": [dict(trace) for trace in self._data], "layout": self._layout}
                      if not self._frame_objs else super().to_dict())
            self._frozen_dict = cached
        return cached


def freeze(fig: go.Figure) -> FrozenFigure:
    """The same figure, its dict form kept from now on: it must not be changed afterwards."""
    fig.__class__ = FrozenFigure
    return fig


def _legend_items(fig: go.Figure) -> int:
    """Legend lines once long trace names are wrapped (at most one entry per row)."""
    lines = 0
    for trace in fig.data:
        if trace.showlegend is not False and trace.name:
            if "<br>" not in trace.name:
                trace.name = wrap(trace.name, LEGEND_WIDTH)
            lines += trace.name.count("<br>") + 1
    return lines


def _frame_layout(title: str, height: int, legend_lines: int) -> dict:
    """Title (wrapped), French separators and the legend under the plot.

    The legend is anchored to the bottom of the figure (container coordinates) and plotly
    reserves the room it needs below the x-axis title, so the two never overlap; the height
    grows by one legend row per entry (the worst case, at 1 024 px, is one entry per row), so
    the plot keeps its own height whatever room the legend takes.
    """
    return dict(title=dict(text=wrap(title, TITLE_WIDTH), x=0, xanchor="left", yref="paper",
                           y=1, yanchor="bottom", pad=dict(b=12), automargin=True),
                separators=", ", font=FONT, height=height + LEGEND_ROW * legend_lines,
                margin=dict(l=10, r=10, t=60, b=10),
                legend=dict(orientation="h", xref="container", yref="container",
                            yanchor="bottom", y=0, x=0))


def _tick_format(y_title: str) -> str:
    return ",~r" if y_title != "%" else ",.1f"


@functools.cache
def _white() -> dict:
    """plotly_white as a plain dict: a figure built without validation takes it as is, where
    naming the template validates all of it again (8 ms a figure)."""
    return pio.templates["plotly_white"].to_plotly_json()


def wrap(label: str, width: int = 28) -> str:
    """An axis label on several lines (plotly's <br>), so long names do not eat the plot."""
    return "<br>".join(textwrap.wrap(str(label), width)) or str(label)


def status_bars_svg(counts: pd.DataFrame, labels: list[str], title: str,
                    columns: dict[str, str] | None = None) -> str:
    """Stacked horizontal bars of series per status (a row of `counts` per group, a column
    per status code, or named by `columns`), as inline SVG for the Vue d'ensemble and the
    bilan.

    Why not plotly: these bars need no interaction, and a page whose first screen holds a
    plotly figure makes a fresh tab load and compile plotly's 4.7 MB before drawing it (a
    shared link to the embedded default's Vue d'ensemble: 3.3 s with them as plotly figures,
    1.7 s without). SVG scales as one piece, so a number judged to fit its segment fits at
    any width; labels wrap instead of being cut; every segment says its status and count on
    hover (<title>), the legend repeats icon and label, and the page's table has the numbers.
    Text takes the page's colour (currentColor). A page puts it in Markdown inside an HTML
    block (`status_bars_block`), where nothing of it is read as Markdown.
    """
    columns = columns or {info.code: info.code for info in pg.STATUSES}
    statuses = [info for info in pg.STATUSES if info.code in columns]
    # Drawn at 640 units for a column of 530-1 100 px: its text stays 10-12 px at 1 024 px.
    width, label_w, right, bar_h, line_h = 640, 250, 48, 18, 15
    bar_w = width - label_w - right
    rows = counts[[columns[i.code] for i in statuses]].fillna(0).astype(int)
    totals = rows.sum(axis=1).tolist()
    scale = bar_w / max(max(totals, default=0), 1)
    # One line each (a blank line in a label would end the HTML block a page puts it in).
    title = " ".join(str(title).split())
    labels = ["–" if fmt.is_missing(label) else " ".join(str(label).split())
              for label in labels]
    title_lines = textwrap.wrap(title, 78) or [title]
    parts = [f'<text x="0" y="{16 + 18 * k}" font-weight="bold" font-size="14" '
             f'class="svg-title">{esc(line)}</text>' for k, line in enumerate(title_lines)]
    y = 18 * len(title_lines) + 12
    for label, total, (_, row) in zip(labels, totals, rows.iterrows()):
        lines = textwrap.wrap(label, 36) or [label]
        row_h = max(bar_h + 8, line_h * len(lines) + 6)
        bar_y = y + (row_h - bar_h) / 2
        first = y + (row_h - line_h * len(lines)) / 2 + 12
        parts.append(f'<text x="{label_w - 8}" y="{first:.1f}" text-anchor="end">'
                     + "".join(f'<tspan x="{label_w - 8}" dy="{0 if k == 0 else line_h}">'
                               f'{esc(line)}</tspan>' for k, line in enumerate(lines))
                     + "</text>")
        x = float(label_w)
        for info, n in zip(statuses, row.tolist()):
            if not n:
                continue
            w = n * scale
            text = fmt.number(n)
            parts.append(f'<rect x="{x:.1f}" y="{bar_y:.1f}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{info.colour}"><title>{esc(label)} – {esc(info.label)} : '
                         f'{text} série(s)</title></rect>')
            if w >= 7 * len(text) + 6:  # the number fits inside its segment
                parts.append(f'<text x="{x + w / 2:.1f}" y="{bar_y + 13:.1f}" '
                             f'text-anchor="middle" font-size="11" '
                             f'fill="{colours.text_on(info.colour)}">{text}</text>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{bar_y + 13:.1f}">{fmt.number(total)}</text>')
        y += row_h + 4
    axis_y = y + 2
    parts.append(f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + bar_w}" y2="{axis_y}" '
                 'stroke="currentColor" stroke-opacity="0.6"/>')
    for value in _round_ticks(max(totals, default=0)):
        parts.append(f'<text x="{label_w + value * scale:.1f}" y="{axis_y + 14}" '
                     f'text-anchor="middle" font-size="11" fill-opacity="0.8" class="tick">'
                     f'{fmt.number(value)}</text>')
    parts.append(f'<text x="{label_w + bar_w / 2:.1f}" y="{axis_y + 30}" text-anchor="middle" '
                 'font-size="11" fill-opacity="0.8" class="tick">nombre de séries</text>')
    legend_y = axis_y + 46
    for j, info in enumerate(statuses):
        lx, ly = (j % 2) * 320, legend_y + (j // 2) * 20
        parts.append(f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{info.colour}"/>'
                     f'<text x="{lx + 18}" y="{ly + 11}">{esc(info.icon)} {esc(info.label)}'
                     '</text>')
    height = legend_y + ((len(statuses) + 1) // 2) * 20 + 6
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" class="chart status-bars" '
            f'style="min-width: 480px; max-width: 100%; height: auto" font-family="inherit" '
            f'font-size="12" '
            f'fill="currentColor">'
            f'<title>{esc(title)}</title>{"".join(parts)}</svg>')


def _round_ticks(top: int) -> list[int]:
    """0 and up to four round values up to `top` (1, 2 or 5 times a power of ten apart), as
    an axis would show them: 0, 20 000, 40 000, 60 000 rather than 0, 37 510, 75 021."""
    step = next(m * 10 ** e for e in range(len(str(max(top, 1)))) for m in (1, 2, 5)
                if top // (m * 10 ** e) <= 4)
    return list(range(0, max(top, 0) + 1, step))


def status_bars_block(svg: str) -> str:
    """`status_bars_svg` for st.markdown(unsafe_allow_html=True): wrapped in a <div> on lines
    of its own, an HTML block, so that Markdown never reads a label's `*`, `_`, `[…](…)` or
    `$`. (st.html would drop the SVG: its sanitiser keeps HTML only.)"""
    # Below 480 px (a phone) the chart scrolls sideways rather than shrinking its text.
    return f'<div class="status-bars" style="overflow-x: auto">\n{svg}\n</div>'


def esc(value) -> str:
    """Text for HTML or SVG: missing -> '–', everything else escaped (quotes included)."""
    if fmt.is_missing(value):
        return "–"
    return html.escape(str(value), quote=True)


def indicator_chart(obs: pd.DataFrame, unit: str | None, title: str,
                    main_territory: str | None = None) -> go.Figure:
    """Baseline, target, the straight trajectory between them, actuals per territory (plain
    dicts, `_plain`)."""
    traces = []
    territories = obs["territory_code"].drop_duplicates().tolist()
    if main_territory in territories:
        territories.remove(main_territory)
        territories.insert(0, main_territory)
    for i, code in enumerate(territories):
        part = obs[obs["territory_code"] == code]
        label = part["territory_label"].iloc[0] if "territory_label" in part else code
        colour = TERRITORY_COLOURS[i % len(TERRITORY_COLOURS)]
        main = i == 0
        real = part[(part["nature"] == "realise") & part["value"].notna()].sort_values("year")
        if len(real):
            line = dict(color=colour, width=3) if main else dict(color=colour, width=2,
                                                                   dash="dot")
            traces.append(dict(_points(real), mode="lines+markers", name=f"{label} – réalisé",
                               line=line,
                               hovertemplate=f"{label}<br>%{{x}} : %{{y}}<extra></extra>"))
        base = part[(part["nature"] == "reference") & part["value"].notna()]
        target = part[(part["nature"] == "cible") & part["value"].notna()]
        if len(base):
            traces.append(dict(_points(base), mode="markers",
                               name=f"{label} – situation de référence",
                               marker=dict(symbol="square", size=11, color=colour)))
        if len(target):
            traces.append(dict(_points(target), mode="markers",
                               name=f"{label} – situation visée",
                               marker=dict(symbol="star", size=14, color=colour,
                                           line=dict(width=1, color="black"))))
        if len(base) and len(target):
            ends = pd.concat([base.sort_values("year").iloc[[-1]],
                              target.sort_values("year").iloc[[-1]]])
            traces.append(dict(_points(ends), mode="lines",
                               name=f"{label} – trajectoire attendue",
                               line=dict(color=colour, dash="dash", width=1)))
    return _plain(traces, title, fmt.unit_label(unit), "année")


def _points(part: pd.DataFrame, y: str = "value") -> dict:
    """A scatter trace's type and points, as plain lists (years as whole numbers)."""
    return dict(type="scatter", x=[int(v) for v in part["year"]], y=part[y].tolist())


def add_projection(fig: go.Figure, projection, label: str, colour: str = TERRITORY_COLOURS[0],
                   unit: str | None = None) -> go.Figure:
    """Dotted line of the projection at the current pace (suivi/core/projection.py) from the last
    actual on, and its uncertainty band when there is one (3 actuals or more)."""
    line = projection.line()
    if not line:
        return fig
    rows = _legend_items(fig)
    years = [p[0] for p in line]
    if line[0][2] is not None:
        fig.add_trace(dict(type="scatter", x=years, y=[p[3] for p in line], mode="lines",
                           line=dict(width=0), showlegend=False, hoverinfo="skip"))
        fig.add_trace(dict(type="scatter", x=years, y=[p[2] for p in line], mode="lines",
                           line=dict(width=0), fill="tonexty",
                           fillcolor="rgba(31, 78, 121, 0.15)",
                           name=f"{label} – marge d'incertitude de la projection",
                           hoverinfo="skip"))
    fig.add_trace(dict(type="scatter", x=years, y=[p[1] for p in line], mode="lines",
                       name=f"{label} – projection au rythme actuel",
                       line=dict(color=colour, dash="dot", width=2),
                       hovertemplate=f"{label}<br>projection %{{x}} : %{{y}}<extra></extra>"))
    if fig.layout.height:  # room for the new legend rows (names wrapped like the others)
        fig.update_layout(height=fig.layout.height + LEGEND_ROW * (_legend_items(fig) - rows))
    return fig


def sparkline(points: pd.DataFrame) -> list[float]:
    """Values in year order, for st.column_config.LineChartColumn."""
    return points.sort_values("year")["value"].dropna().tolist()


def _plain(traces: list[dict], title: str, y_title: str, x_title: str, height: int = 380,
           **layout) -> go.Figure:
    """A chart over years built from plain dicts, without plotly's validation: the frame
    (`_frame_layout`), the white template, the axis titles, one tick a year. A figure built
    with `add_scatter` and validated cost 30 ms, the first of a process 0.2 s more."""
    for trace in traces:
        if "<br>" not in trace["name"]:
            trace["name"] = wrap(trace["name"], LEGEND_WIDTH)
    frame = _frame_layout(title, height, sum(t["name"].count("<br>") + 1 for t in traces))
    frame.update(template=_white(), **layout,
                 yaxis=dict(title=dict(text=y_title), tickformat=_tick_format(y_title)),
                 xaxis=dict(title=dict(text=x_title), dtick=1, tickformat="d"))
    return go.Figure(data=traces, layout=frame, _validate=False)


def _line(part: pd.DataFrame, y: str, name: str, colour: str) -> dict:
    """A line over years whose hover says which one it is in full (plotly's own cut the
    name: « (2019, 62,0) La Verrerie ... »)."""
    return dict(_points(part, y), mode="lines+markers", name=name, line=dict(color=colour),
                hovertemplate=f"{name}<br>%{{x}} : %{{y}}<extra></extra>")


def comparison_chart(values: pd.DataFrame, title: str) -> go.Figure:
    """One line per territory x indicator over time."""
    units = values["unit"].dropna().unique().tolist()
    traces = [_line(part.sort_values("year"), "value",
                    f"{part['territory_label'].iloc[0]} – {ind}",
                    TERRITORY_COLOURS[i % len(TERRITORY_COLOURS)])
              for i, ((ind, _ter), part) in enumerate(
                  values.groupby(["indicator_code", "territory_code"], sort=False))]
    return _plain(traces, title, " / ".join(fmt.unit_label(u) for u in units), "année")


def gap_chart(gaps: pd.DataFrame, title: str, unit: str | None) -> go.Figure:
    """Gap d * (Ref - QPV) per year for each reference territory (positive = quartier lags)."""
    traces = [_line(part.sort_values("year"), "gap", f"écart avec {ref}",
                    TERRITORY_COLOURS[(i + 1) % len(TERRITORY_COLOURS)])
              for i, (ref, part) in enumerate(gaps.groupby("reference_label", sort=False))]
    y = "points" if unit in ("percent", "rate") else fmt.unit_label(unit)
    zero = dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=0, y1=0,
                line=dict(color="grey", width=1))
    return _plain(traces, title, f"écart ({y})", "année", height=300, shapes=[zero])
