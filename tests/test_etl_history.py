"""Versions, idempotent reloads, rollback restoring the previous state exactly, template round trip."""

from __future__ import annotations

import json
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest

from etl.pipeline import load
from etl.template import write_template
from suivi.core.config import ROOT
from suivi.store.history import RollbackError, batches, rollback, value_history
from tests.conftest import assert_same, cli_in_process, connection, snapshot
from tests.workbooks import full_workbook, write_xlsx

HEAD = ["indicateur", "territoire", "annee", "nature", "valeur", "source"]


def current(db) -> pd.DataFrame:
    with connection(db, read_only=True) as con:
        return con.df("SELECT * FROM observation ORDER BY indicator_code, territory_code, "
                      "year, nature, breakdown, modality")


def test_reloading_the_same_file_changes_nothing(test_db, tmp_path):
    before = snapshot(test_db)
    checked, result = load(full_workbook(tmp_path / "contrat.xlsx"), db=test_db)
    assert checked.ok and result.batch_id is None and not result.changed
    assert result.total("unchanged") > 0
    assert_same(before, snapshot(test_db))


def test_new_value_supersedes_without_erasing_and_rollback_restores(test_db, tmp_path):
    before = current(test_db)
    path = write_xlsx(tmp_path / "maj.xlsx", {"valeurs": [
        HEAD, ["IND-TX", "T-QPV1", 2020, "realise", 43, "INSEE révisé"],   # update 42 -> 43
        ["IND-TX", "T-QPV1", 2021, "realise", 45, "INSEE"]]})             # new
    checked, result = load(path, db=test_db)
    assert (result.batch_id, result.total("inserted"), result.total("updated")) == (2, 1, 1)

    with connection(test_db, read_only=True) as con:
        hist = value_history(con, "IND-TX", "T-QPV1")
    v2020 = hist[(hist["year"] == 2020) & (hist["nature"] == "realise")]
    assert v2020["value"].tolist() == [42.0, 43.0]
    assert v2020["superseded_batch"].tolist()[0] == 2 and v2020["courant"].tolist() == [False, True]

    with connection(test_db) as con:
        rb = rollback(con, 2, user="test")
        log = batches(con)
    assert rb == 3
    pd.testing.assert_frame_equal(current(test_db), before)
    assert log.set_index("id").loc[2, "rolled_back_by"] == 3
    with connection(test_db, read_only=True) as con:
        hist = value_history(con, "IND-TX", "T-QPV1")
    assert 43.0 in hist["value"].tolist(), "the undone value stays in the history"


def test_rollback_refuses_out_of_order_and_twice(test_db, tmp_path):
    for n, value in ((2, 43), (3, 44)):
        load(write_xlsx(tmp_path / f"v{n}.xlsx", {"valeurs": [
            HEAD, ["IND-TX", "T-QPV1", 2020, "realise", value, "INSEE"]]}), db=test_db)
    with connection(test_db) as con:
        with pytest.raises(RollbackError, match="modifiées ensuite par le\\(s\\) lot\\(s\\) 3"):
            rollback(con, 2)
        rollback(con, 3)
        with pytest.raises(RollbackError, match="déjà été annulé"):
            rollback(con, 3)
        rollback(con, 2)
    assert current(test_db).query("year == 2020 and nature == 'realise' and "
                                  "indicator_code == 'IND-TX' and territory_code == 'T-QPV1'"
                                  )["value"].tolist() == [42.0]


def test_rollback_of_first_load_empties_the_database(test_db):
    with connection(test_db) as con:
        rollback(con, 1)
        counts = [con.rows(f"SELECT count(*) FROM {t}")[0][0]
                  for t in ("contract", "territory", "indicator", "observation")]
        versions = con.rows("SELECT count(*) FROM observation_v")[0][0]
    assert counts == [0, 0, 0, 0] and versions == 7


