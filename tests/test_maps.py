"""Maps on Vue d'ensemble, Comparer and Quartiers, through the real app on both backends, with
synthetic contours loaded as staff would load the ANCT's file: one trace per quartier, each
filled with the colour of the class of the value the database gives, the same figures in the
table, the synthetic notice, and where no contour is loaded, how to load them; a national map
grouped by colour class."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from plotly.colors import sample_colorscale

from etl.pipeline import load
from etl.synthetic_contours import write_synthetic
from suivi.core import fmt
from suivi.views import maps
from suivi.views import overview as ov
from tests.conftest import connection
from tests.test_pages_overview import sql_statuses

CONTRACT = "AMBOISE-2015"
QUARTIERS = {"AMB-QPV-VE": "La Verrerie", "AMB-QPV-PO": "Patte d'Oie / Malétrenne / Plaisance"}
YEAR = 2022


def load_contours(db, tmp_path) -> None:
    path = write_synthetic(tmp_path / "contours.geojson", list(QUARTIERS),
                           list(QUARTIERS.values()), centre=(0.98, 47.41), spacing=0.02)
    checked, result = load(path, db=db)
    assert checked.ok and result.changed, checked.report.render()


def map_figure(at) -> dict:
    """The one plotly figure of the page whose traces are quartiers."""
    found = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if any(isinstance(t.get("meta"), dict) and "code" in t["meta"] for t in spec["data"]):
            found.append(spec)
    assert len(found) == 1, f"{len(found)} map(s) on the page"
    return found[0]


def quartier_traces(fig: dict) -> dict[str, dict]:
    traces = [t for t in fig["data"] if "code" in (t.get("meta") or {})]
    by_code = {t["meta"]["code"]: t for t in traces}
    assert len(by_code) == len(traces)  # one trace per quartier
    return by_code


def expected_colour(value, scale, cmin, cmax) -> str:
    """The colour of the middle of the value's class (ten equal classes from cmin to cmax)."""
    if value is None or pd.isna(value):
        return maps.NO_VALUE_COLOUR
    k = min(int(min(max((value - cmin) / (cmax - cmin), 0), 1) * 10), 9)
    return sample_colorscale(scale, [(k + 0.5) / 10])[0]


def map_table(at, column: str) -> pd.DataFrame:
    tables = [d.value for d in at.dataframe if {"Quartier", "Code", column} <= set(d.value)]
    assert tables, f"no map table with {column}"
    return tables[0].set_index("Code")


def test_overview_map_colours_each_quartier_by_its_share_on_track_and_score(app, tmp_path):
    load_contours(app.db, tmp_path)
    at = app(page="app_pages/vue_ensemble.py", contrat=CONTRACT, annee=YEAR)
    statuses = sql_statuses(app.db, CONTRACT, YEAR)
    traces = quartier_traces(map_figure(at))
    assert set(traces) == set(QUARTIERS)
    legend = [t for t in map_figure(at)["data"] if (t.get("meta") or {}).get("role")]
    assert legend[0]["marker"]["colorbar"]["title"]["text"].startswith("Part des séries")
    # The colour bar shows the classes: each fill is one of its steps.
    steps = [colour for _, colour in legend[0]["marker"]["colorscale"]]
    assert len(steps) == 20 and all(t["fillcolor"] in steps for t in traces.values())

    table = map_table(at, "Part des séries en bonne voie ou atteintes")
    for code, label in QUARTIERS.items():
        mine = statuses[statuses["territory_code"] == code]["status"]
        assessed = int((mine != "not_assessable").sum())
        good = int(mine.isin(["achieved", "on_track"]).sum())
        assert assessed > 0
        share = good / assessed * 100
        trace = traces[code]
        assert trace["meta"]["value"] == pytest.approx(share)
        assert trace["fillcolor"] == expected_colour(share, maps.GOOD_SCALE, 0, 100)
        assert trace["fill"] == "toself" and trace["name"] == label
        # French hover text, and the same figure in the table beside the map.
        assert fmt.percent(share) in trace["text"]
        assert table.loc[code, "Part des séries en bonne voie ou atteintes"].startswith(
            fmt.percent(share))
    assert any(maps.SYNTHETIC_NOTE in c.value for c in at.caption)

    at.radio(key="carte_couleur").set_value("score").run()
    assert not at.exception
    traces = quartier_traces(map_figure(at))
    scores = pd.DataFrame({"code": statuses["territory_code"], "score": ov.scores(statuses)})
    for code in QUARTIERS:
        mean = scores[scores["code"] == code]["score"].dropna().mean()
        assert traces[code]["meta"]["value"] == pytest.approx(mean)
        assert traces[code]["fillcolor"] == expected_colour(mean, maps.GOOD_SCALE, -5, 5)
    assert map_table(at, "Score moyen des séries (−5 à +5)") is not None


