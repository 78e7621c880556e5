"""The « rapport annuel politique de la ville » as an editable Word document (python-docx).

Staff write this report in Word every year (CGCT art. L1111-2, décret n° 2015-1118): the
document is therefore generated as plain text in Word's own styles (Titre 1/2/3 = Heading 1/2/3,
the « Tableau » paragraph style in « Table Grid » tables, « Légende » = Caption under each
chart), so that every sentence can be edited, moved or deleted, and the « À compléter »
paragraphs mark where the narrative goes. Its parts follow the décret, in PARTS order, then
the data by sex, the method and sources, and an annex for the opinions of the conseils
citoyens and councils.

Numbers are French (tracker/fmt.py); statuses, projections and gaps come from
tracker/report_data.py, i.e. from the same methods as the pages. Demonstration values are
announced at the top, and every table holding one marks it « (démo) » and is preceded by a
note. Text from the database goes through `clean`: characters XML cannot hold are dropped and
text a spreadsheet would run as a formula (= + - @ at the start, as etl/export.py) is prefixed
with an apostrophe, since tables are often pasted from Word into a spreadsheet.

Tables are written as one XML fragment each (python-docx's cell API costs about a millisecond
a cell), which keeps a whole-contract report within a few seconds.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor

from etl.export import FORMULA_START
from tracker import fmt
from tracker import progress as pg
from tracker import projection as pj
from tracker import report_charts as charts
from tracker.report_data import ReportData, collect

#: The six parts of the décret n° 2015-1118, in order (Heading 1).
PARTS = [
    "1. Les orientations du contrat et le projet de territoire",
    "2. L'évolution de la situation des quartiers au regard des objectifs",
    "3. Les actions menées",
    "4. Les perspectives",
    "5. L'articulation des piliers",
    "6. Les actions financées par la dotation de solidarité urbaine (DSU)",
]
SEX_PART = "Données par sexe"
METHOD_PART = "Méthode et sources"
ANNEX_PART = "Annexe : avis des conseils citoyens et délibérations"
TO_COMPLETE = "À compléter"
DEMO_MARK = " (démo)"
DEMO_TABLE_NOTE = ("⚠ Ce tableau contient des valeurs de démonstration, marquées « démo » : "
                   "elles ont été générées pour montrer l'outil et ne sont pas réelles.")
TEXT_WIDTH_CM = 16.0
NO_GROUP = "Sans priorité"
QUARTIER_SERIES_NOTE = ("Séries des quartiers, sans ventilation (la ventilation par sexe est "
                        "présentée dans la partie « Données par sexe »).")
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPACES = re.compile(r"\s+")


@dataclass
class Report:
    """The generated document and what it was made from (the tests read `data`)."""

    data: ReportData
    docx: bytes

    @property
    def file_name(self) -> str:
        return f"{self.data.file_stem}.docx"


# --- Text -------------------------------------------------------------------------------------

def clean(value) -> str:
    """Text for the document: missing -> '–', XML-illegal characters dropped, formula-like
    text neutralised (a leading apostrophe, as etl/export.neutralise_formulas does)."""
    if fmt.is_missing(value):
        return "–"
    text = _ILLEGAL_XML.sub("", str(value))
    if text.startswith(FORMULA_START):
        text = "'" + text
    return text


def _one_line(value) -> str:
    return _SPACES.sub(" ", clean(value)).strip()


def value_text(value, unit, year=None, demo: bool = False) -> str:
    """« 47,5 % (2022, démo) »: the value, its year and the demonstration mark."""
    if fmt.is_missing(value):
        return "–"
    text = fmt.with_unit(value, unit)
    extra = [str(int(year))] if not fmt.is_missing(year) else []
    if demo:
        extra.append("démo")
    return f"{text} ({', '.join(extra)})" if extra else text


def gap_text(gap, unit, polarity) -> str:
    """The gap d × (Ref − QPV) in words: « en retard de 11,7 pt », « en avance de 2 pt »;
    a neutral indicator has an absolute difference, « écart de 3 pt »."""
    if fmt.is_missing(gap):
        return "–"
    points = " pt" if unit in ("percent", "rate") else ""
    size = f"{fmt.number(abs(gap), 1, trim=True)}{points}"
    if pg.polarity_sign(polarity) is None:
        return f"écart de {size}"
    if abs(gap) <= pg.TOLERANCE:
        return "aucun écart"
    return f"en retard de {size}" if gap > 0 else f"en avance de {size}"


def status_text(code) -> str:
    info = pg.STATUS_BY_CODE.get(code)
    return f"{info.icon} {info.label}" if info else "–"


def expected_cell(row: dict, unit) -> str:
    """Value expected at the target year from the SQL projection columns (as
    Projection.expected_text), or '–' when there is nothing to say."""
    if row.get("projection") in (None, "not_projectable", "achieved") \
            or fmt.is_missing(row.get("expected")) \
            or fmt.is_missing(row.get("last_year")) \
            or row["target_year"] <= row["last_year"]:
        return "–"
    half = row.get("half_band")
    band = None if fmt.is_missing(half) else (row["expected"] - half, row["expected"] + half)
    return pj.expected_text(row["expected"], band, int(row["target_year"]), unit)


# --- Document helpers -------------------------------------------------------------------------

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
        p.add_run(_one_line(text))
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


# --- Shared pieces ----------------------------------------------------------------------------

def _indicator_name(row: dict) -> str:
    label = row.get("indicator_label")
    if fmt.is_missing(label):
        label = row.get("ind_label")
    return f"{_one_line(label)} ({row['indicator_code']})"


def _quartier_series(d: ReportData) -> pd.DataFrame:
    s = d.series
    return s[s["territory_code"].isin(d.quartiers["code"]) & s["breakdown"].eq("")]


def _priorities(d: ReportData) -> list[tuple[str, str]]:
    """(code, heading) of each priority-level node in tree order, then the series with none."""
    depth = 2 if (d.nodes["depth"] >= 2).any() else 1
    nodes = d.nodes[d.nodes["depth"] == depth]
    name = d.level_name(depth, "priorité")
    out = [(c, f"{name.capitalize()} {c} – {_one_line(lbl)}")
           for c, lbl in zip(nodes["code"], nodes["label"])]
    return out + [(NO_GROUP, "Indicateurs rattachés à aucun objectif de ce niveau")]


def _counts(series: pd.DataFrame, by: str, groups: list[str]) -> pd.DataFrame:
    order = [s.code for s in pg.STATUSES]
    if series.empty:
        return pd.DataFrame(0, index=groups, columns=order)
    return pd.crosstab(series[by].fillna(NO_GROUP), series["status"]) \
        .reindex(index=groups, columns=order, fill_value=0)


def _units(d: ReportData) -> dict:
    return dict(zip(d.catalogue["code"], d.catalogue["unit"]))


def _polarities(d: ReportData) -> dict:
    return dict(zip(d.catalogue["code"], d.catalogue["polarity"]))


# --- Parts ------------------------------------------------------------------------------------

def _title(w: Writer, d: ReportData) -> None:
    info = d.info
    w.heading(f"Rapport annuel politique de la ville {d.year}", 0)
    w.para(_one_line(info["name"]), bold=True)
    scope = (f"Quartier {d.quartier_label} et ses territoires de référence"
             if d.quartier else "Tous les quartiers du contrat")
    w.para(f"Contrat {info['code']}, période {info['period_start']}–{info['period_end']}. "
           f"{scope}. Situation en {d.year} : les valeurs postérieures sont ignorées.")
    w.para(f"Document produit le {fmt.date_fr(d.now)} par Suivi QPV à partir de la base de "
           "l'observatoire. Il se modifie librement : complétez les paragraphes « À "
           "compléter », ajoutez vos analyses, supprimez ce qui ne sert pas. Le rapport est "
           "soumis pour avis aux conseils citoyens, puis débattu en conseil municipal et en "
           "conseil communautaire (CGCT, art. L1111-2 ; décret n° 2015-1118 du 3 septembre "
           "2015).", italic=True)
    if d.has_demo:
        p = w.para("⚠ Valeurs de démonstration : ce rapport contient des valeurs générées pour "
                   "montrer le fonctionnement de l'outil (mention « démo » dans les "
                   "tableaux). Elles ne sont pas réelles et ne doivent pas être diffusées comme "
                   "résultats du contrat. Commande pour les supprimer : python -m etl demo "
                   "remove.", bold=True)
        p.runs[0].font.color.rgb = RGBColor(0xB3, 0x40, 0x00)
    w.toc()


def _part1(w: Writer, d: ReportData) -> None:
    w.heading(PARTS[0], 1)
    info = d.info
    years = []
    if not fmt.is_missing(info.get("baseline_year")):
        years.append(f"situation de référence en {int(info['baseline_year'])}")
    if not fmt.is_missing(info.get("target_year")):
        years.append(f"situation visée en {int(info['target_year'])}")
    w.para(f"Le contrat « {_one_line(info['name'])} » couvre la période "
           f"{info['period_start']}–{info['period_end']}"
           + (f" ({', '.join(years)})" if years else "") + ".")
    if len(d.quartiers):
        names = []
        for q in d.quartiers.to_dict("records"):
            pop = "" if fmt.is_missing(q.get("population")) else \
                f", {fmt.number(q['population'])} habitants"
            names.append(f"{_one_line(q['label'])} ({q['code']}{pop})")
        w.para(f"Quartiers ({fmt.number(len(names))}) : " + " ; ".join(names[:60])
               + (" ; …" if len(names) > 60 else "") + ".")
    w.to_complete("rappeler le projet de territoire, les enjeux retenus avec les habitants et "
                  "les évolutions du contrat (avenants, protocole d'engagements).")
    w.heading("Arborescence des objectifs", 2)
    levels = " > ".join(d.levels) if d.levels else "niveaux non précisés"
    w.para(f"Niveaux du contrat : {levels}. Pour chaque objectif, le nombre d'indicateurs qui "
           "le mesurent (lui ou ses sous-objectifs) et le nombre de séries suivies "
           "(indicateur × territoire × ventilation) ayant au moins une valeur.")
    rows = [[_one_line(r["level"]), r["code"], _one_line(r["label"]),
             fmt.number(r["n_indicators"]), fmt.number(r["n_series"])]
            for r in d.orientations.to_dict("records")]
    if rows:
        w.table(["Niveau", "Code", "Intitulé", "Indicateurs", "Séries suivies"], rows,
                [2.6, 1.4, 8.8, 1.6, 1.6])
    else:
        w.para("Le contrat n'a pas d'arborescence d'objectifs dans la base.")


def _reference_cell(d: ReportData, latest: dict, names: dict, quartier: str,
                    indicator: str, unit) -> str:
    parts = []
    for ref in d.references.get(quartier, []):
        hit = latest.get((indicator, ref))
        if hit is not None:
            parts.append(f"{_one_line(names.get(ref, ref))} : "
                         f"{value_text(hit[1], unit, hit[0], hit[2])}")
    return "\n".join(parts) or "–"


def _part2(w: Writer, d: ReportData) -> None:
    w.heading(PARTS[1], 1)
    w.para("Pour chaque quartier et chaque priorité : dernière valeur connue, valeur des "
           "territoires de référence, écart avec la commune (ou le territoire de référence le "
           "plus proche) et son évolution, situation visée et statut au regard de la cible. "
           + QUARTIER_SERIES_NOTE)
    series = _quartier_series(d)
    prios = _priorities(d)
    if not d.detailed:
        w.para(f"Le périmètre compte {fmt.number(len(d.quartiers))} quartiers : le détail par "
               "quartier serait illisible. Le tableau donne le nombre de séries des quartiers "
               "dans chaque statut, par priorité. Produisez le rapport d'un quartier pour le "
               "détail (option --quartier, ou choix du quartier sur la page Bilan annuel).")
        counts = _counts(series.assign(priority_code=series["priority_code"].fillna(NO_GROUP)),
                         "priority_code", [c for c, _ in prios])
        counts = counts[counts.sum(axis=1) > 0]
        heads = dict(prios)
        rows = [[heads[g], *[fmt.number(v) for v in counts.loc[g]],
                 fmt.number(counts.loc[g].sum())] for g in counts.index]
        w.table(["Priorité", *[status_text(s.code) for s in pg.STATUSES], "Total"], rows)
        return
    units, polarities = _units(d), _polarities(d)
    names = dict(zip(d.territories["code"], d.territories["label"]))
    latest = {(r["indicator_code"], r["territory_code"]): (r["year"], r["value"], r["demo"])
              for r in d.latest.to_dict("records")}
    gaps = {(r["Code quartier"], r["Code indicateur"]): r for r in d.gaps.to_dict("records")}
    for q in d.quartiers.to_dict("records"):
        code = q["code"]
        mine = series[series["territory_code"] == code]
        w.heading(f"{_one_line(q['label'])} ({code})", 2)
        refs = [_one_line(names.get(r, r)) for r in d.references.get(code, [])]
        w.para("Territoires de référence : " + (", ".join(refs) if refs else "aucun") + ".")
        if mine.empty:
            w.para(f"Aucune série pour ce quartier jusqu'en {d.year}.")
            continue
        groups = mine.assign(priority_code=mine["priority_code"].fillna(NO_GROUP))
        counts = _counts(groups, "priority_code", [c for c, _ in prios])
        shown = counts[counts.sum(axis=1) > 0]
        labels = [dict(prios)[g] for g in shown.index]
        w.picture(charts.status_bars(shown, labels, f"Statut des séries – {q['label']}"),
                  f"nombre de séries de {_one_line(q['label'])} dans chaque statut, par "
                  f"priorité, en {d.year} (le détail est dans les tableaux ci-dessous).")
        for prio, heading in prios:
            part = groups[groups["priority_code"] == prio].sort_values("indicator_code")
            if part.empty:
                continue
            w.heading(heading, 3)
            rows, demo = [], False
            for r in part.to_dict("records"):
                ind, unit = r["indicator_code"], units.get(r["indicator_code"])
                hit = latest.get((ind, code))
                gap = gaps.get((code, ind))
                value = value_text(hit[1], unit, hit[0], hit[2]) if hit else "–"
                ref_cell = _reference_cell(d, latest, names, code, ind, unit)
                demo = demo or bool(r["demo"]) or "démo" in ref_cell
                rows.append([
                    _indicator_name(r), value, ref_cell,
                    gap_text(gap["Écart (points ou unités)"], unit, polarities.get(ind))
                    if gap else "–",
                    gap["Évolution de l'écart"] if gap else "–",
                    value_text(r["target"], unit, r["target_year"], bool(r["demo"]))
                    if not fmt.is_missing(r["target"]) else "–",
                    status_text(r["status"]),
                ])
            w.table(["Indicateur", "Valeur", "Territoires de référence", "Écart",
                     "Évolution de l'écart", "Situation visée", "Statut"], rows,
                    [3.9, 2.0, 3.0, 1.8, 1.7, 1.8, 1.8], demo=demo)
        w.to_complete(f"commenter l'évolution de {_one_line(q['label'])} (faits marquants, "
                      "explications, données qualitatives).")


def _part3(w: Writer, d: ReportData) -> None:
    w.heading(PARTS[2], 1)
    w.para("Les actions prévues par le contrat sous chaque objectif, avec les indicateurs de "
           f"réalisation qui en rendent compte (dernière valeur jusqu'en {d.year} dans chaque "
           "quartier).")
    nodes = d.nodes.set_index("code")
    actions = d.actions.groupby("parent_code", sort=False)
    owned = d.action_indicators.groupby("objective_code", sort=False)
    action_parents = set(d.actions["parent_code"])
    owners = set(d.action_indicators["objective_code"])
    shown = [c for c in d.nodes["code"] if c in action_parents or c in owners]
    if not shown:
        w.para("Aucune action ni aucun indicateur de réalisation n'est décrit dans la base pour "
               "ce contrat.")
    units = _units(d)
    for code in shown:
        node = nodes.loc[code]
        w.heading(f"{_one_line(node['level']).capitalize()} {code} – {_one_line(node['label'])}",
                  2)
        if code in action_parents:
            w.para("Actions prévues :")
            for a in actions.get_group(code).to_dict("records"):
                w.bullet(f"{a['code']} – {_one_line(a['label'])}")
        if code in owners:
            rows, demo = [], False
            part = owned.get_group(code).sort_values(["indicator_code", "territory_code"])
            for r in part.to_dict("records"):
                unit = units.get(r["indicator_code"])
                has_row = not fmt.is_missing(r.get("territory_code"))
                is_demo = bool(r.get("demo")) if has_row else False
                demo = demo or is_demo
                rows.append([
                    _indicator_name(r),
                    _one_line(r["territory_label"]) if has_row else "–",
                    value_text(r["value"], unit, r["year"], is_demo) if has_row else
                    "aucune valeur",
                    value_text(r["target"], unit, r["target_year"], is_demo)
                    if has_row and not fmt.is_missing(r["target"]) else "–",
                    status_text(r["status"]) if has_row else "–",
                ])
            w.table(["Indicateur de réalisation", "Quartier", "Réalisé", "Situation visée",
                     "Statut"], rows, [6.0, 2.8, 2.4, 2.4, 2.4], demo=demo)
        else:
            w.para("Aucun indicateur de réalisation n'est rattaché à cet objectif.")
        w.to_complete(f"actions menées en {d.year}, porteurs, publics touchés, moyens "
                      "mobilisés.")


def _projection_rows(d: ReportData, part: pd.DataFrame) -> tuple[list[list], bool]:
    units = _units(d)
    rows, demo = [], False
    for r in part.to_dict("records"):
        unit = units.get(r["indicator_code"])
        is_demo = bool(r["demo"])
        demo = demo or is_demo
        rows.append([_indicator_name(r), _one_line(r["territory_label"]),
                     value_text(r["value"], unit, r["year"], is_demo)
                     if not fmt.is_missing(r["value"]) else "–",
                     value_text(r["target"], unit, r["target_year"], is_demo)
                     if not fmt.is_missing(r["target"]) else "–",
                     status_text(r["status"]), _one_line(r["projection_short"]),
                     expected_cell(r, unit)])
    return rows, demo


def _part4(w: Writer, d: ReportData) -> None:
    from tracker import bilan as tb

    w.heading(PARTS[3], 1)
    series = _quartier_series(d)
    assessed = series[series["status"] != "not_assessable"]
    w.para(tb.projection_line(series) + " " + QUARTIER_SERIES_NOTE)
    w.para(pj.method_summary(), italic=True)
    good = assessed[assessed["status"].isin(["achieved", "on_track"])]
    late = assessed[~assessed["status"].isin(["achieved", "on_track"])]
    header = ["Indicateur", "Quartier", "Réalisé", "Situation visée", "Statut",
              "Au rythme actuel", "Valeur attendue à l'échéance"]
    widths = [3.9, 2.1, 2.0, 2.0, 2.0, 2.0, 2.0]
    w.heading("Ce qui est atteint ou en bonne voie", 2)
    if good.empty:
        w.para("Aucune série des quartiers n'est atteinte ou en bonne voie.")
    else:
        rows, demo = _projection_rows(d, good.sort_values(["indicator_code", "territory_code"]))
        w.table(header, rows, widths, demo=demo)
    w.heading("Ce qui demande une accélération", 2)
    if late.empty:
        w.para("Aucune série des quartiers ne demande d'accélération.")
    else:
        order = {s.code: i for i, s in enumerate(pg.STATUSES)}
        late = late.assign(_o=late["status"].map(order)) \
            .sort_values(["_o", "indicator_code", "territory_code"])
        rows, demo = _projection_rows(d, late)
        w.table(header, rows, widths, demo=demo)
        panels = [{"title": f"{p['indicator_code']} – {p['territory_label']}",
                   "points": list(p["projection"].points),
                   "target_year": p["projection"].target_year,
                   "target": p["projection"].target, "line": p["projection"].line()}
                  for p in d.panels]
        if panels:
            w.picture(charts.projection_panels(panels, [fmt.unit_label(p["unit"])
                                                        for p in d.panels]),
                      "valeurs réalisées (trait plein), projection au rythme actuel "
                      "(pointillés) et marge d'incertitude (zone colorée, à partir de trois "
                      "valeurs), situation visée (étoile) de séries qui demandent une "
                      "accélération : " + " ; ".join(p["title"] for p in panels) + ".")
    w.to_complete(f"priorités pour {d.year + 1}, actions à renforcer ou à réorienter, "
                  "moyens envisagés.")


def _part5(w: Writer, d: ReportData) -> None:
    w.heading(PARTS[4], 1)
    series = _quartier_series(d)
    pillars = d.nodes[d.nodes["depth"] == 1]
    name = d.level_name(1, "pilier")
    groups = pillars["code"].tolist() + [NO_GROUP]
    counts = _counts(series.assign(pillar_code=series["pillar_code"].fillna(NO_GROUP)),
                     "pillar_code", groups)
    counts = counts[counts.sum(axis=1) > 0]
    heads = {**dict(zip(pillars["code"], pillars["label"])), NO_GROUP: "sans rattachement"}
    w.para(f"Répartition des séries des quartiers par statut pour chaque {name}, côte à côte. "
           + QUARTIER_SERIES_NOTE)
    if counts.empty:
        w.para("Aucune série des quartiers n'a de statut.")
    else:
        header = ["Statut", *[f"{g} – {_one_line(heads[g])}" for g in counts.index]]
        rows = [[status_text(s.code), *[fmt.number(counts.loc[g, s.code])
                                        for g in counts.index]] for s in pg.STATUSES]
        rows.append(["Total", *[fmt.number(counts.loc[g].sum()) for g in counts.index]])
        k = len(counts.index)
        w.table(header, rows, [4.0, *[12.0 / k] * k])
        w.picture(charts.status_bars(counts, [f"{g} – {heads[g]}" for g in counts.index],
                                     f"Statut des séries par {name}"),
                  f"nombre de séries des quartiers dans chaque statut, par {name} "
                  "(mêmes nombres que le tableau ci-dessus).")
    shared = _shared_indicators(d)
    if shared:
        w.para(f"Indicateurs qui mesurent des objectifs de plusieurs {name}s :")
        for text in shared:
            w.bullet(text)
    else:
        w.para(f"Aucun indicateur ne mesure des objectifs de plusieurs {name}s.")
    w.to_complete("articulation du contrat avec les autres politiques et dispositifs (PLH, "
                  "PEDT, contrat local de santé, PRE, cités éducatives…) et coordination des "
                  "partenaires.")


def _shared_indicators(d: ReportData) -> list[str]:
    """Indicators measuring objectives of several pillars (catalogue « objectifs » links)."""
    pillar_of = {row.code: row.path[0] for row in d.nodes.itertuples()}
    out = []
    for r in d.catalogue.dropna(subset=["objectifs"]).itertuples():
        codes = [c.strip() for c in str(r.objectifs).split(";") if c.strip()]
        pillars = sorted({pillar_of[c] for c in codes if c in pillar_of})
        if len(pillars) > 1:
            out.append(f"{r.code} – {_one_line(r.label)} ({', '.join(pillars)})")
    return out


def _part6(w: Writer, d: ReportData) -> None:
    w.heading(PARTS[5], 1)
    if d.dsu_actions.empty and d.dsu_values.empty:
        w.to_complete("aucune action n'est identifiée dans la base comme financée par la "
                      "dotation de solidarité urbaine et de cohésion sociale (DSU). Décrivez ici "
                      f"les actions financées en {d.year}, leur montant et leurs résultats. "
                      "Pour qu'elles figurent automatiquement dans ce rapport, ajoutez la "
                      "mention « DSU » au libellé ou à la source de l'action (onglet "
                      "arborescence du classeur), ou chargez les montants avec la ventilation "
                      "« financeur » et la modalité « DSU ».")
        return
    parents = dict(zip(d.nodes["code"], d.nodes["label"]))
    if not d.dsu_actions.empty:
        w.para("Actions du contrat identifiées comme financées par la DSU (mention « DSU » "
               "dans leur libellé ou leur source) :")
        rows = [[f"{r['code']} – {_one_line(r['label'])}",
                 f"{r['parent_code']} – {_one_line(parents.get(r['parent_code'], ''))}",
                 _one_line(r["source"])] for r in d.dsu_actions.to_dict("records")]
        w.table(["Action", "Objectif", "Mention"], rows, [6.0, 5.0, 5.0])
    if not d.dsu_values.empty:
        units = _units(d)
        labels = dict(zip(d.catalogue["code"], d.catalogue["label"]))
        names = dict(zip(d.territories["code"], d.territories["label"]))
        rows, demo = [], False
        for r in d.dsu_values.sort_values(["indicator_code", "territory_code", "year"]) \
                .to_dict("records"):
            demo = demo or bool(r["demo"])
            rows.append([f"{_one_line(labels.get(r['indicator_code']))} "
                         f"({r['indicator_code']})",
                         _one_line(names.get(r["territory_code"], r["territory_code"])),
                         f"{_one_line(r['breakdown'])} : {_one_line(r['modality'])}",
                         value_text(r["value"], units.get(r["indicator_code"]), r["year"],
                                    bool(r["demo"]))])
        w.para("Valeurs ventilées par financeur, part de la DSU :")
        w.table(["Indicateur", "Territoire", "Financeur", "Valeur"], rows,
                [6.0, 3.5, 3.0, 3.5], demo=demo)
    w.to_complete("compléter la liste, les montants et les résultats des actions financées "
                  "par la DSU.")


def _sex_part(w: Writer, d: ReportData) -> None:
    w.heading(SEX_PART, 1)
    w.para("La loi demande que les données du rapport soient présentées par sexe. Pour "
           "chaque indicateur ventilé par sexe : dernière année où les deux valeurs sont "
           "connues (à défaut, la dernière année connue), valeur des femmes (F), des hommes "
           "(H) et écart F − H.")
    units = _units(d)
    labels = dict(zip(d.catalogue["code"], d.catalogue["label"]))
    names = dict(zip(d.territories["code"], d.territories["label"]))
    if d.sex.empty:
        w.para(f"Aucun indicateur n'a de valeur ventilée par sexe jusqu'en {d.year} pour ce "
               "périmètre.")
    else:
        rows = []
        for r in d.sex.to_dict("records"):
            unit = units.get(r["indicator_code"])
            mark = DEMO_MARK if r["demo"] else ""
            gap = r["gap"]
            rows.append([f"{_one_line(labels.get(r['indicator_code']))} "
                         f"({r['indicator_code']})",
                         _one_line(names.get(r["territory_code"], r["territory_code"])),
                         str(int(r["year"])),
                         fmt.with_unit(r["F"], unit) + (mark if not fmt.is_missing(r["F"])
                                                        else ""),
                         fmt.with_unit(r["H"], unit) + (mark if not fmt.is_missing(r["H"])
                                                        else ""),
                         "–" if fmt.is_missing(gap) else
                         fmt.number(gap, 1, trim=True) + (" pt" if unit in ("percent", "rate")
                                                          else "")])
        w.table(["Indicateur", "Territoire", "Année", "Femmes (F)", "Hommes (H)",
                 "Écart F − H"], rows, [5.6, 3.0, 1.2, 2.1, 2.1, 2.0],
                demo=bool(d.sex["demo"].any()))
    w.heading("Indicateurs sans ventilation par sexe", 2)
    if d.sex_missing.empty:
        w.para("Tous les indicateurs chiffrés ont une ventilation par sexe.")
    else:
        w.para(f"{fmt.number(len(d.sex_missing))} indicateur(s) chiffré(s) sans valeur ventilée "
               f"par sexe jusqu'en {d.year} :")
        for r in d.sex_missing.to_dict("records"):
            w.bullet(f"{r['code']} – {_one_line(r['label'])}"
                     + (" (ventilation par sexe prévue, non renseignée)" if r["planned"] else ""))
    w.to_complete("commenter les écarts entre femmes et hommes et les actions menées pour "
                  "l'égalité.")


def _method_part(w: Writer, d: ReportData) -> None:
    w.heading(METHOD_PART, 1)
    w.heading("Méthode", 2)
    w.para(pg.method_summary(d.thresholds))
    w.para(pj.method_summary())
    w.para("Écart avec la commune (loi n° 2014-173, art. 1) : pour les indicateurs en "
           "pourcentage, taux, ratio ou score, écart = d × (valeur du territoire − valeur du "
           "quartier), en points ; « en retard » quand le quartier fait moins bien que la "
           "commune. L'écart se réduit ou se creuse quand il varie de plus de "
           f"{fmt.number(pg.TREND_POINTS)} point par an entre la première et la dernière année "
           "connues. Les effectifs ne sont pas comparés bruts.")
    w.para("Une cellule vide est une valeur manquante, jamais un zéro. Les valeurs marquées "
           "« démo » sont des valeurs de démonstration générées, non réelles.")
    w.heading("Sources des données", 2)
    if d.info.get("source"):
        w.para(f"Contrat : {_one_line(d.info['source'])}")
    if d.sources.empty:
        w.para("Aucune valeur chargée.")
    else:
        rows = [[_one_line(r["Source"]), fmt.number(r["Valeurs (nombre)"]),
                 str(int(r["Première année"])), str(int(r["Dernière année"])),
                 fmt.number(r["Dont valeurs de démonstration"])]
                for r in d.sources.to_dict("records")]
        w.table(["Source", "Valeurs", "Première année", "Dernière année",
                 "Dont démonstration"], rows, [7.6, 2.0, 2.1, 2.1, 2.2],
                demo=bool((d.sources["Dont valeurs de démonstration"] > 0).any()))
    if d.last_load is not None and not fmt.is_missing(d.last_load):
        w.para(f"Dernier chargement de données : {fmt.date_fr(d.last_load)}.")


def _annex(w: Writer, d: ReportData) -> None:
    w.heading(ANNEX_PART, 1)
    w.para("Le rapport est présenté aux conseils citoyens pour avis, puis débattu en conseil "
           "municipal et en conseil communautaire. Insérez ci-dessous les avis et les extraits "
           "de délibération.")
    quartiers = d.quartiers.to_dict("records")[:QUARTIER_ANNEX_LIMIT]
    for q in quartiers:
        w.heading(f"Avis du conseil citoyen – {_one_line(q['label'])}", 2)
        w.to_complete("avis du conseil citoyen (date, texte).")
    if len(d.quartiers) > QUARTIER_ANNEX_LIMIT:
        w.heading("Avis des autres conseils citoyens", 2)
        w.to_complete("avis des autres conseils citoyens.")
    kinds = d.territories.set_index("code")["kind"]
    communes = [c for c in d.territories["code"] if kinds[c] == "commune"][:QUARTIER_ANNEX_LIMIT]
    epcis = [c for c in d.territories["code"] if kinds[c] == "epci"][:QUARTIER_ANNEX_LIMIT]
    names = dict(zip(d.territories["code"], d.territories["label"]))
    for c in communes or [None]:
        w.heading("Délibération du conseil municipal"
                  + (f" – {_one_line(names[c])}" if c else ""), 2)
        w.to_complete("date et extrait de la délibération.")
    for c in epcis or [None]:
        w.heading("Délibération du conseil communautaire"
                  + (f" – {_one_line(names[c])}" if c else ""), 2)
        w.to_complete("date et extrait de la délibération.")


QUARTIER_ANNEX_LIMIT = 30


# --- Entry points -----------------------------------------------------------------------------

def report_docx(d: ReportData) -> bytes:
    w = Writer()
    w.doc.core_properties.title = f"Rapport annuel politique de la ville {d.year} – " \
                                  f"{d.info['code']}"
    w.doc.core_properties.language = "fr-FR"
    w.doc.core_properties.author = "Suivi QPV"
    _title(w, d)
    for part in (_part1, _part2, _part3, _part4, _part5, _part6, _sex_part, _method_part,
                 _annex):
        part(w, d)
    return w.bytes()


def build_report(con, contract: str, year: int, quartier: str | None = None) -> Report:
    """The report of a contract, or of one quartier and its reference territories, as it
    stood in `year`. Raises ValueError (French message) for an unknown contract or quartier."""
    data = collect(con, contract, year, quartier)
    return Report(data=data, docx=report_docx(data))


def write_report(con, contract: str, year: int, quartier: str | None, out) -> Path:
    out = Path(out)
    if out.suffix.lower() != ".docx":
        raise ValueError(f"Extension « {out.suffix} » non prise en charge : le rapport est un "
                         "document Word (.docx).")
    out.write_bytes(build_report(con, contract, year, quartier).docx)
    return out
