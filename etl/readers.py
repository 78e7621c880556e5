"""Input formats: one reader class per format, each returning the same `Workbook`.

A reader only turns bytes into tables of raw cells with their Excel row numbers; it does not
judge the content (that is etl/validate.py). Headers are folded (`Année ` -> `annee`) so that
staff spelling does not matter.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from etl.vocab import fold

SHEETS = ["contrat", "territoires", "arborescence", "indicateurs", "valeurs"]
IGNORED_SHEETS = {"lisezmoi", "readme", "listes", "aide"}


class ReadError(Exception):
    """The file cannot be read at all; the message is French and shown as is."""


def header_key(name) -> str:
    return fold(name).replace(" ", "_").replace("'", "_")


@dataclass
class Workbook:
    name: str
    sha256: str
    sheets: dict[str, pd.DataFrame] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def frame_from_rows(rows: list[list], first_row: int = 1) -> pd.DataFrame:
    """Header row + data rows -> DataFrame with folded headers and an Excel `_row` column."""
    if not rows:
        return pd.DataFrame({"_row": pd.Series([], dtype="int64")})
    header = [header_key(h) if h not in (None, "") else f"_col{i + 1}"
              for i, h in enumerate(rows[0])]
    body = rows[1:]
    df = pd.DataFrame(body, columns=header, dtype="object")
    df["_row"] = range(first_row + 1, first_row + 1 + len(df))
    filled = pd.Series(False, index=df.index)
    for col in header:
        values = df[col]
        filled |= values.notna() & values.astype("string").str.strip().ne("").fillna(False)
    return df[filled].reset_index(drop=True)


class XlsxReader:
    """Excel workbooks, read with calamine (fast, and it never runs macros)."""

    suffixes = (".xlsx", ".xlsm")

    def read(self, data: bytes, name: str) -> dict[str, pd.DataFrame | None]:
        from python_calamine import CalamineWorkbook

        try:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        except Exception as exc:  # calamine raises several error types for broken files
            raise ReadError(
                f"Le fichier « {name} » n'est pas un classeur Excel lisible ({type(exc).__name__}). "
                "Enregistrez-le au format .xlsx depuis votre tableur et réessayez."
            ) from exc
        out = {}
        for sheet_name in wb.sheet_names:
            rows = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
            out[sheet_name] = frame_from_rows(rows)
        return out


class CsvReader:
    """CSV in UTF-8 or Windows-1252, separated by ',' or ';'. Read as one `valeurs` sheet."""

    suffixes = (".csv", ".txt")

    def read(self, data: bytes, name: str) -> dict[str, pd.DataFrame | None]:
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - cp1252 decodes almost anything
            raise ReadError(f"Encodage du fichier « {name} » non reconnu : enregistrez-le en UTF-8.")
        first = text.split("\n", 1)[0]
        sep = ";" if first.count(";") > first.count(",") else ","
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                         header=None, skip_blank_lines=False)
        rows = df.astype(object).where(df != "", None).values.tolist()
        sheet = Path(name).stem
        return {sheet if header_key(sheet) in SHEETS else "valeurs": frame_from_rows(rows)}


class ParquetReader:
    """Parquet files (bulk national loads). Read as one `valeurs` sheet."""

    suffixes = (".parquet",)

    def read(self, data: bytes, name: str) -> dict[str, pd.DataFrame | None]:
        try:
            df = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:
            raise ReadError(f"Le fichier « {name} » n'est pas un fichier Parquet lisible.") from exc
        df = df.rename(columns=header_key).astype("object")
        df["_row"] = range(2, 2 + len(df))
        sheet = Path(name).stem
        return {sheet if header_key(sheet) in SHEETS else "valeurs": df}


READERS = [XlsxReader(), CsvReader(), ParquetReader()]


def read_workbook(source: str | Path | bytes, name: str | None = None) -> Workbook:
    """Read a file (path or bytes) into a Workbook; raise ReadError with a French message."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ReadError(f"Impossible de lire le fichier « {path} » : {exc.strerror}.") from exc
    else:
        data = bytes(source)
    name = name or "fichier"
    if not data:
        raise ReadError(f"Le fichier « {name} » est vide.")
    suffix = Path(name).suffix.lower()
    reader = next((r for r in READERS if suffix in r.suffixes), None)
    if reader is None:
        raise ReadError(
            f"Format « {suffix or 'sans extension'} » non pris en charge pour « {name} » : "
            "déposez un classeur .xlsx, un fichier .csv ou .parquet."
        )
    raw = reader.read(data, name)
    wb = Workbook(name=name, sha256=hashlib.sha256(data).hexdigest())
    for sheet_name, frame in raw.items():
        key = header_key(sheet_name)
        if key in SHEETS:
            wb.sheets[key] = frame
        elif key not in IGNORED_SHEETS:
            wb.ignored.append(sheet_name)
    if not wb.sheets:
        raise ReadError(
            f"Aucun onglet reconnu dans « {name} » : les onglets attendus sont "
            + ", ".join(f"« {s} »" for s in SHEETS) + "."
        )
    return wb
