"""File formats: one reader class per format (xlsx, csv, parquet; GeoJSON, and shapefile or
GeoPackage through pyogrio, for contours), each returning a `RawFile`.

A reader only turns bytes into grids of raw cells, sheet by sheet, with no idea of what the
header is: the layout (etl/sources/) finds the header row and says what each column means,
and validation (etl/validate.py) judges the content. Before any parsing, etl/safety.py checks
what the bytes really are.
"""

from __future__ import annotations

import csv
import hashlib
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from etl import safety
from etl.safety import ReadError
from suivi.core.vocab import fold

SHEETS = ["contrat", "territoires", "arborescence", "indicateurs", "valeurs"]
IGNORED_SHEETS = {"lisezmoi", "readme", "listes", "aide"}


def header_key(name) -> str:
    return fold(name).replace(" ", "_").replace("'", "_")


@dataclass
class Workbook:
    """A file as the validation sees it: canonical sheets (`valeurs`, `territoires`...) whose
    rows keep where they came from (`_row`, and for public layouts `_sheet` and the source
    column of each cell), whatever the layout it was read from."""

    name: str
    sha256: str
    sheets: dict[str, pd.DataFrame] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    # Facts about the file worth telling the person who loads it (macros not run, formulas
    # read as their cached values, hidden help sheets skipped): French, for the report's info.
    notes: list[str] = field(default_factory=list)
    layout: str = "classeur"
    # What the layout found (« base QPV de l'Insee, onglets … »), completed by validation.
    announcement: str = ""
    # Layout-specific settings validation needs (code kinds, tokens, aggregate rows...).
    meta: dict = field(default_factory=dict)


@dataclass
class RawFile:
    """Bytes turned into grids: per sheet, a frame with columns 0..n-1 and no header applied
    (a Parquet file has real column names: `headed`)."""

    name: str
    sha256: str
    kind: str  # xlsx | csv | parquet | geojson | ogr (shapefile, GeoPackage)
    sheets: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    xlsx: safety.XlsxInfo | None = None
    headed: bool = False
    meta: dict = field(default_factory=dict)  # e.g. a layer's coordinate system
    _heads: dict = field(default_factory=dict, repr=False)

    def head(self, sheet: str, n: int = 10) -> list[list[str]]:
        """The first n rows of a sheet as trimmed text (for detection and messages; every
        layout looks at them, so they are converted once)."""
        if sheet not in self._heads:
            grid = self.sheets[sheet]
            if self.headed:
                rows = [list(grid.columns)] + grid.head(9).values.tolist()
            else:
                rows = grid.head(10).values.tolist()
            self._heads[sheet] = [[cell_text(v) for v in row] for row in rows]
        return self._heads[sheet][:n]


def cell_text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def frame_from_rows(rows: list[list], first_row: int = 1) -> pd.DataFrame:
    """Header row + data rows -> DataFrame with folded headers and an Excel `_row` column."""
    if not rows:
        return pd.DataFrame({"_row": pd.Series([], dtype="int64")})
    df = pd.DataFrame(rows[1:], columns=range(len(rows[0])), dtype="object")
    return tidy_frame(df, list(rows[0]), first_row)


def frame_from_grid(grid: pd.DataFrame, categorise: bool = False) -> pd.DataFrame:
    """A sheet's raw grid whose first row is the header -> the frame `frame_from_rows` builds,
    without turning the grid back into Python rows. With `categorise`, a column of repeated
    texts (codes, natures, sources: a handful of values over 200 000 rows) becomes
    categorical, as a CSV's cells are read: every check then judges each distinct text once."""
    if grid.empty:
        return frame_from_rows([])
    header = grid.iloc[0].tolist()
    body = grid.iloc[1:].reset_index(drop=True)
    if categorise:
        body = pd.DataFrame({col: _repeated_texts(body[col]) for col in body.columns})
    return tidy_frame(body, header)


def _repeated_texts(values: pd.Series) -> pd.Series:
    """Categorical when every cell is text (or empty) and values repeat; as it was otherwise
    (numbers, and mixed columns whose equal-looking cells must stay apart: 1.0 and True)."""
    first = values.first_valid_index()
    if first is None or not isinstance(values[first], str):  # numbers, years: left as read
        return values
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    if len(uniques) * 2 > len(values) or not all(isinstance(u, str) for u in uniques):
        return values
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(uniques,
                                                                          dtype=object)))


