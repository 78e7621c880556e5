"""Observatoire des territoires extracts: a few title lines, then `codgeo;libgeo;an;sexe;
<indicator codes…>`, long by year (one row per territory, year and sex)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl import safety
from etl.readers import RawFile, Workbook, cell_text
from etl.sources.base import (
    Layout,
    LayoutError,
    Match,
    Options,
    aggregate_rows,
    data_body,
    find_header,
    finish_long,
    melt_wide,
    sheet_label,
    titles_above,
)
from suivi.core.vocab import fold

ID_COLUMNS = ("codgeo", "libgeo", "an", "sexe")
# The `sexe` column: F and H are the breakdown `sexe`; T (or empty) is the whole population.
SEXES = {"f": "F", "femmes": "F", "femme": "F", "2": "F", "h": "H", "hommes": "H", "homme": "H",
         "1": "H", "t": "", "ensemble": "", "total": "", "": ""}


def _header(cells: list[str]) -> bool:
    return {"codgeo", "an"} <= set(cells)


def _kind(titles: list[str]) -> str:
    """« Maille : EPCI » in the title lines says what the codes are."""
    text = fold(" ".join(titles))
    for word, kind in (("epci", "epci"), ("commun", "commune"), ("depart", "departement"),
                       ("region", "region"), ("qpv", "qpv"), ("quartier", "qpv")):
        if f"maille {word}" in text or f"echelle {word}" in text:
            return kind
    return "auto"


class ObservatoireTerritoires(Layout):
    key = "odt"
    title = "extraction de l'Observatoire des territoires"
    hint = "quelques lignes de titre puis « codgeo ; libgeo ; an ; sexe ; <codes d'indicateurs> »."
    source_label = "Observatoire des territoires"
    scope_rule = "error"

    def detect(self, raw: RawFile) -> Match | None:
        if raw.headed:
            return None
        headers = {}
        for sheet in raw.sheets:
            row = find_header(raw, sheet, _header)
            if row is not None:
                headers[sheet] = row
        return Match(95, headers) if headers else None

    def build(self, raw: RawFile, match: Match, options: Options) -> Workbook:
        wb = Workbook(name=raw.name, sha256=raw.sha256, notes=list(raw.notes), layout=self.key)
        if raw.kind == "xlsx":
            wb.notes += safety.refuse_sheet_problems(
                raw.xlsx, raw.name, {s: r + 1 for s, r in match.headers.items()})
        frames, aggregates = [], []
        for sheet, row in match.headers.items():
            header, body, first = data_body(raw, sheet, row)
            folded = [fold(h) for h in header]
            idx = {c: folded.index(c) for c in ID_COLUMNS if c in folded}
            var_idx = [i for i in range(len(header)) if i not in idx.values()]
            label = sheet_label(raw, sheet)
            agg = aggregate_rows(body[idx["codgeo"]], body[idx["libgeo"]] if "libgeo" in idx
                                 else None).to_numpy()
            aggregates += [(label, int(r)) for r in first + agg.nonzero()[0]]
            keep = body[~agg]
            rows = first + (~agg).nonzero()[0]
            long = melt_wide(keep, header, idx["codgeo"], var_idx, rows, row + 1, label,
                             _kind(titles_above(raw, sheet, row)), [None] * len(var_idx),
                             f"{self.source_label} – {raw.name}")
            text = keep[idx["an"]].map(cell_text)
            years = pd.to_numeric(text, errors="coerce")
            bad = (years.isna() | (years % 1 != 0)) & (text != "")
            if bad.any():
                pos = bad.to_numpy().nonzero()[0][0]
                raise LayoutError(f"Année illisible dans la colonne « {header[idx['an']]} » : "
                                  "écrivez l'année sur quatre chiffres, par exemple 2021.",
                                  sheet=label, row=int(rows[pos]), column=header[idx["an"]],
                                  value=text.iloc[pos])
            long["annee"] = pd.array(np.repeat(years.to_numpy(), len(var_idx)),
                                     dtype="Float64").astype("Int64")
            if "sexe" in idx:
                sex = keep[idx["sexe"]].map(lambda v: fold(cell_text(v)))
                modality = sex.map(SEXES)
                unknown = modality.isna()
                if unknown.any():
                    pos = unknown.to_numpy().nonzero()[0][0]
                    raise LayoutError(
                        "Valeur de « sexe » inconnue : écrivez F (femmes), H (hommes) ou T "
                        "(ensemble).", sheet=label, row=int(rows[pos]),
                        column=header[idx["sexe"]], value=cell_text(keep.iloc[pos][idx["sexe"]]))
                modality = np.repeat(modality.to_numpy(dtype=object), len(var_idx))
                long["modalite"] = modality
                long["ventilation"] = np.where(modality == "", "", "sexe")
            frames.append(long)
        wb.sheets["valeurs"] = finish_long(frames)
        wb.ignored = [s for s in raw.sheets if s not in match.headers]
        wb.meta = {"public": True, "title": self.title,
                   "sheets": [s for s in match.headers if raw.kind == "xlsx"],
                   "scope_rule": self.scope_rule, "year": None, "year_from": "colonne « an »",
                   "aggregates": aggregates}
        return wb
