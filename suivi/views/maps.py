"""Maps of the quartiers: what colours them, the plotly figure and the table beside it.

Contours come from `queries.contours` / `queries.contour_neighbours` (GeoJSON text, simplified
on load). Colours are classed: the range of the values is cut into `CLASSES` equal classes, each
drawn in the colour of its middle on the scale, and the colour bar shows the same steps (a
classed map reads better than shades, and a national map draws a few traces instead of 1 400).
A contract's map holds one trace per quartier (its polygons, filled with its class's colour;
`meta` = {"code", "value"}, the hover anywhere in the quartier). Beyond `GROUPED_ABOVE`
quartiers, the polygons of each class make one trace (`meta` = {"codes"}) and one trace of
points, a dot in the middle of each quartier, carries the hover and the values (`meta` =
{"role": "quartiers", "codes", "values"}): Chromium drew 1 580 traces in 3.7 s, 13 in 2.3 s.
An invisible trace carries the colour bar (`meta` = {"role": "legende"}). By default the traces
are cartesian (`go.Scatter`, longitude x latitude, the y axis stretched by 1 / cos(latitude)):
a plain background that needs no tile server and fetches nothing. When a tile URL is configured
(SUIVI_MAP_TILES, suivi/core/config.py), the same traces are `go.Scattermap` over that raster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from suivi.core import fmt
from suivi.views import compare
from suivi.views import overview as ov

NO_VALUE_COLOUR = "#d9d9d9"
DRAWN_PIXELS = 1000        # about the width a map is drawn at
STORED_TOLERANCE = 0.0001  # degrees: the simplification contours got on load
EDGE_COLOUR = "#4d4d4d"
SELF_COLOUR = "#1f4e79"
NEIGHBOUR_COLOUR = "#9ecae1"
LEGEND_ROLE = "legende"
POINTS_ROLE = "quartiers"
CLASSES = 10               # colour classes between cmin and cmax
GROUPED_ABOVE = 150        # quartiers: beyond, one trace per colour class
SYNTHETIC_NOTE = ("Contours synthétiques : formes générées pour la démonstration, pas les "
                  "périmètres réels des quartiers.")
NO_CONTOURS = ("Aucun contour n'est chargé pour les quartiers de ce contrat : la carte ne peut "
               "pas être dessinée.")
# Staff who can load them get the steps; readers, who to ask.
HOW_TO_LOAD = (NO_CONTOURS + " Téléchargez le fichier GeoJSON des contours des quartiers "
               "prioritaires publié par l'ANCT, chargez d'abord la liste des QPV si ces "
               "quartiers n'y sont pas, puis déposez le fichier des contours sur la page "
               "**Import** (ou `python -m etl load contours.geojson`). Marche à suivre : "
               "guide « Contours des quartiers et cartes » (`docs/contours.md`).")
WHO_CAN_LOAD = (NO_CONTOURS + " Un contributeur de l'observatoire peut les charger (fichier "
                "des contours publié par l'ANCT, page **Import**).")

# Red (bad) to green (good), ColorBrewer RdYlGn.
GOOD_SCALE = [[0.0, "#d73027"], [0.25, "#fc8d59"], [0.5, "#fee08b"], [0.75, "#91cf60"],
              [1.0, "#1a9850"]]
# A gap: green where the quartier leads (negative), red where it lags (positive).
LAG_SCALE = [[1 - p, c] for p, c in reversed(GOOD_SCALE)]
VALUE_SCALE = [[0.0, "#eff3ff"], [0.5, "#6baed6"], [1.0, "#08519c"]]


@dataclass
class Colouring:
    """What the colour of a quartier means: per quartier code a value and its French text."""

    title: str                       # the legend's title (French)
    values: pd.Series                # code -> value (NaN: no value, drawn grey)
    texts: pd.Series                 # code -> French text for the hover and the table
    cmin: float = 0.0
    cmax: float = 1.0
    scale: list = field(default_factory=lambda: GOOD_SCALE)
    ticks: list[float] = field(default_factory=list)
    tick_text: list[str] = field(default_factory=list)

    def classes(self, codes) -> np.ndarray:
        """The colour class of each code, 0 to CLASSES - 1 from cmin to cmax; -1: no value."""
        values = pd.to_numeric(pd.Series(list(codes)).map(self.values), errors="coerce")
        span = (self.cmax - self.cmin) or 1.0
        pos = ((values - self.cmin) / span).clip(0, 1)
        k = np.minimum((pos.fillna(0) * CLASSES).astype(int), CLASSES - 1)
        return np.where(pos.isna(), -1, k)

    def class_colours(self) -> list[str]:
        """The colour of each class: the middle of its span on the scale."""
        return sample_colorscale(self.scale, [(k + 0.5) / CLASSES for k in range(CLASSES)])

    def colours(self, codes) -> list[str]:
        """The fill colour of each code: its class's, grey without a value."""
        palette = np.array([*self.class_colours(), NO_VALUE_COLOUR], dtype=object)
        return palette[self.classes(codes)].tolist()  # class -1 takes the last: grey

    def stepped_scale(self) -> list[list]:
        """The colour bar's scale: each class's colour over its whole span."""
        return [[edge / CLASSES, colour] for k, colour in enumerate(self.class_colours())
                for edge in (k, k + 1)]


