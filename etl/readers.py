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

import numpy as np
import pandas as pd

from etl import safety
from etl.safety import ReadError
from etl.vocab import fold

SHEETS = ["contrat", "territoires", "arborescence", "indicateurs", "valeurs"]
IGNORED_SHEETS = {"lisezmoi", "readme", "listes", "aide"}


def header_key(name) -> str:
    return fold(name).replace(" ", "_").replace("'", "_")


@dataclass
class Workbook:
    name: str
    sha256: str
    sheets: dict[str, pd.DataFrame] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    # Facts about the file worth telling the person who loads it (macros not run, formulas
    # read as their cached values, hidden help sheets skipped): French, for the report's info.
    notes: list[str] = field(default_factory=list)


def frame_from_rows(rows: list[list], first_row: int = 1) -> pd.DataFrame:
    """Header row + data rows -> DataFrame with folded headers and an Excel `_row` column."""
    if not rows:
        return pd.DataFrame({"_row": pd.Series([], dtype="int64")})
    df = pd.DataFrame(rows[1:], columns=range(len(rows[0])), dtype="object")
    return tidy_frame(df, list(rows[0]), first_row)


def tidy_frame(df: pd.DataFrame, header: list, first_row: int = 1) -> pd.DataFrame:
    """Fold the headers, number the rows as the spreadsheet does and drop blank rows.

    A cell holding only spaces counts as blank, so a row of stray spaces is not data.
    """
    df.columns = [header_key(h) if h not in (None, "") and not pd.isna(h) else f"_col{i + 1}"
                  for i, h in enumerate(header)]
    df["_row"] = np.arange(first_row + 1, first_row + 1 + len(df))
    filled = np.zeros(len(df), dtype=bool)
    for col in df.columns[:-1]:
        values = df[col]
        present = values.notna().to_numpy().copy()
        if isinstance(values.dtype, pd.CategoricalDtype):  # judge each distinct text once
            blank = values.cat.categories.astype("string").str.strip() == ""
            codes = values.cat.codes.to_numpy()
            present &= ~np.append(np.asarray(blank, dtype=bool), True)[codes]
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            present &= (values.astype("string").str.strip() != "").fillna(False).to_numpy()
        filled |= present
    return df[filled].reset_index(drop=True)


class XlsxReader:
    """Excel workbooks, read with calamine: it reads cell values (for a formula, the value the
    spreadsheet cached) and never runs macros, so an .xlsm is read like an .xlsx.

    etl/safety.py inspects the archive first; the legacy and foreign suffixes are routed here
    so that the content, not the extension, decides the message (.xls, .xlsb, .ods).
    """

    suffixes = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods")

    def read(self, data: bytes, name: str, notes: list[str] | None = None
             ) -> dict[str, pd.DataFrame | None]:
        from python_calamine import CalamineWorkbook

        kind = safety.sniff(data)
        if kind == "ole2":
            raise safety.inspect_ole2(data, name)
        if kind != "zip":
            raise safety.not_a_workbook(name, kind)
        info = safety.inspect_xlsx(data, name, data_sheet=lambda s: header_key(s) in SHEETS)
        if notes is not None:
            notes.extend(info.notes)
        try:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
            out = {}
            for sheet_name in wb.sheet_names:
                if sheet_name in info.skip_sheets:
                    continue  # hidden help sheet (already in the notes): never parsed
                if header_key(sheet_name) not in SHEETS:
                    out[sheet_name] = None  # listed as ignored, never parsed
                    continue
                rows = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
                out[sheet_name] = frame_from_rows(rows)
        except Exception as exc:  # calamine raises several error types for broken files
            raise ReadError(
                f"Le fichier « {name} » n'est pas un classeur Excel lisible ({type(exc).__name__}). "
                "Enregistrez-le au format .xlsx depuis votre tableur et réessayez."
            ) from exc
        return out


