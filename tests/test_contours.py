"""Contours: the ANCT's GeoJSON (2024 and 2015 property names), shapefile and GeoPackage
through pyogrio, loaded as one versioned batch; every bad input refused with a located French
message and the database left exactly as it was. Both backends."""

from __future__ import annotations

import json

import pytest

from etl.pipeline import load
from etl.synthetic_contours import synthetic_collection, write_synthetic
from suivi.store.history import rollback
from tests.conftest import assert_same, connection, snapshot, upgraded_from

AMBOISE = ["AMB-QPV-VE", "AMB-QPV-PO"]
AMBOISE_CENTRE = (0.98, 47.41)


def anct_2024(codes=AMBOISE, **kwargs) -> dict:
    """A collection shaped like the ANCT's 2024 file: its properties, not synthetic."""
    doc = synthetic_collection(codes, centre=AMBOISE_CENTRE, spacing=0.02, **kwargs)
    for f in doc["features"]:
        p = f["properties"]
        f["properties"] = {"code_qp": p.get("code_qp", p.get("CODE_QP")),
                           "lib_qp": "Quartier " + p.get("code_qp", p.get("CODE_QP", "")),
                           "insee_dep": "37", "lib_com": "Amboise", "siren_epci": "200073013"}
    return doc


def write(tmp_path, doc, name="contours.geojson"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return path


def stored(db) -> dict:
    with connection(db) as s:
        rows = s.rows("SELECT territory_code, geometry, synthetic, source, lon_min, lat_max, "
                      "created_batch FROM territory_geometry ORDER BY territory_code")
    return {r[0]: r[1:] for r in rows}


def test_anct_2024_file_loads_simplified_versioned_and_rollback_restores(default_db, tmp_path):
    doc = anct_2024(points=400)
    first_ring = doc["features"][0]["geometry"]["coordinates"][0]
    checked, result = load(write(tmp_path, doc), db=default_db, user="test")
    assert checked.ok and result.changed, checked.report.render()
    rows = stored(default_db)
    assert set(rows) == set(AMBOISE)
    geometry, synthetic, source, lon_min, lat_max, batch1 = rows["AMB-QPV-VE"]
    shape = json.loads(geometry)
    assert shape["type"] == "Polygon"
    # Simplified: far fewer points than the 401 of the file, still inside its bounding box.
    assert 4 <= len(shape["coordinates"][0]) < len(first_ring) / 3
    xs = [p[0] for p in first_ring]
    assert min(xs) - 1e-5 <= lon_min <= min(xs) + 1e-3
    assert synthetic is False or synthetic == 0
    assert source.startswith("ANCT, contours des quartiers prioritaires 2024")
    assert "contours.geojson" in source
    # Other properties (insee_dep, lib_com, siren_epci) are ignored; the batch is logged.
    assert "2 contour(s)" in " ".join(checked.report.info)

    # A second file moves one quartier: a new version, the old one kept, rollback restores.
    moved = anct_2024(codes=["AMB-QPV-VE"], seed=7)
    checked2, result2 = load(write(tmp_path, moved, "v2.geojson"), db=default_db)
    assert checked2.ok and result2.counts["territory_geometry"]["updated"] == 1
    assert stored(default_db)["AMB-QPV-VE"][0] != geometry
    with connection(default_db) as s:
        assert s.scalar("SELECT count(*) FROM territory_geometry_v "
                        "WHERE territory_code = 'AMB-QPV-VE'") == 2
        rollback(s, result2.batch_id, user="test")
    assert stored(default_db)["AMB-QPV-VE"] == (geometry, synthetic, source, lon_min, lat_max,
                                                batch1)
    # Reloading the same file changes nothing.
    _, again = load(write(tmp_path, doc), db=default_db)
    assert not again.changed


def test_2015_property_names_and_synthetic_flag(default_db, tmp_path):
    path = write_synthetic(tmp_path / "synth.geojson", AMBOISE, ["A", "B"],
                           centre=AMBOISE_CENTRE, spacing=0.02, generation="2015")
    text = path.read_text()
    assert '"CODE_QP"' in text and '"NOM_QP"' in text and '"code_qp"' not in text
    checked, result = load(path, db=default_db)
    assert checked.ok, checked.report.render()
    rows = stored(default_db)
    assert all(bool(r[1]) for r in rows.values())  # flagged synthetic
    assert all(r[2].startswith("Contours synthétiques générés") for r in rows.values())
    assert "synthétique" in " ".join(checked.report.info)


def test_shapefile_and_geopackage_through_pyogrio(default_db, tmp_path):
    pyogrio = pytest.importorskip("pyogrio")
    shapely = pytest.importorskip("shapely")
    import numpy as np

    doc = anct_2024()
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in doc["features"]])
    fields = [np.array([f["properties"]["code_qp"] for f in doc["features"]], dtype=object),
              np.array([f["properties"]["lib_qp"] for f in doc["features"]], dtype=object)]
    gpkg = tmp_path / "contours.gpkg"
    pyogrio.raw.write(gpkg, shapely.to_wkb(geoms), fields, ["code_qp", "lib_qp"],
                      driver="GPKG", geometry_type="Polygon", crs="EPSG:4326")
    checked, result = load(gpkg, db=default_db)
    assert checked.ok and result.changed, checked.report.render()
    assert set(stored(default_db)) == set(AMBOISE)

    import zipfile
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    pyogrio.raw.write(shp_dir / "qp.shp", shapely.to_wkb(geoms), fields, ["CODE_QP", "NOM_QP"],
                      driver="ESRI Shapefile", geometry_type="Polygon", crs="EPSG:4326")
    archive = tmp_path / "qp2015.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in shp_dir.iterdir():
            z.write(f, f.name)
    checked, _ = load(archive, db=default_db)
    assert checked.ok, checked.report.render()
    assert all(r[2].startswith("ANCT, contours des quartiers prioritaires 2015")
               for r in stored(default_db).values())

    # A projected shapefile (Lambert 93) is refused with the coordinate system named.
    lambert = tmp_path / "l93"
    lambert.mkdir()
    pyogrio.raw.write(lambert / "qp.shp", shapely.to_wkb(geoms), fields, ["code_qp", "lib_qp"],
                      driver="ESRI Shapefile", geometry_type="Polygon", crs="EPSG:2154")
    with zipfile.ZipFile(tmp_path / "l93.zip", "w") as z:
        for f in lambert.iterdir():
            z.write(f, f.name)
    before = snapshot(default_db)
    checked, result = load(tmp_path / "l93.zip", db=default_db)
    assert result is None and "WGS 84" in checked.report.render()
    assert "2154" in checked.report.render()
    assert_same(before, snapshot(default_db))


