"""Hostile and broken files: everything checked before a reader parses a workbook's content.

Files come from a dozen partners in every state of disrepair, and the upload page is reachable
from the network. So before calamine or pandas see a byte, this module checks what the bytes
really are (not what the extension claims), how big they are, and, for xlsx, what the zip
archive would expand to. Every rejection raises `ReadError` with a French message that says
what is wrong and what to do; nothing here writes to the database.

Bounds, all configurable by environment variable:
- SUIVI_MAX_UPLOAD_MB (default 50): size of a file received as bytes (the Import page);
- SUIVI_MAX_FILE_MB (default 2000): size of a file read from a path (CLI, server-side loads:
  the national bulk files are larger than any partner upload);
- SUIVI_MAX_UNCOMPRESSED_MB (default 1000): what an xlsx may expand to; each part of more than
  1 Mo may not expand more than MAX_RATIO times (real workbooks: 4 to 15 times).

The xlsx archive is streamed once, part by part, in fixed-size chunks, through Python's zipfile,
which never inflates a part beyond the size its header declares and then checks the CRC: a part
lying about its size is rejected as damaged, so time and memory stay bounded by the limits
above whatever the archive claims. During that pass every XML part's prolog goes through
defusedxml (no DTD, no entity: "billion laughs" and external entities are rejected before any
parser expands them), and every visible sheet is scanned for formulas without a cached value
and for merged cells, judged once the layout says which sheets and rows hold the data.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler

import numpy as np
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml import ElementTree as SafeET
from defusedxml.expatreader import DefusedExpatParser

from suivi.core import fmt

MB = 1024 * 1024
DEFAULT_MAX_UPLOAD_MB = 50
DEFAULT_MAX_FILE_MB = 2000
DEFAULT_MAX_UNCOMPRESSED_MB = 1000
MAX_RATIO = 100           # expansion allowed for a part above RATIO_MIN_SIZE
RATIO_MIN_SIZE = MB
MAX_ZIP_ENTRIES = 10_000
MAX_SMALL_PART = 16 * MB  # workbook.xml and its relations: read whole, so capped
MAX_PROLOG = MB           # an XML part must open its root element within its first megabyte
MAX_ROW_BYTES = 32 * MB   # a sheet chunk without any row end is not a spreadsheet
CHUNK = 4 * MB
MAX_LOCATIONS = 10        # cells listed in a message before "… et N autres"

OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
PARQUET = b"PAR1"


class ReadError(Exception):
    """The file cannot be read at all; the message is French and shown as is."""


def _env_mb(var: str, default: float) -> float:
    try:
        value = float(os.environ.get(var, "") or default)
    except ValueError:
        return float(default)
    return value if value > 0 else float(default)


def max_upload_mb() -> float:
    """Size limit of an uploaded file, in Mo (also what the Import page passes to the uploader)."""
    return _env_mb("SUIVI_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB)


def max_upload_bytes() -> int:
    return int(max_upload_mb() * MB)


def max_file_bytes() -> int:
    return int(_env_mb("SUIVI_MAX_FILE_MB", DEFAULT_MAX_FILE_MB) * MB)


def max_uncompressed_bytes() -> int:
    return int(_env_mb("SUIVI_MAX_UNCOMPRESSED_MB", DEFAULT_MAX_UNCOMPRESSED_MB) * MB)


# --- size, emptiness, what the bytes really are -------------------------------------------

def check_size(n_bytes: int, name: str, limit: int) -> None:
    if n_bytes > limit:
        raise ReadError(
            f"Le fichier « {name} » pèse {fmt.size_text(n_bytes)} : la limite est de "
            f"{fmt.size_text(limit)}. Il n'a pas été lu. Découpez-le en plusieurs fichiers (par "
            "contrat ou par année) ou demandez à l'administrateur de le charger en ligne de "
            "commande."
        )


def check_not_empty(data: bytes, name: str) -> None:
    if not data or not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ReadError(f"Le fichier « {name} » est vide : il ne contient aucune donnée. "
                        "Vérifiez que vous avez déposé le bon fichier et qu'il a bien été "
                        "enregistré.")


def sniff(data: bytes) -> str:
    """What the content is, whatever the extension says."""
    head = data[:1024]
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(OLE2):
        return "ole2"
    if head.lstrip().startswith(b"%PDF"):
        return "pdf"
    if head.startswith(PARQUET):
        return "parquet"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")):
        return "image"
    if head.startswith((b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b", b"BZh", b"\xfd7zXZ")):
        return "archive"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<table")):
        return "markup"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or looks_utf16(data):
        return "text"
    if looks_binary(data):
        return "binary"
    return "text"


def looks_utf16(data: bytes) -> bool:
    """UTF-16 without a BOM: one NUL in every other byte of ASCII-heavy text."""
    sample = data[:4096]
    if len(sample) < 8:
        return False
    even, odd = sample[0::2], sample[1::2]
    return odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even) or \
        even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd)


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters: not a text file in any 8-bit encoding."""
    sample = data[:65536]
    if b"\x00" in sample:
        return True
    controls = sum(sample.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13))
    return controls > 0.01 * len(sample)


