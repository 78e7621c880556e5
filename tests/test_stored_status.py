"""The stored statuses (suivi/store/stored_status.py) equal a recomputation from scratch, for
every year the pages offer, after loads, reloads, rollbacks and demo removal, on both engines;
and a load recomputes the series it touched, and only those."""

from __future__ import annotations

import pandas as pd

from etl.pipeline import load
from suivi.store import queries, stored_gaps, stored_status
from suivi.store.history import remove_demo, rollback
from suivi.store.status_sql import SERIES_KEY
from tests.conftest import assert_stored_equal_recomputed, connection, upgraded_from
from tests.workbooks import CONTRACT, INDICATORS, TREE, write_xlsx

HEAD = ["indicateur", "territoire", "annee", "nature", "valeur", "source"]


EVERY_ROW = " UNION ALL ".join(f"SELECT * FROM {t}" for t in stored_status.TABLES)


def stored_table(db) -> pd.DataFrame:
    """Every stored row: each step, and the latest ones again (their copy in TABLE)."""
    with connection(db) as s:
        return s.df(f"SELECT * FROM ({EVERY_ROW}) t ORDER BY indicator_code, "
                    "territory_code, breakdown, modality, valid_from NULLS FIRST")


def test_stored_statuses_follow_loads_reloads_rollbacks_and_demo_removal(default_db, tmp_path):
    assert assert_stored_equal_recomputed(default_db) > 1000
    before = stored_table(default_db)
    with connection(default_db) as s:
        amboise = queries.series_status(s, "AMBOISE-2015", 2023)
    series = amboise[amboise["status"] != "not_assessable"].iloc[0]
    code, terr = series["indicator_code"], series["territory_code"]

    # A reload that revises the latest actual and adds one: a new batch.
    path = write_xlsx(tmp_path / "revision.xlsx", {"valeurs": [
        HEAD, [code, terr, int(series["year"]), "realise", float(series["target"]), "révision"],
        [code, terr, int(series["year"]) + 1, "realise", float(series["baseline"]), "ajout"]]})
    checked, result = load(path, db=default_db)
    assert checked.ok and result.changed, checked.report.render()
    assert_stored_equal_recomputed(default_db)
    with connection(default_db) as s:
        now = queries.series_status(s, "AMBOISE-2015", int(series["year"]))
    row = now[(now["indicator_code"] == code) & (now["territory_code"] == terr)
              & (now["breakdown"] == series["breakdown"])
              & (now["modality"] == series["modality"])].iloc[0]
    assert row["status"] == "achieved" and row["value"] == float(series["target"])

    # The rollback brings back the stored statuses of before the load, row for row.
    with connection(default_db) as s:
        rollback(s, result.batch_id, user="test")
    assert_stored_equal_recomputed(default_db)
    pd.testing.assert_frame_equal(stored_table(default_db), before, check_dtype=False)

    with connection(default_db) as s:
        assert remove_demo(s, user="test") > 0
        assert not s.scalar(f"SELECT count(*) FROM ({EVERY_ROW}) t WHERE demo")
    assert_stored_equal_recomputed(default_db)


def test_a_load_recomputes_the_series_it_touched_and_only_those(test_db, tmp_path):
    # Mark every stored row of IND-DE: a load that touches only IND-TX must leave them as
    # they are, and must recompute the IND-TX series it changed.
    with connection(test_db) as s:
        for table in stored_status.TABLES:
            s.execute(f"UPDATE {table} SET reason = 'marked'")
    path = write_xlsx(tmp_path / "tx.xlsx", {"valeurs": [
        HEAD, ["IND-TX", "T-QPV1", 2021, "realise", 48, "INSEE"]]})
    checked, result = load(path, db=test_db)
    assert checked.ok and result.changed
    table = stored_table(test_db)
    touched = (table["indicator_code"] == "IND-TX") & (table["territory_code"] == "T-QPV1")
    assert (table.loc[~touched, "reason"] == "marked").all() and (~touched).sum() > 0
    assert not (table.loc[touched, "reason"] == "marked").any()
    latest = table[touched & table["valid_to"].isna()].iloc[0]
    assert (latest["valid_from"], latest["value"], latest["status"]) == (2021, 48.0, "on_track")


