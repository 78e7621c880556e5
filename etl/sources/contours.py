"""The ANCT's contours of the priority quartiers: a layer of features (GeoJSON, or shapefile /
GeoPackage through pyogrio) whose properties name each quartier.

2024 contours carry `code_qp`, `lib_qp`, `insee_dep`, `lib_com`, `siren_epci`; the 2015 ones
`CODE_QP`, `NOM_QP`. Only the code, the label and the geometry are read (other properties are
ignored); a `synthetique` property set to true marks generated shapes (the benchmark's and the
tests', etl/synthetic_contours.py). Geometries are checked and simplified by validation
(etl/check_contours.py), never here.
"""

from __future__ import annotations

import pandas as pd

from etl.readers import FEATURES_SHEET, RawFile, Workbook
from etl.sources.base import Layout, LayoutError, Match, Options
from suivi.core.vocab import fold

GEO_KINDS = ("geojson", "ogr")
CODE_PROPERTIES = ("code qp",)  # folded: code_qp (2024) and CODE_QP (2015)
LABEL_PROPERTIES = ("lib qp", "nom qp")
SYNTHETIC_PROPERTY = "synthetique"
TRUE_TEXTS = ("1", "true", "vrai", "oui", "yes")


class AnctContours(Layout):
    key = "anct_contours"
    title = "contours des quartiers prioritaires (ANCT)"
    hint = ("une couche GeoJSON (ou shapefile zippé, GeoPackage) dont chaque entité a la "
            "propriété code_qp (contours 2024) ou CODE_QP (contours 2015).")
    source_label = "ANCT, contours des quartiers prioritaires"

    def detect(self, raw: RawFile) -> Match | None:
        if raw.kind not in GEO_KINDS:
            return None
        return Match(100, {FEATURES_SHEET: 0})

    def build(self, raw: RawFile, match: Match, options: Options) -> Workbook:
        layer = raw.sheets[FEATURES_SHEET]
        props = {fold(c): c for c in layer.columns if not c.startswith("_")}
        code_prop = next((props[p] for p in CODE_PROPERTIES if p in props), None)
        if code_prop is None:
            found = ", ".join(f"« {c} »" for c in props.values()) or "aucune"
            raise LayoutError(
                f"Fichier « {raw.name} » : aucune propriété de code de quartier. Chaque entité "
                "doit porter la propriété « code_qp » (contours 2024 de l'ANCT) ou « CODE_QP » "
                f"(contours 2015). Propriétés trouvées : {found}.", column="code_qp")
        label_prop = next((props[p] for p in LABEL_PROPERTIES if p in props), None)
        generation = "2015" if code_prop == "CODE_QP" or label_prop == "NOM_QP" else "2024"
        synthetic = layer.get(props.get(SYNTHETIC_PROPERTY), pd.Series(None, index=layer.index, dtype="object"))
        synthetic = synthetic.astype("object").fillna("").astype(str).str.strip().str.lower().isin(TRUE_TEXTS)
        label = f"{self.source_label} {generation} ({raw.name})"
        source = pd.Series(label, index=layer.index, dtype="object")
        source[synthetic.to_numpy()] = (f"Contours synthétiques générés, pas les périmètres "
                                        f"réels ({raw.name})")
        contours = pd.DataFrame({
            "code": layer[code_prop].astype("string").str.strip().str.upper(),
            "libelle": layer[label_prop] if label_prop else None,
            "_geometry": layer["_geometry"], "_feature": layer["_feature"],
            "synthetic": synthetic.to_numpy(), "source": source,
            "_src_code": code_prop,
        })
        wb = Workbook(name=raw.name, sha256=raw.sha256, notes=list(raw.notes), layout=self.key)
        wb.sheets["contours"] = contours
        wb.meta = {"title": f"{self.title} {generation}", "sheets": [],
                   "crs": raw.meta.get("crs", ""), "generation": generation}
        return wb
