"""One-command backup and restore of the database file with its whole history.

The history is in the database itself (every version of every row, the batch log), so a copy
of the file is a complete backup. The copy must be consistent: it is taken under the write lock
(no load or rollback can run), after a CHECKPOINT that moves everything from the write-ahead
log into the main file, while our connection still holds DuckDB's file lock (no other process
can open the file and checkpoint it meanwhile). The copy is written to a temporary name,
verified (opened, every table counted and compared with the source) and only then renamed, so
an interrupted backup never leaves a truncated file under the requested name.

Restore is the reverse, also under the write lock: the current database is first saved next to
it (`<base>.avant-restauration-<date>`), then the backup replaces it by an atomic rename.
Accounts (etl/users.py) are backed up alongside (`<backup>.comptes.sqlite3`, through SQLite's
online backup API) but restored only on request: restoring data must not bring back a removed
account or an old password.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from etl.load import write_lock
from etl.schema import LOAD_ORDER
from etl.users import accounts_path
from tracker.db import connection, db_path


class BackupError(Exception):
    """Backup or restore refused; the message is French and shown as is."""


@dataclass
class BackupResult:
    path: Path
    counts: dict[str, int]
    size: int
    accounts: Path | None = None
    previous: Path | None = None  # restore: where the replaced database was saved

    def summary(self) -> str:
        from etl.safety import size_text
        from tracker import fmt

        text = (f"{fmt.number(self.counts.get('batch', 0))} lot(s), "
                f"{fmt.number(self.counts.get('observation_v', 0))} version(s) de valeurs, "
                f"{size_text(self.size)}")
        return text


def _accounts_copy(path: Path) -> Path:
    return Path(str(path) + ".comptes.sqlite3")


def table_counts(con) -> dict[str, int]:
    """Rows of the batch log and of every versioned table: equal counts, same history."""
    names = ["batch"] + [f"{e}_v" for e in LOAD_ORDER]
    return {n: con.execute(f"SELECT count(*) FROM {n}").fetchall()[0][0] for n in names}


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _verify(path: Path, expected: dict[str, int] | None = None) -> dict[str, int]:
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise BackupError(f"« {path} » n'est pas une base DuckDB lisible : {exc}") from exc
    try:
        counts = table_counts(con)
    except duckdb.Error as exc:
        raise BackupError(f"« {path} » n'est pas une base du suivi (tables attendues "
                          "absentes).") from exc
    finally:
        con.close()
    if expected is not None and counts != expected:
        raise BackupError(f"La copie « {path} » ne correspond pas à la base ({counts} au lieu "
                          f"de {expected}) : sauvegarde annulée.")
    return counts


def _copy_accounts(src: Path, dst: Path) -> None:
    """SQLite's online backup: consistent even while the app records a login."""
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(src, timeout=15) as s, sqlite3.connect(tmp) as d:
        s.backup(d)
    os.chmod(tmp, 0o600)
    os.replace(tmp, dst)


def backup(out, db=None) -> BackupResult:
    """Copy the database (and the accounts file) to `out`, consistently, and verify the copy."""
    src = db_path(db)
    out = Path(out)
    if not src.exists():
        raise BackupError(f"Base introuvable : « {src} ».")
    if out.exists() and out.resolve() == src.resolve():
        raise BackupError("La sauvegarde doit être un autre fichier que la base elle-même.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    try:
        with write_lock(src), connection(src) as con:
            con.execute("CHECKPOINT")
            expected = table_counts(con)
            shutil.copyfile(src, tmp)  # our connection still holds the file: nobody writes
        _fsync(tmp)
        counts = _verify(tmp, expected)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    result = BackupResult(out, counts, out.stat().st_size)
    users = accounts_path(src)
    if users.exists():
        result.accounts = _accounts_copy(out)
        _copy_accounts(users, result.accounts)
    return result


def restore(source, db=None, with_accounts: bool = False) -> BackupResult:
    """Replace the database by a backup; the replaced database is kept next to it."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"Sauvegarde introuvable : « {source} ».")
    counts = _verify(source)
    target = db_path(db)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and source.resolve() == target.resolve():
        raise BackupError("La sauvegarde est la base elle-même : rien à restaurer.")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    previous = None
    with write_lock(target):
        if target.exists():
            previous = target.with_name(f"{target.name}.avant-restauration-{stamp}")
            with connection(target) as con:
                con.execute("CHECKPOINT")
                shutil.copyfile(target, previous)
        tmp = target.with_name(f"{target.name}.restauration-{os.getpid()}")
        try:
            shutil.copyfile(source, tmp)
            _fsync(tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        wal = Path(str(target) + ".wal")
        if wal.exists() and previous is not None:
            # It belongs to the replaced file: it must never be replayed on the backup.
            os.replace(wal, Path(str(previous) + ".wal"))
        restored = _verify(target, counts)
    result = BackupResult(target, restored, target.stat().st_size, previous=previous)
    if with_accounts:
        saved = _accounts_copy(source)
        if not saved.exists():
            raise BackupError(f"Pas de comptes sauvegardés à côté de « {source} » "
                              f"(« {saved.name} » absent) : données restaurées, comptes "
                              "inchangés.")
        users = accounts_path(target)
        if users.exists():
            shutil.copyfile(users, Path(f"{users}.avant-restauration-{stamp}"))
        _copy_accounts(saved, users)
        result.accounts = users
    return result