KIND_TEXT = {
    "pdf": "un document PDF",
    "image": "une image",
    "archive": "une archive compressée (rar, 7z, gz…)",
    "markup": "une page web (HTML/XML)",
    "binary": "des données binaires illisibles",
    "text": "du texte (un fichier CSV ?)",
    "parquet": "un fichier Parquet",
    "zip": "une archive zip",
    "ole2": "un document Office ancien",
}


def not_a_workbook(name: str, kind: str) -> ReadError:
    what = KIND_TEXT.get(kind, "un contenu non reconnu")
    return ReadError(
        f"Le fichier « {name} » n'est pas un classeur Excel lisible : il contient {what}, "
        "quelle que soit son extension. Ouvrez-le dans votre tableur et enregistrez-le au format "
        ".xlsx (Fichier > Enregistrer sous > Classeur Excel), ou déposez le bon fichier."
    )


# --- legacy and encrypted Office files (OLE2 compound documents) -----------------------------

def inspect_ole2(data: bytes, name: str) -> ReadError:
    """An OLE2 file is never read: say whether it is encrypted, a legacy .xls or something else.

    Excel saves a password-protected workbook (even with the .xlsx extension) as an OLE2
    container holding `EncryptionInfo` and `EncryptedPackage` streams; a legacy .xls holds a
    `Workbook` (or `Book`) stream. Stream names are stored in UTF-16LE in the directory.
    """
    def has(stream: str) -> bool:
        return stream.encode("utf-16-le") in data

    if has("EncryptedPackage") or has("EncryptionInfo"):
        return ReadError(
            f"Le classeur « {name} » est protégé par un mot de passe (chiffré) : il ne peut pas "
            "être lu. Ouvrez-le dans Excel, retirez le mot de passe (Fichier > Informations > "
            "Protéger le classeur > Chiffrer avec mot de passe : videz le champ), enregistrez-le "
            "en .xlsx puis déposez-le à nouveau."
        )
    if has("Workbook") or has("Book"):
        return ReadError(
            f"Le fichier « {name} » est au format .xls ancien : enregistrez en .xlsx (Fichier > "
            "Enregistrer sous > Classeur Excel .xlsx) puis déposez-le à nouveau."
        )
    return ReadError(
        f"Le fichier « {name} » est un document Office ancien (Word, PowerPoint ?) et non un "
        "classeur : déposez un classeur enregistré au format .xlsx."
    )


# --- xlsx: the zip archive and its XML parts ------------------------------------------------

@dataclass
class XlsxInfo:
    """What the pre-read found: notes for the report, the hidden sheets (never parsed) and
    each visible sheet's formulas and merged cells (judged by `refuse_sheet_problems`)."""

    notes: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    scans: dict = field(default_factory=dict)
    has_macros: bool = False


class _RootReached(Exception):
    pass


class _StopAtRoot(ContentHandler):
    def startElement(self, name, attrs):  # noqa: N802 (SAX API)
        raise _RootReached


