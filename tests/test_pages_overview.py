"""Vue d'ensemble, Priorités and Quartiers pages on the embedded default, through the real app:
the numbers shown must be the database's (SQL statuses, observations, gaps)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from suivi.core import fmt
from suivi.core import progress as pg
from suivi.store.status_sql import fetch_series_status
from suivi.views import overview as ov
from suivi.web.ui import status_text
from tests.conftest import connection

NBSP = "\u202f"


def params(at) -> dict:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def as_int(text: str) -> int:
    return int(text.replace(NBSP, "").replace(" ", ""))


def status_svgs(at) -> dict[str, str]:
    """The page's status bars (charts.status_bars_svg) by title."""
    return {re.search(r"<title>([^<]*)</title>", m.value).group(1): m.value
            for m in at.markdown if m.value.startswith('<div class="status-bars"')}


def table_with(at, *columns) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    assert found, f"no table with columns {columns}"
    return found[0]


def sql(db, query: str, args=None) -> list[tuple]:
    with connection(db, read_only=True) as con:
        return con.rows(query, args or [])


def sql_statuses(db, contract: str, year: int) -> pd.DataFrame:
    with connection(db, read_only=True) as con:
        return fetch_series_status(con, contract, as_of=year)


# --- Vue d'ensemble ----------------------------------------------------------------------------

def test_overview_shows_the_8_priorities_and_the_sql_status_counts(app):
    at = app(page="app_pages/vue_ensemble.py", contrat="AMBOISE-2015", annee=2022)
    statuses = sql_statuses(app.db, "AMBOISE-2015", 2022)
    expected = statuses["status"].value_counts()
    shown = metrics(at)
    assert as_int(shown["Séries suivies"]) == int(expected.sum()) > 0
    for info in pg.STATUSES:
        assert as_int(shown[f"{info.icon} {info.label}"]) == int(expected.get(info.code, 0)), \
            info.code

    # The status bars (inline SVG): by pillar and by priority, every series once; by quartier,
    # those of the quartiers. Each segment names its group, status and count.
    bars = status_svgs(at)
    assert list(bars) == ["Statut des séries par pilier", "Statut des séries par priorité",
                          "Statut des séries par quartier"]
    labels = {info.label: info.code for info in pg.STATUSES}
    for title, svg in bars.items():
        counts: dict[str, int] = {}
        for status, n in re.findall(r"<title>[^<]* – ([^<:]+) : ([\d\u202f]+) série\(s\)</title>",
                                    svg):
            counts[labels[status]] = counts.get(labels[status], 0) + as_int(n)
        series = statuses
        if "quartier" in title:
            quartiers = {code for (code,) in sql(
                app.db, "SELECT t.code FROM contract_territory ct JOIN territory t ON t.code = "
                        "ct.territory_code WHERE ct.contract_code = 'AMBOISE-2015' AND t.kind "
                        "IN ('qpv', 'quartier_veille', 'quartier_cucs')")}
            series = statuses[statuses["territory_code"].isin(quartiers)]
        wanted = series["status"].value_counts()
        assert counts == {c: int(n) for c, n in wanted.items() if n} and counts, title
    assert bars["Statut des séries par priorité"].count('text-anchor="end"') == 8

    # The charts' data tables are built and sent only once their expander is opened.
    assert not [d for d in at.dataframe if "Total" in d.value.columns]
    for key in ("bars_pillar", "bars_priority", "bars_quartier"):
        at.session_state[f"{key}_donnees"] = True
    at.run()
    assert not at.exception
    assert len([d for d in at.dataframe if "Total" in d.value.columns]) == 3

    priorities = sql(app.db, "SELECT n.code, n.label FROM node n JOIN node p "
                             "ON p.contract_code = n.contract_code AND p.code = n.parent_code "
                             "WHERE n.contract_code = 'AMBOISE-2015' AND p.parent_code IS NULL")
    assert len(priorities) == 8
    table = table_with(at, "Priorité", "Total")
    assert sorted(table["Priorité"]) == sorted(label for _, label in priorities)
    assert sorted(table["Code"]) == sorted(code for code, _ in priorities)
    # Every series is under one priority: the chart's data adds up to the SQL counts.
    for info in pg.STATUSES:
        assert table[f"{info.icon} {info.label}"].sum() == expected.get(info.code, 0)
    assert table["Total"].sum() == expected.sum()
    assert table["dont démo"].sum() > 0  # Amboise's values are demo values, and say so

    quartiers = table_with(at, "Quartier", "Total")
    assert set(quartiers["Quartier"]) == {"La Verrerie", "Patte d'Oie / Malétrenne / Plaisance"}
    # Last upload: the latest batch whose rows are current in this contract.
    loaded = sql(app.db, """
        SELECT loaded_at FROM batch WHERE id = (
            SELECT max(created_batch) FROM (
                SELECT o.created_batch FROM observation o
                JOIN indicator i ON i.code = o.indicator_code
                WHERE i.contract_code = 'AMBOISE-2015'
                UNION ALL SELECT created_batch FROM indicator
                WHERE contract_code = 'AMBOISE-2015') ids)""")[0][0]
    assert shown["Dernier chargement"] == loaded.strftime("%d/%m/%Y %H:%M")
    assert any("Fiche indicateur" in c.value or "Détail du calcul" in c.value for c in at.caption)
    assert any("fiche" in p.proto.page for p in at.get("page_link"))


