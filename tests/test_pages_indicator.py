"""Comparer, Fiche indicateur and Catalogue pages, run for real on the embedded default."""

from __future__ import annotations

import io
import json
import re

import openpyxl
import pandas as pd
import pytest

from etl.pipeline import load
from suivi.core import progress as pg
from suivi.store.queries import series_status
from suivi.views import compare
from tests.conftest import connection, scalar
from tests.workbooks import write_xlsx

CONTRACT = "AMBOISE-2015"
QPV = "AMB-QPV-VE"
PERCENT_INDICATOR = "AMB-P3-02"   # « Taux d'obtention du brevet », percent, higher is better
YEAR = 2021


def series_inputs(db, indicator: str, territory: str, as_of: int):
    """b, B, T, C, t, V straight from the observation table, by the rules of docs/methode-suivi.md."""
    with connection(db, read_only=True) as con:
        def latest(nature: str, after: int | None = None):
            rows = con.rows("""
                SELECT year, value FROM observation
                WHERE indicator_code = ? AND territory_code = ? AND breakdown = ''
                  AND modality = '' AND nature = ? AND value IS NOT NULL
                  AND (nature <> 'realise' OR year <= ?) AND year > ?
                ORDER BY year DESC LIMIT 1""",
                               [indicator, territory, nature, as_of, after or 0])
            return rows[0] if rows else (None, None)

        b, B = latest("reference")
        T, C = latest("cible")
        t, V = latest("realise", after=b)
        polarity = scalar(con, "SELECT polarity FROM indicator WHERE code = ?", [indicator])
    return b, B, T, C, t, V, polarity


def expander(at, label: str):
    found = [e for e in at.expander if e.label.startswith(label)]
    assert found, [e.label for e in at.expander]
    return found[0]


def dataframe_with(at, column: str):
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, [list(d.value.columns) for d in at.dataframe]
    return found[0]


# --- Fiche indicateur -------------------------------------------------------------------------

def chart_lines(at) -> dict[str, list[tuple]]:
    """The lines of the page's plotly charts: name (unwrapped) -> [(x, y), ...]."""
    return {trace["name"].replace("<br>", " "): list(zip(trace["x"], trace["y"]))
            for chart in at.get("plotly_chart")
            for trace in json.loads(chart.proto.spec)["data"]
            if trace.get("mode") == "lines+markers"}


def test_fiche_shows_the_numbers_of_assess(app):
    at = app(page="app_pages/fiche_indicateur.py", contrat=CONTRACT, quartier=QPV, annee=YEAR,
             indicateur=PERCENT_INDICATOR)
    assert at.selectbox(key="fiche_indicateur").value == PERCENT_INDICATOR
    assert at.query_params["indicateur"] in (PERCENT_INDICATOR, [PERCENT_INDICATOR])

    b, B, T, C, t, V, polarity = series_inputs(app.db, PERCENT_INDICATOR, QPV, YEAR)
    a = pg.assess(b, B, T, C, t, V, polarity)
    assert a.P is not None and a.status not in ("achieved", "not_assessable")

    detail = expander(at, "Détail du calcul")
    text = "\n".join(m.value for m in detail.markdown)
    assert f"La Verrerie : {a.icon} {a.label}" in text
    for line in a.explain():
        assert line in text
    assert f"= {pg.fr_number(a.A)} (" in text
    assert f"P = A / E = {pg.fr_number(a.A)} / {pg.fr_number(a.E)} = {pg.fr_number(a.P)}" in text
    # the inputs and thresholds in French number format in the table of the calculation
    calc = detail.table[0].value.set_index("Symbole")["Valeur"]
    assert calc["B"] == pg.fr_number(B) and calc["C"] == pg.fr_number(C)
    assert calc["V"] == pg.fr_number(V) and "," in calc["V"]
    assert calc["t"] == str(t) and calc["b"] == str(b) and calc["T"] == str(T)
    assert calc["A"].startswith(pg.fr_number(a.A)) and calc["P"] == pg.fr_number(a.P)
    assert calc["E"] == pg.fr_number(a.E)
    assert "0,95" in calc["seuil"].tolist() and "0,6" in calc["seuil"].tolist()
    assert calc["statut"] == f"{a.icon} {a.label}"

    # the SQL status of the other pages agrees
    with connection(app.db, read_only=True) as con:
        statuses = series_status(con, CONTRACT, YEAR)
    row = statuses[(statuses.indicator_code == PERCENT_INDICATOR)
                   & (statuses.territory_code == QPV) & (statuses.breakdown == "")].iloc[0]
    assert row["status"] == a.status and row["P"] == pytest.approx(a.P)

    # the data table beside the chart labels demonstration values; in its narrow column the
    # value comes right after the territory (cut to a fixed width) and the year
    data = dataframe_with(at, "Nature")
    assert list(data.columns)[:3] == ["Territoire", "Année", "Valeur"]
    config = json.loads(next(d for d in at.dataframe if "Nature" in d.value.columns)
                        .proto.columns)
    assert config["Territoire"]["width"] == "medium"
    mine = data[(data["Territoire"] == "La Verrerie") & (data["Nature"] == "Réalisé")]
    assert mine["Année"].max() == t and mine.loc[mine["Année"] == t, "Valeur"].iloc[0] == V
    assert set(mine["Statut de la valeur"]) == {"démonstration"}
    assert {"Amboise", "Indre-et-Loire"} <= set(data["Territoire"])  # reference territories
    assert (data.loc[data["Nature"] == "Réalisé", "Année"] <= YEAR).all()

    # The chart draws the same numbers: the actuals, the baseline (b, B), the target (T, C)
    # and the trajectory between them.
    traces = {t["name"].replace("<br>", " "): t for c in at.get("plotly_chart")
              for t in json.loads(c.proto.spec)["data"] if t.get("name")}
    drawn = traces["La Verrerie – réalisé"]
    assert list(zip(drawn["x"], drawn["y"])) == list(zip(mine["Année"], mine["Valeur"]))
    base = traces["La Verrerie – situation de référence"]
    assert (base["x"], base["y"]) == ([b], [pytest.approx(B)])
    target = traces["La Verrerie – situation visée"]
    assert (target["x"], target["y"]) == ([T], [pytest.approx(C)])
    assert traces["La Verrerie – trajectoire attendue"]["x"] == [b, T]


