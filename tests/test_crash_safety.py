"""Crash and concurrency: no kill, race or reader ever sees or leaves half a batch.

- A load (`python -m etl load big.xlsx`, a real subprocess) killed with SIGKILL at many
  moments, some timed on the write-ahead log appearing: the database always reopens with the
  previous state intact (every version of every table equal) or the whole new batch.
- Two loads started together are serialised by the store's write lock: both land whole, or the
  second finds nothing to change and says so.
- Readers (threads of the app's process, or another process) only ever see 0 or all of a
  batch's values, together with or without its batch row.
- Backup and restore (suivi/store/backup.py, `python -m etl backup|restore`): the copy is the whole
  history, taken consistently even during a load; an interrupted backup never leaves a
  truncated file; restore keeps the replaced database.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from etl.pipeline import load
from suivi.core.config import ROOT
from suivi.store import open_store
from suivi.store.duckdb_store import DuckSession
from tests.conftest import (
    assert_same,
    assert_stored_equal_recomputed,
    cli_in_process,
    connection,
    snapshot,
)
from tests.workbooks import full_workbook

HEADER = ["indicateur", "territoire", "annee", "nature", "valeur", "ventilation", "modalite",
          "source"]


def col(i: int) -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i]


def fast_xlsx(path: Path, rows: list[list]) -> Path:
    """A one-sheet `valeurs` workbook written directly as XML (openpyxl takes ~15 s for the
    tens of thousands of rows these tests need)."""
    def cell(r, c, v):
        ref = f"{col(c)}{r}"
        if isinstance(v, (int, float)):
            return f'<c r="{ref}"><v>{v}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(v))}</t></is></c>'

    body = "".join(f'<row r="{r}">' + "".join(cell(r, c, v) for c, v in enumerate(row))
                   + "</row>" for r, row in enumerate(rows, start=1))
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml":
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.'
            'org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels":
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
            f'{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml":
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            '<sheets><sheet name="valeurs" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
            f'{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml":
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}"><sheetData>'
            f"{body}</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path


def big_rows(prefix: str, k: int) -> list[list]:
    """2 indicators x 3 territories x 8 years x k modalities of a `lot` breakdown."""
    rows = [HEADER]
    for m in range(k):
        for ind in ("IND-TX", "IND-DE"):
            for ter in ("T-QPV1", "T-QPV2", "T-COM"):
                for year in range(2015, 2023):
                    rows.append([ind, ter, year, "realise", (m * 7 + year) % 90 + 5, "lot",
                                 f"{prefix}{m:04d}", "Synthèse"])
    return rows


N_BIG = 36_000  # rows of big.xlsx (k = 750)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("crash")
    base = tmp / "base.duckdb"
    checked, result = load(full_workbook(tmp / "contrat.xlsx"), db=base)
    assert checked.ok and result.batch_id == 1
    return {"base": base,
            "big": fast_xlsx(tmp / "big.xlsx", big_rows("M", 750)),
            "other": fast_xlsx(tmp / "autre.xlsx", big_rows("N", 250))}


def fresh(files, tmp_path: Path, name: str = "suivi.duckdb") -> Path:
    db = tmp_path / name
    shutil.copy(files["base"], db)
    return db


def cli(db: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "etl", "--db", str(db), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def batch_state(db: Path) -> tuple[int, dict[int, int]]:
    """(number of batch rows, observation versions created per batch), in one snapshot."""
    with connection(db) as con:  # read-write, as the app opens it: replays the WAL
        n = con.rows("SELECT count(*) FROM batch")[0][0]
        per = dict(con.rows("SELECT created_batch, count(*) FROM observation_v "
                               "GROUP BY 1"))
    return n, per


def assert_before_or_whole(db: Path, before: dict, n_new: int) -> str:
    """The database equals `before`, or `before` plus exactly one whole new batch."""
    after = snapshot(db)
    if len(after["batch"]) == len(before["batch"]):
        assert_same(before, after)
        return "avant"
    assert len(after["batch"]) == len(before["batch"]) + 1
    new_id = int(after["batch"]["id"].max())
    assert int(after["batch"].set_index("id").loc[new_id, "inserted"]) == n_new
    assert int((after["observation"]["created_batch"] == new_id).sum()) == n_new
    # The stored statuses are derived, without a batch column: fresh for the new state.
    assert_stored_equal_recomputed(db)
    trimmed = {k: v[v["created_batch"] != new_id].reset_index(drop=True)
               if "created_batch" in v.columns else v[v["id"] != new_id].reset_index(drop=True)
               for k, v in after.items() if k != "series_status"}
    assert_same({k: v for k, v in before.items() if k != "series_status"}, trimmed)
    return "lot complet"


# --- SIGKILL at any moment --------------------------------------------------------------

def test_full_load_reference(files, tmp_path):
    """The load the kill tests interrupt: it succeeds and adds exactly N_BIG values."""
    db = fresh(files, tmp_path)
    before = snapshot(db)
    proc = cli(db, "load", str(files["big"]))
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert f"{N_BIG} ajout(s)" in out
    assert assert_before_or_whole(db, before, N_BIG) == "lot complet"


def _sizes(db: Path) -> tuple[int, int]:
    wal = Path(str(db) + ".wal")
    try:
        wal_size = wal.stat().st_size
    except FileNotFoundError:
        wal_size = -1
    return wal_size, db.stat().st_size


def _kill_when(db: Path, files, trigger) -> tuple[str, float]:
    """Start the load, SIGKILL it as soon as `trigger(elapsed, wal_size, db_size, db_size0)`
    holds (polled every half millisecond), then check the reopened database. Returns the
    outcome and the seconds the load ran."""
    before = snapshot(db)
    size0 = db.stat().st_size
    proc = cli(db, "load", str(files["big"]))
    start = time.monotonic()
    while proc.poll() is None and time.monotonic() - start < 300:
        wal_size, db_size = _sizes(db)
        if trigger(time.monotonic() - start, wal_size, db_size, size0):
            break
        time.sleep(0.0005)
    ran = time.monotonic() - start
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    outcome = assert_before_or_whole(db, before, N_BIG)
    # The lock died with the process and the file is writable again.
    store = open_store(db)
    with store.write_lock(), store.session() as con:
        con.execute("CHECKPOINT")
    return outcome, ran


def test_load_killed_at_any_moment_leaves_previous_state_or_whole_batch(files, tmp_path):
    """Kills spread over the run: start-up and reading, then the commit at several points of
    its writing, then after it. DuckDB commits a batch one of two ways, both covered: it logs
    it in the write-ahead log (which grows by megabytes in a few tens of milliseconds) and
    copies it into the file at the checkpoint; or, when the transaction is large, it writes
    it straight into the file (a checkpoint at commit, no log); this batch and its stored
    statuses and projections take the second way.

    The latest moment goes first: that load runs to the end of its commit or past it, and
    its time paces the moments given as fractions of a whole load (a separate timing run
    cost one more load)."""
    first_write: dict[int, float] = {}

    def written(more_than: int):
        """The commit has written `more_than` bytes, to the log or to the file."""
        return lambda e, w, d, s: w > more_than or d > s + more_than

    def after_first_write(delay):
        def trigger(elapsed, wal_size, db_size, size0):
            if wal_size >= 0 or db_size != size0:
                first_write.setdefault(id(trigger), elapsed)
            return id(trigger) in first_write and elapsed >= first_write[id(trigger)] + delay
        return trigger

    late = "première écriture + 0,5 s"
    late_outcome, duration = _kill_when(fresh(files, tmp_path, "essai-fin.duckdb"), files,
                                        after_first_write(0.5))
    triggers = {
        "démarrage": lambda e, w, d, s: e >= 0.2 * duration,
        "lecture": lambda e, w, d, s: e >= 0.45 * duration,
        "commit : première écriture": after_first_write(0.0),
        "commit : 100 Ko écrits": written(100_000),
        "commit : 1 Mo écrits": written(1_000_000),
        "checkpoint après le journal : fichier modifié":
            lambda e, w, d, s: w > 1_000_000 and d != s,
    }
    outcomes = {}
    for i, (moment, trigger) in enumerate(triggers.items()):
        outcomes[moment], _ = _kill_when(fresh(files, tmp_path, f"essai{i}.duckdb"), files,
                                         trigger)
    outcomes[late] = late_outcome
    print("issues des coupures :", outcomes)
    values = set(outcomes.values())
    assert values == {"avant", "lot complet"}, outcomes  # both sides of the commit were hit
    assert outcomes["démarrage"] == "avant" and outcomes["commit : 100 Ko écrits"] == "avant"
    # After a kill, the same file loads normally.
    db = tmp_path / "essai0.duckdb"
    before = snapshot(db)
    checked, result = load(files["big"], db=db)
    assert checked.ok and result.total("inserted") == N_BIG
    assert assert_before_or_whole(db, before, N_BIG) == "lot complet"


# --- two loads at once --------------------------------------------------------------------

def test_two_concurrent_loads_are_serialised_and_both_land_whole(files, tmp_path):
    db = fresh(files, tmp_path)
    a, b = cli(db, "load", str(files["big"])), cli(db, "load", str(files["other"]))
    out_a, _ = a.communicate(timeout=300)
    out_b, _ = b.communicate(timeout=300)
    assert a.returncode == 0 and b.returncode == 0, (out_a, out_b)
    n, per = batch_state(db)
    assert n == 3
    assert sorted(per.get(i, 0) for i in (2, 3)) == sorted([N_BIG, 12_000])
    with connection(db, read_only=True) as con:
        rows = con.rows("SELECT file_name, inserted FROM batch WHERE id > 1 ORDER BY id"
                           )
        mixed = con.rows("SELECT count(*) FROM observation_v WHERE created_batch > 1 AND "
                            "((modality LIKE 'M%' AND created_batch <> (SELECT id FROM batch "
                            "WHERE file_name = 'big.xlsx')) OR (modality LIKE 'N%' AND "
                            "created_batch <> (SELECT id FROM batch WHERE file_name = "
                            "'autre.xlsx')))")[0][0]
    assert sorted(rows) == [("autre.xlsx", 12_000), ("big.xlsx", N_BIG)]
    assert mixed == 0  # each batch holds exactly its own file's rows


def test_the_same_file_twice_at_once_lands_once(files, tmp_path):
    db = fresh(files, tmp_path)
    a, b = cli(db, "load", str(files["other"])), cli(db, "load", str(files["other"]))
    outs = [p.communicate(timeout=300)[0] for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, outs
    assert sum("Lot 2 chargé : 12000 ajout(s)" in o for o in outs) == 1
    assert sum("Aucune modification" in o for o in outs) == 1
    n, per = batch_state(db)
    assert n == 2 and per[2] == 12_000


# --- readers never see half a batch -------------------------------------------------------

def _valid(seen: list[tuple[int, int]], n_new: int) -> None:
    assert seen
    for n_batches, n_obs in seen:
        assert (n_batches, n_obs) in ((1, 0), (2, n_new)), (n_batches, n_obs)


def test_readers_in_the_app_process_never_see_half_a_batch(files, tmp_path):
    """Streamlit sessions are threads of one process sharing one DuckDB instance: a reader
    thread polls while another thread loads."""
    db = fresh(files, tmp_path)
    seen, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            with connection(db) as con:
                seen.append(tuple(con.rows(
                    "SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM observation_v "
                    "WHERE created_batch = 2)")[0]))
            time.sleep(0.005)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        checked, result = load(files["big"], db=db)
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert checked.ok and result.total("inserted") == N_BIG
    _valid(seen, N_BIG)
    assert (1, 0) in seen and (2, N_BIG) in seen, sorted(set(seen))


def test_readers_in_another_process_never_see_half_a_batch(files, tmp_path):
    db = fresh(files, tmp_path)
    proc = cli(db, "load", str(files["big"]))
    seen = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        done = proc.poll() is not None
        try:
            con = DuckSession(open_store(db).connect(read_only=True, wait=0.2))
        except Exception:  # noqa: BLE001 - the writer holds the file: try again
            continue
        try:
            seen.append(tuple(con.rows(
                "SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM observation_v "
                "WHERE created_batch = 2)")[0]))
        finally:
            con.con.close()
        if done:
            break
        time.sleep(0.05)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    _valid(seen, N_BIG)
    assert seen[-1] == (2, N_BIG)


# --- backup and restore -------------------------------------------------------------------

def run(db: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The command line, through its entry point in this process (not killed here)."""
    return cli_in_process("--db", str(db), *args, stdin=stdin)