# --- What colours the quartiers -------------------------------------------------------------

def on_track_share(statuses: pd.DataFrame, quartiers: pd.DataFrame) -> Colouring:
    """Share of the assessed series that are achieved or on track, per quartier (0–100 %)."""
    counts = ov.territory_counts(statuses, quartiers).set_index("code")
    good = counts["achieved"] + counts["on_track"]
    assessed = counts["total"] - counts["not_assessable"]
    share = (good / assessed.where(assessed > 0) * 100).astype(float)
    texts = pd.Series([
        "aucune série évaluée" if not a else
        f"{fmt.percent(s)} ({fmt.number(g)} série(s) sur {fmt.number(a)} évaluée(s))"
        for s, g, a in zip(share, good, assessed)], index=counts.index, dtype="object")
    ticks = [0, 25, 50, 75, 100]
    return Colouring("Part des séries en bonne voie ou atteintes", share, texts, 0, 100,
                     GOOD_SCALE, ticks, [fmt.percent(t, 0) for t in ticks])


def mean_score(statuses: pd.DataFrame, quartiers: pd.DataFrame) -> Colouring:
    """Mean Open SDG score (−5 to +5) of the assessed series, per quartier."""
    codes = quartiers["code"].tolist()
    if len(statuses) and "score_sum" in statuses.columns:  # counts (status_overview)
        sums = statuses.groupby(statuses["territory_code"].astype(str))[
            ["score_sum", "n_scored"]].sum().reindex(codes)
        scored = sums["n_scored"].where(sums["n_scored"] > 0)
        grouped = pd.DataFrame({"mean": sums["score_sum"] / scored, "count": scored})
    elif len(statuses):
        scored = pd.DataFrame({"code": statuses["territory_code"].astype(str),
                               "score": ov.scores(statuses)}).dropna()
        grouped = scored.groupby("code")["score"].agg(["mean", "count"]).reindex(codes)
    else:
        grouped = pd.DataFrame({"mean": np.nan, "count": np.nan}, index=codes)
    texts = pd.Series([
        "aucune série évaluée" if pd.isna(m) else
        f"{_signed(m)} ({fmt.number(n)} série(s) évaluée(s))"
        for m, n in zip(grouped["mean"], grouped["count"])], index=codes, dtype="object")
    ticks = [-5, -2.5, 0, 2.5, 5]
    return Colouring("Score moyen des séries (−5 à +5)", grouped["mean"].astype(float), texts,
                     -5, 5, GOOD_SCALE, ticks, [_signed(t) for t in ticks])


def _signed(value) -> str:
    text = fmt.number(value, 1, trim=True)
    return text if text.startswith("\u2212") or text == "0" else "+" + text


def latest_values(values: pd.DataFrame, indicator: str, quartiers: pd.DataFrame) -> Colouring:
    """An indicator's latest value (up to the year chosen) in each quartier."""
    v = values[(values["indicator_code"] == indicator) & values["value"].notna()]
    last = v.sort_values("year").drop_duplicates("territory_code", keep="last") \
        .set_index("territory_code")
    codes = quartiers["code"].tolist()
    value = last["value"].reindex(codes).astype(float)
    year = last["year"].reindex(codes)
    unit = v["unit"].iloc[0] if len(v) else None
    texts = pd.Series([ov.value_year(x, y, unit) if pd.notna(x) else "pas de valeur"
                       for x, y in zip(value, year)], index=codes, dtype="object")
    lo, hi = _range(value)
    ticks = list(np.linspace(lo, hi, 5))
    label = v["indicator_label"].iloc[0] if len(v) else indicator
    return Colouring(f"{ov.short(label, 40)} ({fmt.unit_label(unit)})", value, texts, lo, hi,
                     VALUE_SCALE, ticks, [fmt.with_unit(t, unit) for t in ticks])


