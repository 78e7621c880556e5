"""The layouts files come in, one class each, and the one entry point that reads any file.

`read_workbook(source, name, options)` reads the bytes (etl/readers.py: xlsx, csv, parquet),
asks every layout how sure it is that the file is one of its own (or takes the one forced
with `--format`), and lets the winner build the canonical `Workbook` validation checks.
"""

from __future__ import annotations

from pathlib import Path

from etl.readers import RawFile, Workbook, read_raw
from etl.safety import ReadError
from etl.sources.anct import AnctCorrespondence, AnctQpv2015List, AnctQpv2024List
from etl.sources.base import LayoutError, Options, quote_rows
from etl.sources.contours import GEO_KINDS, AnctContours
from etl.sources.insee_qpv import InseeQpvBase
from etl.sources.odt import ObservatoireTerritoires
from etl.sources.statloc import StatistiquesLocales
from etl.sources.workbook import ContractWorkbook

__all__ = ["LAYOUTS", "LayoutError", "Options", "ReadError", "detect", "read_workbook"]

LAYOUTS = [ContractWorkbook(), AnctQpv2024List(), AnctQpv2015List(), AnctCorrespondence(),
           ObservatoireTerritoires(), StatistiquesLocales(), InseeQpvBase(), AnctContours()]
CONTOUR_LAYOUTS = [layout for layout in LAYOUTS if layout.key == AnctContours.key]
BY_KEY = {layout.key: layout for layout in LAYOUTS}


def known_layouts() -> str:
    return " ; ".join(f"« {layout.key} » : {layout.title} ({layout.hint.rstrip('.')})"
                      for layout in LAYOUTS)


def detect(raw: RawFile, forced: str | None = None):
    """The layout and its match: the forced one, else the most confident (first on ties)."""
    if forced:
        layout = BY_KEY.get(forced)
        if layout is None:
            raise ReadError(f"Format « {forced} » inconnu. Formats possibles : "
                            + ", ".join(BY_KEY) + ".")
        match = layout.detect(raw)
        if match is None or (not match.headers and layout.key != "classeur"):
            raise layout.not_found(raw)
        return layout, match
    # A layer of features (GeoJSON, shapefile, GeoPackage) is only ever contours.
    candidates = CONTOUR_LAYOUTS if raw.kind in GEO_KINDS else LAYOUTS
    found = [(layout, layout.detect(raw)) for layout in candidates]
    found = [(layout, m) for layout, m in found if m is not None]
    if not found:
        sheet = next(iter(raw.sheets), "")
        where = f" (onglet « {sheet} »)" if raw.kind == "xlsx" and sheet else ""
        raise LayoutError(
            f"Fichier « {raw.name} » non reconnu : ce n'est ni un classeur de contrat ni un des "
            f"fichiers publics connus. Formats reconnus : {known_layouts()}. Premières lignes "
            f"trouvées{where} : {quote_rows(raw, sheet) if sheet else 'aucune'}. Si le fichier "
            "est bien l'un d'eux, indiquez-le avec --format.", sheet=sheet)
    return max(found, key=lambda lm: lm[1].score)


def read_workbook(source: str | Path | bytes, name: str | None = None,
                  options: Options | None = None) -> Workbook:
    """Read a file (path or bytes) in whatever layout it has; raise ReadError (French)."""
    options = options or Options()
    raw = read_raw(source, name)
    layout, match = detect(raw, options.layout)
    wb = layout.build(raw, match, options)
    if layout.key != "classeur":
        sheets = wb.meta.get("sheets") or []
        wb.announcement = f"Fichier « {raw.name} » reconnu : {layout.title}" + (
            ", onglet(s) " + ", ".join(f"« {s} »" for s in sheets) if sheets else "")
    return wb