def test_fiche_metadata_and_objectives(app):
    at = app(page="app_pages/fiche_indicateur.py", contrat=CONTRACT, quartier=QPV, annee=YEAR,
             indicateur=PERCENT_INDICATOR)
    meta = at.table[0].value.set_index("Rubrique")["Contenu"]
    assert meta["Intitulé"] == "Taux d'obtention du brevet"
    assert meta["Unité"] == "pourcentage" and meta["Polarité"] == "plus haut = mieux"
    assert meta["Source"] == "Éducation nationale (résultats DNB)"
    with connection(app.db, read_only=True) as con:
        nodes = [r[0] for r in con.rows("SELECT node_code FROM indicator_node "
                                           "WHERE indicator_code = ?",
                                           [PERCENT_INDICATOR])]
    assert nodes and all(n in meta["Objectif(s) mesuré(s)"] for n in nodes)


def test_history_lists_the_superseded_value_after_a_new_load(app, tmp_path):
    at = app(page="app_pages/fiche_indicateur.py", contrat=CONTRACT, quartier=QPV, annee=YEAR,
             indicateur=PERCENT_INDICATOR)
    before = dataframe_with(at, "Version")
    assert len(before) and (before["Version"] == "✔ courante").all()
    _, _, _, _, t, old, _ = series_inputs(app.db, PERCENT_INDICATOR, QPV, YEAR)
    new = round(old + 0.6, 1)
    path = write_xlsx(tmp_path / "valeurs-2021.xlsx", {"valeurs": [
        ["indicateur", "territoire", "annee", "nature", "valeur", "source"],
        [PERCENT_INDICATOR, QPV, t, "realise", new, "Rectorat (test)"],
    ]})
    checked, result = load(path, db=app.db, user="test")
    assert checked.ok, checked.report.render()
    assert result is not None

    at.run()
    assert not at.exception
    changed = dataframe_with(at, "Version")
    rows = changed[(changed["Territoire"] == "La Verrerie") & (changed["Année"] == t)
                   & (changed["Nature"] == "Réalisé")]
    assert len(rows) == 2
    current = rows[rows["Version"] == "✔ courante"].iloc[0]
    replaced = rows[rows["Version"] == "✘ remplacée"].iloc[0]
    assert current["Valeur"] == pytest.approx(new) and replaced["Valeur"] == pytest.approx(old)
    assert current["Fichier"] == "valeurs-2021.xlsx" and current["Lot"] == result.batch_id
    assert replaced["Remplacée par le lot"] == result.batch_id
    assert replaced["Statut de la valeur"] == "démonstration"
    assert current["Statut de la valeur"] == "validé"
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", current["Chargée le"])
    # the status now uses the new value
    detail = "\n".join(m.value for m in expander(at, "Détail du calcul").markdown)
    assert f"Dernier réalisé (t, V) : {t} → {pg.fr_number(new)}" in detail