def _bomb(name: str, detail: str) -> ReadError:
    return ReadError(
        f"Le classeur « {name} » a été refusé sans être lu : {detail}. C'est le signe d'un "
        "fichier anormal (« bombe de décompression ») ou beaucoup trop volumineux. Réenregistrez-"
        "le depuis votre tableur, ou découpez-le en plusieurs fichiers."
    )


def _damaged(name: str, part: str) -> ReadError:
    return ReadError(
        f"Le classeur « {name} » est abîmé (la partie interne « {part} » est illisible ou ne "
        "correspond pas à son contrôle d'intégrité) : il n'a pas été lu. Réenregistrez-le depuis "
        "votre tableur ; s'il s'agit d'une copie interrompue, copiez-le à nouveau."
    )


def _forbidden_xml(name: str, part: str) -> ReadError:
    return ReadError(
        f"Le classeur « {name} » contient des déclarations XML interdites (DTD ou entités, dans "
        f"« {part} ») : un classeur Excel normal n'en contient jamais. Fichier suspect ou "
        "fabriqué par un outil non standard : il n'a pas été lu. Ouvrez-le dans votre tableur et "
        "réenregistrez-le au format .xlsx."
    )


class _PrologGuard:
    """Feeds the start of an XML part to defusedxml until the root element opens.

    A DTD can only appear before the root element, so once the root opens the part cannot
    declare entities any more: the rest is never given to the (slow) Python parser.
    """

    def __init__(self, name: str, part: str):
        self.name, self.part, self.fed, self.done = name, part, 0, False
        self.parser = DefusedExpatParser(forbid_dtd=True, forbid_entities=True,
                                         forbid_external=True)
        self.parser.setContentHandler(_StopAtRoot())

    def feed(self, chunk: bytes) -> None:
        if self.done:
            return
        piece = chunk[: MAX_PROLOG - self.fed + 1]
        self.fed += len(piece)
        try:
            self.parser.feed(piece)
        except _RootReached:
            self.done = True
            return
        except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
            raise _forbidden_xml(self.name, self.part) from exc
        except SAXParseException as exc:
            raise _damaged(self.name, self.part) from exc
        if self.fed > MAX_PROLOG:
            raise _damaged(self.name, self.part)

    def close(self) -> None:
        if not self.done:  # an XML part that never opened its root element
            raise _damaged(self.name, self.part)


_P = rb"(?:[A-Za-z_][\w.\-]*:)?"  # optional namespace prefix (x:c, x:f...)
FORMULA_TAG = re.compile(rb"<" + _P + rb"f[\s>/]")
CELL = re.compile(rb"<(" + _P + rb")c\b([^>]*?)(?:/>|>(.*?)</\1c>)", re.S)
VALUE = re.compile(rb"<" + _P + rb"v(?:\s[^>]*)?>(.*?)</" + _P + rb"v>", re.S)
CELL_REF = re.compile(rb'\br="([A-Za-z]{1,3}[0-9]{1,7})"')
CELL_TYPE = re.compile(rb'\bt="([^"]*)"')
ROW_END = re.compile(rb"</" + _P + rb"row>")
MERGE = re.compile(rb"<" + _P + rb"mergeCell\b[^>]*?\bref=\"([^\"]+)\"")


@dataclass
class _SheetScan:
    """Formulas and merged cells found in one sheet, accumulated chunk by chunk."""

    sheet: str
    formulas: int = 0
    uncached: list[str] = field(default_factory=list)
    n_uncached: int = 0
    merged: list[str] = field(default_factory=list)
    carry: bytes = b""

    def feed(self, chunk: bytes, final: bool = False) -> None:
        buf = self.carry + chunk if self.carry else chunk
        if final:
            head, self.carry = buf, b""
        else:
            cut = _last_row_end(buf)
            if cut < 0:
                if len(buf) > MAX_ROW_BYTES:
                    raise ValueError("row too long")
                self.carry = buf
                return
            head, self.carry = buf[:cut], buf[cut:]
        self._scan(head)

    def _scan(self, block: bytes) -> None:
        # Cheap tests first: most sheets have no formula and no merged cell.
        if _may_hold_formula(block) and FORMULA_TAG.search(block):
            for m in CELL.finditer(block):
                body = m.group(3) or b""
                if not FORMULA_TAG.search(body):
                    continue
                self.formulas += 1
                value = VALUE.search(body)
                kind = CELL_TYPE.search(m.group(2))
                is_text = kind is not None and kind.group(1) == b"str"
                if value is None or (not value.group(1).strip() and not is_text):
                    self.n_uncached += 1
                    if len(self.uncached) < MAX_LOCATIONS:
                        ref = CELL_REF.search(m.group(2))
                        self.uncached.append(ref.group(1).decode() if ref else "?")
        if b"mergeCell" in block:
            for m in MERGE.finditer(block):
                self.merged.append(m.group(1).decode("ascii", "replace"))