def test_overview_counts_made_by_the_engine_equal_those_of_the_series(app):
    """The Vue d'ensemble draws from the engine's counts (queries.status_overview), never
    from the series: every table, score and map colour equals the one the series give, for
    every contract, several years, the whole contract and a quartier; the SQL score equals
    overview.scores series by series."""
    from suivi.store import queries, stored_status
    from suivi.store.status_sql import SERIES_KEY, score_sql
    from suivi.views import maps

    compared = 0
    with connection(app.db) as s:
        for contract in queries.contracts(s)["code"]:
            nodes, quartiers = queries.tree(s, contract), queries.quartiers(s, contract)
            catalogue = queries.indicators(s, contract)
            for year in (2016, 2020, 2023):
                series = queries.series_status(s, contract, year)
                in_sql = score_sql("status", '"P"', '"A"', s.dialect)
                sql, args = stored_status._read_sql(contract, year, None,
                                                    f"{', '.join(SERIES_KEY)}, {in_sql} AS score")
                scored = series.merge(s.df(sql, args), on=list(SERIES_KEY), validate="1:1")
                pd.testing.assert_series_equal(scored["score"].astype(float),
                                               ov.scores(scored).astype(float),
                                               check_names=False, obj=f"{contract} {year}")
                for quartier in [None, *quartiers["code"][:1]]:
                    tally = queries.status_overview(s, contract, year,
                                                    [quartier] if quartier else None)
                    scope = ov.restrict(series, quartier)
                    where = f"{contract} {year} {quartier}"
                    assert ov.headline_counts(tally["territory"]) == ov.headline_counts(scope)
                    (score, n), (expected, n_expected) = (ov.headline_score(tally["territory"]),
                                                          ov.headline_score(scope))
                    assert n == n_expected, where
                    assert score == pytest.approx(expected) if n else score is expected is None
                    pd.testing.assert_frame_equal(ov.reasons_table(tally["reason"]),
                                                  ov.reasons_table(scope), check_dtype=False,
                                                  obj=where)
                    for depth in (1, 2):
                        pd.testing.assert_frame_equal(ov.group_counts(tally["node"], nodes, depth),
                                                      ov.group_counts(scope, nodes, depth),
                                                      obj=where)
                    pd.testing.assert_frame_equal(
                        ov.territory_counts(tally["territory"], quartiers),
                        ov.territory_counts(scope, quartiers), obj=where)
                    pd.testing.assert_frame_equal(ov.data_gaps(catalogue, tally["indicator"], year),
                                                  ov.data_gaps(catalogue, series, year, quartier),
                                                  check_dtype=False, obj=where)
                    for colouring in (maps.on_track_share, maps.mean_score):
                        ours, theirs = (colouring(tally["territory"], quartiers),
                                        colouring(scope, quartiers))
                        pd.testing.assert_series_equal(ours.values, theirs.values,
                                                       check_names=False, check_index_type=False)
                        pd.testing.assert_series_equal(ours.texts, theirs.texts,
                                                       check_names=False)
                    compared += len(scope)
    assert compared > 1000


