"""Where things are and which store to use: paths and settings, no I/O.

`SUIVI_DB` (or `--db`) selects the store: a DuckDB file path (default `data/suivi.duckdb`)
or a PostgreSQL URL (`postgresql://user@host:5432/base`) for shared deployments.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "data"
DEFAULT_DB = DATA_DIR / "suivi.duckdb"
CONTRACTS_DIR = DATA_DIR / "contrats"
# The official territorial register (tools/build_register.py), loaded first by `init`.
REGISTER_FILE = DATA_DIR / "referentiel" / "territoires.parquet"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def db_url(db: str | os.PathLike | None = None) -> str:
    """The store: explicit value, else $SUIVI_DB, else data/suivi.duckdb."""
    return str(db or os.environ.get("SUIVI_DB") or DEFAULT_DB)


def is_postgres(db: str | os.PathLike | None = None) -> bool:
    return db_url(db).startswith(POSTGRES_SCHEMES)


def db_path(db: str | os.PathLike | None = None) -> Path:
    """The DuckDB file of an embedded store (callers that need a file: backup, accounts)."""
    return Path(db_url(db))


def accounts_path(db: str | os.PathLike | None = None) -> Path:
    """The local accounts file: $SUIVI_USERS_DB, else next to the DuckDB file, else (for a
    PostgreSQL store) `data/comptes.sqlite3`."""
    env = os.environ.get("SUIVI_USERS_DB")
    if env:
        return Path(env)
    if is_postgres(db):
        return DATA_DIR / "comptes.sqlite3"
    return Path(str(db_path(db)) + ".comptes.sqlite3")