_TAG_OPEN = np.frombuffer(b"<:", dtype=np.uint8)     # before the f of <f or <x:f
_TAG_GOES_ON = np.frombuffer(b" \t\n\r\x0b\x0c>/", dtype=np.uint8)  # after it, as FORMULA_TAG


def _may_hold_formula(block: bytes) -> bool:
    """Whether an `f` preceded by `<` or `:` and followed by what FORMULA_TAG allows is in
    the block: one vectorised pass (three substring searches took 0.2 s of a 93 MB sheet)."""
    arr = np.frombuffer(block, dtype=np.uint8)
    at = np.flatnonzero(arr[1:-1] == ord("f")) + 1
    return bool(len(at)) and bool((np.isin(arr[at - 1], _TAG_OPEN)
                                   & np.isin(arr[at + 1], _TAG_GOES_ON)).any())


def _last_row_end(buf: bytes) -> int:
    """Index just after the last </row> (or </x:row>) in buf, -1 if none."""
    end = len(buf)
    while (pos := buf.rfind(b"row>", 0, end)) >= 0:
        start = buf.rfind(b"</", max(0, pos - 40), pos)
        if start >= 0 and ROW_END.fullmatch(buf, start, pos + 4):
            return pos + 4
        end = pos
    return -1


def _locations(cells: list[str], total: int) -> str:
    text = ", ".join(cells)
    return text + (f" (… et {total - len(cells)} autres)" if total > len(cells) else "")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(elem, local_name: str) -> str | None:
    for key, value in elem.attrib.items():
        if _local(key) == local_name:
            return value
    return None


