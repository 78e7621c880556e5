"""Real data in: the register, the ANCT lists, and the public files observatories download,
loaded through the same ETL as a workbook (issue « Real data in »).

Every file is written by the test (tests/public_files.py) following the documented layouts;
the database is a copy of the embedded default (register + seed contracts)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from etl.pipeline import check, load
from etl.sources import Options
from tests import public_files as pf
from tests.conftest import app_on, assert_same, cli_in_process, connection, snapshot


def rows(db, sql, params=None):
    with connection(db, read_only=True) as con:
        return con.rows(sql, params or [])


def must_load(path, db, **options):
    checked, result = load(path, db=db, options=Options(**options) if options else None)
    assert checked.ok and result is not None, checked.report.render()
    return checked, result


def tours(db, tmp_path, contract: bool = True):
    """The ANCT's 2024 list for part of Indre-et-Loire, then (optionally) the test contract."""
    must_load(pf.write_text(tmp_path / "listeqp2024-cog2024.csv", pf.ANCT_2024), db)
    if contract:
        must_load(pf.contract_workbook(tmp_path / "contrat-tours.xlsx"), db)


@pytest.fixture
def tours_db(databases, default_db_template, tmp_path) -> str:
    """A copy of the embedded default after `tours` (built once per engine and worker)."""
    databases.derived("tours", "default", lambda url, folder: tours(url, folder))
    return databases.copy("tours", tmp_path)


@pytest.fixture
def tours_list_db(databases, default_db_template, tmp_path) -> str:
    """A copy of the embedded default after `tours(contract=False)`."""
    databases.derived("tours-list", "default",
                      lambda url, folder: tours(url, folder, contract=False))
    return databases.copy("tours-list", tmp_path)


def rejected(db, path, expected: list[str], **options) -> str:
    """The file is refused with every fragment in the message; the database is unchanged."""
    before = snapshot(db)
    checked, result = load(path, db=db, options=Options(**options) if options else None)
    text = checked.report.render()
    assert result is None and not checked.ok, text
    for fragment in expected:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
    assert "Traceback" not in text
    assert_same(before, snapshot(db))
    return text


# --- 1. The register -------------------------------------------------------------------------

def test_init_loads_the_register_as_a_batch_of_its_own(default_db):
    batch = rows(default_db, "SELECT id, file_name FROM batch ORDER BY id LIMIT 1")
    assert batch == [(1, "territoires.parquet")]
    kinds = dict(rows(default_db, "SELECT kind, count(*) FROM territory WHERE created_batch = 1 "
                                  "GROUP BY kind"))
    assert kinds["commune"] == 34969 and kinds["epci"] == 1255
    assert kinds["region"] >= 18 and kinds["france"] == 1 and kinds["departement"] >= 101
    refs = rows(default_db, "SELECT reference_code FROM territory_ref WHERE territory_code = "
                            "'COM-37003' ORDER BY rank")
    assert [r[0] for r in refs] == ["EPCI-200043065", "DEP-37", "REG-24", "FR"]
    assert rows(default_db, "SELECT label FROM territory WHERE code = 'EPCI-243700754'") == \
        [("Tours Métropole Val de Loire",)]


def test_seed_contracts_cite_the_register_and_keep_their_old_codes(default_db, tmp_path):
    expected = {"AMB-COM": "COM-37003", "AMB-CCVA": "EPCI-200043065", "BLO-COM": "COM-41018",
                "BLO-AGGLOPOLYS": "EPCI-200030385", "ALS-COM": "COM-30007",
                "TMVL-EPCI": "EPCI-243700754", "BLO-DEP-41": "DEP-41"}
    aliases = dict(rows(default_db, "SELECT alias, code FROM territory_alias WHERE alias IN "
                                    f"({', '.join('?' * len(expected))})", list(expected)))
    assert aliases == expected
    # A file written with the old local codes still loads, onto the official territory.
    from tests.workbooks import write_xlsx

    old = write_xlsx(tmp_path / "ancien.xlsx", {"valeurs": [
        ["indicateur", "territoire", "annee", "nature", "valeur", "source"],
        ["BLO-DIAG-001", "BLO-COM", 2016, "realise", 45800, "fichier de 2016"]]})
    checked, _ = must_load(old, default_db)
    assert any("ancien code de territoire" in line for line in checked.report.info)
    assert rows(default_db, "SELECT territory_code, value FROM observation WHERE indicator_code "
                            "= 'BLO-DIAG-001' AND year = 2016") == [("COM-41018", 45800.0)]


