"""The rapport annuel politique de la ville (Word), generated from a real database and reopened
with python-docx: parts in the décret's order, figures equal to the database and the progress
method, data by sex, demonstration values flagged, formula-like text neutralised."""

from __future__ import annotations

import csv
import functools
import io

import pytest
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.table import Table
from docx.text.paragraph import Paragraph

from etl.pipeline import load
from suivi import cli
from suivi.core import fmt
from suivi.core import progress as pg
from suivi.views.report import data as rd
from suivi.views.report import docx as rdx
from tests.conftest import connection
from tests.workbooks import write_xlsx

CONTRACT = "AMBOISE-2015"
QPV, OTHER_QPV = "AMB-QPV-VE", "AMB-QPV-PO"
YEAR = 2023
BREVET = "AMB-P3-02"       # « Taux d'obtention du brevet », percent, higher is better, demo values
EVIL_INDICATOR = "AMB-P3-09"
EVIL = '=HYPERLINK("http://exemple.invalid","cliquer")'
FORMULA_START = ("=", "+", "-", "@")
# Values by sex loaded on top of the embedded default (which has none for Amboise):
# (indicator, territory, year, modality, value). For the brevet in La Verrerie, 2023 has F only:
# the report must show 2022, the latest year with both.
SEX_VALUES = [
    (BREVET, QPV, 2022, "F", 50.1), (BREVET, QPV, 2022, "H", 44.9), (BREVET, QPV, 2023, "F", 51),
    (BREVET, "AMB-COM", 2022, "F", 62.0), (BREVET, "AMB-COM", 2022, "H", 58.0),
    ("AMB-P1-01", QPV, 2021, "F", 48), ("AMB-P1-01", QPV, 2021, "H", 52),
    ("AMB-P1-01", OTHER_QPV, 2021, "femmes", 30), ("AMB-P1-01", OTHER_QPV, 2021, "hommes", 35),
]


# --- Helpers ------------------------------------------------------------------------------------

def blocks(data: bytes) -> list:
    """Paragraphs and tables of the document body, in order."""
    doc = Document(io.BytesIO(data))
    out = []
    for child in doc.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            out.append(Paragraph(child, doc))
        elif tag == "tbl":
            out.append(Table(child, doc))
    return out


@functools.lru_cache(maxsize=8)
def _style_names(part) -> dict:
    names = {s.style_id: s.name for s in part.styles}
    names[None] = part.styles.default(WD_STYLE_TYPE.PARAGRAPH).name
    return names


def style_name(b) -> str | None:
    """A paragraph's style name, from its style id. python-docx's `Paragraph.style` scans every
    style of the document for the default one at each read: 2 s of a whole-report test."""
    if not isinstance(b, Paragraph):
        return None
    names = _style_names(b.part)
    return names.get(b._p.style, names[None])


def headings(items, level: int) -> list[str]:
    return [b.text for b in items if isinstance(b, Paragraph)
            and style_name(b) == f"Heading {level}"]


def section(items, title: str) -> list:
    """The blocks between the Heading 1 `title` and the next Heading 1."""
    start = next(i for i, b in enumerate(items) if isinstance(b, Paragraph)
                 and style_name(b) == "Heading 1" and b.text == title)
    end = next((i for i in range(start + 1, len(items)) if isinstance(items[i], Paragraph)
                and style_name(items[i]) == "Heading 1"), len(items))
    return items[start + 1:end]


def subsection(items, title: str, level: int = 2) -> list:
    start = next(i for i, b in enumerate(items) if isinstance(b, Paragraph)
                 and style_name(b) == f"Heading {level}" and b.text == title)
    end = next((i for i in range(start + 1, len(items)) if isinstance(items[i], Paragraph)
                and style_name(items[i]) in {f"Heading {k}" for k in range(1, level + 1)}),
               len(items))
    return items[start + 1:end]


