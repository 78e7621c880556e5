"""Validation of a contours layer (etl/sources/contours.py): codes, then geometries, then the
simplified shapes staged as `territory_geometry` rows.

Every problem names the feature (its number in the file), the property and the value. Checks
and simplification run on whole arrays of geometries (shapely 2 is vectorised); the only loop
runs over the features already found broken, to word GEOS's reason.

Simplification: Douglas-Peucker with topology preserved (`shapely.simplify`) at about 10 m,
then coordinates snapped to a 1e-5 degree grid (about 1 m) with a valid result
(`shapely.set_precision`): an ANCT contour of several hundred points becomes a few dozen, which
a browser draws at once for 1 400 quartiers.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from etl.checks import Known, Staged
from etl.report import Report

SIMPLIFY_TOLERANCE = 0.0001  # degrees: about 10 m, far below a quartier's size
GRID = 0.00001                # degrees: about 1 m
GEOGRAPHIC_CRS = ("", "EPSG:4326", "OGC:CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84",
                  "URN:OGC:DEF:CRS:EPSG::4326", "WGS 84")
POLYGON_TYPES = ("Polygon", "MultiPolygon")

# GEOS's reasons (shapely.is_valid_reason), in French.
REASONS = {
    "self-intersection": "le contour se recoupe lui-même",
    "ring self-intersection": "un anneau du contour se recoupe lui-même",
    "too few points": "un anneau a moins de 4 points",
    "hole lies outside shell": "un trou est en dehors du contour extérieur",
    "nested shells": "deux contours extérieurs sont emboîtés",
    "interior is disconnected": "l'intérieur du polygone est coupé en morceaux",
    "nested holes": "deux trous sont emboîtés",
    "invalid coordinate": "une coordonnée n'est pas un nombre",
    "ring is not closed": "un anneau n'est pas fermé",
    "duplicate rings": "un anneau est répété",
}


def _reason(text: str) -> str:
    """« Self-intersection[2.35 48.85] » -> « le contour se recoupe lui-même (près de 2.35
    48.85) »."""
    m = re.match(r"\s*([^\[]*)(?:\[(.*)\])?", text or "")
    key = (m.group(1) if m else text).strip().lower()
    where = f" (près du point {m.group(2)})" if m and m.group(2) else ""
    return REASONS.get(key, text) + where


def _parse_error(text: str) -> str:
    """Why GEOS could not read a geometry (GeoJSON reader exceptions), in French."""
    import shapely

    try:
        shapely.from_geojson(text)
    except Exception as exc:  # GEOSException; the message is GEOS's
        msg = str(exc)
        low = msg.lower()
        if "closed" in low:
            return "un anneau n'est pas fermé (le dernier point doit répéter le premier)"
        if "point" in low and ("4" in low or "elements" in low):
            return "un anneau a moins de 4 points"
        return f"géométrie GeoJSON illisible ({msg})"
    return "géométrie GeoJSON illisible"


def contours_sheet(wb, report: Report, staged: Staged, known: Known) -> None:
    import shapely

    df = wb.sheets["contours"].reset_index(drop=True)
    prop = str(df["_src_code"].iloc[0]) if len(df) else "code_qp"
    named = df["code"].fillna("").astype(str)
    where = "Entité n° " + df["_feature"].astype(str) + named.map(
        lambda c: f" ({prop} « {c} »)" if c else "")
    blocked = pd.Series(False, index=df.index)

    def error(mask: pd.Series, column: str, values, message) -> None:
        mask = pd.Series(np.asarray(mask, dtype=bool), index=df.index)
        if not mask.any():
            return
        vals = values[mask] if isinstance(values, pd.Series) else values
        msgs = where[mask] + " : " + (message[mask] if isinstance(message, pd.Series)
                                      else message)
        report.error("", [pd.NA] * int(mask.sum()), column, vals, msgs)
        blocked[mask] = True

    crs = str(wb.meta.get("crs", "") or "").strip()
    if crs.upper() not in GEOGRAPHIC_CRS and "4326" not in crs and "CRS84" not in crs.upper():
        report.file_error(
            f"Fichier « {wb.name} » : système de coordonnées « {crs} ». Les contours doivent "
            "être en longitudes et latitudes (WGS 84, EPSG:4326), comme le GeoJSON publié par "
            "l'ANCT : exportez-les dans ce système (QGIS : Exporter > Enregistrer sous, SCR "
            "EPSG:4326).", value=crs)
        return
    if df.empty:
        report.file_error(f"Fichier « {wb.name} » : aucune entité (couche vide).")
        return

    code = df["code"]
    error(code.isna() | (code == ""), prop, code.fillna(""),
          f"propriété « {prop} » vide : chaque contour doit porter le code de son quartier.")
    resolved, _ = known.resolve(code.fillna(""))
    resolved = resolved.astype("string")
    present = code.notna() & (code != "")
    unknown = present & ~resolved.isin(known.territories)
    error(unknown, prop, code,
          "code absent du référentiel des territoires. Chargez d'abord la liste des QPV de "
          "l'ANCT (ou le classeur du contrat qui déclare ce quartier), puis les contours.")
    dup = present & resolved.duplicated(keep=False)
    if dup.any():
        firsts = df[dup].groupby(resolved[dup])["_feature"].agg(
            lambda s: ", ".join(map(str, s)))
        error(dup, prop, code, "code présent dans plusieurs entités (n° "
              + resolved.map(firsts).astype("string") + ") : un quartier a un seul contour "
              "(un MultiPolygon s'il a plusieurs parties).")

    text = df["_geometry"]
    missing = text.isna()
    error(missing, "geometry", pd.Series("", index=df.index),
          "entité sans géométrie.")
    geoms = np.full(len(df), None, dtype=object)
    readable = ~missing
    if readable.any():
        geoms[readable.to_numpy()] = shapely.from_geojson(
            text[readable].to_numpy(dtype=object), on_invalid="ignore")
    unreadable = readable & pd.Series(shapely.is_missing(geoms), index=df.index)
    if unreadable.any():
        reasons = pd.Series("", index=df.index, dtype="object")
        reasons[unreadable] = [_parse_error(t) for t in text[unreadable]]
        error(unreadable, "geometry", text.str.slice(0, 80), reasons)
    ok = ~shapely.is_missing(geoms)
    kinds = pd.Series(shapely.get_type_id(geoms), index=df.index)
    names = kinds.map(dict(enumerate(["Point", "LineString", "LinearRing", "Polygon",
                                      "MultiPoint", "MultiLineString", "MultiPolygon",
                                      "GeometryCollection"])))
    wrong = pd.Series(ok, index=df.index) & ~names.isin(POLYGON_TYPES)
    error(wrong, "geometry", names,
          "géométrie de type « " + names.astype("string") + " » : un contour est un Polygon "
          "ou un MultiPolygon.")
    good = ok & ~wrong.to_numpy()
    bounds = shapely.bounds(geoms)
    outside = good & ((np.abs(bounds[:, [0, 2]]) > 180).any(axis=1)
                      | (np.abs(bounds[:, [1, 3]]) > 90).any(axis=1))
    first_xy = pd.Series([f"{x:.0f} ; {y:.0f}" for x, y in bounds[outside][:, :2]],
                         index=df.index[outside], dtype="object")
    error(outside, "geometry", first_xy.reindex(df.index),
          "coordonnées hors des longitudes et latitudes : le fichier semble projeté (Lambert "
          "93 ?). Exportez les contours en WGS 84 (EPSG:4326), comme le GeoJSON de l'ANCT.")
    good &= ~outside
    valid = np.zeros(len(df), dtype=bool)
    valid[good] = shapely.is_valid(geoms[good])
    invalid = good & ~valid
    if invalid.any():
        reasons = pd.Series("", index=df.index, dtype="object")
        reasons[invalid] = [_reason(r) for r in shapely.is_valid_reason(geoms[invalid])]
        error(invalid, "geometry", names,
              "polygone invalide : " + reasons + ". Corrigez-le (QGIS : Vecteur > Outils de "
              "géométrie > Réparer les géométries) puis rechargez le fichier.")

    if blocked.any():
        return
    points_before = int(shapely.get_num_coordinates(geoms).sum())
    simple = shapely.set_precision(
        shapely.simplify(geoms, SIMPLIFY_TOLERANCE, preserve_topology=True), GRID)
    empty = shapely.is_empty(simple)
    simple[empty] = shapely.set_precision(geoms[empty], GRID)  # too small to simplify
    points_after = int(shapely.get_num_coordinates(simple).sum())
    box = shapely.bounds(simple)
    staged.tables["territory_geometry"] = pd.DataFrame({
        "territory_code": resolved.to_numpy(dtype=object),
        "geometry": shapely.to_geojson(simple),
        "lon_min": box[:, 0], "lat_min": box[:, 1],
        "lon_max": box[:, 2], "lat_max": box[:, 3],
        "synthetic": df["synthetic"].astype(bool).to_numpy(),
        "source": df["source"].to_numpy(dtype=object),
    })
    n_synth = int(df["synthetic"].sum())
    report.info.append(
        f"{len(df)} contour(s) ; simplifiés de {points_before:,} à {points_after:,} points "
        "pour un affichage rapide.".replace(",", "\u202f")
        + (f" Dont {n_synth} contour(s) synthétique(s) (formes générées, pas les périmètres "
           "réels)." if n_synth else ""))