def test_template_fill_load_round_trip(test_db, tmp_path):
    out = tmp_path / "modele.xlsx"
    with connection(test_db) as con:
        write_template(con, "TEST-2015", 2021, out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:2] == ["LISEZMOI", "valeurs"]
    ws = wb["valeurs"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, (c.value for c in r))) for r in ws.iter_rows(min_row=2)]
    # 3 measurable indicators x 2 QPV + IND-DE by sex (2 QPV x F/H) + seen T-COM series
    keys = {(r["indicateur"], r["territoire"], r["ventilation"] or "", r["modalite"] or "")
            for r in rows}
    assert ("IND-DE", "T-QPV1", "sexe", "F") in keys and ("IND-TX", "T-COM", "", "") in keys
    assert all(r["annee"] == 2021 and r["valeur"] is None for r in rows)
    prev = next(r for r in rows if r["indicateur"] == "IND-TX" and r["territoire"] == "T-QPV1"
                and not r["ventilation"])
    assert prev["valeur_precedente"] == 42
    assert prev["unite"] == "pourcentage"  # the help columns speak French, not the codes
    lists = {str(dv.sqref)[0] for dv in ws.data_validations.dataValidation if dv.type == "list"}
    assert lists == {"A", "B", "D", "H"}, "code, nature and status columns are drop-down lists"

    col = header.index("valeur") + 1
    filled = 0
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 1).value == "IND-TX" and not ws.cell(r, header.index("ventilation") + 1).value:
            ws.cell(r, col).value = "44,5"
            filled += 1
    wb.save(out)
    checked, result = load(out, db=test_db)
    assert checked.ok, checked.report.render()
    assert result.total("inserted") == filled == 3
    assert checked.staged.skipped_rows == len(rows) - filled
    got = current(test_db).query("year == 2021 and indicator_code == 'IND-TX'")
    assert set(got["value"]) == {44.5}