def test_overview_restricted_to_a_quartier_and_year(app):
    at = app(page="app_pages/vue_ensemble.py", contrat="AMBOISE-2015", quartier="AMB-QPV-VE",
             annee=2021)
    statuses = sql_statuses(app.db, "AMBOISE-2015", 2021)
    expected = statuses[statuses["territory_code"] == "AMB-QPV-VE"]["status"].value_counts()
    shown = metrics(at)
    assert as_int(shown["Séries suivies"]) == int(expected.sum())
    for info in pg.STATUSES:
        assert as_int(shown[f"{info.icon} {info.label}"]) == int(expected.get(info.code, 0))
    # In 2021 the 2022 deadline has not passed: no « Objectif non atteint » yet.
    assert as_int(shown["✘ Objectif non atteint"]) == 0
    # What has no data there: only the composites, whose sub-indicators carry the values.
    # None is reported: the page says every indicator is complete.
    plain, composite = sql(app.db, """
        SELECT count(*) FILTER (WHERE i.unit <> 'composite'),
               count(*) FILTER (WHERE i.unit = 'composite')
        FROM indicator i WHERE i.contract_code = 'AMBOISE-2015'
          AND NOT EXISTS (SELECT 1 FROM observation o WHERE o.indicator_code = i.code
                          AND o.territory_code = 'AMB-QPV-VE'
                          AND (o.nature <> 'realise' OR o.year <= 2021))""")[0]
    assert (plain, composite > 0) == (0, True)  # the case this checks
    assert as_int(shown["Indicateurs sans aucune valeur"]) == 0
    assert not [d for d in at.dataframe if "Manque (en 2021)" in d.value.columns]
    assert any("Chaque indicateur a une situation de référence" in m.value for m in at.success)


def test_a_composite_without_series_is_never_reported_missing():
    """data_gaps: a composite without series counts among the indicators but is never
    incomplete; a composite with series is judged like any indicator; a plain indicator
    without series is « aucune valeur »."""
    catalogue = pd.DataFrame({
        "code": ["C-EMPTY", "C-FED", "PLAIN"], "label": ["a", "b", "c"],
        "unit": ["composite", "composite", "count"], "type": "resultat",
        "polarity": "higher_better"})
    statuses = pd.DataFrame({"indicator_code": ["C-FED"], "territory_code": ["Q1"],
                             "baseline": [1.0], "target": [np.nan],
                             "last_actual_year": [2021]})
    gaps = ov.data_gaps(catalogue, statuses, 2022).set_index("code")
    assert not gaps.loc["C-EMPTY", ["no_data", "no_baseline", "no_target", "incomplete"]].any()
    assert gaps.loc["C-FED", "no_target"] and not gaps.loc["C-FED", "no_data"]
    assert gaps.loc["PLAIN", "no_data"] and gaps.loc["PLAIN", "missing"] == "aucune valeur"
    counts = ov.data_gap_counts(gaps.reset_index())
    assert (counts["indicators"], counts["no_data"], counts["incomplete"]) == (3, 1, 2)


# --- Priorités ---------------------------------------------------------------------------------