# --- Comparer ---------------------------------------------------------------------------------

def test_comparer_gap_equals_polarity_times_difference(app, served, deferred):
    indicator = "AMB-P3-01"  # « Taux de retard en 6ème », lower is better: d = -1
    at = app(page="app_pages/comparer.py", contrat=CONTRACT, quartier=QPV, annee=2022)
    at.multiselect(key="cmp_indicateurs").set_value([indicator])
    at.multiselect(key="cmp_quartiers").set_value([QPV])
    at.multiselect(key="cmp_references").set_value(["COM-37003"])
    served.clear()
    at.run()
    assert not at.exception
    params = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert params["indicateurs"] == indicator and params["references"] == "COM-37003"

    gaps = dataframe_with(at, "Écart d × (réf. − quartier)")
    assert set(gaps["Indicateur"]) == {indicator}
    config = json.loads(next(d for d in at.dataframe if "Libellé" in d.value.columns
                             and "Valeur quartier" in d.value.columns).proto.columns)
    assert config["Libellé"]["width"] == "medium"  # the repeated label leaves room for values
    assert set(gaps["Territoire de référence"]) == {"Amboise"}
    with connection(app.db, read_only=True) as con:
        rows = con.rows("""
            SELECT q.year, q.value, r.value FROM observation q JOIN observation r
              ON r.indicator_code = q.indicator_code AND r.year = q.year
             AND r.nature = 'realise' AND r.breakdown = '' AND r.territory_code = 'COM-37003'
            WHERE q.indicator_code = ? AND q.territory_code = ? AND q.nature = 'realise'
              AND q.breakdown = '' AND q.year <= 2022 ORDER BY q.year""",
                           [indicator, QPV])
    assert len(rows) >= 3
    by_year = gaps.set_index("Année")
    for year, qpv, ref in rows:
        assert by_year.loc[year, "Valeur quartier"] == pytest.approx(qpv)
        assert by_year.loc[year, "Valeur référence"] == pytest.approx(ref)
        assert by_year.loc[year, "Écart d × (réf. − quartier)"] == pytest.approx(-1 * (ref - qpv))
        assert by_year.loc[year, "Ratio quartier / réf."] == pytest.approx(qpv / ref, rel=1e-5)
    assert set(by_year["Écart exprimé en"].dropna()) == {"points de %"}
    trend = dataframe_with(at, "Évolution")
    assert trend["Évolution"].iloc[0] in set(pg.GAP_TRENDS.values())

    # downloads: the buttons and the very bytes they serve
    buttons = at.get("download_button")
    assert [b.label for b in buttons] == ["Télécharger les écarts (CSV)",
                                          "Télécharger les valeurs (CSV)",
                                          "Télécharger valeurs et écarts (xlsx)"]
    assert not [name for name in served if name.startswith("comparaison-")]  # built on click
    for button in buttons:
        deferred(button)
    csv = served["comparaison-AMBOISE-2015-2022-ecarts.csv"]
    assert csv.startswith(b"\xef\xbb\xbf")
    text = csv.decode("utf-8-sig")
    header, first = text.splitlines()[:2]
    assert header.split(";")[:6] == ["Indicateur", "Libellé", "Quartier",
                                     "Territoire de référence", "Année", "Valeur quartier"]
    year, qpv, ref = rows[0]
    cells = first.split(";")
    assert cells[4] == str(year)
    assert cells[5] == str(qpv).replace(".", ",") and cells[6] == str(ref).replace(".", ",")
    assert cells[10] == str(round(-(ref - qpv), 9)).replace(".", ",")
    values_csv = served["comparaison-AMBOISE-2015-2022-valeurs.csv"].decode("utf-8-sig")
    assert f";La Verrerie;{year};{str(qpv).replace('.', ',')};pourcentage;démonstration;" in values_csv
    book = openpyxl.load_workbook(io.BytesIO(served["comparaison-AMBOISE-2015-2022.xlsx"]))
    assert book.sheetnames == ["valeurs", "ecarts"]
    sheet = book["ecarts"]
    assert sheet["K1"].value == "Écart d × (réf. − quartier)"
    assert sheet["K2"].value == pytest.approx(-(ref - qpv))  # a number, not text