def test_overview_without_contours_says_how_to_load_them(app):
    """A reader is told who can load the contours and who can remove the demo values; a
    contributor gets the loading steps; an administrator also the removal command."""
    from suivi.web.ui import DEMO_REMOVAL, DEMO_WHO_REMOVES
    from tests.test_pages_import_bilan import import_page

    at = app(page="app_pages/vue_ensemble.py", contrat=CONTRACT, annee=YEAR)
    assert any(i.value == maps.WHO_CAN_LOAD for i in at.info)
    assert any(w.value.endswith(DEMO_WHO_REMOVES) for w in at.warning)
    assert not [m.value for m in [*at.info, *at.warning] if "python -m etl" in m.value]
    for role, removal in (("contributeur", DEMO_WHO_REMOVES), ("administrateur", DEMO_REMOVAL)):
        staff, _ = import_page(app, role)
        staff.switch_page("app_pages/vue_ensemble.py").run()
        assert any(i.value == maps.HOW_TO_LOAD for i in staff.info), role
        assert any(w.value.endswith(removal) for w in staff.warning), role
    assert not [c for c in at.get("plotly_chart")
                if "meta" in c.proto.spec and '"code"' in c.proto.spec]


def test_comparer_map_colours_the_value_then_the_gap_per_quartier(app, tmp_path):
    load_contours(app.db, tmp_path)
    indicator = "AMB-P3-02"  # brevet success rate: quartiers and commune have values
    at = app(page="app_pages/comparer.py", contrat=CONTRACT, annee=YEAR,
             indicateurs=indicator, references="COM-37003")
    assert at.selectbox(key="cmp_map_ind").value == indicator
    with connection(app.db) as s:
        obs = s.df("""SELECT territory_code, year, value, i.polarity FROM observation o
                      JOIN indicator i ON i.code = o.indicator_code
                      WHERE o.indicator_code = ? AND o.nature = 'realise' AND o.breakdown = ''
                        AND o.year <= ? AND o.value IS NOT NULL ORDER BY year""",
                   [indicator, YEAR])
    last = obs.drop_duplicates("territory_code", keep="last").set_index("territory_code")
    values = last["value"].reindex(list(QUARTIERS))
    assert values.notna().all()
    lo, hi = float(values.min()), float(values.max())
    traces = quartier_traces(map_figure(at))
    assert set(traces) == set(QUARTIERS)
    table = map_table(at, next(c for c in map_table_columns(at) if "(" in c))
    for code in QUARTIERS:
        assert traces[code]["meta"]["value"] == pytest.approx(values[code])
        assert traces[code]["fillcolor"] == expected_colour(values[code], maps.VALUE_SCALE,
                                                            lo, hi)
        shown = fmt.percent(values[code]) + f" ({int(last.loc[code, 'year'])})"
        assert shown in traces[code]["text"]
        assert shown in table.loc[code].tolist()

    at.radio(key="cmp_map_mode").set_value("ecart").run()
    assert not at.exception
    traces = quartier_traces(map_figure(at))
    sign = {"higher_better": 1, "lower_better": -1}
    gaps = {}
    for code in QUARTIERS:
        both = obs[obs["territory_code"].isin([code, "COM-37003"])]
        years = both.groupby("year")["territory_code"].nunique()
        year = int(years[years == 2].index.max())
        q = both[(both["territory_code"] == code) & (both["year"] == year)]["value"].iloc[0]
        r = both[(both["territory_code"] == "COM-37003") & (both["year"] == year)]["value"] \
            .iloc[0]
        gaps[code] = sign[obs["polarity"].iloc[0]] * (r - q)
    bound = max(abs(g) for g in gaps.values())
    for code, gap in gaps.items():
        assert traces[code]["meta"]["value"] == pytest.approx(gap)
        assert traces[code]["fillcolor"] == expected_colour(gap, maps.LAG_SCALE, -bound, bound)
    # A lagging quartier (positive gap) is on the red side of the scale.
    worst = max(gaps, key=gaps.get)
    red = np.array([int(x) for x in traces[worst]["fillcolor"][4:-1].split(",")])
    assert gaps[worst] > 0 and red[0] > red[1]