def test_priorites_late_only_shows_late_statuses_and_db_values(app):
    at = app(page="app_pages/priorites.py", contrat="AMBOISE-2015", annee=2022)
    everything = pd.concat([d.value for d in at.dataframe if "Statut" in d.value.columns])
    statuses = sql_statuses(app.db, "AMBOISE-2015", 2022)
    assert len(everything.drop_duplicates(["Indicateur", "Territoire"])) == len(statuses)

    at.toggle(key="retard").set_value(True).run()
    assert not at.exception
    assert params(at)["retard"] == "1"
    late = pd.concat([d.value for d in at.dataframe if "Statut" in d.value.columns])
    assert set(late["Statut"]) == {status_text(c) for c in ov.LATE_STATUSES}
    expected_late = statuses[statuses["status"].isin(ov.LATE_STATUSES)]
    assert len(late.drop_duplicates(["Indicateur", "Territoire"])) == len(expected_late)

    # A known late series: the brevet success rate in Amboise, values straight from the DB.
    row = late[(late["Indicateur"] == "AMB-P3-02") & (late["Territoire"] == "Amboise")]
    assert len(row) == 1
    row = row.iloc[0]
    obs = sql(app.db, """
        SELECT nature, year, value FROM observation WHERE indicator_code = 'AMB-P3-02'
          AND territory_code = 'COM-37003' AND breakdown = '' AND value IS NOT NULL
          AND (nature <> 'realise' OR year <= 2022) ORDER BY year""")
    latest = {nature: (year, value) for nature, year, value in obs}  # greatest year wins

    def text(nature):
        year, value = latest[nature]
        return f"{fmt.percent(value)} ({year})"

    assert row["Situation de référence"] == text("reference")
    assert row["Situation visée"] == text("cible")
    assert row["Dernier réalisé"] == text("realise")
    (b, B), (T, C), (t, V) = latest["reference"], latest["cible"], latest["realise"]
    a = pg.assess(b, B, T, C, t, V, "higher_better")
    assert row["Statut"] == status_text(a.status)
    assert row["Avancement"] == pytest.approx(round(min(max(a.A, 0), 1) * 100, 1))
    assert row["Attendu"] == fmt.share(a.E)
    assert list(row["Évolution"]) == [v for n, _y, v in obs if n == "realise"]
    assert row["Démo"] == "démo"

    links = [p.proto for p in at.get("page_link")]
    assert any("indicateur=AMB-P3-02" in p.query_string and "contrat=AMBOISE-2015"
               in p.query_string for p in links)


def test_priorites_beyond_max_series_counts_per_priority_without_listing(app, monkeypatch):
    """Past MAX_SERIES series the page lists none and counts them per priority (the engine's
    counts): the same numbers as the series', late ones only with the toggle."""
    monkeypatch.setattr(ov, "MAX_SERIES", 10)
    at = app(page="app_pages/priorites.py", contrat="AMBOISE-2015", annee=2022)
    statuses = sql_statuses(app.db, "AMBOISE-2015", 2022)
    assert len(statuses) > 10
    assert any(f"compte {fmt.number(len(statuses))} séries" in i.value for i in at.info)
    assert not [d for d in at.dataframe if "Statut" in d.value.columns]  # no listing
    with connection(app.db) as s:
        from suivi.store import queries

        nodes = queries.tree(s, "AMBOISE-2015")
        series = queries.series_status(s, "AMBOISE-2015", 2022)
    table = table_with(at, "Total", "dont démo")
    expected = ov.counts_table(ov.group_counts(series, nodes, 2), table.columns[1])
    pd.testing.assert_frame_equal(table.reset_index(drop=True), expected, check_dtype=False)
    assert table["Total"].sum() == len(statuses)

    at.toggle(key="retard").set_value(True).run()
    late = table_with(at, "Total", "dont démo")
    assert late["Total"].sum() == statuses["status"].isin(ov.LATE_STATUSES).sum() > 0


# --- Quartiers ---------------------------------------------------------------------------------

def test_counts_of_la_verrerie_mark_each_generated_value(app):
    """« Indicateurs en nombre » sets the quartier's value against the commune's: a
    demonstration value is marked « (démo) » in its cell, a real one is not."""
    at = app(page="app_pages/quartiers.py", contrat="AMBOISE-2015", quartier="AMB-QPV-VE",
             annee=2022)
    table = table_with(at, "Part du quartier dans la commune")
    assert len(table)
    stored = dict(((ind, str(year), ter), status) for ind, year, ter, status in sql(app.db, """
        SELECT indicator_code, year, territory_code, status FROM observation
        WHERE territory_code IN ('AMB-QPV-VE', 'COM-37003') AND nature = 'realise'
          AND breakdown = '' AND value IS NOT NULL"""))
    for row in table.itertuples():
        for column, territory in (("Quartier", "AMB-QPV-VE"), ("Commune", "COM-37003")):
            demo = stored[(row.Indicateur, row.Année, territory)] == "demo"
            assert getattr(row, column).endswith(" (démo)") == demo, (row, column)
    assert table["Quartier"].str.endswith(" (démo)").any()  # the embedded default has some
    assert not table["Commune"].str.endswith(" (démo)").all()


