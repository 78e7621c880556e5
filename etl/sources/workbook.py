"""The project's own format: a contract workbook (docs/format-classeur.md), or one of its
sheets as a CSV or Parquet file (`valeurs.csv`, `territoires.parquet`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from etl import safety
from etl.readers import (
    IGNORED_SHEETS,
    SHEETS,
    RawFile,
    Workbook,
    frame_from_grid,
    frame_from_rows,
    header_key,
    tidy_frame,
)
from etl.sources.base import Layout, Match, Options, folded_row

# Every column a sheet of the format may have (checks.SHEET_COLUMNS is the authority; these
# are enough to recognise a CSV whose name is not a sheet's).
_KNOWN = {"indicateur", "territoire", "annee", "nature", "valeur", "ventilation", "modalite",
          "statut", "code", "libelle", "type", "unite", "polarite", "references", "parent",
          "niveau", "categorie", "periode debut", "periode fin", "variables source"}


class ContractWorkbook(Layout):
    key = "classeur"
    title = "classeur de contrat (format Suivi QPV)"
    hint = ("onglets « contrat », « territoires », « arborescence », « indicateurs », "
            "« valeurs » (voir docs/format-classeur.md).")
    source_label = ""

    def detect(self, raw: RawFile) -> Match | None:
        names = {header_key(s) for s in raw.sheets}
        if raw.kind == "xlsx":
            names |= {header_key(s) for s in (raw.xlsx.hidden if raw.xlsx else [])}
            return Match(100) if names & set(SHEETS) else None
        stem = header_key(Path(raw.name).stem)
        if stem in SHEETS:
            return Match(100)
        sheet = next(iter(raw.sheets))
        first = raw.head(sheet, 1)
        header = set(folded_row(first[0])) if first else set()
        return Match(60) if len(header & _KNOWN) >= 2 else None

    def build(self, raw: RawFile, match: Match, options: Options) -> Workbook:
        wb = Workbook(name=raw.name, sha256=raw.sha256, notes=list(raw.notes), layout=self.key)
        if raw.kind == "xlsx":
            data = {s: 1 for s in raw.sheets if header_key(s) in SHEETS}
            data |= {s: 1 for s in raw.xlsx.hidden if header_key(s) in SHEETS}
            wb.notes += safety.refuse_sheet_problems(raw.xlsx, raw.name, data)
            for sheet_name, grid in raw.sheets.items():
                key = header_key(sheet_name)
                if key in SHEETS:
                    wb.sheets[key] = frame_from_grid(grid, categorise=key == "valeurs")
                elif key not in IGNORED_SHEETS:
                    wb.ignored.append(sheet_name)
            return wb
        sheet = next(iter(raw.sheets))
        key = header_key(Path(raw.name).stem)
        key = key if key in SHEETS else "valeurs"
        grid = raw.sheets[sheet]
        if raw.headed:
            df = grid.rename(columns=header_key)
            df["_row"] = np.arange(2, 2 + len(df))
        elif grid.empty:
            df = frame_from_rows([])
        else:
            header = grid.iloc[0].tolist()
            df = tidy_frame(grid.iloc[1:].reset_index(drop=True), header)
        wb.sheets[key] = df
        return wb