def _sheet_parts(wb_xml: bytes, rels_xml: bytes | None) -> list[tuple[str, str, str | None]]:
    """(sheet name, visibility state, zip part path) for every sheet of workbook.xml."""
    root = SafeET.fromstring(wb_xml, forbid_dtd=True)
    targets = {}
    if rels_xml is not None:
        for rel in SafeET.fromstring(rels_xml, forbid_dtd=True):
            rid, target = rel.get("Id"), rel.get("Target")
            if rid and target:
                path = target.lstrip("/") if target.startswith("/") else \
                    posixpath.normpath(posixpath.join("xl", target))
                targets[rid] = path
    out = []
    for elem in root.iter():
        if _local(elem.tag) == "sheet":
            out.append((elem.get("name") or "", elem.get("state") or "visible",
                        targets.get(_attr(elem, "id") or "")))
    return out


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    if info.file_size > MAX_SMALL_PART:
        raise _bomb(name, f"la partie « {info.filename} » pèse {fmt.size_text(info.file_size)}")
    guard = _PrologGuard(name, info.filename)
    try:
        with zf.open(info) as fh:
            data = fh.read(MAX_SMALL_PART + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise _damaged(name, info.filename) from exc
    guard.feed(data)
    guard.close()
    return data


def _container_kind(names: set[str], zf: zipfile.ZipFile) -> str:
    if "xl/workbook.bin" in names:
        return "xlsb"
    if "mimetype" in names:
        try:
            if b"opendocument.spreadsheet" in zf.read("mimetype")[:200]:
                return "ods"
        except Exception:  # noqa: BLE001 - a broken mimetype is just "not a workbook"
            pass
        return "opendocument"
    if "word/document.xml" in names:
        return "docx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    return "zip"


def inspect_xlsx(data: bytes, name: str) -> XlsxInfo:
    """Check an xlsx/xlsm archive before calamine reads it; raise ReadError when hostile.

    Every visible sheet is scanned for formulas without a cached value and merged cells; which
    of them matter depends on the layout found later (the values area of a contract workbook,
    the rows below the header of an Insee file), so they are returned, and
    `refuse_sheet_problems` judges them once the layout is known.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ReadError(
            f"Le classeur « {name} » est abîmé ou incomplet (archive illisible : copie ou "
            "téléchargement interrompu ?). Il n'a pas été lu : réenregistrez-le depuis votre "
            "tableur ou copiez-le à nouveau."
        ) from exc
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        kind = _container_kind(names, zf)
        hint = {
            "xlsb": "c'est un classeur binaire Excel (.xlsb) : enregistrez-le en .xlsx",
            "ods": "c'est un classeur OpenDocument (.ods) : enregistrez-le en .xlsx depuis "
                   "LibreOffice (Fichier > Enregistrer sous > Excel 2007-365)",
            "opendocument": "c'est un document OpenDocument (texte ou présentation)",
            "docx": "c'est un document Word (.docx)",
            "pptx": "c'est une présentation PowerPoint (.pptx)",
        }.get(kind, "c'est une archive zip qui ne contient pas de classeur")
        raise ReadError(f"Le fichier « {name} » n'est pas un classeur Excel : {hint}.")

    if len(infos) > MAX_ZIP_ENTRIES:
        raise _bomb(name, f"l'archive contient {fmt.number(len(infos))} parties (limite "
                          f"{fmt.number(MAX_ZIP_ENTRIES)})")
    limit = max_uncompressed_bytes()
    total = sum(i.file_size for i in infos)
    if total > limit:
        raise _bomb(name, f"une fois décompressé, il occuperait {fmt.size_text(total)} (limite "
                          f"{fmt.size_text(limit)}, réglage SUIVI_MAX_UNCOMPRESSED_MB)")
    for i in infos:
        ratio = i.file_size / max(i.compress_size, 1)
        if i.file_size > RATIO_MIN_SIZE and ratio > MAX_RATIO:
            raise _bomb(name, f"la partie « {i.filename} » se décompresse "
                              f"{fmt.number(ratio, 0)} fois (limite {MAX_RATIO})")
        if i.flag_bits & 0x1:
            raise ReadError(f"Le classeur « {name} » est une archive chiffrée : il ne peut pas "
                            "être lu. Retirez le mot de passe et réenregistrez-le en .xlsx.")
        if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ReadError(f"Le classeur « {name} » utilise une compression non standard : "
                            "réenregistrez-le depuis Excel ou LibreOffice au format .xlsx.")

    by_name = {i.filename: i for i in infos}
    wb_xml = _read_small(zf, by_name["xl/workbook.xml"], name)
    rels_info = by_name.get("xl/_rels/workbook.xml.rels")
    rels_xml = _read_small(zf, rels_info, name) if rels_info else None
    try:
        sheets = _sheet_parts(wb_xml, rels_xml)
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        raise _forbidden_xml(name, "xl/workbook.xml") from exc
    except SafeET.ParseError as exc:
        raise _damaged(name, "xl/workbook.xml") from exc

    info = XlsxInfo()
    scans: dict[str, _SheetScan] = {}
    for sheet, state, part in sheets:
        if state != "visible":
            info.hidden.append(sheet)
        elif part:
            scans[part] = _SheetScan(sheet)

    for i in infos:
        if i.filename in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels") or i.is_dir():
            continue
        if i.filename.lower().endswith("vbaproject.bin"):
            info.has_macros = True
        xml_like = i.filename.lower().endswith((".xml", ".rels", ".vml"))
        guard = _PrologGuard(name, i.filename) if xml_like else None
        scan = scans.get(i.filename)
        try:
            with zf.open(i) as fh:
                while chunk := fh.read(CHUNK):
                    if guard:
                        guard.feed(chunk)
                    if scan:
                        scan.feed(chunk)
            if guard and i.file_size:
                guard.close()
            if scan:
                scan.feed(b"", final=True)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                ValueError) as exc:
            raise _damaged(name, i.filename) from exc
    info.scans = {scan.sheet: scan for scan in scans.values()}
    if info.has_macros:
        info.notes.append(
            f"Le classeur « {name} » contient des macros (VBA) : elles n'ont pas été exécutées "
            "et ne le seront jamais ; seules les valeurs des cellules ont été lues."
        )
    return info


def _first_row(ref: str) -> int:
    """Last row of a merged range `A1:D2` (2): a range ending above the header is a title."""
    digits = re.findall(r"[0-9]+", ref)
    return int(digits[-1]) if digits else 0


def refuse_sheet_problems(info: XlsxInfo, name: str, data_sheets: dict[str, int]) -> list[str]:
    """Judge what inspect_xlsx found, now that the layout says which sheets hold data and on
    which row their header is (`data_sheets`: sheet -> header row, 1-based). Hidden data
    sheets, merged cells in or below the header and formulas without a cached value are
    refused; the rest becomes notes (returned), other hidden sheets are skipped."""
    hidden_data = [s for s in info.hidden if s in data_sheets]
    if hidden_data:
        raise ReadError(
            f"Le classeur « {name} » a des onglets masqués dans la zone des valeurs : "
            + ", ".join(f"« {s} »" for s in hidden_data)
            + ". Des données masquées ne sont jamais chargées à "
            "l'insu de la personne qui dépose le fichier : affichez l'onglet (clic droit sur un "
            "onglet > Afficher) et vérifiez son contenu, ou supprimez-le, puis réenregistrez."
        )
    notes = [f"Onglet masqué « {s} » ignoré." for s in info.hidden
             if s.strip().lower() != "listes"]
    for sheet, header_row in data_sheets.items():
        scan = info.scans.get(sheet)
        if scan is None:
            continue
        merged = [m for m in scan.merged if _first_row(m) >= header_row]
        if merged:
            raise ReadError(
                f"Cellules fusionnées dans l'onglet « {scan.sheet} » du classeur « {name} » : "
                f"{_locations(merged[:MAX_LOCATIONS], len(merged))}. Une cellule "
                "fusionnée ne garde sa valeur que dans sa première case : défusionnez-les "
                "(Accueil > Fusionner et centrer > Annuler Fusionner) et répétez la valeur "
                "dans chaque cellule, puis réenregistrez."
            )
        if scan.n_uncached:
            raise ReadError(
                f"Formule(s) sans valeur calculée dans l'onglet « {scan.sheet} » du classeur "
                f"« {name} », cellule(s) {_locations(scan.uncached, scan.n_uncached)}. Le "
                "fichier a été produit sans recalcul : ouvrez-le dans Excel ou LibreOffice, "
                "laissez-le recalculer et enregistrez-le, ou remplacez les formules par leurs "
                "valeurs (Copier puis Collage spécial > Valeurs)."
            )
        if scan.formulas:
            notes.append(
                f"Onglet « {scan.sheet} » : {fmt.number(scan.formulas)} formule(s) ; les valeurs "
                "calculées enregistrées dans le fichier ont été lues (les formules ne sont pas "
                "recalculées)."
            )
    return notes


# --- parquet --------------------------------------------------------------------------------

def inspect_parquet(data: bytes, name: str) -> None:
    """Magic bytes and footer only: refuse before pandas materialises a huge table."""
    if not (data.startswith(PARQUET) and data.endswith(PARQUET)):
        raise ReadError(
            f"Le fichier « {name} » n'est pas un fichier Parquet lisible (contenu : "
            f"{KIND_TEXT.get(sniff(data), 'non reconnu')}). Déposez un fichier .parquet, "
            ".xlsx ou .csv."
        )
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(pa.BufferReader(data)).metadata
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for broken footers
        raise ReadError(f"Le fichier Parquet « {name} » est abîmé (pied de fichier illisible) : "
                        "exportez-le à nouveau.") from exc
    total = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    limit = max_uncompressed_bytes()
    if total > limit or meta.num_columns > 1000:
        raise _bomb(name, f"une fois décompressé, il occuperait {fmt.size_text(total)} pour "
                          f"{fmt.number(meta.num_columns)} colonnes (limite {fmt.size_text(limit)})")