def test_la_verrerie_shows_its_gap_to_amboise_from_the_db(app):
    at = app(page="app_pages/quartiers.py", contrat="AMBOISE-2015", quartier="AMB-QPV-VE",
             annee=2022)
    assert at.header[0].value == "La Verrerie"
    assert any(m.value.endswith(f"{fmt.number(1095)} habitants") for m in at.markdown)
    refs = next(m.value for m in at.markdown if "1. Amboise (commune)" in m.value)
    assert "2. CC du Val d'Amboise (EPCI)" in refs  # the kind once, in its short form
    assert "3. Bassin d'emploi (d'Amboise)\n" in refs  # a name that says its kind: no more

    pairs = sql(app.db, """
        SELECT i.code, i.polarity, q.year, q.value, r.value
        FROM indicator i
        JOIN observation q ON q.indicator_code = i.code AND q.territory_code = 'AMB-QPV-VE'
        JOIN observation r ON r.indicator_code = i.code AND r.territory_code = 'COM-37003'
             AND r.year = q.year AND r.nature = 'realise' AND r.breakdown = ''
        WHERE i.contract_code = 'AMBOISE-2015' AND i.unit = 'percent'
          AND q.nature = 'realise' AND q.breakdown = '' AND q.year <= 2022
          AND q.value IS NOT NULL AND r.value IS NOT NULL
        ORDER BY i.code, q.year""")
    assert pairs
    code, polarity = pairs[0][0], pairs[0][1]
    d = -1 if polarity == "lower_better" else 1
    series = [(year, d * (ref - qpv)) for c, _p, year, qpv, ref in pairs if c == code]
    year, gap = series[-1]

    table = table_with(at, "Indicateur", "Territoire de référence", "Écart")
    row = table[(table["Indicateur"] == code) & (table["Territoire de référence"] == "Amboise")]
    assert len(row) == 1
    row = row.iloc[0]
    assert row["Écart"] == pytest.approx(gap)
    assert row["Année"] == str(year)
    assert row["Unité de l'écart"] == "points"
    qpv, ref = next((q, r) for c, _p, y, q, r in pairs if c == code and y == year)
    assert row["Rapport quartier / référence"] == pytest.approx(qpv / ref)
    assert row["Évolution de l'écart"] == ov.gap_trend_text(pg.gap_trend(series))
    assert row["Situation du quartier"] == ("en retard" if gap > 0 else "en avance")

    # Counts are never compared raw: every compared indicator has a comparable unit.
    units = dict(sql(app.db, "SELECT code, unit FROM indicator "
                             "WHERE contract_code = 'AMBOISE-2015'"))
    assert {units[c] for c in table["Indicateur"]} <= {"percent", "rate", "ratio", "score"}
    # The gap chart of any comparable indicator, with its data table: the same numbers.
    assert len(at.selectbox(key="ecart").options) == table["Indicateur"].nunique()
    at.selectbox(key="ecart").set_value(code).run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1
    chart_data = next(d.value for d in at.dataframe if "Écart" in d.value.columns
                      and "Indicateur" not in d.value.columns)
    chart_data = chart_data[chart_data["Territoire de référence"] == "Amboise"]
    assert list(chart_data["Année"]) == [str(y) for y, _g in series]
    assert list(chart_data["Écart"]) == pytest.approx([g for _y, g in series])


def test_quartier_chosen_on_the_page_becomes_the_sidebar_choice(app):
    at = app(page="app_pages/quartiers.py", contrat="AMBOISE-2015")
    assert "quartier" not in params(at)
    assert any("Choisissez un quartier" in i.value for i in at.info)
    overview = table_with(at, "Quartier", "Total")
    assert set(overview["Code"]) == {"AMB-QPV-VE", "AMB-QPV-PO"}
    per_quartier = sql_statuses(app.db, "AMBOISE-2015", at.sidebar.selectbox[2].value) \
        .groupby("territory_code").size()
    assert overview.set_index("Code")["Total"].to_dict() == \
        per_quartier[["AMB-QPV-VE", "AMB-QPV-PO"]].to_dict()
    at.selectbox(key="quartier_page").set_value("AMB-QPV-PO").run()
    assert not at.exception
    # The choice goes to the sidebar's state, which app.py mirrors in the URL.
    assert at.session_state["quartier"] == "AMB-QPV-PO"
    assert params(at)["quartier"] == "AMB-QPV-PO"