def run_cli(db, *args, process: bool = False):
    """The command line: in a real process when `process`, else through the same entry point
    in this one (tests.conftest.cli_in_process)."""
    if process:
        return subprocess.run([sys.executable, "-m", "etl", "--db", str(db), *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    return cli_in_process("--db", str(db), *args)


def test_cli_check_load_history_rollback_export(test_db, tmp_path):
    bad = write_xlsx(tmp_path / "bad.xlsx", {"valeurs": [HEAD, ["IND-TX", "T-QPV1", 2021,
                                                                "realise", "quarante", "x"]]})
    res = run_cli(test_db, "check", str(bad), process=True)
    assert res.returncode == 1
    assert "ERREUR : onglet « valeurs », ligne 2, colonne « valeur », valeur « quarante »" in res.stdout
    res = run_cli(test_db, "load", str(bad))
    assert res.returncode == 1 and "rien n'a été écrit" in res.stdout

    good = write_xlsx(tmp_path / "good.xlsx", {"valeurs": [HEAD, ["IND-TX", "T-QPV1", 2021,
                                                                  "realise", "44", "INSEE"]]})
    assert run_cli(test_db, "check", str(good)).returncode == 0
    res = run_cli(test_db, "load", str(good))
    assert res.returncode == 0 and "Lot 2 chargé : 1 ajout(s)" in res.stdout
    assert "good.xlsx" in run_cli(test_db, "history").stdout

    stats = json.loads(run_cli(test_db, "stats", "--json").stdout)
    assert stats[0]["code"] == "TEST-2015" and stats[0]["observations"]["realise"] == 5

    out = tmp_path / "export.csv"
    assert run_cli(test_db, "export", "--out", str(out)).returncode == 0
    exported = pd.read_csv(out, sep=";", decimal=",", encoding="utf-8-sig")
    assert list(exported.columns[:12]) == ["contrat", "indicateur", "indicateur_libelle",
                                           "territoire", "territoire_libelle", "annee", "nature",
                                           "ventilation", "modalite", "valeur", "statut", "source"]
    assert len(exported) == 8 and 44.0 in exported["valeur"].tolist()

    res = run_cli(test_db, "rollback", "2")
    assert res.returncode == 0 and "Lot 2 annulé" in res.stdout
    assert run_cli(test_db, "rollback", "2").returncode == 1
    res = run_cli(test_db, "template", "--contract", "NOPE", "--year", "2021",
                  "--out", str(tmp_path / "t.xlsx"))
    assert res.returncode == 1 and "inconnu" in res.stdout


def test_a_checked_file_is_revalidated_if_a_batch_landed_since(test_db, tmp_path):
    from etl.pipeline import check, load_checked

    first = write_xlsx(tmp_path / "a.xlsx", {"valeurs": [HEAD, ["IND-TX", "T-QPV1", 2021,
                                                                 "realise", 44, "INSEE"]]})
    checked = check(first, db=test_db)
    assert checked.ok and checked.version == (1, 1)
    _, result = load_checked(checked, db=test_db)  # nothing landed since: loaded as checked
    assert result.batch_id == 2

    stale = check(write_xlsx(tmp_path / "b.xlsx", {"valeurs": [
        HEAD, ["IND-TX", "T-QPV1", 2022, "realise", 45, "INSEE"]]}), db=test_db)
    with connection(test_db) as con:
        rollback(con, 1)  # the catalogue disappears after the check
    rechecked, result = load_checked(stale, db=test_db)
    assert result is None and not rechecked.ok
    assert "Code d'indicateur inconnu" in rechecked.report.render()


def test_rollback_refuses_when_a_later_batch_recreated_a_removed_row(test_db, tmp_path):
    def territories(refs):
        return write_xlsx(tmp_path / f"t{len(refs)}.xlsx", {"territoires": [
            ["code", "libelle", "type", "geographie", "population", "references"],
            ["T-QPV1", "Quartier Un", "qpv", "qpv2015", 1500, refs]]})

    assert load(territories("T-QPV2"), db=test_db)[1].batch_id == 2  # T-COM dropped
    assert load(territories("T-QPV2;T-COM"), db=test_db)[1].batch_id == 3  # T-COM back
    with connection(test_db) as con:
        with pytest.raises(RollbackError, match="lot\\(s\\) 3"):
            rollback(con, 2)
        refs = con.rows("SELECT reference_code FROM territory_ref WHERE territory_code = "
                       "'T-QPV1' ORDER BY 1")
    assert refs == [("T-COM",), ("T-QPV2",)]


def test_last_upload_of_a_contract_follows_loads_and_rollbacks(test_db, tmp_path):
    """The contract's last upload (shown on the Vue d'ensemble) is the newest batch with a
    current row in it: a load of its values counts, a rolled back one no longer does."""
    from suivi.store import queries

    def last(con):
        found = queries.contract_last_upload(con, "TEST-2015")
        return found and (found["id"], found["file_name"])

    with connection(test_db) as con:
        assert last(con) == (1, "contrat.xlsx")
    load(write_xlsx(tmp_path / "a.xlsx", {"valeurs": [HEAD, ["IND-TX", "T-QPV1", 2021,
                                                              "realise", 44, "INSEE"]]}),
         db=test_db)
    with connection(test_db) as con:
        assert last(con) == (2, "a.xlsx")
        rollback(con, 2)
        assert last(con) == (1, "contrat.xlsx")
        assert queries.contract_last_upload(con, "NOPE") is None


@pytest.fixture
def duckdb_test_db(tmp_path, tmp_path_factory, request) -> str:
    """The small test contract's database on DuckDB only (its engine settings are tested)."""
    from tests.conftest import _build_test_contract, databases_of

    dbs = databases_of("duckdb", tmp_path_factory, request)
    dbs.template("contrat", _build_test_contract)
    return dbs.copy("contrat", tmp_path)


def test_a_duckdb_load_works_within_its_budget_then_lifts_it(duckdb_test_db, tmp_path,
                                                               monkeypatch):
    """$SUIVI_LOAD_MEMORY bounds the engine while a load computes its statuses, a smaller
    share of it bounds the commit (the national init's peak), and the budget is lifted
    afterwards: the app's readers share the engine in its process."""
    from suivi.core.config import SettingError, load_memory_bytes
    from suivi.store import stored_status
    from suivi.store.duckdb_store import DuckSession

    db = duckdb_test_db
    budget = {}

    def setting(s):
        return s.scalar("SELECT current_setting('memory_limit')")

    def spy(name, original, when="before"):
        def wrapped(s, *args):
            if when == "before":
                budget[name] = setting(s)
            out = original(s, *args)
            if when == "after":
                budget[name] = setting(s)
            return out
        return wrapped

    with connection(db, read_only=True) as con:
        budget["default"] = setting(con)
    monkeypatch.setattr(stored_status, "after_batch",
                        spy("statuses", stored_status.after_batch))
    monkeypatch.setattr(DuckSession, "commit", spy("commit", DuckSession.commit))
    monkeypatch.setattr(DuckSession, "end_bulk_load",
                        spy("after", DuckSession.end_bulk_load, "after"))
    monkeypatch.setenv("SUIVI_LOAD_MEMORY", "500MB")
    path = write_xlsx(tmp_path / "maj.xlsx", {"valeurs": [
        HEAD, ["IND-TX", "T-QPV1", 2021, "realise", 45, "INSEE"]]})
    checked, result = load(path, db=db)
    assert checked.ok and result.total("inserted") == 1
    # DuckDB counts in MiB: 500 MB = 476.8 MiB; 70 % = 350 MB = 333.7 MiB.
    assert budget["statuses"] == "476.8 MiB" and budget["commit"] == "333.7 MiB"
    assert budget["after"] == budget["default"] != budget["statuses"]
    # Lifted too when nothing changes (the same file again) and when the load fails.
    budget.pop("after")
    checked, result = load(path, db=db)
    assert result.batch_id is None and budget.pop("after") == budget["default"]

    def broken(s, batch_id):
        raise RuntimeError("panne pendant le calcul des statuts")

    monkeypatch.setattr(stored_status, "after_batch", broken)
    other = write_xlsx(tmp_path / "autre.xlsx", {"valeurs": [
        HEAD, ["IND-TX", "T-QPV1", 2022, "realise", 47, "INSEE"]]})
    before = current(db)
    with pytest.raises(RuntimeError):
        load(other, db=db)
    assert budget["after"] == budget["default"]
    pd.testing.assert_frame_equal(current(db), before)

    for text, size in (("1GB", 10**9), ("512MiB", 512 * 2**20), ("300", 300 * 10**6),
                       (" 2,5 gb", 25 * 10**8), ("800KB", 800_000), ("", 350 * 10**6)):
        monkeypatch.setenv("SUIVI_LOAD_MEMORY", text)
        assert load_memory_bytes() == size, text
    for text in ("beaucoup", "80%", "0MB"):  # never a guess: the load stops before writing
        monkeypatch.setenv("SUIVI_LOAD_MEMORY", text)
        with pytest.raises(SettingError, match="SUIVI_LOAD_MEMORY"):
            load_memory_bytes()
    before = snapshot(db)  # the command line says so and stops before opening the store
    run = cli_in_process("--db", db, "load", str(other))
    assert run.returncode == 2 and "SUIVI_LOAD_MEMORY = « 0MB »" in run.stderr
    assert_same(before, snapshot(db))


def test_the_latest_steps_are_copied_unordered_and_the_order_comes_back(
        duckdb_test_db, tmp_path, monkeypatch):
    """The copy of the latest steps is written in no particular order (bench/README.md,
    stop 29). DuckDB's setting is the instance's, shared by every session of the process:
    it is back after the copy, and after a failed statement too, which aborts the
    transaction (RESET is refused until the rollback)."""
    from suivi.store import open_store, stored_status
    from suivi.store.duckdb_store import DuckSession

    db = duckdb_test_db
    ordered = "SELECT current_setting('preserve_insertion_order')"
    during = []
    execute = DuckSession.execute

    def spy(s, sql, params=None):
        if sql.startswith(f"INSERT INTO {stored_status.TABLE} "):
            during.append(s.con.execute(ordered).fetchone()[0])
        return execute(s, sql, params)

    monkeypatch.setattr(DuckSession, "execute", spy)
    path = write_xlsx(tmp_path / "maj.xlsx", {"valeurs": [
        HEAD, ["IND-TX", "T-QPV1", 2021, "realise", 45, "INSEE"]]})
    checked, result = load(path, db=db)
    assert checked.ok and result.total("inserted") == 1
    store = open_store(db)
    with store.session() as s:
        assert during == [False] and s.scalar(ordered) is True

    with store.session() as reader, store.session() as writer:  # e.g. another page's thread
        writer.execute("CREATE TEMP TABLE once (x INTEGER PRIMARY KEY)")
        with pytest.raises(Exception, match="(?i)constraint"):
            with writer.transaction(), writer.unordered_writes():
                assert reader.scalar(ordered) is False
                writer.execute("INSERT INTO once VALUES (1), (1)")
        assert reader.scalar(ordered) is True and writer.scalar(ordered) is True


def test_the_preview_lists_changes_in_code_order_whatever_the_file_order(test_db, tmp_path):
    """New values first, then changed ones, each by indicator, territory and year in text
    order, on both engines: the staged codes are held in the file's order of appearance."""
    from etl.pipeline import check, preview_changes

    years = range(2021, 2025)  # codes that repeat are held as categories, in file order
    path = write_xlsx(tmp_path / "desordre.xlsx", {"valeurs": [
        HEAD, *(["IND-TX", "T-QPV2", y, "realise", 12, "INSEE"] for y in years),
        *(["IND-TX", "T-QPV1", y, "realise", 45, "INSEE"] for y in years),
        ["IND-TX", "T-QPV1", 2020, "realise", 43, "INSEE révisé"]]})  # 42 -> 43
    checked = check(path, db=test_db)
    assert checked.ok, checked.report.render()
    preview = preview_changes(checked, test_db)
    assert preview[["change", "territory_code", "year"]].values.tolist() == [
        *(["new", "T-QPV1", y] for y in years), *(["new", "T-QPV2", y] for y in years),
        ["changed", "T-QPV1", 2020]]
    assert preview["territory_code"].map(type).eq(str).all()
