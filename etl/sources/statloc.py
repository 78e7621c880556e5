"""Insee « statistiques locales » exports: two title lines, then `Code;Libellé;<indicator
label> <year>;…`, one row per territory (communes, EPCI, départements… side by side), values
or `N/A - secret statistique`, `N/A - résultat non disponible`, `N/A - division par 0`."""

from __future__ import annotations

from etl import safety
from etl.mapping import split_year
from etl.readers import RawFile, Workbook
from etl.sources.base import (
    Layout,
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

# Columns of the project's own `territoires` sheet: a sheet with them is not an export.
_OWN = {"type", "references", "geographie", "population", "indicateur"}


def _header(cells: list[str]) -> bool:
    filled = [c for c in cells if c]
    return len(filled) >= 3 and filled[0] == "code" and filled[1] in ("libelle", "nom") \
        and not _OWN & set(filled)


def _kind(titles: list[str]) -> str:
    """A title line such as « Zonage : régions » says what two-digit codes are."""
    text = fold(" ".join(titles))
    if "region" in text and "depart" not in text:
        return "region"
    return "auto"


class StatistiquesLocales(Layout):
    key = "statloc"
    title = "export « statistiques locales » de l'Insee"
    hint = "deux lignes de titre puis « Code ; Libellé ; <indicateur> <année> ; … »."
    source_label = "Insee, statistiques locales"
    scope_rule = "error"

    def detect(self, raw: RawFile) -> Match | None:
        if raw.headed:
            return None
        headers = {}
        for sheet in raw.sheets:
            row = find_header(raw, sheet, _header)
            if row is not None:
                headers[sheet] = row
        if not headers:
            return None
        # Title lines above, or a year in the indicator columns: an export, not a plain list.
        sheet, row = next(iter(headers.items()))
        years = [split_year(h)[1] for h in raw.head(sheet, row + 1)[row][2:]]
        return Match(85 if row > 0 or any(years) else 40, headers)

    def build(self, raw: RawFile, match: Match, options: Options) -> Workbook:
        wb = Workbook(name=raw.name, sha256=raw.sha256, notes=list(raw.notes), layout=self.key)
        if raw.kind == "xlsx":
            wb.notes += safety.refuse_sheet_problems(
                raw.xlsx, raw.name, {s: r + 1 for s, r in match.headers.items()})
        frames, aggregates, titles = [], [], []
        for sheet, row in match.headers.items():
            titles += titles_above(raw, sheet, row)
        year, year_from = default_year(raw, titles, options)
        kind = _kind(titles)
        for sheet, row in match.headers.items():
            header, body, first = data_body(raw, sheet, row)
            var_idx = list(range(2, len(header)))
            agg = aggregate_rows(body[0], body[1]).to_numpy()
            label = sheet_label(raw, sheet)
            aggregates += [(label, int(r)) for r in first + agg.nonzero()[0]]
            years = [split_year(header[i])[1] or year for i in var_idx]
            source = f"{self.source_label} – {raw.name}"
            frames.append(melt_wide(body[~agg], header, 0, var_idx, first + (~agg).nonzero()[0],
                                    row + 1, label, kind, years, source))
        wb.sheets["valeurs"] = finish_long(frames)
        wb.ignored = [s for s in raw.sheets if s not in match.headers]
        wb.meta = {"public": True, "title": self.title,
                   "sheets": [s for s in match.headers if raw.kind == "xlsx"],
                   "scope_rule": self.scope_rule, "year": year, "year_from": year_from,
                   "aggregates": aggregates}
        return wb