# --- 2. The ANCT lists and the correspondence ------------------------------------------------

def test_anct_2024_list_defines_qpv_with_references_from_the_register(default_db, tmp_path):
    checked, _ = must_load(pf.write_text(tmp_path / "listeqp2024-cog2024.csv", pf.ANCT_2024),
                           default_db)
    assert checked.report.headline.startswith(
        "Fichier « listeqp2024-cog2024.csv » reconnu : liste des QPV 2024 de l'ANCT")
    terr = rows(default_db, "SELECT code, label, kind, geography FROM territory "
                            "WHERE code LIKE 'QN037%' ORDER BY code")
    assert terr[0] == ("QN03701M", "Sanitas (test)", "qpv", "qpv2024") and len(terr) == 3
    refs = rows(default_db, "SELECT reference_code FROM territory_ref WHERE territory_code = "
                            "'QN03703M' ORDER BY rank")
    assert [r[0] for r in refs] == ["COM-37003", "EPCI-200043065", "DEP-37", "REG-24", "FR"]


def test_contract_lists_qpv_codes_alone(default_db, tmp_path):
    tours(default_db, tmp_path)
    listed = rows(default_db, "SELECT territory_code FROM contract_territory WHERE "
                              "contract_code = ? ORDER BY 1", [pf.CONTRACT])
    assert listed == [("QN03701M",), ("QN03702M",)]
    scope = {r[0] for r in rows(default_db, "SELECT territory_code FROM contract_scope "
                                            "WHERE contract_code = ?", [pf.CONTRACT])}
    assert {"COM-37261", "EPCI-243700754", "DEP-37", "REG-24", "FR"} <= scope
    # The label came from the ANCT's list: the workbook gave none.
    assert rows(default_db, "SELECT label FROM territory WHERE code = 'QN03702M'") == \
        [("Rives du Cher (test)",)]


def test_unknown_qpv_in_a_contract_needs_the_list_first(default_db, tmp_path):
    path = pf.write_xlsx(tmp_path / "c.xlsx", {
        "contrat": [["code", "nom", "periode_debut", "periode_fin"], ["X-2024", "X", 2024, 2030]],
        "territoires": [["code"], ["QN03799M"]]})
    rejected(default_db, path, ["onglet « territoires », ligne 2, colonne « code »",
                                "chargez d'abord la liste des QPV de l'ANCT"])


def test_2015_list_finds_communes_by_name_and_the_correspondence_links_generations(
        tours_list_db, tmp_path):
    checked, _ = must_load(pf.write_text(tmp_path / "qp2015.csv", pf.ANCT_2015), tours_list_db)
    refs = rows(tours_list_db, "SELECT reference_code FROM territory_ref WHERE territory_code = "
                            "'QP037002' ORDER BY rank")
    assert [r[0] for r in refs] == ["COM-37261", "COM-37233", "EPCI-243700754", "DEP-37",
                                    "REG-24", "FR"]
    assert rows(tours_list_db, "SELECT geography FROM territory WHERE code = 'QP037001'") == \
        [("qpv2015",)]
    must_load(pf.write_text(tmp_path / "passage.csv", pf.PASSAGE), tours_list_db)
    assert rows(tours_list_db, "SELECT territory_code, predecessor_code, status FROM "
                            "territory_link ORDER BY 1") == [
        ("QN03701M", "QP037001", "Modifié"), ("QN03702M", "QP037002", "Modifié")]