def map_table_columns(at) -> list[str]:
    for d in at.dataframe:
        if {"Quartier", "Code", "Contour"} <= set(d.value):
            return list(d.value.columns)
    return []


def test_quartier_map_shows_the_quartier_and_its_neighbours(app, tmp_path):
    load_contours(app.db, tmp_path)
    at = app(page="app_pages/quartiers.py", contrat=CONTRACT, annee=YEAR, quartier="AMB-QPV-VE")
    traces = quartier_traces(map_figure(at))
    assert set(traces) == set(QUARTIERS)  # 0,02° apart: neighbours
    assert traces["AMB-QPV-VE"]["fillcolor"] == maps.SELF_COLOUR
    assert traces["AMB-QPV-VE"]["meta"]["value"] == "Quartier choisi"
    assert traces["AMB-QPV-PO"]["fillcolor"] == maps.NEIGHBOUR_COLOUR
    assert traces["AMB-QPV-PO"]["name"] == "Quartier voisin"
    table = [d.value for d in at.dataframe if "Sur la carte" in d.value.columns][0]
    assert table.iloc[0].tolist() == ["La Verrerie", "AMB-QPV-VE", "Quartier choisi"]
    assert any(maps.SYNTHETIC_NOTE in c.value for c in at.caption)


def test_import_page_loads_contours_and_refuses_a_bad_file(app, tmp_path):
    from tests.conftest import assert_same, snapshot
    from tests.test_pages_import_bilan import click, frame_with, import_page, texts

    at, _ = import_page(app)
    good = write_synthetic(tmp_path / "contours.geojson", list(QUARTIERS),
                           centre=(0.98, 47.41), spacing=0.02).read_bytes()
    bad = json.loads(good)
    bad["features"][1]["properties"]["code_qp"] = "QN03799Z"
    before = snapshot(app.db)
    at.file_uploader(key="import_file").set_value(
        ("faux.geojson", json.dumps(bad).encode(), "application/geo+json")).run()
    assert not at.exception
    errors = frame_with(at, "Gravité")
    err = errors[errors["Gravité"] == "⛔ Erreur"].iloc[0]
    assert (err["Colonne"], err["Valeur"]) == ("code_qp", "QN03799Z")
    assert err["Message"].startswith("Entité n° 2") and "référentiel" in err["Message"]
    assert "Confirmer le chargement" not in [b.label for b in at.button]
    assert_same(before, snapshot(app.db))

    at.file_uploader(key="import_file").set_value(
        ("contours.geojson", good, "application/geo+json")).run()
    assert not at.exception
    assert any("contours" in s for s in texts(at.success) + texts(at.info)), texts(at.success)
    click(at, "Confirmer le chargement")
    assert any("2 ajout(s)" in s for s in texts(at.success)), texts(at.success)
    with connection(app.db) as s:
        assert s.scalar("SELECT count(*) FROM territory_geometry WHERE synthetic") == 2
    overview = app(page="app_pages/vue_ensemble.py", contrat=CONTRACT, annee=YEAR)
    assert set(quartier_traces(map_figure(overview))) == set(QUARTIERS)