def _tx_falling(tmp_path, contract):
    """A workbook of the contract sheet `contract` and the catalogue, with IND-TX's polarity
    turned to « baisse »."""
    indicators = [INDICATORS[0]] + [
        [*row[:3], "baisse", *row[4:]] if row[0] == "IND-TX" else row for row in INDICATORS[1:]]
    return write_xlsx(tmp_path / "polarite.xlsx", {"contrat": contract, "arborescence": TREE,
                                                   "indicateurs": indicators})


def test_a_load_of_values_adds_its_differences_to_the_source_counts(test_db, tmp_path):
    """A load that changes values only moves the counts of the groups (contract, source,
    year) its value versions fall in: a stored group no value could give survives it, and
    the others equal a count from the values. A load that changes an indicator counts the
    contract's values again: the group is gone."""
    witness = "SELECT n FROM source_count WHERE source = 'témoin'"
    with connection(test_db) as s:
        s.execute("INSERT INTO source_count VALUES ('TEST-2015', 'témoin', 1900, 7, 0)")
    path = write_xlsx(tmp_path / "valeurs.xlsx", {"valeurs": [
        HEAD, ["IND-TX", "T-QPV1", 2021, "realise", 48, "INSEE"],  # new
        ["IND-TX", "T-QPV1", 2020, "realise", 42, "Enquête locale"]]})  # a source changed
    checked, result = load(path, db=test_db)
    assert checked.ok and result.counts["observation"]["inserted"] == 1 \
        and result.counts["observation"]["updated"] == 1, checked.report.render()
    with connection(test_db) as s:
        assert s.scalar(witness) == 7
        s.execute("DELETE FROM source_count WHERE source = 'témoin'")
    assert_stored_equal_recomputed(test_db)

    with connection(test_db) as s:
        s.execute("INSERT INTO source_count VALUES ('TEST-2015', 'témoin', 1900, 7, 0)")
    checked, result = load(_tx_falling(tmp_path, CONTRACT), db=test_db)
    assert checked.ok and result.changed, checked.report.render()
    with connection(test_db) as s:
        assert s.scalar(witness) is None
    assert_stored_equal_recomputed(test_db)


def test_a_load_counts_again_only_the_territories_and_indicators_it_touched(test_db,
                                                                           tmp_path):
    """The stored status counts of a territory and of an indicator the load did not touch
    keep their rows (a witness row no step could give survives); the others equal a count
    from the steps."""
    witnesses = {"status_count_territory": "('TEST-2015', 'T-TEMOIN', 'témoin', 1, 0, NULL, 0)",
                 "status_count_indicator": "('TEST-2015', 'IND-TEMOIN', 'témoin', NULL, NULL, "
                                           "1, 0, FALSE, FALSE, NULL, NULL)"}
    with connection(test_db) as s:
        for table, row in witnesses.items():
            s.execute(f"INSERT INTO {table} VALUES {row}")
    path = write_xlsx(tmp_path / "tx.xlsx", {"valeurs": [
        HEAD, ["IND-TX", "T-QPV1", 2021, "realise", 48, "INSEE"]]})
    checked, result = load(path, db=test_db)
    assert checked.ok and result.changed, checked.report.render()
    with connection(test_db) as s:
        for table in witnesses:
            assert s.scalar(f"SELECT count(*) FROM {table} WHERE status = 'témoin'") == 1
            s.execute(f"DELETE FROM {table} WHERE status = 'témoin'")
    assert_stored_equal_recomputed(test_db)


def _status_of_tx(db) -> str:
    with connection(db) as s:
        st = queries.series_status(s, "TEST-2015", 2020)
    return st[(st["indicator_code"] == "IND-TX") & (st["territory_code"] == "T-QPV1")] \
        .iloc[0]["status"]