def decode_text(data: bytes, name: str) -> str:
    """CSV bytes -> text: UTF-8 (with or without BOM), UTF-16 (Excel's "Texte Unicode", with
    or without BOM), else Windows-1252 (a superset of Latin-1 for the printable range)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    elif safety.looks_utf16(data):
        even_nuls = data[0:4096:2].count(0)
        encodings = ("utf-16-be" if even_nuls > data[1:4096:2].count(0) else "utf-16-le",)
    else:
        encodings = ("utf-8-sig", "cp1252", "latin-1")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReadError(f"Encodage du fichier « {name} » non reconnu : enregistrez-le en CSV UTF-8 "
                    "(Fichier > Enregistrer sous > CSV UTF-8).")


def sniff_separator(text: str) -> str:
    """Tab, semicolon or comma: whichever the header line uses most (a header has no decimal
    commas). Ties keep the former rule: ';' when it outnumbers ','."""
    first = text.split("\n", 1)[0]
    counts = {"\t": first.count("\t"), ";": first.count(";"), ",": first.count(",")}
    if counts["\t"] > max(counts[";"], counts[","]):
        return "\t"
    return ";" if counts[";"] > counts[","] else ","


class CsvReader:
    """CSV or tab-separated text in UTF-8, UTF-16 or Windows-1252. Read as one `valeurs` sheet.

    Every cell is read as text: "-3" is parsed as a number later, "=HYPERLINK(...)" stays text
    (and is neutralised by etl/export.py when written to a spreadsheet).
    """

    suffixes = (".csv", ".txt", ".tsv")

    def read(self, data: bytes, name: str, notes: list[str] | None = None
             ) -> dict[str, pd.DataFrame | None]:
        kind = safety.sniff(data)
        if kind in ("zip", "ole2"):
            raise ReadError(
                f"Le fichier « {name} » n'est pas un fichier CSV : c'est un classeur Excel (ou "
                "un document Office). Déposez-le avec son extension d'origine (.xlsx), ou "
                "enregistrez-le au format CSV depuis votre tableur."
            )
        if kind != "text":
            raise ReadError(
                f"Le fichier « {name} » n'est pas un fichier CSV : il contient "
                f"{safety.KIND_TEXT.get(kind, 'un contenu non reconnu')}, pas du texte. Enregistrez vos "
                "données au format CSV (séparateur « ; ») depuis votre tableur."
            )
        df = self._parse(data, name)
        if df.empty:
            frame = frame_from_rows([])
        else:
            header = df.iloc[0].tolist()
            frame = tidy_frame(df.iloc[1:].reset_index(drop=True), header)
        sheet = Path(name).stem
        return {sheet if header_key(sheet) in SHEETS else "valeurs": frame}


    @staticmethod
    def _parse(data: bytes, name: str) -> pd.DataFrame:
        """Every cell as a category of text: a national file repeats the same codes millions
        of times, and parsing is validation's job. UTF-8 and Windows-1252 files are parsed
        from the bytes (no decoded copy of the whole file); UTF-16 is decoded first."""
        utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff")) or safety.looks_utf16(data)
        sources = []
        if utf16:
            sources.append((io.StringIO(decode_text(data, name)), None))
        else:
            sources += [(io.BytesIO(data), "utf-8-sig"), (io.BytesIO(data), "cp1252")]
        head = decode_text(data[:65536], name) if not utf16 else sources[0][0].getvalue()[:65536]
        sep = sniff_separator(head)
        for source, encoding in sources:
            try:
                return pd.read_csv(source, sep=sep, dtype="category", keep_default_na=False,
                                   header=None, skip_blank_lines=False, encoding=encoding)
            except UnicodeDecodeError:
                continue
            except (pd.errors.ParserError, ValueError) as exc:
                raise ReadError(f"Le fichier CSV « {name} » est mal formé ({exc}). Vérifiez "
                                "les guillemets et le nombre de colonnes de chaque ligne.") from exc
        raise ReadError(f"Encodage du fichier « {name} » non reconnu : enregistrez-le en CSV "
                        "UTF-8 (Fichier > Enregistrer sous > CSV UTF-8).")


class ParquetReader:
    """Parquet files (bulk national loads). Read as one `valeurs` sheet."""

    suffixes = (".parquet",)

    def read(self, data: bytes, name: str, notes: list[str] | None = None
             ) -> dict[str, pd.DataFrame | None]:
        safety.inspect_parquet(data, name)
        try:  # text columns dictionary-encoded (categories): codes repeat millions of times
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pq.read_schema(io.BytesIO(data))
            text = [f.name for f in schema if pa.types.is_string(f.type)
                    or pa.types.is_large_string(f.type)]
            df = pq.read_table(io.BytesIO(data), read_dictionary=text).to_pandas()
        except Exception as exc:
            raise ReadError(f"Le fichier « {name} » n'est pas un fichier Parquet lisible.") from exc
        # Columns keep their Parquet types (numbers stay numbers, text stays Arrow strings):
        # converting 3 million rows to Python objects would cost gigabytes.
        df = df.rename(columns=header_key)
        df["_row"] = np.arange(2, 2 + len(df))
        sheet = Path(name).stem
        return {sheet if header_key(sheet) in SHEETS else "valeurs": df}


READERS = [XlsxReader(), CsvReader(), ParquetReader()]


def read_workbook(source: str | Path | bytes, name: str | None = None) -> Workbook:
    """Read a file (path or bytes) into a Workbook; raise ReadError with a French message.

    Bytes are what the Import page receives from the network: they get the upload size limit
    (SUIVI_MAX_UPLOAD_MB). A path is a file already on the server (CLI): it gets the larger
    SUIVI_MAX_FILE_MB, checked before the file is read into memory.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            safety.check_size(path.stat().st_size, name, safety.max_file_bytes())
            data = path.read_bytes()
        except OSError as exc:
            raise ReadError(f"Impossible de lire le fichier « {path} » : {exc.strerror}.") from exc
    else:
        data = bytes(source)
        name = name or "fichier"
        safety.check_size(len(data), name, safety.max_upload_bytes())
    name = name or "fichier"
    safety.check_not_empty(data, name)
    suffix = Path(name).suffix.lower()
    reader = next((r for r in READERS if suffix in r.suffixes), None)
    if reader is None:
        raise ReadError(
            f"Format « {suffix or 'sans extension'} » non pris en charge pour « {name} » : "
            "déposez un classeur .xlsx, un fichier .csv ou .parquet."
        )
    notes: list[str] = []
    raw = reader.read(data, name, notes)
    wb = Workbook(name=name, sha256=hashlib.sha256(data).hexdigest(), notes=notes)
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