def test_2015_list_with_an_unknown_commune_name(default_db, tmp_path):
    bad = [pf.ANCT_2015[0], ["QP037009", "Test", "Tour"]]
    rejected(default_db, pf.write_text(tmp_path / "qp2015.csv", bad),
             ["ligne 2, colonne « COMMUNE_QP », valeur « Tour »",
              "Commune introuvable dans le département 37",
              "Commune la plus proche : « Tours »"])


def test_correspondence_before_the_lists_is_refused(default_db, tmp_path):
    rejected(default_db, pf.write_text(tmp_path / "passage.csv", pf.PASSAGE),
             ["colonne « QP2024 », valeur « QN03701M »", "chargez-la avant la table de passage",
              "colonne « QP2015_1 », valeur « QP037001 »"])


# --- 3. The end-to-end scenario ----------------------------------------------------------------

_SCENARIO_CHECKS: dict[str, tuple] = {}  # engine -> the Insee and statloc checks of its build


def _build_scenario(url: str, folder) -> tuple:
    tours(url, folder)
    must_load(pf.write_text(folder / "qp2015.csv", pf.ANCT_2015), url)
    must_load(pf.write_text(folder / "passage.csv", pf.PASSAGE), url)
    insee, _ = must_load(pf.insee_qpv_xlsx(folder / "BASE_QPV_2021.xlsx"), url)
    statloc, _ = must_load(pf.statloc_csv(folder / "statloc-emploi.csv"), url)
    return insee, statloc


@pytest.fixture
def scenario(databases, default_db_template, tmp_path):
    """On a fresh init: the ANCT list, a contract of QPV codes with variables_source, an
    Insee-style QPV base (xlsx) and a statistiques-locales export (CSV); built once per engine
    and worker, each test gets a copy (and the checks of the Insee and statloc loads)."""
    def build(url, folder):
        _SCENARIO_CHECKS[databases.backend] = _build_scenario(url, folder)

    databases.derived("scenario", "default", build)
    return databases.copy("scenario", tmp_path), *_SCENARIO_CHECKS[databases.backend]


@pytest.fixture
def scenario_app(scenario, monkeypatch):
    """The `app` factory on the scenario's database."""
    return app_on(scenario[0], monkeypatch)


def test_insee_base_is_announced_mapped_and_loaded_with_its_sources(scenario):
    db, insee, statloc = scenario
    assert insee.report.headline == (
        "Fichier « BASE_QPV_2021.xlsx » reconnu : base QPV de l'Insee, onglet(s) « Données "
        "quartier », « Communes », "
        "« EPCI » ; 3 variable(s) reconnue(s), 1 ignorée(s) (LIB_COM).")
    info = " ".join(insee.report.info)
    assert "Onglet « Documentation » non reconnu, ignoré." in info
    assert "1 ligne(s) d'agrégat" in info and "onglet « Données quartier », ligne 8" in info
    assert "hors du contrat" in info  # Amboise's quartier and commune: not this contract's
    got = rows(db, "SELECT indicator_code, territory_code, year, value, status, o.source, comment "
                   "FROM observation o JOIN indicator i ON i.code = o.indicator_code WHERE "
                   "i.contract_code = ? ORDER BY 1, 2", [pf.CONTRACT])
    by = {(r[0], r[1]): r for r in got}
    assert by[("TT-REV", "QN03701M")][2:5] == (2021, 13250.0, "valide")
    assert by[("TT-REV", "QN03701M")][5] == ("Insee, base QPV – BASE_QPV_2021.xlsx, onglet "
                                             "« Données quartier », colonne DISP_MED_A21")
    # `s` is a state, not a number: no value, never imputed; the token is kept.
    secret = by[("TT-PAUV", "QN03702M")]
    assert secret[3] is None and secret[4] == "secret_statistique"
    assert secret[6] == "Mention « s » de la source : secret statistique"
    assert by[("TT-POP", "EPCI-243700754")][3:5] == (None, "non_disponible")
    # POP_MUN carries no year: it came from the file name.
    assert by[("TT-POP", "QN03701M")][2] == 2021
    # The commune and the EPCI of the quartiers came from the communes and EPCI sheets.
    assert by[("TT-PAUV", "COM-37261")][3] == 19.8
    assert not any(t in ("QN03703M", "COM-37003") for _, t in by)
    assert statloc.report.headline.startswith(
        "Fichier « statloc-emploi.csv » reconnu : export « statistiques locales » de l'Insee ; "
        "1 variable(s) reconnue(s)")
    assert by[("TT-CHOM", "DEP-37")][2:4] == (2021, 11.4)


