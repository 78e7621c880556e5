"""The embedded default: the four seed contracts' counts, real figures with sources, demo flags."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from suivi.core.config import ROOT
from suivi.store.export import export_frame
from suivi.store.history import remove_demo
from tests.conftest import connection


@pytest.fixture(scope="module")
def stats(default_db_template):
    res = subprocess.run([sys.executable, "-m", "etl", "--db", str(default_db_template), "stats",
                          "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return {s["code"]: s for s in json.loads(res.stdout)}


def test_four_contracts(stats):
    assert sorted(stats) == ["ALES-2015", "AMBOISE-2015", "BLOIS-2015", "TMVL-2024"]


def test_amboise_counts(stats):
    amb = stats["AMBOISE-2015"]
    assert amb["levels"] == {"pilier": 4, "priorité": 8, "objectif spécifique": 21, "action": 90}
    assert amb["indicators"] == 89
    assert amb["territories"] >= 6


def test_ales_counts(stats):
    ales = stats["ALES-2015"]
    assert ales["levels"] == {"pilier": 4, "orientation": 14, "objectif opérationnel": 75,
                              "action": 199}
    assert ales["indicators"] == 194


def test_blois_and_tours(stats):
    blois = stats["BLOIS-2015"]
    assert blois["levels"]["enjeu"] == 5 and blois["levels"]["axe"] >= 5
    assert blois["observations"]["realise"] > 300 and blois["demo_observations"] == 0
    tours = stats["TMVL-2024"]
    assert tours["levels"] == {"enjeu": 1, "orientation": 1, "fiche projet": 1}
    assert tours["indicators"] == 5


def test_national_follow_up_indicators_of_blois(default_db_template):
    with connection(default_db_template, read_only=True) as con:
        n = con.rows("SELECT count(*) FROM indicator WHERE code LIKE 'BLO-NAT-%'")[0][0]
        types = con.df("SELECT DISTINCT type FROM indicator WHERE contract_code = 'TMVL-2024'"
                        )["type"].tolist()
    assert n == 25
    assert sorted(types) == ["impact", "realisation", "resultat"]


def test_amboise_territories_and_populations(default_db_template):
    with connection(default_db_template, read_only=True) as con:
        terr = con.df("SELECT code, label, kind, geography, population FROM territory "
                       "WHERE code LIKE 'AMB-%'").set_index("code")
        refs = con.df("SELECT reference_code FROM territory_ref WHERE territory_code = "
                       "'AMB-QPV-VE' ORDER BY rank")["reference_code"].tolist()
        commune = con.rows("SELECT label, kind, population, population_year FROM territory "
                          "WHERE code = 'COM-37003'")
        alias = con.rows("SELECT code FROM territory_alias WHERE alias = 'AMB-COM'")
    assert terr.loc["AMB-QPV-PO", "population"] == 1629
    assert terr.loc["AMB-QPV-VE", "population"] == 1095
    assert terr.loc["AMB-QPV-VE", "kind"] == "qpv" and terr.loc["AMB-QPV-VE", "geography"] == "qpv2015"
    # The commune and the CC du Val d'Amboise are the register's, with its population (the
    # seed's derived estimate was never loaded); the workbook's old code is an alias.
    assert refs[:2] == ["COM-37003", "EPCI-200043065"]
    assert commune == [("Amboise", "commune", 12937.0, 2023)]
    assert alias == [("COM-37003",)]
    assert "AMB-COM" not in terr.index


def test_blois_cucs_quartiers_are_kept_apart_from_the_2015_qpv(default_db_template):
    with connection(default_db_template, read_only=True) as con:
        kinds = con.df("SELECT kind, geography, count(*) AS n FROM territory t JOIN "
                        "contract_territory c ON c.territory_code = t.code WHERE "
                        "c.contract_code = 'BLOIS-2015' GROUP BY kind, geography")
    qpv = kinds[(kinds["kind"] == "qpv")]
    cucs = kinds[(kinds["kind"] == "quartier_cucs")]
    assert qpv["geography"].tolist() == ["qpv2015"] and cucs["geography"].tolist() == ["cucs"]
    assert cucs["n"].iloc[0] >= 5


def test_export_holds_real_figures_with_their_sources(default_db_template):
    with connection(default_db_template, read_only=True) as con:
        df = export_frame(con)
    real = df[df["statut"] != "demo"]
    assert real["source"].notna().all(), "every real figure carries its source"
    blois = real[real["contrat"] == "BLOIS-2015"]
    pop = blois[(blois["territoire_libelle"] == "Croix Chevalier")
                & blois["indicateur_libelle"].str.startswith("Population")]
    assert 3780 in pop["valeur"].tolist()
    assert pop["source"].str.contains("INSEE").all()
    amb = real[(real["contrat"] == "AMBOISE-2015") & (real["indicateur"] == "AMB-P4-05a")]
    assert amb["valeur"].tolist() == [5.0] and amb["source"].str.contains("Protocole").all()
    assert (df["statut"] == "demo").sum() > 1000
    assert (df.loc[df["statut"] == "demo", "contrat"] == "AMBOISE-2015").all()


def test_demo_values_are_removed_by_one_command(default_db):
    with connection(default_db) as con:
        before_real = con.rows("SELECT count(*) FROM observation WHERE status <> 'demo'")
        n = remove_demo(con)
        left = con.rows("SELECT count(*) FROM observation_v WHERE status = 'demo'")
        after_real = con.rows("SELECT count(*) FROM observation WHERE status <> 'demo'")
    assert n > 1000 and left[0][0] == 0 and before_real == after_real


def test_init_twice_changes_nothing(default_db):
    from etl.pipeline import init
    from tests.conftest import assert_same, snapshot

    before = snapshot(default_db)
    results = init(default_db, demo=True)
    assert all(c.ok and r is not None and not r.changed for _, c, r in results)
    assert_same(before, snapshot(default_db))


def test_shared_territories_are_stored_once(default_db_template):
    with connection(default_db_template, read_only=True) as con:
        users = con.df("SELECT contract_code FROM contract_territory WHERE territory_code = "
                        "'DEP-37' ORDER BY 1")["contract_code"].tolist()
        versions = con.rows("SELECT count(*) FROM territory_v WHERE code = 'FR'")[0][0]
    assert users == ["AMBOISE-2015", "BLOIS-2015"] and versions == 1