def test_compare_builders_neutralise_formulas_and_count_gaps():
    values = pd.DataFrame({
        "indicator_code": ["N", "N", "N", "N"], "indicator_label": ["=cmd|' /C calc'!A0"] * 4,
        "unit": ["count"] * 4, "polarity": ["lower_better"] * 4,
        "territory_code": ["Q", "R", "Q", "R"], "territory_label": ["Q", "R", "Q", "R"],
        "territory_kind": ["qpv", "commune", "qpv", "commune"], "year": [2020, 2020, 2021, 2021],
        "value": [30.0, 200.0, 25.0, 190.0], "status": ["valide"] * 4, "source": ["s"] * 4})
    known = pd.DataFrame({"code": ["Q", "R"], "label": ["Q", "R"], "population": [1000, 20000]})
    gaps = compare.gap_table(values, ["Q"], ["R"], known)
    # per 1 000 inhabitants: Q 30 ‰, R 10 ‰; lower is better so the gap is -(10 - 30) = 20
    assert gaps["gap"].tolist() == pytest.approx([20.0, 15.5])
    assert set(gaps["basis"]) == {"pour 1 000 hab."}
    unknown = known.assign(population=[1000, None])
    no_gap = compare.gap_table(values, ["Q"], ["R"], unknown)
    assert no_gap["gap"].isna().all() and (no_gap["note"] == compare.NOTE_NO_POPULATION).all()
    text = compare.csv_bytes(compare.gap_table_fr(gaps)).decode("utf-8-sig")
    assert ";'=cmd|" in text and ";20,0;" in text


# --- Catalogue --------------------------------------------------------------------------------

def test_catalogue_lists_every_indicator_and_search_narrows(app):
    at = app(page="app_pages/catalogue.py", contrat=CONTRACT, annee=2022)
    table = dataframe_with(at, "Situation visée")
    with connection(app.db, read_only=True) as con:
        total = scalar(con, "SELECT count(*) FROM indicator WHERE contract_code = ?", [CONTRACT])
        brevet = {r[0] for r in con.rows(
            "SELECT code FROM indicator WHERE contract_code = ? AND (label ILIKE '%brevet%' "
            "OR definition ILIKE '%brevet%' OR code ILIKE '%brevet%')", [CONTRACT])}
        with_target = {r[0] for r in con.rows("""
            SELECT DISTINCT o.indicator_code FROM observation o
            JOIN indicator i ON i.code = o.indicator_code
            WHERE i.contract_code = ? AND o.nature = 'cible' AND o.value IS NOT NULL""",
                                                 [CONTRACT])}
    assert total == 89 and len(table) == 89
    assert any("89 indicateur(s)** sur 89" in m.value for m in at.markdown)
    flags = table.set_index("Code")["Situation visée"]
    assert {c for c, f in flags.items() if f == "✔ oui"} == with_target
    assert table.loc[table["Code"] == PERCENT_INDICATOR, "Fiche"].iloc[0].startswith(
        f"/fiche-indicateur?indicateur={PERCENT_INDICATOR}&contrat={CONTRACT}")

    at.text_input(key="cat_recherche").input("BREVET").run()  # case and accents ignored
    table = dataframe_with(at, "Situation visée")
    assert brevet and set(table["Code"]) == brevet and len(table) < 89
    assert any(f"{len(brevet)} indicateur(s)** sur 89" in m.value for m in at.markdown)

    at.text_input(key="cat_recherche").input("reussite educative").run()  # « réussite éducative »
    table = dataframe_with(at, "Situation visée")
    assert "AMB-P3-04" in set(table["Code"]) and len(table) < 89
    assert all("reussite educative" in (label + " " + definition).lower()
               .replace("é", "e").replace("É", "e")
               for label, definition in zip(table["Intitulé"], table["Définition"]))


def test_catalogue_filters(app):
    at = app(page="app_pages/catalogue.py", contrat=CONTRACT, annee=2022)
    at.multiselect(key="cat_unite").set_value(["percent"])
    at.selectbox(key="cat_cible").set_value("Sans")
    at.run()
    table = dataframe_with(at, "Situation visée")
    with connection(app.db, read_only=True) as con:
        expected = {r[0] for r in con.rows("""
            SELECT code FROM indicator i WHERE contract_code = ? AND unit = 'percent'
              AND NOT EXISTS (SELECT 1 FROM observation o WHERE o.indicator_code = i.code
                              AND o.nature = 'cible' AND o.value IS NOT NULL)""",
                                              [CONTRACT])}
    assert expected and set(table["Code"]) == expected
    assert set(table["Unité"]) <= {"pourcentage"} and set(table["Situation visée"]) <= {"✘ non"}


