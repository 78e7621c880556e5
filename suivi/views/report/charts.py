"""Charts of the Word report as PNG images, drawn with matplotlib's Agg backend.

A Word document cannot hold the pages' interactive plotly charts, and exporting those needs a
browser; matplotlib draws a PNG in-process. The figures are built with `Figure` and
`FigureCanvasAgg` directly (no pyplot state), so they are safe in the app's threads. Colours,
icons and labels come from suivi/core/progress.py and numbers are French (suivi/core/fmt.py); every
chart gets a text caption in the document, and the numbers it shows are also in a table, so
nothing is said by colour alone.
"""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from suivi.core import colours, fmt
from suivi.core import progress as pg

DPI = 130
WIDTH_IN = 6.3  # 16 cm, the text width of an A4 page with 2,5 cm margins
FONT = {"family": "DejaVu Sans", "size": 8}
MAIN_COLOUR = "#1f4e79"
TARGET_COLOUR = "#c55a11"


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    FigureCanvasAgg(fig).print_png(out)
    return out.getvalue()


def _french_axis(axis, integer: bool = False) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.number(v)))
    if integer:
        axis.set_major_locator(MaxNLocator(integer=True))


def _year_axis(axis) -> None:
    """Years print as 2024, never as « 2 024 »."""
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: str(int(round(v)))))
    axis.set_major_locator(MaxNLocator(integer=True, nbins=6))


def _short(text: str, size: int = 38) -> str:
    return text if len(text) <= size else text[:size - 1] + "…"


def status_bars(counts: pd.DataFrame, labels: list[str], title: str) -> bytes:
    """Horizontal stacked bars: series per status (columns = status codes) for each group."""
    height = 0.45 + 0.3 * len(labels) + 1.25  # title, bars, axis and legend (inches)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    ax = fig.add_subplot()
    ys = list(range(len(labels)))
    left = [0.0] * len(labels)
    for info in pg.STATUSES:
        if info.code not in counts.columns:
            continue
        values = [float(v) for v in counts[info.code]]
        if not any(values):
            continue
        ax.barh(ys, values, left=left, color=info.colour, label=f"{info.icon} {info.label}",
                height=0.7)
        for y, (x0, v) in enumerate(zip(left, values)):
            if v >= max(1.0, 0.04 * max(counts.sum(axis=1).max(), 1)):
                ax.text(x0 + v / 2, y, fmt.number(v), ha="center", va="center",
                        color=colours.text_on(info.colour),
                        fontdict=FONT)
        left = [a + b for a, b in zip(left, values)]
    ax.set_yticks(ys, [_short(label) for label in labels], fontdict=FONT)
    ax.invert_yaxis()
    ax.set_xlabel("nombre de séries", fontdict=FONT)
    _french_axis(ax.xaxis, integer=True)
    ax.tick_params(labelsize=FONT["size"])
    ax.set_title(title, fontdict={**FONT, "size": 9, "weight": "bold"}, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    fig.legend(loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.subplots_adjust(left=0.40, right=0.98, top=1 - 0.45 / height, bottom=1.25 / height)
    return _png(fig)


def projection_panels(panels: list[dict], unit_labels: list[str]) -> bytes:
    """Small multiples, one per series: actuals, target, projection line and band.

    Each panel: title, points [(year, value)], target_year, target, line
    [(year, value, low, high)] (suivi.core.projection.Projection.line()).
    """
    n = len(panels)
    cols = 2 if n > 1 else 1
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(WIDTH_IN, 2.3 * rows + 0.3), dpi=DPI)
    for i, (panel, unit) in enumerate(zip(panels, unit_labels)):
        ax = fig.add_subplot(rows, cols, i + 1)
        years = [p[0] for p in panel["points"]]
        ax.plot(years, [p[1] for p in panel["points"]], "o-", color=MAIN_COLOUR, lw=2,
                label="réalisé")
        line = panel["line"]
        if line:
            ly = [p[0] for p in line]
            ax.plot(ly, [p[1] for p in line], ":", color=MAIN_COLOUR, lw=2,
                    label="projection au rythme actuel")
            if line[0][2] is not None:
                ax.fill_between(ly, [p[2] for p in line], [p[3] for p in line],
                                color=MAIN_COLOUR, alpha=0.15, lw=0,
                                label="marge d'incertitude")
        if panel.get("target") is not None:
            ax.axhline(panel["target"], color=TARGET_COLOUR, lw=1, ls="--")
            ax.plot([panel["target_year"]], [panel["target"]], "*", color=TARGET_COLOUR,
                    ms=11, label="situation visée")
        ax.set_title(_short(panel["title"], 48), fontdict={**FONT, "weight": "bold"},
                     loc="left")
        ax.set_ylabel(unit, fontdict=FONT)
        _french_axis(ax.yaxis)
        _year_axis(ax.xaxis)
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        if i == 0:
            handles, labels = ax.get_legend_handles_labels()
    height = 2.3 * rows + 0.3
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False)
    fig.subplots_adjust(left=0.09, right=0.98, top=1 - 0.3 / height, bottom=0.55 / height,
                        wspace=0.3, hspace=0.45)
    return _png(fig)