def test_threshold_and_polarity_changes_recompute_their_series(test_db, tmp_path):
    # IND-TX on T-QPV1: 40,5 in 2019, 42 in 2020, target 50 in 2022: P = 0,47, « limited ».
    assert _status_of_tx(test_db) == "limited"
    # The contract's acceleration threshold lowered to 0,4: the same pace needs acceleration.
    contract = [[*CONTRACT[0], "seuil_acceleration"], [*CONTRACT[1], 0.4]]
    path = write_xlsx(tmp_path / "seuils.xlsx", {"contrat": contract})
    checked, result = load(path, db=test_db)
    assert checked.ok and result.changed, checked.report.render()
    assert_stored_equal_recomputed(test_db)
    assert _status_of_tx(test_db) == "acceleration_needed"
    # Its polarity turned to « baisse »: 42 is already below the target of 50.
    checked, result = load(_tx_falling(tmp_path, contract), db=test_db)
    assert checked.ok and result.changed, checked.report.render()
    assert_stored_equal_recomputed(test_db)
    assert _status_of_tx(test_db) == "achieved"


def test_a_database_from_before_the_stored_statuses_gets_them(test_db):
    with connection(test_db) as s:
        s.execute(f"DROP TABLE {stored_status.TABLE}")
        s.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        from suivi.store.schema import ensure_schema

        ensure_schema(s)
    assert assert_stored_equal_recomputed(test_db) > 0