def tidy_frame(df: pd.DataFrame, header: list, first_row: int = 1) -> pd.DataFrame:
    """Fold the headers, number the rows as the spreadsheet does and drop blank rows.

    `first_row` is the spreadsheet row of the header. A cell holding only spaces counts as
    blank, so a row of stray spaces is not data.
    """
    df.columns = [header_key(h) if h not in (None, "") and not pd.isna(h) else f"_col{i + 1}"
                  for i, h in enumerate(header)]
    df["_row"] = np.arange(first_row + 1, first_row + 1 + len(df))
    return df[filled_rows(df.drop(columns="_row"))].reset_index(drop=True)


def filled_rows(df: pd.DataFrame) -> np.ndarray:
    """Mask of the rows holding at least one non-blank cell (column-wise, no row loop)."""
    filled = np.zeros(len(df), dtype=bool)
    for col in df.columns:
        values = df[col]
        present = values.notna().to_numpy().copy()
        if isinstance(values.dtype, pd.CategoricalDtype):  # judge each distinct text once
            blank = values.cat.categories.astype("string").str.strip() == ""
            codes = values.cat.codes.to_numpy()
            present &= ~np.append(np.asarray(blank, dtype=bool), True)[codes]
        elif values.dtype == object:  # judge each distinct cell once
            codes, uniques = pd.factorize(values.to_numpy(), use_na_sentinel=True)
            blank = np.fromiter((isinstance(u, str) and not u.strip() for u in uniques),
                                dtype=bool, count=len(uniques))
            present &= ~np.append(blank, True)[codes]
        elif pd.api.types.is_string_dtype(values):
            present &= (values.astype("string").str.strip() != "").fillna(False).to_numpy()
        filled |= present
    return filled


class XlsxReader:
    """Excel workbooks, read with calamine: it reads cell values (for a formula, the value the
    spreadsheet cached) and never runs macros, so an .xlsm is read like an .xlsx. Hidden
    sheets are never parsed.

    etl/safety.py inspects the archive first; the legacy and foreign suffixes are routed here
    so that the content, not the extension, decides the message (.xls, .xlsb, .ods).
    """

    suffixes = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".ods")

    def read(self, data: bytes, name: str) -> RawFile:
        from python_calamine import CalamineWorkbook

        kind = safety.sniff(data)
        if kind == "ole2":
            raise safety.inspect_ole2(data, name)
        if kind != "zip":
            raise safety.not_a_workbook(name, kind)
        info = safety.inspect_xlsx(data, name)
        raw = RawFile(name, "", "xlsx", xlsx=info, notes=list(info.notes))
        try:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
            for sheet_name in wb.sheet_names:
                if sheet_name in info.hidden:
                    continue
                rows = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
                width = max(map(len, rows), default=0)
                raw.sheets[sheet_name] = pd.DataFrame(rows, columns=range(width), dtype="object")
        except Exception as exc:  # calamine raises several error types for broken files
            raise ReadError(
                f"Le fichier « {name} » n'est pas un classeur Excel lisible ({type(exc).__name__}). "
                "Enregistrez-le au format .xlsx depuis votre tableur et réessayez."
            ) from exc
        return raw