def test_scenario_stats_and_export(scenario, tmp_path):
    db = scenario[0]
    out = cli_in_process("--db", str(db), "stats", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    stats = {s["code"]: s for s in json.loads(out.stdout)}[pf.CONTRACT]
    assert stats["territories"] == 2 and stats["observations"]["realise"] == 15
    csv = tmp_path / "export.csv"
    assert cli_in_process("--db", str(db), "export", "--contract", pf.CONTRACT,
                          "--out", str(csv)).returncode == 0
    export = pd.read_csv(csv, sep=";", decimal=",", encoding="utf-8-sig", dtype={"valeur": float})
    assert len(export) == 15 and export["source"].notna().all()
    secret = export[export["statut"] == "secret_statistique"]
    assert len(secret) == 1 and secret["valeur"].isna().all()


def test_scenario_quartiers_page_gaps_through_the_register(scenario, scenario_app):
    at = scenario_app("app_pages/quartiers.py", contrat=pf.CONTRACT, quartier="QN03701M", annee=2021)
    refs = " ".join(m.value for m in at.markdown)
    assert "1. Tours (commune)\n2. Tours Métropole Val de Loire (EPCI)" in refs
    gaps = next(df.value for df in at.dataframe if "Territoire de référence" in df.value.columns)
    pauv = gaps[gaps["Indicateur"] == "TT-PAUV"].set_index("Territoire de référence")
    # Lower is better: gap = −1 × (Ref − QPV) = 42,1 − 19,8 with the commune, 42,1 − 14,9 with
    # the EPCI, both found through the register (the quartier's references).
    assert pauv.loc["Tours", "Écart"] == pytest.approx(22.3)
    assert pauv.loc["Tours Métropole Val de Loire", "Écart"] == pytest.approx(27.2)
    # The 2015 QPV it succeeds is shown apart, under its own name.
    assert any("QPV 2015 correspondant" in h.value for h in at.subheader)
    assert any("Sanitas 2015 (test) (QP037001)" in m.value for m in at.markdown)


def test_scenario_indicator_page_shows_sources_and_secret_values(scenario, scenario_app):
    at = scenario_app("app_pages/fiche_indicateur.py", contrat=pf.CONTRACT, annee=2021,
             indicateur="TT-PAUV")
    data = next(d.value for d in at.dataframe if "Nature" in d.value.columns)
    assert set(data["Territoire"]) >= {"Sanitas (test)", "Rives du Cher (test)", "Tours",
                                       "Tours Métropole Val de Loire"}
    secret = data[data["Territoire"] == "Rives du Cher (test)"]
    assert secret["Statut de la valeur"].tolist() == ["secret statistique"]
    assert secret["Valeur"].isna().all()
    assert data["Source"].str.startswith("Insee, base QPV – BASE_QPV_2021.xlsx").all()


def test_predecessor_series_on_the_indicator_page(scenario, scenario_app, tmp_path):
    db = scenario[0]
    odt = pf.write_text(tmp_path / "odt.csv", [
        pf.ODT[0], ["codgeo", "libgeo", "an", "tx_pauvrete"],
        ["QP037001", "Sanitas 2015 (test)", "2018", "44,0"],
        ["QP037001", "Sanitas 2015 (test)", "2019", "43,5"]])
    must_load(odt, db, mapping={"tx_pauvrete": "TT-PAUV"})
    at = scenario_app("app_pages/fiche_indicateur.py", contrat=pf.CONTRACT, annee=2021,
             quartier="QN03701M", indicateur="TT-PAUV")
    data = next(d.value for d in at.dataframe if "Nature" in d.value.columns)
    old = data[data["Territoire"] == "QPV 2015 correspondant : Sanitas 2015 (test) (QP037001)"]
    assert old["Année"].tolist() == [2018, 2019] and old["Valeur"].tolist() == [44.0, 43.5]
    new = data[data["Territoire"] == "Sanitas (test)"]
    assert new["Année"].tolist() == [2021]  # two series, never merged
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    # Long legend entries are wrapped on two lines (<br>) so they fit a column at 1 024 px.
    traces = [(t.get("name") or "").replace("<br>", " ") for t in chart["data"]]
    assert any(n.startswith("QPV 2015 correspondant : Sanitas 2015 (test)") for n in traces)
    assert any(n.startswith("Sanitas (test) –") for n in traces)


# --- 4. Each layout and its bad inputs -----------------------------------------------------------

def test_layout_not_recognised_lists_the_known_layouts(default_db, tmp_path):
    path = pf.write_text(tmp_path / "inconnu.csv", [["alpha", "beta"], ["1", "2"]])
    text = rejected(default_db, path, ["Fichier « inconnu.csv » non reconnu",
                                       "« insee_qpv » : base QPV de l'Insee",
                                       "« statloc »", "« odt »", "« anct_qpv2024 »",
                                       "Premières lignes trouvées : « alpha ; beta » / « 1 ; 2 »"])
    assert "--format" in text


def test_header_row_not_found(default_db, tmp_path):
    sheets = {"Données quartier": [["Titre"], [], ["CODE", "NOM", "DISP_MED_A21"],
                                   ["QN03701M", "x", 1]]}
    rejected(default_db, pf.insee_qpv_xlsx(tmp_path / "base.xlsx", sheets),
             ["Ligne d'en-tête introuvable dans les 10 premières lignes", "base QPV de l'Insee",
              "CODGEO"], layout="insee_qpv")


def test_year_not_determinable(tours_db, tmp_path):
    sheets = {"Données quartier": [["Population des quartiers"],
                                   ["CODGEO", "LIBGEO", "POP_MUN"], ["QN03701M", "S", 9800]]}
    rejected(tours_db, pf.insee_qpv_xlsx(tmp_path / "base-pop.xlsx", sheets),
             ["onglet « Données quartier », ligne 2, colonne « POP_MUN »",
              "Année introuvable pour cette colonne"])
    # Given at load time, the same file loads.
    must_load(tmp_path / "base-pop.xlsx", tours_db, year=2020)
    assert rows(tours_db, "SELECT year, value FROM observation WHERE indicator_code = "
                            "'TT-POP'") == [(2020, 9800.0)]


def test_a_variable_declared_for_two_indicators(tours_list_db, tmp_path):
    path = pf.contract_workbook(tmp_path / "c.xlsx", {"TT-REV": "DISP_MED",
                                                       "TT-PAUV": "disp_med"})
    rejected(tours_list_db, path, ["onglet « indicateurs »", "colonne « variables_source »",
                                "déclarée pour plusieurs indicateurs du même contrat "
                                "(TT-PAUV et TT-REV)"])


def test_a_column_mapped_to_two_indicators_of_the_contract(tours_db, tmp_path):
    rejected(tours_db, pf.insee_qpv_xlsx(tmp_path / "BASE_2021.xlsx"),
             ["onglet « Données quartier », ligne 4, colonne « DISP_MED_A21 »",
              "correspond à plusieurs indicateurs du contrat « TOURS-TEST-2024 » "
              "(TT-PAUV et TT-REV)"], mapping={"DISP_MED_A21": "TT-PAUV"})


def test_two_columns_with_different_values_for_the_same_series(tours_db, tmp_path):
    sheets = {"Données quartier": [["CODGEO", "LIBGEO", "DISP_MED_A21", "DISP_MED_2021"],
                                   ["QN03701M", "S", 13250, 13300]]}
    text = rejected(tours_db, pf.insee_qpv_xlsx(tmp_path / "base.xlsx", sheets),
                    ["onglet « Données quartier », ligne 2, colonne « DISP_MED_A21 »",
                     "onglet « Données quartier », ligne 2, colonne « DISP_MED_2021 »"])
    assert "valeurs différentes" in text


def test_unknown_token_and_unknown_code(tours_db, tmp_path):
    sheets = {"Données quartier": [["CODGEO", "LIBGEO", "DISP_MED_A21"],
                                   ["QN03701M", "S", "xx"], ["QN03799M", "?", 1000]]}
    rejected(tours_db, pf.insee_qpv_xlsx(tmp_path / "base.xlsx", sheets),
             ["ligne 2, colonne « DISP_MED_A21 », valeur « xx » : Nombre illisible",
              "Mentions reconnues à la place d'un nombre : s, nd, ns, so, -, faible",
              "ligne 3, colonne « CODGEO », valeur « QN03799M » : Code absent du référentiel",
              "Code connu le plus proche : « QN0370"])


def test_statloc_territory_outside_the_contract_is_an_error(tours_db, tmp_path):
    bad = pf.STATLOC[:3] + [["41018", "Blois", "15,0", ""]]
    rejected(tours_db, pf.statloc_csv(tmp_path / "statloc.csv", bad),
             ["ligne 4, colonne « Code », valeur « 41018 »",
              "Territoire hors du contrat « TOURS-TEST-2024 »"])


def test_statloc_in_iso_8859_15_with_decimal_commas(tours_db, tmp_path):
    text = [["Données « Cœur de métropole »"], ["Source : Insee"]] + pf.STATLOC[2:]
    checked, _ = must_load(pf.statloc_csv(tmp_path / "statloc.csv", text,
                                          encoding="iso-8859-15"), tours_db)
    assert rows(tours_db, "SELECT value, status FROM observation WHERE indicator_code = "
                            "'TT-CHOM' AND territory_code = 'COM-37261'") == [(16.8, "valide")]


def test_insee_csv_with_title_lines(tours_db, tmp_path):
    csv = pf.write_text(tmp_path / "qpv_2021.csv", [
        ["Revenus 2021"], [], ["CODGEO", "LIBGEO", "DISP_MED_A21", "TP60_A21"],
        ["QN03701M", "Sanitas", "13 250,5", "nd"]], encoding="iso-8859-15")
    checked, _ = must_load(csv, tours_db)
    assert checked.report.headline.startswith("Fichier « qpv_2021.csv » reconnu : base QPV de "
                                              "l'Insee ; 2 variable(s) reconnue(s)")
    assert sorted(rows(tours_db, "SELECT indicator_code, value, status FROM observation "
                                   "WHERE territory_code = 'QN03701M'")) == [
        ("TT-PAUV", None, "non_disponible"), ("TT-REV", 13250.5, "valide")]


def test_odt_extract_by_sex_and_a_mapping_saved_for_next_year(tours_db, tmp_path):
    path = pf.write_text(tmp_path / "odt.csv", pf.ODT)
    rejected(tours_db, path, ["Aucune colonne du fichier ne correspond à un indicateur"])
    mapping = pf.write_text(tmp_path / "correspondance.csv",
                            [["colonne", "indicateur"], ["tx_chom_1564", "TT-CHOM"]])
    out = cli_in_process("--db", str(tours_db), "load", str(path), "--correspondance",
                         str(mapping))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Fichier « odt.csv » reconnu : extraction de l'Observatoire des territoires" \
        in out.stdout
    got = rows(tours_db, "SELECT year, breakdown, modality, value FROM observation WHERE "
                           "indicator_code = 'TT-CHOM' AND territory_code = 'QN03701M' "
                           "ORDER BY 1, 2, 3")
    assert got == [(2021, "", "", 33.4), (2021, "sexe", "F", 31.5), (2021, "sexe", "H", 35.2),
                   (2022, "", "", 32.0)]
    # The mapping is in the catalogue now: next year's file maps itself.
    assert rows(tours_db, "SELECT indicator_code, variable, label FROM indicator_variable "
                            "WHERE indicator_code = 'TT-CHOM' ORDER BY variable") == [
        ("TT-CHOM", "tauxdechomagedes1564ans", "Taux de chômage des 15-64 ans"),
        ("TT-CHOM", "txchom1564", "tx_chom_1564")]
    nxt = pf.write_text(tmp_path / "odt-2023.csv", pf.ODT[:3] + [
        ["QN03701M", "Sanitas (test)", "2023", "T", "30,1"]])
    checked = check(nxt, db=tours_db)
    assert checked.ok and checked.staged.n_observations == 1, checked.report.render()


def test_forced_format_and_check_writes_nothing(tours_db, tmp_path):
    before = snapshot(tours_db)
    path = pf.insee_qpv_xlsx(tmp_path / "BASE_QPV_2021.xlsx")
    out = cli_in_process("--db", str(tours_db), "check", str(path), "--format", "insee_qpv")
    assert out.returncode == 0, out.stdout
    assert out.stdout.startswith("Fichier « BASE_QPV_2021.xlsx » reconnu : base QPV de l'Insee")
    assert "valeur(s) prête(s) à charger" in out.stdout
    assert_same(before, snapshot(tours_db))


# --- 5. The Import page: recognised, mapped by hand, loaded ----------------------------------------

def test_import_page_maps_remaining_columns_by_hand_and_loads(app, tmp_path):
    from suivi.accounts import users
    from tests.test_pages_import_bilan import PASSWORD, click, upload

    db = app.db
    must_load(pf.write_text(tmp_path / "listeqp2024-cog2024.csv", pf.ANCT_2024), db)
    must_load(pf.contract_workbook(tmp_path / "c.xlsx", {"TT-PAUV": "TP60"}), db)
    users.add_user("agent-obs", PASSWORD, "contributeur", db=db)
    at = app(contrat=pf.CONTRACT, annee=2021)
    at.text_input(key="auth_sidebar_name").input("agent-obs")
    at.text_input(key="auth_sidebar_password").input(PASSWORD)
    click(at, "Se connecter")
    at.switch_page("app_pages/import_donnees.py")
    at.run()
    upload(at, "BASE_QPV_2021.xlsx", pf.insee_qpv_xlsx(tmp_path / "b.xlsx").read_bytes())
    infos = [i.value for i in at.info]
    assert any(i.startswith("Fichier « BASE_QPV_2021.xlsx » reconnu : base QPV de l'Insee") and
               "1 variable(s) reconnue(s), 3 ignorée(s) (DISP_MED_A21, LIB_COM, POP_MUN)" in i
               for i in infos), infos
    assert [s.label for s in at.selectbox if s.key and s.key.startswith("map-")] == \
        ["DISP_MED_A21", "LIB_COM", "POP_MUN"]
    at.selectbox(key="map-DISP_MED_A21").set_value("TT-REV")
    click(at, "Enregistrer la correspondance dans le catalogue")
    assert any("Correspondance enregistrée (1 colonne(s))" in s.value for s in at.success)
    assert rows(db, "SELECT indicator_code, label FROM indicator_variable WHERE "
                    "indicator_code = 'TT-REV'") == [("TT-REV", "DISP_MED_A21")]
    # Checked again with the new mapping: DISP_MED is recognised, then loaded.
    assert any("2 variable(s) reconnue(s), 2 ignorée(s)" in i.value for i in at.info)
    click(at, "Confirmer le chargement")
    assert rows(db, "SELECT value FROM observation WHERE indicator_code = 'TT-REV' AND "
                    "territory_code = 'QN03701M'") == [(13250.0,)]


def test_merged_title_cells_are_fine_merged_data_cells_are_not(tours_db, tmp_path):
    from openpyxl import load_workbook

    path = pf.insee_qpv_xlsx(tmp_path / "BASE_QPV_2021.xlsx")
    wb = load_workbook(path)
    wb["Données quartier"].merge_cells("A1:F1")  # the title, as Insee's files have it
    wb.save(path)
    must_load(path, tours_db)
    wb["Communes"].merge_cells("C5:D5")  # inside the data: a value would be lost
    wb.save(path)
    rejected(tours_db, path, ["Cellules fusionnées dans l'onglet « Communes »", "C5:D5"])