# --- Blois: real figures, no targets -----------------------------------------------------------

def test_blois_overview_says_why_nothing_is_assessed(app):
    at = app(page="app_pages/vue_ensemble.py", contrat="BLOIS-2015", annee=2015)
    statuses = sql_statuses(app.db, "BLOIS-2015", 2015)
    shown = metrics(at)
    assert as_int(shown["– Non évaluable"]) == len(statuses) > 0
    assert shown["Score moyen (−5 à +5)"] == "–"
    reasons = table_with(at, "Raison", "Séries")
    expected = statuses["reason_text"].value_counts()
    assert dict(zip(reasons["Raison"], reasons["Séries"])) == expected.to_dict()
    assert pg.REASONS["missing_baseline"] in set(reasons["Raison"])
    no_data = sql(app.db, """
        SELECT count(*) FROM indicator i WHERE i.contract_code = 'BLOIS-2015'
          AND i.unit <> 'composite' AND NOT EXISTS (SELECT 1 FROM observation o WHERE o.indicator_code = i.code
                          AND (o.nature <> 'realise' OR o.year <= 2015))""")[0][0]
    assert as_int(shown["Indicateurs sans aucune valeur"]) == no_data > 0


def test_blois_status_charts_draw_only_the_groups_with_series(app):
    """Blois links no indicator to its enjeux and axes (the contract leaves its objectives
    table empty): each chart draws the one group with series and names the others under it;
    the data table keeps them all."""
    at = app(contrat="BLOIS-2015", annee=2015)
    bars = status_svgs(at)
    nodes = dict(sql(app.db, "SELECT level, count(*) FROM node WHERE contract_code = "
                             "'BLOIS-2015' GROUP BY level"))
    for title, level in (("Statut des séries par enjeu", "enjeu"),
                         ("Statut des séries par axe", "axe")):
        assert bars[title].count('text-anchor="end"') == 1  # one row: « Sans objectif… »
        assert ov.NO_GROUP_LABEL in bars[title]
        assert any(c.value.startswith(f"Sans série suivie ({nodes[level]})")
                   for c in at.caption), (title, nodes)
    at.session_state["bars_pillar_donnees"] = True
    at.run()
    table = table_with(at, "Total")
    assert len(table) == nodes["enjeu"] + 1 and (table["Total"] == 0).sum() == nodes["enjeu"]


def test_blois_priorites_lists_unlinked_series_with_their_reason(app):
    at = app(page="app_pages/priorites.py", contrat="BLOIS-2015", annee=2015)
    assert any(s.value == ov.NO_GROUP_LABEL for s in at.subheader)
    table = table_with(at, "Statut", "Remarque")
    statuses = sql_statuses(app.db, "BLOIS-2015", 2015)
    assert len(table) == len(statuses)
    assert set(table["Statut"]) == {status_text("not_assessable")}
    assert set(table["Remarque"]) == set(statuses["reason_text"])
    at.toggle(key="retard").set_value(True).run()
    assert not at.exception
    assert any("Aucune série en retard" in s.value for s in at.success)


def test_blois_quartier_page_says_what_is_missing(app):
    at = app(page="app_pages/quartiers.py", contrat="BLOIS-2015", quartier="BLO-QPV-NORD",
             annee=2015)
    assert at.header[0].value.startswith("Quartiers nord")
    assert any("écarts ne peuvent pas encore être calculés" in i.value for i in at.info)
    no_data = sql(app.db, """
        SELECT count(*) FROM indicator i WHERE i.contract_code = 'BLOIS-2015'
          AND i.unit <> 'composite' AND NOT EXISTS (SELECT 1 FROM observation o WHERE o.indicator_code = i.code
                          AND o.territory_code = 'BLO-QPV-NORD'
                          AND (o.nature <> 'realise' OR o.year <= 2015))""")[0][0]
    text = " ".join(m.value for m in at.markdown)
    assert re.search(rf"\*\*{no_data}\*\* sans aucune valeur pour ce quartier", text)
    mine = table_with(at, "Statut", "Dernier réalisé")
    statuses = sql_statuses(app.db, "BLOIS-2015", 2015)
    assert len(mine) == (statuses["territory_code"] == "BLO-QPV-NORD").sum()