def test_tile_setting_draws_the_same_traces_over_a_raster_layer(monkeypatch):
    """No database: the figure builder alone, with a MultiPolygon quartier."""
    import plotly.graph_objects as go

    from etl.synthetic_contours import synthetic_collection
    from suivi.web import maps as mapview

    doc = synthetic_collection(["A", "B"], centre=(0.98, 47.41), spacing=0.02)
    two_parts = {"type": "MultiPolygon", "coordinates": [
        doc["features"][1]["geometry"]["coordinates"],
        [[[1.1, 47.5], [1.11, 47.5], [1.11, 47.51], [1.1, 47.5]]]]}
    contours = pd.DataFrame({
        "code": ["A", "B"], "label": ["Alpha", "Bêta"], "synthetic": True, "source": "x",
        "geometry": [json.dumps(doc["features"][0]["geometry"]), json.dumps(two_parts)]})
    colouring = maps.Colouring("Part", pd.Series({"A": 25.0, "B": None}),
                               pd.Series({"A": "25 %", "B": "pas de valeur"}), 0, 100)
    lon, lat = maps.rings(contours["geometry"])[1]
    assert lon.count(None) == 2 and lon[-5:] == [1.1, 1.11, 1.11, 1.1, None]

    monkeypatch.delenv("SUIVI_MAP_TILES", raising=False)
    plain = maps.choropleth(contours, colouring, "t", *mapview.tiles())
    assert [t.type for t in plain.data] == ["scatter"] * 3
    assert plain.layout.yaxis.scaleanchor == "x" and not plain.layout.xaxis.visible
    assert [t.fillcolor for t in plain.data[:2]] == [
        expected_colour(25.0, maps.GOOD_SCALE, 0, 100), maps.NO_VALUE_COLOUR]

    url = "https://tuiles.exemple.fr/{z}/{x}/{y}.png"
    monkeypatch.setenv("SUIVI_MAP_TILES", url)
    monkeypatch.setenv("SUIVI_MAP_ATTRIBUTION", "© exemple")
    tiled = maps.choropleth(contours, colouring, "t", *mapview.tiles())
    assert [t.type for t in tiled.data] == ["scattermap"] * 3
    layer = tiled.layout.map.layers[0]
    assert list(layer.source) == [url] and layer.sourceattribution == "© exemple"
    assert tiled.layout.map.style == "white-bg"
    assert tiled.data[0].lon == plain.data[0].x
    go.Figure(tiled.to_dict())  # what plotly's validation accepts
    go.Figure(plain.to_dict())


def test_a_frozen_figure_computes_its_dict_once_and_sends_the_same_figure():
    """Pages keep their finished figures (ui.memo) frozen: st.plotly_chart's `to_dict()` on
    every rerun must return the figure as it was built, without redoing the deep copy."""
    from etl.synthetic_contours import synthetic_collection
    from suivi.views import charts

    doc = synthetic_collection(["A", "B"], centre=(0.98, 47.41), spacing=0.02)
    contours = pd.DataFrame({
        "code": ["A", "B"], "label": ["Alpha", "Bêta"], "synthetic": True, "source": "x",
        "geometry": [json.dumps(f["geometry"]) for f in doc["features"]]})
    colouring = maps.Colouring("Part", pd.Series({"A": 25.0, "B": 80.0}),
                               pd.Series({"A": "25 %", "B": "80 %"}), 0, 100)
    expected = maps.choropleth(contours, colouring, "t").to_dict()
    frozen = charts.freeze(maps.choropleth(contours, colouring, "t"))
    assert isinstance(frozen, charts.FrozenFigure)
    first = frozen.to_dict()
    assert first == expected
    assert frozen.to_dict() is first  # kept, not recomputed
    assert [t.meta["code"] for t in frozen.data[:2]] == ["A", "B"]  # still a figure


