"""Import and Bilan annuel pages, run for real through AppTest on the embedded default.

The import test drives the page as staff would: upload a filled template (AppTest's
file_uploader.set_value, supported since Streamlit 1.4x), read the preview, confirm, see the
new value on the Fiche indicateur page, undo the batch from the page, see the old value again.
"""

from __future__ import annotations

import html
import io
import re

import openpyxl
import pandas as pd
import pytest

from etl.pipeline import load
from etl.template import write_template
from suivi.accounts import users
from suivi.core import fmt
from suivi.core import progress as pg
from suivi.store import queries
from suivi.store.projection_sql import fetch_projections
from suivi.store.queries import template_rows as expected_rows
from suivi.store.status_sql import fetch_series_status
from suivi.views import bilan as tb
from suivi.web import imports
from tests.conftest import assert_same, connection, scalar, snapshot
from tests.workbooks import write_xlsx

CONTRACT = "AMBOISE-2015"
QPV = "AMB-QPV-VE"                # La Verrerie
INDICATOR = "AMB-P3-02"           # « Taux d'obtention du brevet », percent
YEAR = 2022
OLD, NEW = 47.5, 49.5             # demo value of 2022 in the embedded default, value uploaded
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FRENCH_DATE = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")
PASSWORD = "mot-de-passe-de-test-42"


# --- Helpers ------------------------------------------------------------------------------------