def test_backup_and_restore_round_trip(files, tmp_path):
    db = fresh(files, tmp_path)
    assert run(db, "load", str(files["other"])).returncode == 0
    assert run(db, "users", "add", "alice", "--role", "administrateur", "--password-stdin",
               stdin="un-mot-de-passe-long\n").returncode == 0
    saved = snapshot(db)
    out = tmp_path / "sauvegardes" / "suivi-2026-11-22.duckdb"
    res = run(db, "backup", "--out", str(out))
    assert res.returncode == 0, res.stdout
    assert f"Sauvegarde écrite et vérifiée : {out} (2 lot(s), 12" in res.stdout
    assert_same(saved, snapshot(out))
    assert Path(str(out) + ".comptes.sqlite3").exists()

    # Later: another batch, a new account; then the backup is restored.
    checked, result = load(files["big"], db=db)
    assert result is not None and result.batch_id == 3
    assert run(db, "users", "add", "bruno", "--role", "lecteur", "--password-stdin",
               stdin="encore-un-mot-de-passe\n").returncode == 0
    res = run(db, "restore", str(out))
    assert res.returncode == 0, res.stdout
    assert_same(saved, snapshot(db))
    previous = next(tmp_path.glob("suivi.duckdb.avant-restauration-*"))
    assert len(snapshot(previous)["batch"]) == 3  # the replaced database is kept
    assert f"L'ancienne base est conservée dans {previous}" in res.stdout
    names = run(db, "users", "list").stdout
    assert "alice" in names and "bruno" in names  # accounts untouched by default
    res = run(db, "restore", str(out), "--comptes")
    assert res.returncode == 0, res.stdout
    names = run(db, "users", "list").stdout
    assert "alice" in names and "bruno" not in names
    # The restored database works: a load lands as batch 3 again.
    checked, result = load(files["big"], db=db)
    assert result is not None and result.batch_id == 3