def test_neutral_indicator_has_the_same_gap_on_quartiers_and_comparer(app):
    """One gap rule: for a neutral indicator, |Ref − QPV| on the Quartiers page and on the
    Comparer page alike (the pages used to disagree)."""
    indicator = "AMB-P3-08"  # neutral, in percent
    with connection(app.db) as con:
        polarity = scalar(con, "SELECT polarity FROM indicator WHERE code = ?", [indicator])
        rows = con.rows("""
            SELECT q.year, q.value, r.value FROM observation q JOIN observation r
              ON r.indicator_code = q.indicator_code AND r.year = q.year
             AND r.nature = 'realise' AND r.breakdown = '' AND r.territory_code = 'COM-37003'
            WHERE q.indicator_code = ? AND q.territory_code = ? AND q.nature = 'realise'
              AND q.breakdown = '' AND q.year <= 2022 ORDER BY q.year""", [indicator, QPV])
    assert polarity == "neutral" and rows
    year, qpv, ref = rows[-1]
    expected = abs(ref - qpv)

    quartiers = app(page="app_pages/quartiers.py", contrat=CONTRACT, quartier=QPV, annee=2022)
    table = dataframe_with(quartiers, "Territoire de référence")
    row = table[(table["Indicateur"] == indicator) & (table["Territoire de référence"] ==
                                                      "Amboise")].iloc[0]
    assert row["Écart"] == pytest.approx(expected)

    quartiers.selectbox(key="ecart").set_value(indicator).run()
    line = chart_lines(quartiers)["écart avec Amboise"]
    assert line[-1][0] == year and line[-1][1] == pytest.approx(expected)  # the same gap
    zero = [shape for c in quartiers.get("plotly_chart")
            for shape in json.loads(c.proto.spec)["layout"].get("shapes", [])]
    assert [(z["y0"], z["y1"]) for z in zero] == [(0, 0)]

    compare = app(page="app_pages/comparer.py", contrat=CONTRACT, quartier=QPV, annee=2022)
    compare.multiselect(key="cmp_indicateurs").set_value([indicator])
    compare.multiselect(key="cmp_quartiers").set_value([QPV])
    compare.multiselect(key="cmp_references").set_value(["COM-37003"])
    compare.run()
    gaps = dataframe_with(compare, "Écart d × (réf. − quartier)").set_index("Année")
    assert gaps.loc[year, "Écart d × (réf. − quartier)"] == pytest.approx(expected)
    assert "écart absolu" in gaps.loc[year, "Remarque"]


def test_comparer_values_within_and_beyond_the_quartier_and_its_references(app):
    """The first selection (the quartier and its references) is taken from the page's first
    query; a territory outside it (another quartier) is queried: both show the stored
    values, every one of them."""
    indicator = "AMB-ARS-01"
    at = app(page="app_pages/comparer.py", contrat=CONTRACT, quartier=QPV, annee=2022)
    at.multiselect(key="cmp_indicateurs").set_value([indicator])
    for quartiers, references in (([QPV], ["COM-37003", "DEP-37"]),
                                  ([QPV, "AMB-QPV-PO"], ["COM-37003"])):
        at.multiselect(key="cmp_quartiers").set_value(quartiers)
        at.multiselect(key="cmp_references").set_value(references)
        at.run()
        assert not at.exception
        table = dataframe_with(at, "Unité")
        shown = sorted(zip(table["Territoire"], table["Année"], table["Valeur"]))
        codes = [*quartiers, *references]
        with connection(app.db, read_only=True) as con:
            stored = sorted(con.rows(f"""
                SELECT t.label, o.year, o.value FROM observation o
                JOIN territory t ON t.code = o.territory_code
                WHERE o.indicator_code = ? AND o.nature = 'realise' AND o.breakdown = ''
                  AND o.year <= 2022 AND o.territory_code IN ({', '.join('?' * len(codes))})
                """, [indicator, *codes]))
        assert len({label for label, _, _ in stored}) == len(codes)  # values for each
        assert [(label, int(year)) for label, year, _ in shown] == \
            [(label, year) for label, year, _ in stored]
        assert [value for *_, value in shown] == pytest.approx([v for *_, v in stored])
        # The chart draws the same values: a line per territory, named after it.
        lines = chart_lines(at)
        for label in {label for label, _, _ in stored}:
            drawn = lines[f"{label} – {indicator}"]
            expected = [(int(y), v) for t, y, v in stored if t == label]
            assert [x for x, _ in drawn] == [x for x, _ in expected]
            assert [y for _, y in drawn] == pytest.approx([v for _, v in expected])
        # Its hover names the line in full, then the year and the value.
        hovers = {t["name"].replace("<br>", " "): t["hovertemplate"]
                  for c in at.get("plotly_chart") for t in json.loads(c.proto.spec)["data"]
                  if t.get("mode") == "lines+markers"}
        assert all(h == f"{name}<br>%{{x}} : %{{y}}<extra></extra>"
                   for name, h in hovers.items()), hovers
