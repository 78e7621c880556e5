"""What every layout shares: options, located layout errors, header search, years, tokens and
the long frame public files become.

A layout (one class per kind of file) recognises a file from its sheets and first rows, then
turns it into a `Workbook` of canonical sheets. Public files become a `valeurs` sheet in a
long form that still carries the source variable and the raw Insee/ANCT code; validation maps
the variable to an indicator and the code to the register, so that every layout goes through
the same checks and the same all-or-nothing load (etl/public.py, etl/validate.py).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from etl.readers import RawFile, Workbook, cell_text
from etl.safety import ReadError
from suivi.core.vocab import fold

HEADER_SEARCH_ROWS = 10


@dataclass
class Options:
    """What the person loading a file may force: `--format`, `--annee`, `--contrat` and a
    column -> indicator mapping (`--correspondance`, or chosen on the Import page)."""

    layout: str | None = None
    year: int | None = None
    contract: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)


class LayoutError(ReadError):
    """A file whose layout is known but cannot be used as it is; located for the report."""

    def __init__(self, message: str, sheet: str = "", row: int | None = None,
                 column: str = "", value: str = ""):
        super().__init__(message)
        self.sheet, self.row, self.column, self.value = sheet, row, column, value


@dataclass
class Match:
    """A layout's claim on a file: how sure it is, and the header row (0-based) of each data
    sheet it found."""

    score: int
    headers: dict[str, int] = field(default_factory=dict)
    detail: dict = field(default_factory=dict)


class Layout:
    key = ""
    title = ""          # French, for « Fichier reconnu : … »
    hint = ""           # French, how to recognise it (listed when nothing matches)
    source_label = ""   # French, the `source` of every value read from it

    def detect(self, raw: RawFile) -> Match | None:
        raise NotImplementedError

    def build(self, raw: RawFile, match: Match, options: Options) -> Workbook:
        raise NotImplementedError

    def not_found(self, raw: RawFile) -> LayoutError:
        """The message when the layout is forced (`--format`) but its header is absent."""
        sheet = next(iter(raw.sheets), "")
        return LayoutError(
            f"Ligne d'en-tête introuvable dans les {HEADER_SEARCH_ROWS} premières lignes de "
            f"« {raw.name} »{_sheet_words(sheet)} pour le format « {self.title} » : {self.hint} "
            f"Premières lignes trouvées : {quote_rows(raw, sheet)}", sheet=sheet)


def _sheet_words(sheet: str) -> str:
    return f" (onglet « {sheet} »)" if sheet else ""


def quote_rows(raw: RawFile, sheet: str, n: int = 3) -> str:
    rows = [" ; ".join(c for c in row if c) for row in raw.head(sheet, HEADER_SEARCH_ROWS)]
    rows = [r for r in rows if r][:n]
    return " / ".join(f"« {r[:120]} »" for r in rows) or "aucune (onglet vide)"


def folded_row(row: list[str]) -> list[str]:
    return [fold(c) for c in row]


def find_header(raw: RawFile, sheet: str, accept) -> int | None:
    """First of the first rows whose folded cells satisfy `accept(cells)`."""
    for i, row in enumerate(raw.head(sheet, HEADER_SEARCH_ROWS)):
        if accept(folded_row(row)):
            return i
    return None


def sheet_label(raw: RawFile, sheet: str) -> str:
    """The sheet name messages use: none for a CSV (the file is the sheet)."""
    return sheet if raw.kind == "xlsx" else ""


# --- Years --------------------------------------------------------------------------------

_YEAR = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})(?![0-9])")


def one_year(text: str) -> int | None:
    """The year a text names, when it names exactly one (`DEMO_2020_V1.xlsx` -> 2020)."""
    years = set(_YEAR.findall(text or ""))
    return int(years.pop()) if len(years) == 1 else None


def default_year(raw: RawFile, titles: list[str], options: Options) -> tuple[int | None, str]:
    """The year of variables whose name carries none: `--annee` when given, else the file
    name, else the title lines above the header. Returns the year and where it came from."""
    if options.year is not None:
        return int(options.year), "indiquée au chargement"
    year = one_year(Path(raw.name).stem)
    if year is not None:
        return year, f"nom du fichier « {raw.name} »"
    year = one_year(" ".join(titles))
    if year is not None:
        return year, "ligne de titre du fichier"
    return None, ""


# --- Tokens -------------------------------------------------------------------------------

def token_key(text) -> str:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return " ".join(text.lower().split())


# What public files write instead of a figure: the state stored (no value) and its meaning,
# kept in the value's comment.
TOKENS = {
    "s": ("secret_statistique", "secret statistique"),
    "secret": ("secret_statistique", "secret statistique"),
    "faible": ("secret_statistique", "effectif trop faible pour être diffusé"),
    "nd": ("non_disponible", "non disponible"),
    "n.d.": ("non_disponible", "non disponible"),
    "ns": ("non_disponible", "non significatif"),
    "so": ("non_disponible", "sans objet"),
    "-": ("non_disponible", "pas de donnée"),
    "n/a - secret statistique": ("secret_statistique", "secret statistique"),
    "n/a - resultat non disponible": ("non_disponible", "résultat non disponible"),
    "n/a - division par 0": ("non_disponible", "division par 0"),
}
TOKENS_TEXT = "s, nd, ns, so, -, faible, N/A - secret statistique, N/A - résultat non " \
              "disponible, N/A - division par 0"


def read_tokens(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """(value without tokens, status, comment, blank): only the cells that are not numbers
    are looked at as text (tokens, blanks, typos), once per distinct text, never per cell."""
    numeric = pd.to_numeric(values, errors="coerce").notna().to_numpy()
    textual = ~numeric & values.notna().to_numpy()
    text = values[textual].astype("string").str.strip()
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    found = [TOKENS.get(token_key(u)) for u in uniques]
    status = np.full(len(values), None, dtype=object)
    meaning = np.full(len(values), None, dtype=object)
    status[textual] = np.array([f[0] if f else None for f in found] + [None], dtype=object)[codes]
    meaning[textual] = np.array([f"Mention « {u} » de la source : {f[1]}" if f else None
                                 for u, f in zip(uniques, found)] + [None], dtype=object)[codes]
    blank = ~numeric
    blank[textual] = np.append(np.asarray(uniques, dtype=object) == "", True)[codes]
    status = pd.Series(status, index=values.index, dtype="object")
    value = values.where(status.isna())
    return value, status, pd.Series(meaning, index=values.index, dtype="object"), blank


# --- The long frame of public files ---------------------------------------------------------

LONG_COLUMNS = ["variable", "territoire_source", "code_kind", "annee", "valeur", "statut",
                "commentaire", "ventilation", "modalite", "source", "_row", "_sheet", "_col",
                "_src_territoire", "_header_row"]


def melt_wide(body: pd.DataFrame, header: list[str], code_idx: int, var_idx: list[int],
              rows: np.ndarray, header_row: int, sheet: str, kind: str,
              years: list[int | None], source: str) -> pd.DataFrame:
    """One row per (territory row, variable column) of a wide table, numpy-wise.

    `body` holds the data rows (columns 0..n-1), `rows` their spreadsheet rows and
    `header_row` the header's. Empty cells stay (validation skips them as missing, never 0).
    """
    n_rows, n_vars = len(body), len(var_idx)
    values = body[var_idx].to_numpy(dtype=object).ravel() if n_vars else np.array([], object)
    cols = [header[i] for i in var_idx]
    codes = body[code_idx].map(cell_text).to_numpy(dtype=object)
    return pd.DataFrame({
        "variable": pd.Categorical(np.tile(np.array(cols, dtype=object), n_rows)),
        "territoire_source": np.repeat(codes, n_vars),
        "code_kind": kind,
        "annee": pd.array(np.tile(np.array(years, dtype=object), n_rows), dtype="Int64"),
        "valeur": values,
        "_row": np.repeat(rows, n_vars),
        "_sheet": sheet,
        "_col": pd.Categorical(np.tile(np.array(cols, dtype=object), n_rows)),
        "_src_territoire": header[code_idx],
        "_header_row": header_row,
        "source": source,
    })


def finish_long(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate, read the tokens, keep only filled cells' rows; columns of LONG_COLUMNS."""
    long = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=LONG_COLUMNS)
    value, status, comment, blank = read_tokens(long["valeur"])
    long["valeur"] = value
    long["statut"] = status
    long["commentaire"] = comment
    for col in ("ventilation", "modalite"):
        if col not in long.columns:
            long[col] = ""
    long = long[~blank | status.notna().to_numpy()].reset_index(drop=True)
    for col in ("territoire_source", "code_kind", "_sheet", "_src_territoire", "source",
                "variable", "_col", "statut", "commentaire", "ventilation", "modalite"):
        long[col] = long[col].astype("category")
    return long[LONG_COLUMNS]


def aggregate_rows(codes: pd.Series, labels: pd.Series | None) -> pd.Series:
    """Rows that add quartiers up (« Ensemble des quartiers prioritaires », code `00`): never a
    territory's figure, skipped and reported."""
    text = codes.map(cell_text)
    agg = text.isin(["00", "0", "ENSEMBLE", "TOTAL"])
    if labels is not None:
        lab = labels.map(lambda v: fold(cell_text(v)))
        agg |= lab.str.startswith(("ensemble", "total")).fillna(False)
    return agg


def titles_above(raw: RawFile, sheet: str, header_row: int) -> list[str]:
    return [" ".join(c for c in row if c) for row in raw.head(sheet, header_row)]


def data_body(raw: RawFile, sheet: str, header_row: int) -> tuple[list[str], pd.DataFrame, int]:
    """Header texts, the data rows below it, and the spreadsheet row of the first data row."""
    grid = raw.sheets[sheet]
    header = [cell_text(v) for v in grid.iloc[header_row].tolist()]
    header = [h if h else f"colonne {i + 1}" for i, h in enumerate(header)]
    return header, grid.iloc[header_row + 1:], header_row + 2
