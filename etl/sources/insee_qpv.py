"""Insee's QPV bases: one file per year, xlsx or csv, title rows above the header, one or more
data sheets (quartiers, communes, EPCI) with a code column (`CODGEO`, `code_qp`, `QP`),
`LIBGEO`, then one column per variable whose name usually carries the year (`DISP_MED_A21`)."""

from __future__ import annotations

from etl import geo, safety
from etl.mapping import split_year
from etl.readers import RawFile, Workbook
from etl.sources.base import (
    Layout,
    LayoutError,
    Match,
    Options,
    aggregate_rows,
    data_body,
    default_year,
    find_header,
    finish_long,
    melt_wide,
    sheet_label,
    titles_above,
)
from suivi.core.vocab import fold

CODE_COLUMNS = ("codgeo", "code qp", "codeqp", "qp", "code geo", "cod qp")
LABEL_COLUMNS = ("libgeo", "lib qp", "libelle", "nom qp", "lib geo", "libqp")
# Columns of the ANCT's list of QPV: such a file is a list, not a base of figures.
ANCT_COLUMNS = ("insee com", "siren epci", "commune qp")


def _header(cells: list[str]) -> bool:
    return any(c in CODE_COLUMNS for c in cells) and not any(c in ANCT_COLUMNS for c in cells) \
        and not {"an", "annee"} & set(cells)


class InseeQpvBase(Layout):
    key = "insee_qpv"
    title = "base QPV de l'Insee"
    hint = ("une ligne d'en-tête avec une colonne de codes CODGEO (ou code_qp, QP), LIBGEO, "
            "puis une colonne par variable (DISP_MED_A21, POP_MUN…).")
    source_label = "Insee, base QPV"
    scope_rule = "skip"  # a national base: rows of quartiers outside the contract are skipped

    def detect(self, raw: RawFile) -> Match | None:
        if raw.headed:
            return None
        headers = {}
        for sheet in raw.sheets:
            row = find_header(raw, sheet, _header)
            if row is not None:
                headers[sheet] = row
        if headers:
            return Match(80, headers)
        names = " ".join(fold(s) for s in raw.sheets) + " " + fold(raw.name)
        if "qpv" in names.split() or "quartier" in names:
            return Match(10)  # looks like one, header missing: build() says so
        return None

    def build(self, raw: RawFile, match: Match, options: Options) -> Workbook:
        if not match.headers:
            raise self.not_found(raw)
        wb = Workbook(name=raw.name, sha256=raw.sha256, notes=list(raw.notes), layout=self.key)
        if raw.kind == "xlsx":
            wb.notes += safety.refuse_sheet_problems(
                raw.xlsx, raw.name, {s: r + 1 for s, r in match.headers.items()})
        frames, aggregates, titles = [], [], []
        for sheet, row in match.headers.items():
            titles += titles_above(raw, sheet, row)
        year, year_from = default_year(raw, titles, options)
        for sheet, row in match.headers.items():
            header, body, first = data_body(raw, sheet, row)
            folded = [fold(h) for h in header]
            code_idx = next(i for i, c in enumerate(folded) if c in CODE_COLUMNS)
            label_idx = next((i for i, c in enumerate(folded) if c in LABEL_COLUMNS), None)
            kind = geo.kind_of_sheet(sheet) if raw.kind == "xlsx" else "auto"
            if folded[code_idx] != "codgeo" and kind == "auto":
                kind = "qpv"
            var_idx = [i for i in range(len(header)) if i not in (code_idx, label_idx)]
            agg = aggregate_rows(body[code_idx], body[label_idx] if label_idx is not None
                                 else None).to_numpy()
            rows = first + agg.nonzero()[0]
            label = sheet_label(raw, sheet)
            aggregates += [(label, int(r)) for r in rows]
            years = [split_year(header[i])[1] or year for i in var_idx]
            source = (f"{self.source_label} – {raw.name}"
                      + (f", onglet « {sheet} »" if label else ""))
            frames.append(melt_wide(body[~agg], header, code_idx, var_idx,
                                    first + (~agg).nonzero()[0], row + 1, label, kind, years,
                                    source))
        wb.sheets["valeurs"] = finish_long(frames)
        sheets = [s for s in match.headers if raw.kind == "xlsx"]
        wb.ignored = [s for s in raw.sheets if s not in match.headers]
        wb.meta = {"public": True, "title": self.title, "sheets": sheets,
                   "scope_rule": self.scope_rule, "year": year, "year_from": year_from,
                   "aggregates": aggregates}
        if not len(wb.sheets["valeurs"]) and not aggregates:
            raise LayoutError(f"« {raw.name} » : aucune ligne de données sous l'en-tête.")
        return wb