def filled_template(db, tmp_path, fill: dict[tuple[str, str], object]) -> bytes:
    """The real pre-filled template of the contract, with some `valeur` cells filled in."""
    path = tmp_path / "modele.xlsx"
    with connection(db) as con:
        write_template(con, CONTRACT, YEAR, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["valeurs"]
    header = [c.value for c in ws[1]]
    col = {name: i for i, name in enumerate(header)}
    done = set()
    for row in ws.iter_rows(min_row=2):
        key = (row[col["indicateur"]].value, row[col["territoire"]].value)
        if key in fill and not row[col["ventilation"]].value:
            row[col["valeur"]].value = fill[key]
            row[col["source"]].value = "Éducation nationale (DNB)"
            done.add(key)
    assert done == set(fill), f"rows not in the template: {set(fill) - done}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_row(data: bytes, indicator: str, territory: str) -> int:
    """Excel row number of a (indicator, territory) total row in the template."""
    ws = openpyxl.load_workbook(io.BytesIO(data))["valeurs"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == indicator and row[1].value == territory and not row[5].value:
            return row[0].row
    raise AssertionError((indicator, territory))


def current_value(db, indicator=INDICATOR, territory=QPV, year=YEAR) -> float:
    with connection(db) as con:
        return scalar(con, """
            SELECT value FROM observation WHERE indicator_code = ? AND territory_code = ?
              AND year = ? AND nature = 'realise' AND breakdown = '' AND modality = ''""",
                      [indicator, territory, year])


def n_batches(db) -> int:
    with connection(db) as con:
        return scalar(con, "SELECT count(*) FROM batch")


def import_page(app, role: str = "administrateur"):
    """The Import page for a staff member logged in through the sidebar form (the page is
    registered only for contributors and administrators)."""
    name = {"administrateur": "admin-obs", "contributeur": "agent-obs"}[role]
    if users.get_role(name, db=app.db) is None:
        users.add_user(name, PASSWORD, role, db=app.db)
    at = app(contrat=CONTRACT, annee=YEAR)
    at.text_input(key="auth_sidebar_name").input(name)
    at.text_input(key="auth_sidebar_password").input(PASSWORD)
    next(b for b in at.button if b.label == "Se connecter").click()
    at.run()
    at.switch_page("app_pages/import_donnees.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.main.get("title")] == ["Import des données"]
    return at, name


def upload(at, name: str, data: bytes):
    at.file_uploader(key="import_file").set_value((name, data, XLSX))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def click(at, label: str):
    buttons = [b for b in at.button if b.label == label]
    assert buttons, [b.label for b in at.button]
    buttons[0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame_with(at, column: str) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def fiche_values(app) -> pd.DataFrame:
    """La Verrerie's actual values on the Fiche indicateur page (table beside the chart)."""
    at = app(page="app_pages/fiche_indicateur.py", contrat=CONTRACT, quartier=QPV, annee=YEAR,
             indicateur=INDICATOR)
    assert any(INDICATOR in h.value for h in at.header)
    table = next(d.value for d in at.dataframe
                 if {"Territoire", "Année", "Nature", "Valeur", "Source"} <= set(d.value.columns))
    return table[(table["Territoire"] == "La Verrerie") & (table["Nature"] == "Réalisé")]


# --- Import -------------------------------------------------------------------------------------

def test_an_unreadable_load_budget_stops_the_load_with_a_message(app, tmp_path,
                                                                  monkeypatch):
    """A server misconfigured ($SUIVI_LOAD_MEMORY, DuckDB's load budget) says so on the
    page and writes nothing; PostgreSQL has no such budget and loads."""
    from suivi.core.config import is_postgres

    db = app.db
    before = n_batches(db)
    data = filled_template(db, tmp_path, {(INDICATOR, QPV): NEW})
    at, _ = import_page(app)
    upload(at, "modele-2022.xlsx", data)
    monkeypatch.setenv("SUIVI_LOAD_MEMORY", "beaucoup")
    click(at, "Confirmer le chargement")
    if is_postgres(db):
        assert current_value(db) == pytest.approx(NEW) and n_batches(db) == before + 1
        return
    assert any("configuration du serveur : SUIVI_LOAD_MEMORY = « beaucoup »" in e
               for e in texts(at.error)), texts(at.error)
    assert current_value(db) == pytest.approx(OLD) and n_batches(db) == before


def test_upload_preview_confirm_then_rollback(app, tmp_path):
    db = app.db
    assert current_value(db) == pytest.approx(OLD)
    before = n_batches(db)
    data = filled_template(db, tmp_path, {(INDICATOR, QPV): NEW})

    at, user = import_page(app)
    upload(at, "modele-2022.xlsx", data)
    assert any("Fichier valide : 0 erreur(s) bloquante(s)" in s for s in texts(at.success))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Nouvelles valeurs": "0", "Valeurs modifiées": "1",
                       "Valeurs inchangées": "0"}
    preview = frame_with(at, "Nouvelle valeur")
    assert len(preview) == 1
    row = preview.iloc[0]
    assert row["Changement"] == "✏️ modifié"
    assert (row["Indicateur"], row["Territoire"], row["Année"]) == (INDICATOR, QPV, YEAR)
    assert row["Libellé"] == "Taux d'obtention du brevet"
    assert row["Ancienne valeur"] == fmt.percent(OLD) == "47,5\u202f%"
    assert row["Nouvelle valeur"] == fmt.percent(NEW)
    # Checking wrote nothing.
    assert current_value(db) == pytest.approx(OLD) and n_batches(db) == before

    click(at, "Confirmer le chargement")
    batch = before + 1
    assert any(f"Lot {batch} chargé : 0 ajout(s), 1 mise(s) à jour" in s
               for s in texts(at.success)), texts(at.success)
    assert current_value(db) == pytest.approx(NEW)
    history = frame_with(at, "Opération")
    top = history.iloc[0]
    assert (top["Lot"], top["Opération"], top["Fichier"]) == (batch, "chargement",
                                                            "modele-2022.xlsx")
    assert top["Utilisateur"] == user and top["Mises à jour"] == 1
    assert history["Date"].str.match(FRENCH_DATE).all()
    assert "Confirmer le chargement" not in [b.label for b in at.button]

    # The same file uploaded again in the session is not offered for loading a second time.
    upload(at, "modele-2022.xlsx", data)
    assert "Confirmer le chargement" not in [b.label for b in at.button]
    assert n_batches(db) == batch

    # The new value is on the indicator page.
    values = fiche_values(app)
    assert values.loc[values["Année"] == YEAR, "Valeur"].tolist() == [pytest.approx(NEW)]

    # Undo the batch from the page: checkbox first, then the button.
    assert at.selectbox(key="rollback_batch").value == batch
    go = next(b for b in at.button if b.label == "Annuler ce lot")
    assert go.disabled
    at.checkbox(key=f"rollback_sure_{batch}").check()
    at.run()
    click(at, "Annuler ce lot")
    assert f"Lot {batch} annulé (lot d'annulation {batch + 1})." in texts(at.success)
    assert current_value(db) == pytest.approx(OLD)
    history = frame_with(at, "Opération").set_index("Lot")
    assert history.loc[batch, "État"] == f"annulé par le lot {batch + 1}"
    assert history.loc[batch + 1, "Opération"] == "annulation"
    assert history.loc[batch + 1, "État"] == f"annule le lot {batch}"
    # The file is offered again, with the old value back in the preview.
    preview = frame_with(at, "Nouvelle valeur")
    assert preview.iloc[0]["Ancienne valeur"] == fmt.percent(OLD)

    values = fiche_values(app)
    assert values.loc[values["Année"] == YEAR, "Valeur"].tolist() == [pytest.approx(OLD)]


def test_invalid_upload_shows_located_errors_and_writes_nothing(app, tmp_path):
    db = app.db
    data = filled_template(db, tmp_path, {(INDICATOR, QPV): "beaucoup"})
    row = template_row(data, INDICATOR, QPV)
    before = snapshot(db)

    at, _ = import_page(app, "contributeur")
    upload(at, "modele-faux.xlsx", data)
    assert any("Fichier refusé : 1 erreur(s) bloquante(s)" in e and "Rien n'a été écrit" in e
               for e in texts(at.error)), texts(at.error)
    report = frame_with(at, "Gravité")
    errors = report[report["Gravité"] == "⛔ Erreur"]
    assert len(errors) == 1
    err = errors.iloc[0]
    assert (err["Onglet"], err["Ligne"], err["Colonne"], err["Valeur"]) == (
        "valeurs", row, "valeur", "beaucoup")
    assert "nombre" in err["Message"].lower()
    assert "Confirmer le chargement" not in [b.label for b in at.button]
    assert not [m for m in at.metric if m.label == "Valeurs modifiées"]
    assert_same(before, snapshot(db))


def test_rollback_refused_when_a_later_batch_changed_the_values(app, tmp_path):
    db = app.db
    at, _ = import_page(app)
    first = n_batches(db) + 1
    upload(at, "a.xlsx", filled_template(db, tmp_path, {(INDICATOR, QPV): NEW}))
    click(at, "Confirmer le chargement")
    upload(at, "b.xlsx", filled_template(db, tmp_path, {(INDICATOR, QPV): 50.5}))
    assert frame_with(at, "Nouvelle valeur").iloc[0]["Ancienne valeur"] == fmt.percent(NEW)
    click(at, "Confirmer le chargement")
    assert current_value(db) == pytest.approx(50.5)

    at.selectbox(key="rollback_batch").set_value(first)
    at.run()
    at.checkbox(key=f"rollback_sure_{first}").check()
    at.run()
    click(at, "Annuler ce lot")
    assert any(f"Annulation refusée : Des valeurs du lot {first} ont été modifiées ensuite "
               f"par le(s) lot(s) {first + 1}" in e for e in texts(at.error)), texts(at.error)
    assert current_value(db) == pytest.approx(50.5)
    assert n_batches(db) == first + 1


def test_contributor_loads_but_cannot_roll_back(app, tmp_path):
    at, user = import_page(app, "contributeur")
    upload(at, "modele-2022.xlsx", filled_template(app.db, tmp_path, {(INDICATOR, QPV): NEW}))
    click(at, "Confirmer le chargement")
    assert current_value(app.db) == pytest.approx(NEW)
    assert frame_with(at, "Opération").iloc[0]["Utilisateur"] == user
    assert "Annuler ce lot" not in [b.label for b in at.button]
    assert "L'annulation d'un lot est réservée aux administrateurs de l'observatoire." in \
        texts(at.caption)


def test_template_download_is_the_prefilled_workbook(app):
    at, _ = import_page(app, "contributeur")
    labels = [b.proto.label for b in at.get("download_button")]
    assert f"Télécharger le modèle {CONTRACT} – {YEAR} (.xlsx)" in labels
    data = imports.template_bytes(app.db, CONTRACT, YEAR)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert "valeurs" in wb.sheetnames
    rows = list(wb["valeurs"].values)
    with connection(app.db) as con:
        expected = expected_rows(con, CONTRACT, YEAR)
    assert len(rows) - 1 == len(expected) > 0
    assert {r[2] for r in rows[1:]} == {YEAR}
    assert (INDICATOR, QPV) in {(r[0], r[1]) for r in rows[1:]}
    assert not [w for w in at.warning if "aucun quartier" in w.value]
    # A contract that lists no quartier yet (Alès): its template is header-only, and said so.
    at.sidebar.selectbox[0].set_value("ALES-2015").run()
    assert [w for w in at.warning if "ne liste encore aucun quartier" in w.value]
    rows = list(openpyxl.load_workbook(io.BytesIO(imports.template_bytes(
        app.db, "ALES-2015", YEAR)))["valeurs"].values)
    assert len(rows) == 1


# --- Bilan annuel -------------------------------------------------------------------------------

def test_bilan_page_report_and_data(app, served):
    at = app(page="app_pages/bilan.py", contrat=CONTRACT, annee=YEAR)
    page = served[f"bilan-{CONTRACT}-{YEAR}.html"].decode("utf-8")
    srcdoc = at.get("iframe")[0].proto.srcdoc
    assert srcdoc == page  # the preview is the downloadable file

    with connection(app.db) as con:
        name = scalar(con, "SELECT name FROM contract WHERE code = ?", [CONTRACT])
        priorities = [r[0] for r in con.rows(
            "SELECT label FROM node WHERE contract_code = ? AND level = 'priorité' ORDER BY code",
            [CONTRACT])]
        statuses = fetch_series_status(con, CONTRACT, as_of=YEAR)
    assert html.escape(name) in page and "2015 &gt; 2022" in page
    assert len(priorities) == 8
    for label in priorities:
        assert html.escape(label) in page
    for info in pg.STATUSES:
        assert f"{info.icon} {html.escape(info.label)}" in page
    assert "Valeurs de démonstration" in page and 'class="demo"' in page
    # Self-contained: no script, no external resource of any kind.
    lowered = page.lower()
    for forbidden in ("<script", "src=", "<link", "@import", "url(", "<iframe"):
        assert forbidden not in lowered, forbidden
    assert "@page { size: A4" in page and "break-before: page" in page
    assert page.count("<svg") == 2
    # A known series: La Verrerie's brevet rate, baseline 2019 and actual 2022.
    assert f"{fmt.percent(OLD)} (2022)" in page and f"{fmt.percent(43.8)} (2019)" in page

    # The xlsx is built only when its button is clicked (AppTest cannot click a download):
    # the button is there, and its content is the page's builder run on the same report.
    button = next(e for e in at.get("download_button") if e.proto.label.startswith(
        "Télécharger les données du bilan"))
    assert button.proto.label.endswith("(xlsx)")
    with connection(app.db) as con:
        data = tb.bilan_xlsx(tb.build_bilan(con, CONTRACT, YEAR, None))
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == list(tb.SHEETS.values())
    synth = {r[0]: r[1] for r in wb["Synthèse"].iter_rows(min_row=2, values_only=True)}
    counts = statuses["status"].value_counts()
    for info in pg.STATUSES:
        assert synth[f"{info.icon} {info.label}"] == counts.get(info.code, 0)
        card = (f"{html.escape(info.label)}</div><div class=\"n\">"
                f"{fmt.number(counts.get(info.code, 0))}</div>")
        assert card in page
    assert wb["Indicateurs"].max_row - 1 == len(statuses)
    prio = list(wb["Par priorité"].values)
    assert prio[0][:3] == ("Priorité", "Libellé", "Niveau supérieur")
    assert [r[1] for r in prio[1:]] == priorities
    assert sum(r[-1] for r in prio[1:]) == len(statuses)
    gaps = list(wb["Écarts commune"].values)
    assert {r[7] for r in gaps[1:]} == {"Amboise"}
    assert {r[11] for r in gaps[1:]} <= set(pg.GAP_TRENDS.values())


def test_bilan_without_demo_values_has_no_banner(app):
    with connection(app.db) as con:
        report = tb.build_bilan(con, "BLOIS-2015", 2020)
    assert not report.has_demo
    assert "Valeurs de démonstration" not in report.html
    assert "Contrat de Ville 2015 – 2020 – Blois" in report.html


def test_bilan_of_a_contract_without_values_says_so_instead_of_empty_charts(app):
    """Alès holds no value yet: one sentence instead of seven « 0,0 % » cards, empty bar
    charts and header-only tables."""
    with connection(app.db) as con:
        report = tb.build_bilan(con, "ALES-2015", 2022)
    assert tb.esc(tb.NOTHING_LOADED.format(year=2022)) in report.html
    assert 'class="card"' not in report.html and "status-bars" not in report.html
    with connection(app.db) as con:  # a contract with values keeps its synthesis
        assert 'class="card"' in tb.build_bilan(con, "AMBOISE-2015", 2022).html


def test_bilan_escapes_labels_loaded_through_the_etl(app, served, tmp_path):
    evil = "<script>alert(1)</script>"
    with connection(app.db) as con:
        ind = con.first("SELECT unit, polarity, type FROM indicator WHERE code = ?",
                          [INDICATOR])
        links = ";".join(r[0] for r in con.rows(
            "SELECT node_code FROM indicator_node WHERE indicator_code = ? ORDER BY 1",
            [INDICATOR]))
    path = write_xlsx(tmp_path / "libelle.xlsx", {"indicateurs": [
        ["code", "libelle", "unite", "polarite", "type", "objectifs", "contrat"],
        [INDICATOR, evil, ind[0], ind[1], ind[2], links, CONTRACT]]})
    checked, result = load(path, db=app.db)
    assert checked.ok, checked.report.render()
    assert result is not None and result.batch_id is not None

    app(page="app_pages/bilan.py", contrat=CONTRACT, annee=YEAR)
    page = served[f"bilan-{CONTRACT}-{YEAR}.html"].decode("utf-8")
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()


def test_bilan_gap_trends_agree_with_progress_gap_trend(app):
    """The contract-wide gap query gives, per quartier and indicator, the latest gap to the
    commune of queries.gaps and the trend of pg.gap_trend over the same years."""
    with connection(app.db) as con:
        order = {QPV: 0, "AMB-QPV-PO": 1}
        table = tb.gap_table(con, CONTRACT, YEAR, None, order)
        assert set(table["Code quartier"]) == set(order)
        for quartier in order:
            gaps = queries.gaps(con, CONTRACT, quartier)
            gaps = gaps[(gaps["reference_code"] == "COM-37003") & (gaps["year"] <= YEAR)]
            mine = table[table["Code quartier"] == quartier].set_index("Code indicateur")
            assert set(mine.index) == set(gaps["indicator_code"])
            for code, part in gaps.groupby("indicator_code"):
                part = part.sort_values("year")
                trend = pg.gap_trend(list(zip(part["year"], part["gap"])))
                row = mine.loc[code]
                assert row["Année"] == part["year"].iloc[-1]
                assert row["Écart (points ou unités)"] == pytest.approx(part["gap"].iloc[-1])
                assert row["Valeur du territoire"] == pytest.approx(part["ref_value"].iloc[-1])
                assert row["Évolution de l'écart"] == trend.label
                assert row["Territoire de comparaison"] == "Amboise"


def test_bilan_of_one_quartier_and_its_references(app):
    at = app(page="app_pages/bilan.py", contrat=CONTRACT, quartier=QPV, annee=YEAR)
    page = at.get("iframe")[0].proto.srcdoc
    assert "Bilan annuel 2022 – " in page and "– La Verrerie</h1>" in page
    assert "quartier La Verrerie et ses territoires de référence" in page
    territories = frame_with(at, "Code territoire")
    with connection(app.db) as con:
        refs = queries.references_of(con, QPV)["code"].tolist()
        statuses = fetch_series_status(con, CONTRACT, as_of=YEAR)
    assert territories["Code territoire"].tolist()[:1] == [QPV]
    assert set(territories["Code territoire"]) <= {QPV, *refs}
    scoped = statuses[statuses["territory_code"].isin([QPV, *refs])]
    assert territories["Total"].sum() == len(scoped)
    assert "Patte d&#x27;Oie" not in page  # the other quartier is out of scope
    assert "Valeurs de démonstration" in page


def test_large_scope_is_summarised_per_indicator(app, monkeypatch):
    """Past DETAIL_LIMIT series the report shows counts per indicator, and says so."""
    with connection(app.db) as con:
        statuses = fetch_series_status(con, CONTRACT, as_of=YEAR)
        listing = tb.build_bilan(con, CONTRACT, YEAR)
        monkeypatch.setattr(tb, "DETAIL_LIMIT", 100)
        report = tb.build_bilan(con, CONTRACT, YEAR)
    assert len(statuses) > 100 and not report.detailed
    assert len(listing.tables["indicateurs"]) == len(statuses)  # every series listed
    # Counted by the engine instead of from the listed series: the same counts everywhere.
    for key in ("synthese", "priorites", "territoires", "sans_donnees"):
        pd.testing.assert_frame_equal(report.tables[key], listing.tables[key], obj=key)
    summary = report.tables["indicateurs"].set_index("Code indicateur")
    counts = statuses.groupby("indicator_code").size()
    assert summary["Total"].to_dict() == counts.to_dict()
    per_status = statuses.groupby(["indicator_code", "status"]).size()
    for (indicator, status), count in per_status.items():
        assert summary.loc[indicator, tb.STATUS_TEXT[status]] == count, (indicator, status)
    assert summary["Priorité"].to_dict() == listing.tables["indicateurs"].drop_duplicates(
        "Code indicateur").set_index("Code indicateur")["Priorité"].to_dict()
    assert "Choisissez un quartier pour le détail" in report.html
    # The projection sentence counts every series of the scope, as the full listing would.
    with connection(app.db) as con:
        outcomes = fetch_projections(con, CONTRACT, YEAR)["projection"].value_counts()
    assert outcomes.get("late", 0) > 0
    assert html.escape(tb.projection_line(outcomes)) in report.html


def test_many_gaps_are_summarised_per_indicator_as_the_listing_counts_them(app, monkeypatch):
    """Past DETAIL_LIMIT gaps, the engine counts them per indicator and trend
    (stored_gaps.summary): the counts and medians of the listed gaps (bilan.gap_table)."""
    with connection(app.db) as con:
        listing = tb.build_bilan(con, CONTRACT, YEAR).tables["ecarts"]
        monkeypatch.setattr(tb, "DETAIL_LIMIT", len(listing) - 1)
        summary = tb.build_bilan(con, CONTRACT, YEAR).tables["ecarts"]
    trends = listing["Évolution de l'écart"]
    assert len(listing) > 20 and trends.nunique() >= 2  # a real mix to count
    summary = summary.set_index("Code indicateur")
    assert summary.index.tolist() == sorted(set(listing["Code indicateur"]))
    by = listing.groupby("Code indicateur")
    assert summary["Quartiers comparés (nombre)"].to_dict() == by.size().to_dict()
    for key in tb.GAP_TREND_ORDER:
        label = pg.GAP_TRENDS[key]
        expected = listing[trends == label].groupby("Code indicateur").size()
        assert summary[f"Quartiers : {label} (nombre)"].to_dict() == \
            expected.reindex(summary.index, fill_value=0).to_dict(), key
    pd.testing.assert_series_equal(
        summary["Écart médian (points ou unités)"].astype(float),
        by["Écart (points ou unités)"].median().astype(float), check_names=False)
    assert (summary["Indicateur"] == by["Indicateur"].first()).all()