def test_a_national_map_draws_one_trace_per_colour_class_and_a_dot_per_quartier(monkeypatch):
    """Beyond GROUPED_ABOVE quartiers the polygons of a class make one trace (1 580 traces
    took Chromium 3.7 s to draw, 13 took 2.3 s) and each quartier keeps its hover, its value
    and its colour on a dot in its middle."""
    import plotly.graph_objects as go

    from etl.synthetic_contours import synthetic_collection
    from suivi.web import maps as mapview

    monkeypatch.setattr(maps, "GROUPED_ABOVE", 2)
    doc = synthetic_collection(["A", "B", "C"], centre=(0.98, 47.41), spacing=0.02)
    contours = pd.DataFrame({
        "code": ["A", "B", "C"], "label": ["Alpha", "Bêta", "Gamma"], "synthetic": True,
        "source": "x", "geometry": [json.dumps(f["geometry"]) for f in doc["features"]]})
    colouring = maps.Colouring("Part", pd.Series({"A": 21.0, "B": 29.5, "C": None}),
                               pd.Series({"A": "21 %", "B": "29,5 %", "C": "pas de valeur"}),
                               0, 100)
    fig = maps.choropleth(contours, colouring, "t")
    classes = [t for t in fig.data if "codes" in t.meta and "role" not in t.meta]
    # A and B share the class 20-30 %; C, without a value, is grey.
    assert [(t.meta["codes"], t.fillcolor) for t in classes] == [
        (["A", "B"], expected_colour(25, maps.GOOD_SCALE, 0, 100)),
        (["C"], maps.NO_VALUE_COLOUR)]
    shapes = maps.rings(contours["geometry"])
    assert list(classes[0].x) == shapes[0][0] + shapes[1][0]  # both rings, gaps kept
    assert classes[0].hoverinfo == "skip"
    points = next(t for t in fig.data if t.meta.get("role") == maps.POINTS_ROLE)
    assert points.meta["codes"] == ["A", "B", "C"] and points.meta["values"] == [21.0, 29.5,
                                                                                 None]
    assert list(points.marker.color) == [classes[0].fillcolor] * 2 + [maps.NO_VALUE_COLOUR]
    assert "<b>Bêta</b> (B)<br>Part : 29,5 %" == points.text[1]
    lon = [x for x in shapes[0][0] if x is not None]
    assert points.x[0] == pytest.approx((min(lon) + max(lon)) / 2)
    assert maps.quartier_codes(fig) == ["A", "B", "C"]
    go.Figure(fig.to_dict())  # what plotly's validation accepts

    monkeypatch.setenv("SUIVI_MAP_TILES", "https://tuiles.exemple.fr/{z}/{x}/{y}.png")
    tiled = maps.choropleth(contours, colouring, "t", *mapview.tiles())
    assert {t.type for t in tiled.data} == {"scattermap"}
    go.Figure(tiled.to_dict())


def test_every_frozen_figure_sends_what_plotly_would(app, tmp_path, monkeypatch):
    """FrozenFigure hands Streamlit the figure's own dicts instead of plotly's deep copy: for
    every figure the pages freeze (maps, comparison, the indicator's chart and its
    projection), the same dict as plotly's `to_dict` (which would turn numpy arrays into
    base64 arrays: the charts must hold lists)."""
    import plotly.graph_objects as go

    from suivi.views import charts

    frozen = []
    freeze = charts.freeze

    def checked(fig):
        expected = go.Figure.to_dict(fig)
        kept = freeze(fig)
        assert kept.to_dict() == expected, fig.layout.title.text
        frozen.append(fig.layout.title.text)
        return kept

    monkeypatch.setattr(charts, "freeze", checked)
    load_contours(app.db, tmp_path)
    at = app(contrat=CONTRACT, annee=YEAR)
    for page in ("app_pages/comparer.py", "app_pages/fiche_indicateur.py"):
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
    assert any(t.startswith("Part des séries") for t in frozen), frozen  # the overview's map
    # and the comparison, the Comparer's map, the indicator's chart with its projection (the
    # status bars are SVG: charts.status_bars_svg)
    assert len(frozen) == 4, frozen