def wait_for_write_lock(lock_file: Path, proc, timeout: float = 120.0) -> None:
    """Until the loader holds the store's write lock (a non-blocking flock fails), or has
    already finished (then the backup sees the whole batch, which the test accepts too)."""
    import fcntl

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if lock_file.exists():
            with open(lock_file, "a") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(fh, fcntl.LOCK_UN)
                except BlockingIOError:
                    return
        time.sleep(0.01)
    assert proc.poll() is not None, "the loader never took the write lock"


def test_backup_taken_during_a_load_is_consistent(files, tmp_path):
    from suivi.store.backup import backup

    db = fresh(files, tmp_path)
    before = snapshot(db)
    proc = cli(db, "load", str(files["big"]))
    wait_for_write_lock(Path(db).with_suffix(".lock"), proc)  # then backup waits for it
    result = backup(tmp_path / "pendant.duckdb", db)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    state = assert_before_or_whole(result.path, before, N_BIG)
    assert state in ("avant", "lot complet")
    assert result.counts["batch"] == (1 if state == "avant" else 2)


def test_killed_backup_never_leaves_a_truncated_file(files, tmp_path):
    """The backup is killed while its copy is being written (its temporary file exists):
    nothing appears under the requested name, and the database is untouched."""
    db = fresh(files, tmp_path)
    load(files["big"], db=db)
    saved = snapshot(db)
    mid_copy = 0
    for i in range(6):
        out = tmp_path / f"sauvegarde{i}.duckdb"
        proc = cli(db, "backup", "--out", str(out))
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if list(tmp_path.glob(f"{out.name}.tmp-*")):  # the copy is being written
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.0002)
        proc.wait(timeout=30)
        leftovers = list(tmp_path.glob(f"{out.name}.tmp-*"))
        if proc.returncode == -signal.SIGKILL and leftovers:
            mid_copy += 1
            assert not out.exists()  # never a truncated file under the real name
        if out.exists():
            assert_same(saved, snapshot(out))
        for leftover in leftovers:
            os.unlink(leftover)
    assert mid_copy >= 1, "no kill landed while the copy was being written"
    assert_same(saved, snapshot(db))


def test_restore_refuses_what_is_not_a_backup(files, tmp_path):
    db = fresh(files, tmp_path)
    before = snapshot(db)
    bad = tmp_path / "pas-une-base.duckdb"
    bad.write_bytes(random.Random(1).randbytes(10_000))
    res = run(db, "restore", str(bad))
    assert res.returncode == 1
    assert "n'est pas une base DuckDB lisible" in res.stdout
    other = tmp_path / "autre.duckdb"
    import duckdb

    duckdb.connect(str(other)).close()
    res = run(db, "restore", str(other))
    assert res.returncode == 1 and "n'est pas une base du suivi" in res.stdout
    assert_same(before, snapshot(db))
    assert not list(tmp_path.glob("suivi.duckdb.avant-restauration-*"))