def decode_text(data: bytes, name: str) -> str:
    """CSV bytes -> text: UTF-8 (with or without BOM), UTF-16 (Excel's "Texte Unicode", with
    or without BOM), else the 8-bit encoding `eight_bit_encoding` picks."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    elif safety.looks_utf16(data):
        even_nuls = data[0:4096:2].count(0)
        encodings = ("utf-16-be" if even_nuls > data[1:4096:2].count(0) else "utf-16-le",)
    else:
        encodings = ("utf-8-sig", eight_bit_encoding(data), "latin-1")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReadError(f"Encodage du fichier « {name} » non reconnu : enregistrez-le en CSV UTF-8 "
                    "(Fichier > Enregistrer sous > CSV UTF-8).")


# Bytes that are €, Š, š, Ž, ž, Œ, œ, Ÿ in ISO-8859-15 (Insee's files) but currency sign,
# broken bar, diaeresis, acute accent, cedilla and fractions in Windows-1252, never in French.
_LATIN9_HINTS = (b"\xa4", b"\xa6", b"\xa8", b"\xb4", b"\xb8", b"\xbc", b"\xbd", b"\xbe")


def eight_bit_encoding(data: bytes) -> str:
    """Windows-1252 (Excel's "CSV"), or ISO-8859-15 when the bytes only make sense there."""
    return "iso-8859-15" if any(h in data for h in _LATIN9_HINTS) else "cp1252"


def sniff_separator(text: str) -> str:
    """Tab, semicolon or comma: the one that splits the most lines of the sample into the same
    number of fields (data lines outnumber title lines above a header); ties prefer tab, then
    ';' (a decimal comma makes ',' less likely to be the separator)."""
    lines = [line for line in text.splitlines()[:30] if line.strip()]
    best, best_score = ",", (-1, -1)
    for sep in ("\t", ";", ","):
        counts = [line.count(sep) for line in lines]
        nonzero = [c for c in counts if c]
        if not nonzero:
            continue
        mode = max(set(nonzero), key=nonzero.count)
        score = (nonzero.count(mode), mode)
        if score > best_score:
            best, best_score = sep, score
    return best


def _width(head: str, sep: str) -> int:
    """Fields of the widest line in the sample: title lines above a header have fewer."""
    rows = csv.reader(io.StringIO(head), delimiter=sep)
    widths = [len(r) for _, r in zip(range(200), rows)]
    return max(widths, default=1)


class CsvReader:
    """CSV or tab-separated text in UTF-8, UTF-16, Windows-1252 or ISO-8859-15.

    Every cell is read as text: "-3" is parsed as a number later, "=HYPERLINK(...)" stays text
    (and is neutralised by etl/export.py when written to a spreadsheet).
    """

    suffixes = (".csv", ".txt", ".tsv")

    def read(self, data: bytes, name: str) -> RawFile:
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
        return RawFile(name, "", "csv", sheets={Path(name).stem: self._parse(data, name)})

    @staticmethod
    def _parse(data: bytes, name: str) -> pd.DataFrame:
        """Every cell as a category of text: a national file repeats the same codes millions
        of times, and parsing is validation's job. UTF-8 and 8-bit files are parsed from the
        bytes (no decoded copy of the whole file); UTF-16 is decoded first."""
        utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff")) or safety.looks_utf16(data)
        sources = []
        if utf16:
            sources.append((io.StringIO(decode_text(data, name)), None))
        else:
            sources += [(io.BytesIO(data), "utf-8-sig"),
                        (io.BytesIO(data), eight_bit_encoding(data))]
        head = decode_text(data[:65536], name) if not utf16 else sources[0][0].getvalue()[:65536]
        sep = sniff_separator(head)
        names = range(_width(head, sep))
        for source, encoding in sources:
            try:
                return pd.read_csv(source, sep=sep, dtype="category", keep_default_na=False,
                                   header=None, names=names, skip_blank_lines=False,
                                   encoding=encoding)
            except UnicodeDecodeError:
                continue
            except (pd.errors.ParserError, ValueError) as exc:
                raise ReadError(f"Le fichier CSV « {name} » est mal formé ({exc}). Vérifiez "
                                "les guillemets et le nombre de colonnes de chaque ligne.") from exc
        raise ReadError(f"Encodage du fichier « {name} » non reconnu : enregistrez-le en CSV "
                        "UTF-8 (Fichier > Enregistrer sous > CSV UTF-8).")


class ParquetReader:
    """Parquet files (bulk national loads): a table with real column names."""

    suffixes = (".parquet",)

    def read(self, data: bytes, name: str) -> RawFile:
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
        return RawFile(name, "", "parquet", sheets={Path(name).stem: df}, headed=True)


FEATURES_SHEET = "entités"


def features_frame(properties: list[dict], geometries: list) -> pd.DataFrame:
    """A layer of features as one sheet: every property as text (its own column, named as
    in the file), `_geometry` the GeoJSON text of each feature's geometry (None when absent)
    and `_feature` its 1-based number in the file, for messages."""
    n = len(geometries)
    frame = pd.DataFrame.from_records(properties, index=range(n)) if any(properties) \
        else pd.DataFrame(index=range(n))
    for col in frame.columns:  # one column at a time; a layer has a handful of properties
        values = frame[col].astype("object")
        frame[col] = values.where(values.notna(), None).map(
            lambda v: None if v is None else cell_text(v))
    frame.columns = [str(c) for c in frame.columns]
    frame["_geometry"] = pd.Series(geometries, index=frame.index, dtype="object")
    frame["_feature"] = np.arange(1, n + 1)
    return frame


class GeoJsonReader:
    """GeoJSON (RFC 7946): a FeatureCollection (or a single Feature). Coordinates are read as
    they are; the contours layout checks they are longitudes and latitudes (WGS 84)."""

    suffixes = (".geojson", ".json")

    def read(self, data: bytes, name: str) -> RawFile:
        import json

        kind = safety.sniff(data)
        if kind != "text":
            raise ReadError(
                f"Le fichier « {name} » n'est pas un fichier GeoJSON : il contient "
                f"{safety.KIND_TEXT.get(kind, 'un contenu non reconnu')}. Déposez le fichier "
                "des contours tel que l'ANCT le publie (format GeoJSON, extension .geojson).")
        try:
            doc = json.loads(decode_text(data, name))
        except ValueError as exc:
            raise ReadError(
                f"Le fichier « {name} » n'est pas un fichier GeoJSON lisible : JSON mal formé "
                f"({exc}). Téléchargez-le à nouveau, sans l'ouvrir dans un tableur.") from exc
        if isinstance(doc, dict) and doc.get("type") == "Feature":
            doc = {"type": "FeatureCollection", "features": [doc]}
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" \
                or not isinstance(doc.get("features"), list):
            found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
            raise ReadError(
                f"Le fichier « {name} » n'est pas un fichier GeoJSON de contours : il faut un "
                "objet « FeatureCollection » avec une liste « features » (type trouvé : "
                f"« {found} »).")
        features = doc["features"]
        bad = next((i for i, f in enumerate(features, 1) if not isinstance(f, dict)), None)
        if bad is not None:
            raise ReadError(f"Le fichier GeoJSON « {name} » est mal formé : l'entité n° {bad} "
                            "n'est pas un objet « Feature ».")
        props = [f.get("properties") if isinstance(f.get("properties"), dict) else {}
                 for f in features]
        geoms = [None if f.get("geometry") is None else json.dumps(f["geometry"])
                 for f in features]
        raw = RawFile(name, "", "geojson", sheets={FEATURES_SHEET: features_frame(props, geoms)},
                      headed=True)
        raw.meta = {"crs": _geojson_crs(doc)}
        return raw


def _geojson_crs(doc: dict) -> str:
    """The legacy `crs` member (GeoJSON 2008) when present, e.g. `EPSG:2154`; else ''."""
    crs = doc.get("crs")
    if isinstance(crs, dict) and isinstance(crs.get("properties"), dict):
        return str(crs["properties"].get("name", ""))
    return ""


class OgrReader:
    """Shapefile (a .zip holding .shp, .shx, .dbf, .prj) and GeoPackage (.gpkg), read with
    pyogrio (GDAL inside its wheel): the first layer, geometries turned into GeoJSON text."""

    suffixes = (".gpkg", ".zip", ".shp")

    def read(self, data: bytes, name: str) -> RawFile:
        try:
            import pyogrio
            import shapely
        except ImportError as exc:  # optional: GeoJSON needs neither
            raise ReadError(f"Les fichiers shapefile et GeoPackage ne peuvent pas être lus ici "
                            f"(« {name} ») : déposez les contours au format GeoJSON.") from exc
        suffix = Path(name).suffix.lower()
        if suffix == ".shp":
            raise ReadError(f"Un shapefile ne tient pas dans le seul fichier « {name} » : "
                            "déposez une archive .zip qui contient ses fichiers .shp, .shx, "
                            ".dbf et .prj.")
        kind = safety.sniff(data)
        if suffix == ".zip" and kind != "zip":
            raise ReadError(f"Le fichier « {name} » n'est pas une archive zip.")
        if suffix == ".gpkg" and not data.startswith(b"SQLite format 3\x00"):
            raise ReadError(f"Le fichier « {name} » n'est pas un GeoPackage (base SQLite).")
        try:
            with warnings.catch_warnings():  # bytes have no file name: GDAL notes the suffix
                warnings.simplefilter("ignore", RuntimeWarning)
                meta, _, wkb, fields = pyogrio.raw.read(io.BytesIO(data))
        except Exception as exc:  # GDAL's errors: DataSourceError, FieldError...
            raise ReadError(f"Le fichier « {name} » n'est pas un fichier de contours lisible "
                            f"(shapefile zippé ou GeoPackage) : {exc}.") from exc
        columns = [str(c) for c in meta["fields"]]
        props = pd.DataFrame({c: pd.Series(v, dtype="object") for c, v in zip(columns, fields)})
        geoms = np.asarray(shapely.to_geojson(shapely.from_wkb(wkb)), dtype=object) \
            if wkb is not None else np.full(len(props), None, dtype=object)
        frame = features_frame(props.to_dict("records"), list(geoms))
        raw = RawFile(name, "", "ogr", sheets={FEATURES_SHEET: frame}, headed=True)
        raw.meta = {"crs": str(meta.get("crs") or "")}
        return raw


READERS = [XlsxReader(), CsvReader(), ParquetReader(), GeoJsonReader(), OgrReader()]


def read_raw(source: str | Path | bytes, name: str | None = None) -> RawFile:
    """Read a file (path or bytes) into grids; raise ReadError with a French message.

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
            "déposez un classeur .xlsx, un fichier .csv ou .parquet, ou des contours .geojson "
            "(.gpkg ou shapefile zippé)."
        )
    raw = reader.read(data, name)
    raw.sha256 = hashlib.sha256(data).hexdigest()
    return raw
