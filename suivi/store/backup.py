"""One-command backup and restore of the store with its whole history.

The history is in the database itself (every version of every row, the batch log), so a
consistent copy of the database is a complete backup. Both are taken under the writers' lock
(no load or rollback can run meanwhile).

- **DuckDB file**: a CHECKPOINT moves everything from the write-ahead log into the main file,
  and the file is copied while our connection still holds DuckDB's file lock (no other process
  can open it and checkpoint meanwhile). The copy is written to a temporary name, verified
  (opened, every table counted and compared with the source) and only then renamed, so an
  interrupted backup never leaves a truncated file under the requested name. Restore saves the
  current file next to it (`<base>.avant-restauration-<date>`), then renames the backup in.
- **PostgreSQL**: `pg_dump --format=custom` (a consistent snapshot) to a temporary name, checked
  with `pg_restore --list` (every table of the schema is in it) and renamed; restore first dumps
  the current database next to the backup (`<backup>.avant-restauration-<date>`), then
  `pg_restore --clean --single-transaction`: all of it, or nothing.

Accounts (suivi/accounts/users.py, their own SQLite file) are backed up alongside
(`<backup>.comptes.sqlite3`, through SQLite's online backup API) but restored only on request:
restoring data must not bring back a removed account or an old password.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from suivi.core import fmt
from suivi.core.config import accounts_path
from suivi.store import open_store
from suivi.store.schema import LOAD_ORDER


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
        return (f"{fmt.number(self.counts.get('batch', 0))} lot(s), "
                f"{fmt.number(self.counts.get('observation_v', 0))} version(s) de valeurs, "
                f"{fmt.size_text(self.size)}")


def _accounts_copy(path: Path) -> Path:
    return Path(str(path) + ".comptes.sqlite3")


TABLES = ["batch"] + [f"{e}_v" for e in LOAD_ORDER]


def table_counts(s) -> dict[str, int]:
    """Rows of the batch log and of every versioned table: equal counts, same history."""
    return {n: int(s.scalar(f"SELECT count(*) FROM {n}")) for n in TABLES}


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _verify(path: Path, expected: dict[str, int] | None = None) -> dict[str, int]:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise BackupError(f"« {path} » n'est pas une base DuckDB lisible : {exc}") from exc
    try:
        counts = {n: con.execute(f"SELECT count(*) FROM {n}").fetchall()[0][0] for n in TABLES}
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
    """Copy the store (and the accounts file) to `out`, consistently, and verify the copy."""
    store = open_store(db)
    out = Path(out)
    result = _pg_backup(store, out) if store.kind == "postgresql" else _duck_backup(store, out)
    users = accounts_path(db)
    if users.exists():
        result.accounts = _accounts_copy(out)
        _copy_accounts(users, result.accounts)
    return result


def _duck_backup(store, out: Path) -> BackupResult:
    src = store.path
    if not src.exists():
        raise BackupError(f"Base introuvable : « {src} ».")
    if out.exists() and out.resolve() == src.resolve():
        raise BackupError("La sauvegarde doit être un autre fichier que la base elle-même.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    try:
        with store.write_lock(), store.session() as s:
            s.execute("CHECKPOINT")
            expected = table_counts(s)
            shutil.copyfile(src, tmp)  # our connection still holds the file: nobody writes
        _fsync(tmp)
        counts = _verify(tmp, expected)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return BackupResult(out, counts, out.stat().st_size)


def restore(source, db=None, with_accounts: bool = False) -> BackupResult:
    """Replace the store by a backup; the replaced state is kept next to it."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"Sauvegarde introuvable : « {source} ».")
    store = open_store(db)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if store.kind == "postgresql":
        result = _pg_restore(store, source, stamp)
    else:
        result = _duck_restore(store, source, stamp)
    if with_accounts:
        saved = _accounts_copy(source)
        if not saved.exists():
            raise BackupError(f"Pas de comptes sauvegardés à côté de « {source} » "
                              f"(« {saved.name} » absent) : données restaurées, comptes "
                              "inchangés.")
        users = accounts_path(db)
        if users.exists():
            shutil.copyfile(users, Path(f"{users}.avant-restauration-{stamp}"))
        _copy_accounts(saved, users)
        result.accounts = users
    return result


def _duck_restore(store, source: Path, stamp: str) -> BackupResult:
    counts = _verify(source)
    target = store.path
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and source.resolve() == target.resolve():
        raise BackupError("La sauvegarde est la base elle-même : rien à restaurer.")
    previous = None
    with store.write_lock():
        if target.exists():
            previous = target.with_name(f"{target.name}.avant-restauration-{stamp}")
            with store.session() as s:
                s.execute("CHECKPOINT")
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
    return BackupResult(target, restored, target.stat().st_size, previous=previous)


# --- PostgreSQL -------------------------------------------------------------------------------

def _pg_tool(name: str) -> str:
    """pg_dump / pg_restore of the newest PostgreSQL installed (Debian keeps them per version
    under /usr/lib/postgresql), else the one on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    path = str(found[-1]) if found else shutil.which(name)
    if not path:
        raise BackupError(f"Outil « {name} » introuvable : installez le paquet postgresql-client.")
    return path


def _run(args: list[str]) -> str:
    import subprocess

    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} a échoué : {done.stderr.strip()[-500:]}")
    return done.stdout


def _pg_dump(store, out: Path) -> None:
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    try:
        _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={tmp}",
              f"--dbname={store.url}"])
        listing = _run([_pg_tool("pg_restore"), "--list", str(tmp)])
        missing = [t for t in TABLES if f" TABLE public {t} " not in listing]
        if missing:
            raise BackupError(f"La sauvegarde ne contient pas les tables {', '.join(missing)} : "
                              "sauvegarde annulée.")
        _fsync(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _pg_backup(store, out: Path) -> BackupResult:
    out.parent.mkdir(parents=True, exist_ok=True)
    with store.write_lock():
        with store.session() as s:
            counts = table_counts(s)
        _pg_dump(store, out)
    return BackupResult(out, counts, out.stat().st_size)


def _pg_restore(store, source: Path, stamp: str) -> BackupResult:
    listing = _run([_pg_tool("pg_restore"), "--list", str(source)])
    if " TABLE public batch " not in listing:
        raise BackupError(f"« {source} » n'est pas une sauvegarde PostgreSQL du suivi.")
    previous = source.with_name(f"{source.name}.avant-restauration-{stamp}")
    with store.write_lock():
        if store.exists():
            _pg_dump(store, previous)
        else:
            previous = None
        _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
              "--single-transaction", f"--dbname={store.url}", str(source)])
        with store.session() as s:
            counts = table_counts(s)
    return BackupResult(Path(store.describe()), counts, source.stat().st_size,
                        previous=previous)