def table_rows(table: Table) -> list[dict]:
    rows = [[c.text for c in r.cells] for r in table.rows]
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def row_of(items, code: str) -> dict:
    found = [r for t in items if isinstance(t, Table) for r in table_rows(t)
             if next(iter(r.values())).endswith(f"({code})")]
    assert len(found) == 1, found
    return found[0]


def all_texts(items) -> list[str]:
    out = []
    for b in items:
        if isinstance(b, Paragraph):
            out.append(b.text)
        else:
            out += [c.text for r in b.rows for c in r.cells]
    return out


def expected_brevet(db, quartier: str) -> dict:
    """Value, target, gap and status of the brevet series straight from the database and the
    progress method, as the report must show them."""
    with connection(db, read_only=True) as con:
        def latest(territory, nature, up_to=YEAR, after=0):
            return con.first("""
                SELECT year, value, status FROM observation WHERE indicator_code = ?
                  AND territory_code = ? AND nature = ? AND breakdown = '' AND year <= ?
                  AND year > ? AND value IS NOT NULL ORDER BY year DESC LIMIT 1""",
                               [BREVET, territory, nature, up_to, after])
        b, B, _ = latest(quartier, "reference", 9999)
        T, C, _ = latest(quartier, "cible", 9999)
        t, V, value_status = latest(quartier, "realise", after=b)
        polarity = con.first("SELECT polarity FROM indicator WHERE code = ?",
                               [BREVET])[0]
        both = con.rows("""
            SELECT q.year, q.value, c.value FROM observation q JOIN observation c
              ON c.indicator_code = q.indicator_code AND c.year = q.year
             AND c.territory_code = 'COM-37003' AND c.nature = 'realise' AND c.breakdown = ''
            WHERE q.indicator_code = ? AND q.territory_code = ? AND q.nature = 'realise'
              AND q.breakdown = '' AND q.year <= ? ORDER BY q.year""",
                           [BREVET, quartier, YEAR])
    a = pg.assess(b, B, T, C, t, V, polarity)
    gaps = [(y, pg.gap(q, c, polarity).gap) for y, q, c in both]
    trend = pg.gap_trend(gaps)
    gap = gaps[-1][1]
    assert value_status == "demo" and a.status != "not_assessable"
    return {
        "Valeur": f"{fmt.percent(V)} ({t}, démo)",
        "Situation visée": f"{fmt.percent(C)} ({T}, démo)",
        "Écart": f"en retard de {fmt.number(gap, 1, trim=True)} pt" if gap > 0 else
        f"en avance de {fmt.number(-gap, 1, trim=True)} pt",
        "Évolution de l'écart": trend.label,
        "Statut": f"{a.icon} {a.label}",
    }


