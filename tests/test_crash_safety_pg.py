"""Crash and concurrency on PostgreSQL: the same guarantees as on the DuckDB file.

- A load (`python -m etl load big.xlsx`, a real subprocess) killed with SIGKILL at many
  moments — reading, staging rows through COPY, the inserts of the batch, right after the
  commit — leaves the previous state (every version of every table equal) or the whole batch:
  the server rolls back the dead client's transaction.
- Two loads started together are serialised by the advisory lock: both land whole.
- Another process polling the server only ever sees 0 or all of a batch.
- Backup and restore go through pg_dump / pg_restore and keep the whole history.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from etl.pipeline import load
from suivi.core.config import ROOT
from tests.conftest import assert_same, cli_in_process, databases_of, snapshot
from tests.test_crash_safety import N_BIG, _valid, assert_before_or_whole, big_rows, fast_xlsx


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("crash-pg")
    return {"big": fast_xlsx(tmp / "big.xlsx", big_rows("M", 750)),
            "other": fast_xlsx(tmp / "autre.xlsx", big_rows("N", 250))}


@pytest.fixture
def pg_db(tmp_path_factory, request, tmp_path, monkeypatch) -> str:
    """A PostgreSQL database holding the small test contract (batch 1)."""
    from tests.conftest import _build_test_contract

    monkeypatch.setenv("SUIVI_USERS_DB", str(tmp_path / "comptes.sqlite3"))
    dbs = databases_of("postgresql", tmp_path_factory, request)
    dbs.template("contrat", _build_test_contract)
    return dbs.copy("contrat", tmp_path)


def cli(db: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "etl", "--db", db, *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def activity(con) -> list[str]:
    """What the other sessions of this database are running (pg_stat_activity)."""
    rows = con.execute("SELECT query FROM pg_stat_activity WHERE datname = "
                       "current_database() AND pid <> pg_backend_pid() AND "
                       "state <> 'idle'").fetchall()
    return [r[0] for r in rows]


def batches(con) -> int:
    return con.execute("SELECT count(*) FROM batch").fetchone()[0]


def kill_when(db: str, files, trigger, poll: float = 0.002) -> tuple[str, float]:
    """Start the load, SIGKILL it as soon as `trigger(elapsed, queries, n_batches)` holds,
    then check the database: the previous state or the whole batch. One connection polls
    (a new one every 2 ms took the loader's CPU). Returns the outcome and the seconds the
    load ran."""
    before = snapshot(db)
    with psycopg.connect(db, autocommit=True) as con:
        proc = cli(db, "load", str(files["big"]))
        start = time.monotonic()
        while proc.poll() is None and time.monotonic() - start < 300:
            if trigger(time.monotonic() - start, activity(con), batches(con)):
                break
            time.sleep(poll)
        ran = time.monotonic() - start
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # it finished first: the outcome must be the whole batch
            pass
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30  # the server notices the dead client and rolls back
        while activity(con) and time.monotonic() < deadline:
            time.sleep(0.05)
    return assert_before_or_whole(db, before, N_BIG), ran


def test_pg_load_killed_at_any_moment_leaves_previous_state_or_whole_batch(files, pg_db,
                                                                           tmp_path_factory,
                                                                           request, tmp_path):
    """The moment after the commit goes first: its load runs nearly to the end, and its time
    paces the reading moment (a separate timing run cost one more load)."""
    dbs = databases_of("postgresql", tmp_path_factory, request)
    late = "après le commit"
    late_outcome, duration = kill_when(pg_db, files, lambda e, q, n: n == 2)

    def running(text):
        return lambda e, queries, n: any(text in q for q in queries)

    triggers = {
        "lecture": lambda e, q, n: e >= 0.3 * duration,
        "COPY des lignes": running("COPY incoming"),
        "insertion des valeurs": running("INSERT INTO observation_v"),
        "journal des lots": running("INSERT INTO batch"),
    }
    outcomes = {moment: kill_when(dbs.copy("contrat", tmp_path), files, trigger)[0]
                for moment, trigger in triggers.items()}
    outcomes[late] = late_outcome
    print("issues des coupures :", outcomes)
    assert set(outcomes.values()) == {"avant", "lot complet"}, outcomes
    assert outcomes["lecture"] == "avant" and outcomes["après le commit"] == "lot complet"


def test_pg_two_concurrent_loads_are_serialised_and_both_land_whole(files, pg_db):
    a, b = cli(pg_db, "load", str(files["big"])), cli(pg_db, "load", str(files["other"]))
    out_a, _ = a.communicate(timeout=300)
    out_b, _ = b.communicate(timeout=300)
    assert a.returncode == 0 and b.returncode == 0, (out_a, out_b)
    with psycopg.connect(pg_db, autocommit=True) as con:
        rows = con.execute("SELECT file_name, inserted FROM batch WHERE id > 1 ORDER BY id"
                           ).fetchall()
        mixed = con.execute(
            "SELECT count(*) FROM observation_v WHERE created_batch > 1 AND ((modality LIKE "
            "'M%' AND created_batch <> (SELECT id FROM batch WHERE file_name = 'big.xlsx')) OR "
            "(modality LIKE 'N%' AND created_batch <> (SELECT id FROM batch WHERE file_name = "
            "'autre.xlsx')))").fetchone()[0]
    assert sorted(rows) == [("autre.xlsx", 12_000), ("big.xlsx", N_BIG)]
    assert mixed == 0


def test_pg_readers_in_another_process_never_see_half_a_batch(files, pg_db):
    proc = cli(pg_db, "load", str(files["big"]))
    seen = []
    with psycopg.connect(pg_db, autocommit=True) as con:
        while True:
            done = proc.poll() is not None
            seen.append(con.execute(
                "SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM observation_v "
                "WHERE created_batch = 2)").fetchone())
            if done:
                break
            time.sleep(0.01)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    _valid(seen, N_BIG)
    assert (1, 0) in seen and seen[-1] == (2, N_BIG)


def run(db: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The command line, through its entry point in this process (not killed here)."""
    return cli_in_process("--db", db, *args, stdin=stdin)


def test_pg_backup_and_restore_round_trip(files, pg_db, tmp_path):
    assert run(pg_db, "load", str(files["other"])).returncode == 0
    assert run(pg_db, "users", "add", "alice", "--role", "administrateur", "--password-stdin",
               stdin="un-mot-de-passe-long\n").returncode == 0
    saved = snapshot(pg_db)
    out = tmp_path / "sauvegardes" / "suivi.dump"
    res = run(pg_db, "backup", "--out", str(out))
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"Sauvegarde écrite et vérifiée : {out} (2 lot(s), 12" in res.stdout
    assert (tmp_path / "sauvegardes" / "suivi.dump.comptes.sqlite3").exists()

    checked, result = load(files["big"], db=pg_db)
    assert result is not None and result.batch_id == 3
    res = run(pg_db, "restore", str(out))
    assert res.returncode == 0, res.stdout + res.stderr
    assert_same(saved, snapshot(pg_db))  # the whole history, as it was
    assert list(tmp_path.glob("sauvegardes/suivi.dump.avant-restauration-*"))
    checked, result = load(files["big"], db=pg_db)  # and it works: batch 3 again
    assert result is not None and result.batch_id == 3
