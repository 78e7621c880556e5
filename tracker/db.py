"""Where the database lives and how to open it.

DuckDB lets one process write a file at a time. The app, the CLI and the tests therefore open
short-lived connections and retry for a few seconds when another process holds the lock,
instead of keeping the file open for the life of the app.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "suivi.duckdb"
CONTRACTS_DIR = ROOT / "data" / "contrats"
# The official territorial register (tools/build_register.py), loaded first by `init`.
REGISTER_FILE = ROOT / "data" / "referentiel" / "territoires.parquet"


def db_path(path: str | os.PathLike | None = None) -> Path:
    """The database file: explicit path, else $SUIVI_DB, else data/suivi.duckdb."""
    return Path(path or os.environ.get("SUIVI_DB") or DEFAULT_DB)


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text


def open_db(path=None, read_only: bool = False, wait: float = 15.0):
    """Open the database, retrying while another process holds its lock."""
    target = db_path(path)
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(target), read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


@contextmanager
def connection(path=None, read_only: bool = False):
    con = open_db(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def scalar(con, sql: str, params=None):
    """First column of the first row. Fetches everything, so no result stays open:
    DuckDB 2 refuses further work on a connection with an unfinished result."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def first_row(con, sql: str, params=None):
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None