@pytest.fixture
def report_db(default_db, tmp_path):
    """The embedded default plus values by sex, a formula-like indicator label and an action
    tagged as funded by the DSU, loaded through the real ETL."""
    with connection(default_db, read_only=True) as con:
        unit, polarity, kind = con.first(
            "SELECT unit, polarity, type FROM indicator WHERE code = ?",
            [EVIL_INDICATOR])
        links = ";".join(r[0] for r in con.rows(
            "SELECT node_code FROM indicator_node WHERE indicator_code = ? ORDER BY 1",
            [EVIL_INDICATOR]))
        node = con.first("SELECT parent_code, level, category, label FROM node "
                           "WHERE contract_code = ? AND code = '2-1.d'", [CONTRACT])
    values = [["indicateur", "territoire", "annee", "nature", "valeur", "ventilation",
               "modalite", "source"]]
    values += [[ind, terr, year, "realise", value, "sexe", sex, "Test (par sexe)"]
               for ind, terr, year, sex, value in SEX_VALUES]
    values += [["AMB-ARS-05", QPV, 2023, "realise", 3, "financeur", "DSU", "Test (DSU)"],
               ["AMB-ARS-05", QPV, 2023, "realise", 5, "financeur", "ARS", "Test (ARS)"]]
    path = write_xlsx(tmp_path / "ajouts.xlsx", {
        "arborescence": [["code", "parent", "niveau", "categorie", "libelle", "source",
                          "contrat"],
                         ["2-1.d", *node, "Financement DSU 2023 (délibération du 12 mars)",
                          CONTRACT]],
        "valeurs": values,
    })
    # A CSV, because openpyxl would store a text starting with "=" as a formula.
    label = tmp_path / "indicateurs.csv"
    with open(label, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow(["code", "libelle", "unite", "polarite", "type", "objectifs",
                         "contrat"])
        writer.writerow([EVIL_INDICATOR, EVIL, unit, polarity, kind, links, CONTRACT])
    for file in (path, label):
        checked, result = load(file, db=default_db)
        assert checked.ok, checked.report.render()
        assert result is not None
    return default_db


# --- The whole contract ---------------------------------------------------------------------------

def test_whole_contract_report(report_db):
    with connection(report_db, read_only=True) as con:
        report = rdx.build_report(con, CONTRACT, YEAR)
    assert report.file_name == f"rapport-{CONTRACT}-{YEAR}.docx"
    items = blocks(report.docx)

    # The six parts of the décret, in order, then data by sex, method and sources, annex.
    assert headings(items, 1) == [*rdx.PARTS, rdx.SEX_PART, rdx.METHOD_PART, rdx.ANNEX_PART]
    assert style_name(items[0]) == "Title" and items[0].text.endswith(str(YEAR))

    # Part 1: the tree with its counts.
    part1 = section(items, rdx.PARTS[0])
    tree = table_rows(next(b for b in part1 if isinstance(b, Table)))
    assert [r["Code"] for r in tree][:3] == ["P1", "1", "1-1"]
    with connection(report_db, read_only=True) as con:
        n_p3 = con.first("""SELECT count(DISTINCT indicator_code) FROM indicator_node
                              WHERE node_code IN ('3', '3-1', '3-2', '3-3')""")[0]
    assert next(r for r in tree if r["Code"] == "3")["Indicateurs"] == str(n_p3)

    # Part 2: one table per priority for each quartier; the brevet row of La Verrerie equals
    # the database and `assess`.
    part2 = section(items, rdx.PARTS[1])
    assert [h for h in headings(part2, 2)] == ["La Verrerie (AMB-QPV-VE)",
                                               "Patte d'Oie / Malétrenne / Plaisance (AMB-QPV-PO)"]
    for quartier, title in ((QPV, "La Verrerie (AMB-QPV-VE)"),
                            (OTHER_QPV, "Patte d'Oie / Malétrenne / Plaisance (AMB-QPV-PO)")):
        mine = subsection(part2, title)
        assert sum(isinstance(b, Table) for b in mine) == 8  # the 8 priorities of Amboise
        row = row_of(mine, BREVET)
        expected = expected_brevet(report_db, quartier)
        assert {k: row[k] for k in expected} == expected
        assert "Amboise : " in row["Territoires de référence"]
    assert any(style_name(b) == "Caption" for b in part2 if isinstance(b, Paragraph))

    # Part 3: actions under their objective, réalisation indicators with their values.
    part3 = section(items, rdx.PARTS[2])
    actions = subsection(part3, "Objectif spécifique 2-1 – Développer des démarches et des "
                                "lieux favorisant l'entrepreneuriat par les habitants des "
                                "quartiers")
    assert "2-1.d – Coffee Job." in [b.text for b in actions if isinstance(b, Paragraph)]

    # Part 4: projection sentence and tables; part 5: pillars side by side.
    part4 = section(items, rdx.PARTS[3])
    assert part4[0].text.startswith("Au rythme actuel")
    late = table_rows(next(b for b in subsection(part4, "Ce qui demande une accélération")
                           if isinstance(b, Table)))
    assert {r["Au rythme actuel"] for r in late} & {"pas à ce rythme"}
    part5 = section(items, rdx.PARTS[4])
    pillars = table_rows(next(b for b in part5 if isinstance(b, Table)))
    assert list(pillars[0])[1:] == ["P1 – Emploi et développement économique",
                                    "P2 – Cohésion sociale", "P3 – Cadre de vie",
                                    "P4 – Valeurs de la République et de la citoyenneté"]
    assert [r["Statut"] for r in pillars] == [f"{s.icon} {s.label}" for s in pg.STATUSES] + \
        ["Total"]

    # Part 6: the tagged action.
    part6 = section(items, rdx.PARTS[5])
    dsu = table_rows(next(b for b in part6 if isinstance(b, Table)))
    assert dsu == [{"Action": "2-1.d – Coffee Job.",
                    "Objectif": "2-1 – Développer des démarches et des lieux favorisant "
                                "l'entrepreneuriat par les habitants des quartiers",
                    "Mention": "Financement DSU 2023 (délibération du 12 mars)"}]
    funded = [table_rows(b) for b in part6 if isinstance(b, Table)][1]
    assert [(r["Financeur"], r["Valeur"]) for r in funded] == [("financeur : DSU", "3 (2023)")]
    assert funded[0]["Indicateur"].endswith("(AMB-ARS-05)")

    # Data by sex: each indicator with a `sexe` breakdown and its F/H values.
    sex = section(items, rdx.SEX_PART)
    rows = table_rows(next(b for b in sex if isinstance(b, Table)))
    shown = {(r["Indicateur"].rsplit("(", 1)[1].rstrip(")"), r["Territoire"]):
             (r["Année"], r["Femmes (F)"], r["Hommes (H)"], r["Écart F − H"]) for r in rows}
    assert shown == {
        (BREVET, "La Verrerie"): ("2022", fmt.percent(50.1), fmt.percent(44.9), "5,2 pt"),
        (BREVET, "Amboise"): ("2022", fmt.percent(62), fmt.percent(58), "4 pt"),
        ("AMB-P1-01", "La Verrerie"): ("2021", "48", "52", "\u22124"),
        ("AMB-P1-01", "Patte d'Oie / Malétrenne / Plaisance"): ("2021", "30", "35", "\u22125"),
    }
    missing = [b.text for b in subsection(sex, "Indicateurs sans ventilation par sexe")
               if isinstance(b, Paragraph) and style_name(b) == "List Bullet"]
    assert any(t.startswith("AMB-P3-01 – ") for t in missing)
    assert not any(t.startswith((f"{BREVET} – ", "AMB-P1-01 – ")) for t in missing)

    # Annex: empty headed sections to fill in.
    annex = section(items, rdx.ANNEX_PART)
    assert headings(annex, 2) == ["Avis du conseil citoyen – La Verrerie",
                                  "Avis du conseil citoyen – Patte d'Oie / Malétrenne / "
                                  "Plaisance",
                                  "Délibération du conseil municipal – Amboise",
                                  "Délibération du conseil communautaire – CC du Val d'Amboise"]
    assert all(b.text.startswith(rdx.TO_COMPLETE) for b in annex[1:]
               if isinstance(b, Paragraph) and style_name(b) == "Normal")

    # Demonstration values: announced at the top, marked in every table that holds them,
    # each such table preceded by the note; tables without them carry no note.
    assert any("Valeurs de démonstration" in b.text for b in items[:8]
               if isinstance(b, Paragraph))
    for i, b in enumerate(items):
        if isinstance(b, Table):
            cells = [c.text for r in b.rows[1:] for c in r.cells]
            marked = any("démo" in c for c in cells)
            noted = isinstance(items[i - 1], Paragraph) and items[i - 1].text == \
                rdx.DEMO_TABLE_NOTE
            if marked:
                assert noted, cells[:3]
    sex_table = next(i for i, b in enumerate(items) if isinstance(b, Table)
                     and b.rows[0].cells[0].text == "Indicateur"
                     and b.rows[0].cells[-1].text == "Écart F − H")
    assert items[sex_table - 1].text != rdx.DEMO_TABLE_NOTE  # loaded as real values

    # No formula-like text left active; the formula-like label is kept, neutralised.
    texts = all_texts(items)
    assert not [t for t in texts if t.startswith(FORMULA_START)]
    assert any(t.startswith(f"'{EVIL}") for t in texts)
    assert not any(t.startswith(EVIL) for t in texts)

    # Charts: embedded PNG images, each with a caption.
    doc = Document(io.BytesIO(report.docx))
    images = [r for r in doc.part.rels.values() if r.reltype.endswith("/image")]
    captions = [b.text for b in items if isinstance(b, Paragraph) and style_name(b) == "Caption"]
    assert len(images) == len(captions) >= 4  # 2 quartiers, projections, pillars
    assert all(r.target_part.blob.startswith(b"\x89PNG") for r in images)


def test_report_of_one_quartier(report_db):
    with connection(report_db, read_only=True) as con:
        report = rdx.build_report(con, CONTRACT, YEAR, QPV)
    assert report.file_name == f"rapport-{CONTRACT}-{YEAR}-{QPV}.docx"
    items = blocks(report.docx)
    assert headings(items, 1) == [*rdx.PARTS, rdx.SEX_PART, rdx.METHOD_PART, rdx.ANNEX_PART]
    part2 = section(items, rdx.PARTS[1])
    assert headings(part2, 2) == ["La Verrerie (AMB-QPV-VE)"]
    expected = expected_brevet(report_db, QPV)
    row = row_of(part2, BREVET)
    assert {k: row[k] for k in expected} == expected
    # The other quartier is out of scope (its name may still appear in objective labels).
    assert "AMB-QPV-PO" not in "\n".join(all_texts(items))
    quartier_cells = {r["Quartier"] for part in rdx.PARTS[2:4]
                      for t in section(items, part) if isinstance(t, Table)
                      for r in table_rows(t) if "Quartier" in r}
    assert quartier_cells == {"La Verrerie", "–"}  # « – »: a réalisation indicator without
    # any value in the quartier
    sex_rows = table_rows(next(b for b in section(items, rdx.SEX_PART) if isinstance(b, Table)))
    assert {r["Territoire"] for r in sex_rows} == {"La Verrerie", "Amboise"}
    assert not [t for t in all_texts(items) if t.startswith(FORMULA_START)]


def test_without_tagged_actions_the_dsu_part_asks_to_complete(default_db):
    with connection(default_db, read_only=True) as con:
        report = rdx.build_report(con, CONTRACT, 2021, OTHER_QPV)
    part6 = section(blocks(report.docx), rdx.PARTS[5])
    assert not any(isinstance(b, Table) for b in part6)
    assert [b.text.split(" : ")[0] for b in part6] == [rdx.TO_COMPLETE]
    assert "mention « DSU »" in part6[0].text


def test_projection_in_the_perspectives_equals_the_function(default_db):
    """The « Au rythme actuel » cells are the projection's short text for each series, and the
    chart's series are drawn from suivi.core.projection.project."""
    from tests.test_projection import python_projections

    with connection(default_db, read_only=True) as con:
        report = rdx.build_report(con, CONTRACT, YEAR, QPV)
    expected = python_projections(default_db, CONTRACT, YEAR)
    part4 = section(blocks(report.docx), rdx.PARTS[3])
    rows = [r for t in part4 if isinstance(t, Table) for r in table_rows(t)]
    assert len(rows) > 40
    for r in rows:
        code = r["Indicateur"].rsplit("(", 1)[1].rstrip(")")
        p = expected[(code, QPV, "", "")]
        assert r["Au rythme actuel"] == p.short
        text = p.expected_text(report.data.catalogue.set_index("code").loc[code, "unit"])
        assert r["Valeur attendue à l'échéance"] == (text or "–")
    for panel in report.data.panels:
        p = expected[(panel["indicator_code"], QPV, "", "")]
        assert panel["projection"] == p


def test_many_quartiers_are_summarised(default_db, monkeypatch):
    monkeypatch.setattr(rd, "QUARTIER_LIMIT", 1)
    with connection(default_db, read_only=True) as con:
        report = rdx.build_report(con, CONTRACT, YEAR)
    part2 = section(blocks(report.docx), rdx.PARTS[1])
    assert headings(part2, 2) == []
    counts = table_rows(next(b for b in part2 if isinstance(b, Table)))
    series = report.data.series
    quartiers = series[series["territory_code"].isin([QPV, OTHER_QPV])
                       & series["breakdown"].eq("")]
    assert sum(int(r["Total"]) for r in counts) == len(quartiers)


def test_cli_writes_the_report(default_db, tmp_path, capsys):
    out = tmp_path / "rapport.docx"
    code = cli.main(["--db", str(default_db), "rapport", "--contract", CONTRACT, "--year",
                     str(YEAR), "--quartier", QPV, "--out", str(out)])
    assert code == 0 and f"Rapport écrit : {out}" in capsys.readouterr().out
    assert headings(blocks(out.read_bytes()), 1)[:6] == rdx.PARTS
    assert cli.main(["--db", str(default_db), "rapport", "--contract", CONTRACT, "--year",
                     str(YEAR), "--quartier", "INCONNU", "--out", str(out)]) == 1
    assert "Quartier « INCONNU » absent du contrat" in capsys.readouterr().out
    assert cli.main(["--db", str(default_db), "rapport", "--contract", CONTRACT, "--year",
                     str(YEAR), "--out", str(tmp_path / "rapport.pdf")]) == 1
    assert not (tmp_path / "rapport.pdf").exists()


def test_bilan_page_offers_the_word_report(app, served, deferred):
    at = app(page="app_pages/bilan.py", contrat=CONTRACT, quartier=QPV, annee=YEAR)
    button = next(e for e in at.get("download_button")
                  if e.proto.label.startswith("Télécharger le rapport annuel"))
    assert button.proto.label == ("Télécharger le rapport annuel politique de la ville (Word, "
                                  "modifiable)")
    assert "décret n° 2015-1118" in button.proto.help
    name = f"rapport-{CONTRACT}-{YEAR}-{QPV}.docx"
    assert name not in served  # built only when asked for
    deferred(button)
    items = blocks(served[name])
    assert headings(items, 1) == [*rdx.PARTS, rdx.SEX_PART, rdx.METHOD_PART, rdx.ANNEX_PART]
    part2 = section(items, rdx.PARTS[1])
    assert headings(part2, 2) == ["La Verrerie (AMB-QPV-VE)"]
    expected = expected_brevet(app.db, QPV)
    row = row_of(part2, BREVET)
    assert {k: row[k] for k in expected} == expected


def test_territory_and_indicator_lists_filter_as_lists_do_on_both_engines(default_db):
    """`queries.in_list` passes a list as one parameter (`= ANY(?)`): a sublist keeps exactly
    its rows, an empty list none, None every one."""
    from suivi.store import queries, reports

    with connection(default_db) as s:
        every = reports.latest_values(s, "AMBOISE-2015", 2022, None)
        codes = sorted(every["territory_code"].unique())[:2]
        some = reports.latest_values(s, "AMBOISE-2015", 2022, codes)
        assert len(codes) == 2 and len(some) == every["territory_code"].isin(codes).sum() > 0
        assert reports.latest_values(s, "AMBOISE-2015", 2022, []).empty
        indicators = sorted(every["indicator_code"].unique())[:3]
        pool = queries.values_for(s, "AMBOISE-2015", indicators, codes)
        wide = queries.values_for(s, "AMBOISE-2015", sorted(every["indicator_code"].unique()),
                                  sorted(every["territory_code"].unique()))
        expected = wide[wide["indicator_code"].isin(indicators)
                        & wide["territory_code"].isin(codes)]
        assert len(pool) == len(expected) > 0
        assert set(pool["indicator_code"]) <= set(indicators)
        assert set(pool["territory_code"]) <= set(codes)