def test_a_database_with_the_earlier_steps_apart_gets_every_step_in_one_table(test_db):
    """Schema 9 kept the earlier steps in series_status_past, without the latest ones: the
    upgrade drops it and computes every step again."""
    store = upgraded_from(test_db, 9,
                          f"ALTER TABLE {stored_status.STEPS} RENAME TO series_status_past",
                          "DELETE FROM series_status_past WHERE valid_to IS NULL")
    with store.session() as s:
        tables = {r[0] for r in s.rows(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()")}
        assert "series_status_past" not in tables and stored_status.STEPS in tables
        assert s.scalar(f"SELECT count(*) FROM {stored_status.STEPS} "
                        "WHERE valid_to IS NULL") > 0
    assert assert_stored_equal_recomputed(test_db) > 0


def test_init_if_absent_brings_an_existing_database_to_the_current_schema(test_db):
    """The deployment guide's step after an update (`init --si-absente`): on a database of
    an earlier schema it loads nothing and upgrades it."""
    from suivi.store.schema import SCHEMA_VERSION
    from tests.conftest import cli_in_process

    with connection(test_db) as s:
        batches = s.scalar("SELECT count(*) FROM batch")
        s.execute(f"ALTER TABLE {stored_status.STEPS} RENAME TO series_status_past")
        s.execute("DELETE FROM series_status_past WHERE valid_to IS NULL")
        s.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    res = cli_in_process("--db", test_db, "init", "--si-absente")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Base déjà construite, schéma à jour" in res.stdout
    with connection(test_db) as s:
        assert s.scalar("SELECT value FROM meta WHERE key = 'schema_version'") == \
            str(SCHEMA_VERSION)
        assert s.scalar("SELECT count(*) FROM batch") == batches
    assert assert_stored_equal_recomputed(test_db) > 0



def test_the_fast_fetch_gives_the_frames_of_the_plain_one(default_db):
    """Session.table_df (Arrow on DuckDB) equals Session.df, types included: every table, the
    same with no row, and the stored statuses and projections as of several years."""
    key = [*SERIES_KEY, "valid_from"]
    with connection(default_db) as s:
        tables = [r[0] for r in s.rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_type = 'BASE TABLE' ORDER BY 1")]
        queries = [(f"SELECT * FROM {t}{where}", None) for t in tables
                   for where in ("", " WHERE 1 = 0")]
        for as_of in (None, 1990, 2019, 2023):
            queries += [stored_status.read_sql("AMBOISE-2015", as_of),
                        stored_status._read_sql(None, as_of, ["AMB-QPV-VE"], ", ".join(
                            [*SERIES_KEY, "valid_from", *stored_status.PROJECTION_COLUMNS]))]
        for sql, params in queries:
            plain, fast = s.df(sql, params), s.table_df(sql, params)
            order = [c for c in key if c in plain.columns] or list(plain.columns[:1])
            pd.testing.assert_frame_equal(
                fast.sort_values(order, kind="stable").reset_index(drop=True),
                plain.sort_values(order, kind="stable").reset_index(drop=True),
                check_dtype=True, obj=sql[:60])
    assert len(queries) > 30


def test_a_value_of_a_commune_moves_the_gaps_of_its_quartiers(default_db, tmp_path):
    """A load that touches only a reference territory's value recomputes the stored gaps of
    the quartiers compared with it (found through the register's links), not only those of
    the territories it names."""
    with connection(default_db) as s:
        before = stored_gaps.read(s, "AMBOISE-2015", 2023)
    commune = before[before["reference_code"] == "COM-37003"]
    row = commune.iloc[0]
    same = commune[(commune["indicator_code"] == row["indicator_code"])
                   & (commune["year"] == row["year"])]
    assert len(same) >= 2  # two quartiers compared with the same commune value
    path = write_xlsx(tmp_path / "commune.xlsx", {"valeurs": [
        HEAD, [row["indicator_code"], "COM-37003", int(row["year"]), "realise",
               float(row["ref_value"]) + 10, "révision"]]})
    checked, result = load(path, db=default_db)
    assert checked.ok and result.changed, checked.report.render()
    assert_stored_equal_recomputed(default_db)
    with connection(default_db) as s:
        after = stored_gaps.read(s, "AMBOISE-2015", 2023).set_index(["quartier",
                                                                     "indicator_code"])
    for _, old in same.iterrows():
        new = after.loc[(old["quartier"], old["indicator_code"])]
        assert new["ref_value"] == float(old["ref_value"]) + 10
        assert new["gap"] != old["gap"]


def test_the_catalogue_and_the_quartiers_read_from_the_stored_steps_equal_their_definition(
        default_db):
    """The catalogue's data flags come from the latest stored steps and the sidebar's
    quartiers from the contract's own list: both equal what the observations and the whole
    scope give, for every contract, demonstration values included and removed."""
    n_quartiers = 0
    for removed in (False, True):
        with connection(default_db) as s:
            if removed:
                assert remove_demo(s, user="test") > 0
            for contract in queries.contracts(s)["code"]:
                catalogue = queries.indicators(s, contract).set_index("code")
                truth = s.df("""
                    SELECT o.indicator_code AS code,
                           bool_or(nature = 'reference' AND value IS NOT NULL) AS has_baseline,
                           bool_or(nature = 'cible' AND value IS NOT NULL) AS has_target,
                           max(year) FILTER (WHERE nature = 'realise' AND value IS NOT NULL)
                               AS last_year,
                           bool_or(status = 'demo') AS has_demo
                    FROM observation o JOIN indicator i ON i.code = o.indicator_code
                    WHERE i.contract_code = ? GROUP BY o.indicator_code""", [contract])
                truth = truth.set_index("code").reindex(catalogue.index)
                for flag in ("has_baseline", "has_target", "has_demo"):
                    assert (catalogue[flag] == truth[flag].fillna(False).astype(bool)).all(), \
                        (contract, flag)
                assert catalogue["last_year"].astype("Float64").equals(
                    truth["last_year"].astype("Float64")), contract
                assert queries.has_demo(s, contract) == bool(catalogue["has_demo"].any())
                whole = queries.territories(s, contract)
                listed = whole[whole["kind"].isin(["qpv", "quartier_veille", "quartier_cucs"])
                               & (whole["via"] == 0)].reset_index(drop=True)
                got = queries.quartiers(s, contract)
                pd.testing.assert_frame_equal(got, listed, check_dtype=False)
                n_quartiers += len(got)
            assert any(queries.indicators(s, c)["has_demo"].any()
                       for c in queries.contracts(s)["code"]) is not removed
    assert n_quartiers > 10
