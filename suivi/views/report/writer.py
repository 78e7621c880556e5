"""Building blocks of an editable Word document (python-docx), for the annual report.

Staff rework the report in Word, so everything is written in the document's own styles
(Title, Heading 1-3 = Titre 1-3 in a French Word, List Bullet, Caption = Légende, and a
« Tableau » paragraph style inside « Table Grid » tables) rather than with direct formatting.
Text from the database goes through `clean`: characters XML cannot hold are dropped and text a
spreadsheet would run as a formula (= + - @ at the start, the list of etl/export.py) gets a
leading apostrophe, since tables are often pasted from Word into a spreadsheet.

Tables are written as one XML fragment each: python-docx's cell API costs about a millisecond
a cell, which made a whole-contract report several seconds slower.
"""

from __future__ import annotations

import io
import re
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor

from suivi.core import fmt
from suivi.core.exports import FORMULA_START

TO_COMPLETE = "À compléter"
DEMO_TABLE_NOTE = ("⚠ Ce tableau contient des valeurs de démonstration, marquées « démo » : "
                   "elles ont été générées pour montrer l'outil et ne sont pas réelles.")
TEXT_WIDTH_CM = 16.0
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPACES = re.compile(r"\s+")


def clean(value) -> str:
    """Text for the document: missing -> '–', XML-illegal characters dropped, formula-like
    text neutralised (a leading apostrophe, as suivi.core.exports.neutralise_formulas does)."""
    if fmt.is_missing(value):
        return "–"
    text = _ILLEGAL_XML.sub("", str(value))
    if text.startswith(FORMULA_START):
        text = "'" + text
    return text


def one_line(value) -> str:
    """`clean`, on one line (headings, table labels)."""
    return _SPACES.sub(" ", clean(value)).strip()



class Writer:
    """python-docx Document with the few building blocks the report uses."""

    def __init__(self):
        self.doc = Document()
        self.figures = 0
        styles = self.doc.styles
        normal = styles["Normal"]
        normal.font.name = "Arial"
        normal.font.size = Pt(10)
        _set_language(normal, "fr-FR")
        for name in ("Heading 1", "Heading 2", "Heading 3", "Title"):
            styles[name].font.name = "Arial"
        table_text = styles.add_style("Tableau", WD_STYLE_TYPE.PARAGRAPH)
        table_text.base_style = normal
        table_text.font.size = Pt(8)
        table_text.paragraph_format.space_after = Pt(0)
        self.table_style_id = table_text.style_id
        # Style ids looked up once: python-docx resolves a style name with an XPath search
        # of styles.xml on every paragraph, which was a third of the time of a report.
        self.style_ids = {name: styles[name].style_id for name in
                          ("Title", "Heading 1", "Heading 2", "Heading 3", "List Bullet",
                           "Caption")}
        section = self.doc.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Cm(21), Cm(29.7)
        section.left_margin = section.right_margin = Cm(2.5)

    def _styled(self, style: str | None):
        p = self.doc.add_paragraph()
        if style:
            p._p.get_or_add_pPr().style = self.style_ids[style]
        return p

    def heading(self, text: str, level: int = 1):
        """Heading 1-3 (Titre 1-3 in a French Word), or the document title for level 0."""
        p = self._styled("Title" if level == 0 else f"Heading {level}")
        p.add_run(one_line(text))
        return p

    def para(self, text: str, style: str | None = None, bold: bool = False,
             italic: bool = False):
        p = self._styled(style)
        run = p.add_run(clean(text))
        run.bold, run.italic = bold or None, italic or None
        return p

    def bullet(self, text: str):
        return self.para(text, style="List Bullet")

    def to_complete(self, what: str):
        """An « À compléter » paragraph staff replace with their own text."""
        p = self.doc.add_paragraph()
        head = p.add_run(f"{TO_COMPLETE} : ")
        head.bold = True
        tail = p.add_run(clean(what))
        tail.italic = True
        return p

    def demo_note(self):
        p = self.para(DEMO_TABLE_NOTE, italic=True)
        p.runs[0].font.color.rgb = RGBColor(0xB3, 0x40, 0x00)
        return p

    def table(self, header: list[str], rows: list[list], widths_cm: list[float] | None = None,
              demo: bool = False):
        """A « Table Grid » table, header row repeated on each page; `demo` puts the
        demonstration note above it (the cells carry their own « démo » mark)."""
        if demo:
            self.demo_note()
        k = len(header)
        widths = widths_cm or [TEXT_WIDTH_CM / k] * k
        twips = [int(w * 567) for w in widths]
        table = self.doc.add_table(rows=0, cols=k)
        table.style = self.doc.styles["Table Grid"]
        for col, w in zip(table._tbl.tblGrid.gridCol_lst, twips):
            col.w = w
        xml = [_row_xml(header, twips, self.table_style_id, header=True)]
        xml += [_row_xml(r, twips, self.table_style_id) for r in rows]
        fragment = parse_xml(f"<w:tbl {nsdecls('w')}>{''.join(xml)}</w:tbl>")
        for tr in list(fragment):
            table._tbl.append(tr)
        self.doc.add_paragraph()  # Word glues consecutive tables together without it
        return table

    def picture(self, png: bytes, caption: str):
        self.doc.add_picture(io.BytesIO(png), width=Cm(TEXT_WIDTH_CM))
        self.figures += 1
        return self.para(f"Figure {self.figures} : {caption}", style="Caption")

    def toc(self):
        """A table of contents field; Word fills it in (right click > Mettre à jour)."""
        p = self.doc.add_paragraph()
        run = p.add_run()
        begin, instr, sep, end = (OxmlElement("w:fldChar"), OxmlElement("w:instrText"),
                                  OxmlElement("w:fldChar"), OxmlElement("w:fldChar"))
        begin.set(qn("w:fldCharType"), "begin")
        instr.set(qn("xml:space"), "preserve")
        instr.text = 'TOC \\o "1-2" \\h \\z \\u'
        sep.set(qn("w:fldCharType"), "separate")
        end.set(qn("w:fldCharType"), "end")
        run._r.append(begin)
        run._r.append(instr)
        run._r.append(sep)
        p.add_run("Sommaire : clic droit puis « Mettre à jour le champ » pour l'afficher.")
        p.add_run()._r.append(end)

    def bytes(self) -> bytes:
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()


def _set_language(style, lang: str) -> None:
    rpr = style.element.get_or_add_rPr()
    node = OxmlElement("w:lang")
    node.set(qn("w:val"), lang)
    rpr.append(node)


def _row_xml(cells: list, twips: list[int], style_id: str, header: bool = False) -> str:
    tr_pr = "<w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>" if header else \
        "<w:trPr><w:cantSplit/></w:trPr>"
    bold = "<w:rPr><w:b/></w:rPr>" if header else ""
    shade = '<w:shd w:val="clear" w:color="auto" w:fill="E8EDFF"/>' if header else ""
    out = [f"<w:tr>{tr_pr}"]
    for value, w in zip(cells, twips):
        lines = clean(value).split("\n")
        runs = '<w:r><w:br/></w:r>'.join(
            f'<w:r>{bold}<w:t xml:space="preserve">{escape(line)}</w:t></w:r>' for line in lines)
        out.append(f'<w:tc><w:tcPr><w:tcW w:w="{w}" w:type="dxa"/>{shade}</w:tcPr>'
                   f'<w:p><w:pPr><w:pStyle w:val="{style_id}"/></w:pPr>{runs}</w:p></w:tc>')
    out.append("</w:tr>")
    return "".join(out)