def reference_gaps(values: pd.DataFrame, indicator: str, quartiers: pd.DataFrame,
                   reference: str, territories: pd.DataFrame) -> Colouring:
    """Gap d × (reference − quartier) of an indicator in each quartier, the latest year both
    have a value (positive = the quartier lags): red where it lags, green where it leads."""
    codes = quartiers["code"].tolist()
    v = values[values["indicator_code"] == indicator]
    gaps = compare.gap_table(v, codes, [reference], territories)
    gaps = gaps[gaps["gap"].notna()].sort_values("year") \
        .drop_duplicates("qpv_code", keep="last").set_index("qpv_code")
    gap = gaps["gap"].reindex(codes).astype(float)
    basis = gaps["basis"].reindex(codes)
    year = gaps["year"].reindex(codes)
    texts = pd.Series([
        "pas d'écart calculable" if pd.isna(g) else
        f"{_signed(g)} {b} ({int(y)})" for g, b, y in zip(gap, basis, year)],
        index=codes, dtype="object")
    bound = float(np.nanmax(np.abs(gap))) if gap.notna().any() else 1.0
    bound = bound or 1.0
    ticks = [-bound, -bound / 2, 0, bound / 2, bound]
    ref_label = dict(zip(territories["code"], territories["label"])).get(reference, reference)
    return Colouring(f"Écart à {ov.short(ref_label, 30)} (positif = quartier en retard)", gap,
                     texts, -bound, bound, LAG_SCALE, ticks, [_signed(t) for t in ticks])


def indicator_colouring(values: pd.DataFrame, indicator: str, quartiers: pd.DataFrame,
                        mode: str, reference: str | None,
                        territories: pd.DataFrame) -> Colouring:
    """The Comparer map's colours: the gap to `reference` (mode "ecart") or the latest value."""
    if mode == "ecart":
        return reference_gaps(values, indicator, quartiers, reference, territories)
    return latest_values(values, indicator, quartiers)


def _range(values: pd.Series) -> tuple[float, float]:
    known = values.dropna()
    if known.empty:
        return 0.0, 1.0
    lo, hi = float(known.min()), float(known.max())
    return (lo, hi) if hi > lo else (lo - 1, hi + 1)


# --- The figure -------------------------------------------------------------------------------