def _bowtie(doc):
    doc["features"][1]["geometry"] = {"type": "Polygon", "coordinates": [[
        [0.98, 47.40], [0.99, 47.41], [0.99, 47.40], [0.98, 47.41], [0.98, 47.40]]]}
    return doc


def _unclosed(doc):
    doc["features"][0]["geometry"]["coordinates"][0].pop()
    return doc


def _projected(doc):
    doc["features"][1]["geometry"] = {"type": "Polygon", "coordinates": [[
        [525000, 6700000], [526000, 6700000], [526000, 6701000], [525000, 6700000]]]}
    return doc


def _point(doc):
    doc["features"][0]["geometry"] = {"type": "Point", "coordinates": [0.98, 47.41]}
    return doc


def _no_code(doc):
    for f in doc["features"]:
        f["properties"] = {"nom": "x", "insee_dep": "37"}
    return doc


def _unknown(doc):
    doc["features"][1]["properties"]["code_qp"] = "QN03799Z"
    return doc


def _duplicate(doc):
    doc["features"][1]["properties"]["code_qp"] = AMBOISE[0]
    return doc


BAD = {
    "not json": ("code_qp;lib_qp\nAMB-QPV-VE;x\n", ["n'est pas un fichier GeoJSON lisible"]),
    "not a collection": ('{"type": "Polygon", "coordinates": []}',
                         ["FeatureCollection", "« Polygon »"]),
    "binary": (None, ["n'est pas un fichier GeoJSON", "image"]),
    "no code property": (_no_code, ["aucune propriété de code", "code_qp", "« nom »",
                                    "« insee_dep »"]),
    "unknown code": (_unknown, ["Entité n° 2", "QN03799Z", "absent du référentiel"]),
    "duplicate code": (_duplicate, ["plusieurs entités (n° 1, 2)"]),
    "self-intersection": (_bowtie, ["Entité n° 2", "polygone invalide",
                                    "se recoupe lui-même"]),
    "unclosed ring": (_unclosed, ["Entité n° 1", "n'est pas fermé"]),
    "projected": (_projected, ["Entité n° 2", "WGS 84", "525000"]),
    "point": (_point, ["Entité n° 1", "« Point »", "Polygon"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_contours_are_refused_located_and_nothing_is_written(default_db, tmp_path, case):
    make, expected = BAD[case]
    before = snapshot(default_db)
    if make is None:
        path = tmp_path / "contours.geojson"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    elif isinstance(make, str):
        path = write(tmp_path, make)
    else:
        path = write(tmp_path, make(anct_2024()))
    checked, result = load(path, db=default_db)
    text = checked.report.render()
    assert result is None and not checked.ok, text
    for part in expected:
        assert part in text, (part, text)
    assert "contours.geojson" in text or "Entité n°" in text
    assert_same(before, snapshot(default_db))


def test_a_database_from_before_the_contours_gets_the_table(default_db, tmp_path):
    store = upgraded_from(default_db, 3, "DROP VIEW territory_geometry",
                          "DROP TABLE territory_geometry_v")
    with store.session() as s:
        assert s.scalar("SELECT count(*) FROM territory_geometry") == 0
    checked, result = load(write(tmp_path, anct_2024()), db=default_db)
    assert checked.ok and result.counts["territory_geometry"]["inserted"] == 2