def rings(geometries) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per GeoJSON (Multi)Polygon text, the longitudes and latitudes of its outer rings, each
    ring followed by None (a gap: plotly fills every closed part apart; holes are not drawn).
    Parsed and flattened for all quartiers at once (shapely), then split per quartier."""
    import shapely

    geoms = shapely.from_geojson(np.asarray(list(geometries), dtype=object))
    # Drawn at about 1 000 pixels across: what is smaller than half a pixel of the whole map
    # cannot be seen. A contract's few quartiers keep the stored shapes (about 10 m); a
    # national map of 1 400 quartiers sends a fifth of the points.
    lon_min, lat_min, lon_max, lat_max = shapely.total_bounds(geoms)
    tolerance = max(lon_max - lon_min, lat_max - lat_min) / DRAWN_PIXELS / 2
    if tolerance > STORED_TOLERANCE:
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    coords, ring = shapely.get_coordinates(shapely.get_exterior_ring(parts), return_index=True)
    # One NaN row after the last point of every ring.
    ends = np.flatnonzero(np.diff(ring, append=-1) != 0)
    gapped = np.insert(coords, ends + 1, np.nan, axis=0)
    ring_owner = owner[np.insert(ring, ends + 1, ring[ends])]
    cuts = np.searchsorted(ring_owner, np.arange(1, len(geoms)))
    # Plain lists with None gaps: plotly serialises numpy arrays as typed arrays one by one,
    # which costs seconds for 1 400 traces; lists go straight to JSON.
    flat = gapped.astype(object)
    flat[np.isnan(gapped)] = None
    return [(c[:, 0].tolist(), c[:, 1].tolist()) for c in np.split(flat, cuts)]


def _figure(traces: list[dict], tiles: str | None, attribution: str, lon, lat,
            title: str) -> go.Figure:
    """The figure from plain trace dicts. Plotly's per-property validation costs some 3 ms a
    trace (4 s for a national contract's 1 400 quartiers), so the figure is built unvalidated
    (`_validate=False`) from dicts written here with known attributes only; the tests render
    it through Streamlit and read it back."""
    layout = dict(title=dict(text=title, font=dict(size=15)), height=520,
                  margin=dict(l=10, r=10, t=50, b=10),
                  showlegend=any(t.get("showlegend") for t in traces),
                  separators=", ", hoverlabel=dict(align="left"),
                  legend=dict(orientation="h", y=-0.02))
    lon = np.array([x for part in lon for x in part if x is not None], dtype=float)
    lat = np.array([y for part in lat for y in part if y is not None], dtype=float)
    if not len(lon):
        lon, lat = np.array([2.5]), np.array([46.6])
    if tiles:
        span = max(lon.max() - lon.min(), lat.max() - lat.min(), 0.005)
        layout["map"] = dict(
            style="white-bg", center=dict(lon=float(lon.min() + lon.max()) / 2,
                                          lat=float(lat.min() + lat.max()) / 2),
            zoom=max(1.0, min(15.0, math.log2(360 / span) - 0.5)),
            layers=[dict(below="traces", sourcetype="raster", source=[tiles],
                         sourceattribution=attribution)])
    else:
        mid = float(lat.min() + lat.max()) / 2
        layout.update(plot_bgcolor="white", paper_bgcolor="white",
                      xaxis=dict(visible=False, constrain="domain"),
                      yaxis=dict(visible=False, scaleanchor="x",
                                 scaleratio=1 / max(math.cos(math.radians(mid)), 0.1)))
    try:
        return go.Figure(data=traces, layout=layout, _validate=False)
    except TypeError:  # a plotly without the switch: validated, slower
        return go.Figure(data=traces, layout=layout)


def _trace(tiles, lon, lat, hoveron: str = "fills", **kwargs) -> dict:
    if tiles:  # a map trace has no `hoveron`: it hovers its points, or its fill
        return dict(type="scattermap", lon=lon, lat=lat, **kwargs)
    return dict(type="scatter", x=lon, y=lat, hoveron=hoveron, **kwargs)


def choropleth(contours: pd.DataFrame, colouring: Colouring, title: str,
               tiles: str | None = None, attribution: str = "",
               shapes: list | None = None) -> go.Figure:
    """The quartiers filled with their class's colour, and the colour bar; `shapes` are
    `rings(contours["geometry"])` when the caller keeps them."""
    codes = contours["code"].tolist()
    colours = colouring.colours(codes)
    shapes = rings(contours["geometry"]) if shapes is None else shapes
    values = [colouring.values.get(code) for code in codes]
    values = [None if v is None or pd.isna(v) else float(v) for v in values]
    texts = [f"<b>{label}</b> ({code})<br>{colouring.title} : "
             f"{colouring.texts.get(code, 'pas de valeur')}"
             for code, label in zip(codes, contours["label"])]
    edge = dict(color=EDGE_COLOUR, width=0.8)
    if len(codes) <= GROUPED_ABOVE:
        traces = [_trace(tiles, lon, lat, mode="lines", fill="toself", fillcolor=colour,
                         line=edge, name=label, text=text, hoverinfo="text", showlegend=False,
                         meta={"code": code, "value": value})
                  for code, label, colour, text, value, (lon, lat)
                  in zip(codes, contours["label"], colours, texts, values, shapes)]
    else:
        traces = _class_traces(tiles, codes, colours, shapes, edge)
        centres = [_centre(lon, lat) for lon, lat in shapes]
        traces.append(_trace(tiles, [c[0] for c in centres], [c[1] for c in centres],
                             mode="markers", marker=dict(size=6, color=colours),
                             text=texts, hoverinfo="text", showlegend=False, hoveron="points",
                             meta={"role": POINTS_ROLE, "codes": codes, "values": values}))
    bar = dict(colorscale=colouring.stepped_scale(), cmin=colouring.cmin, cmax=colouring.cmax,
               color=[colouring.cmin], showscale=True, size=0.1,
               colorbar=dict(title=dict(text=colouring.title.replace(" (", "<br>("),
                                        side="right"), thickness=14,
                             **(dict(tickvals=colouring.ticks, ticktext=colouring.tick_text)
                                if colouring.ticks else {})))
    traces.append(_trace(tiles, [None], [None], mode="markers", marker=bar,
                         hoverinfo="skip", showlegend=False, meta={"role": LEGEND_ROLE}))
    return _figure(traces, tiles, attribution, [s[0] for s in shapes],
                   [s[1] for s in shapes], title)


def _class_traces(tiles, codes: list[str], colours: list[str], shapes: list,
                  edge: dict) -> list[dict]:
    """One filled trace per colour: the rings of its quartiers end to end (each already ends
    with a None gap, so plotly fills them apart)."""
    members: dict[str, list[int]] = {}
    for i, colour in enumerate(colours):
        members.setdefault(colour, []).append(i)
    return [_trace(tiles, [x for i in idx for x in shapes[i][0]],
                   [y for i in idx for y in shapes[i][1]], mode="lines", fill="toself",
                   fillcolor=colour, line=edge, hoverinfo="skip", showlegend=False,
                   meta={"codes": [codes[i] for i in idx]})
            for colour, idx in members.items()]


def _centre(lon: list, lat: list) -> tuple[float | None, float | None]:
    """The middle of a quartier's bounding box: where its dot and its hover are."""
    xs = [x for x in lon if x is not None]
    ys = [y for y in lat if y is not None]
    return ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2) if xs else (None, None)


def neighbourhood(contours: pd.DataFrame, title: str, tiles: str | None = None,
                  attribution: str = "") -> go.Figure:
    """The selected quartier (`is_self`) and its neighbours, in two colours with a legend."""
    traces, shown = [], set()
    shapes = rings(contours["geometry"])
    for row, (lon, lat) in zip(contours.itertuples(index=False), shapes):
        role = "Quartier choisi" if row.is_self else "Quartier voisin"
        colour = SELF_COLOUR if row.is_self else NEIGHBOUR_COLOUR
        traces.append(_trace(tiles, lon, lat, mode="lines", fill="toself", fillcolor=colour,
                             line=dict(color=EDGE_COLOUR, width=0.8), name=role,
                             legendgroup=role, showlegend=role not in shown,
                             text=f"<b>{row.label}</b> ({row.code})<br>{role}",
                             hoverinfo="text", meta={"code": row.code, "value": role}))
        shown.add(role)
    return _figure(traces, tiles, attribution, [s[0] for s in shapes],
                   [s[1] for s in shapes], title)


def quartier_codes(fig: go.Figure) -> list[str]:
    """The codes of the quartiers a map draws (per-quartier traces, or the points trace of a
    map grouped by colour class)."""
    codes = []
    for t in fig.data:
        meta = t.meta if isinstance(t.meta, dict) else {}
        if "code" in meta:
            codes.append(meta["code"])
        elif meta.get("role") == POINTS_ROLE:
            codes.extend(meta["codes"])
    return codes


# --- The table beside the map -----------------------------------------------------------------

def map_table(contours: pd.DataFrame, quartiers: pd.DataFrame,
              colouring: Colouring) -> pd.DataFrame:
    """The figures the map shows, one row per quartier of the contract (those without a
    contour too, marked), in French."""
    codes = quartiers["code"].tolist()
    has = set(contours["code"])
    return pd.DataFrame({
        "Quartier": quartiers["label"].tolist(), "Code": codes,
        colouring.title: [colouring.texts.get(c, "pas de valeur") for c in codes],
        "Contour": ["chargé" if c in has else "absent" for c in codes],
    })


def neighbourhood_table(contours: pd.DataFrame) -> pd.DataFrame:
    """The quartiers the neighbourhood map draws, the selected one first."""
    return pd.DataFrame({
        "Quartier": contours["label"].tolist(), "Code": contours["code"].tolist(),
        "Sur la carte": ["Quartier choisi" if s else "Quartier voisin"
                         for s in contours["is_self"].astype(bool)],
    })


def synthetic(contours: pd.DataFrame) -> bool:
    return bool(len(contours)) and bool(contours["synthetic"].fillna(False).astype(bool).any())
