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


# --- Maps (suivi/views/maps.py) ---------------------------------------------------------------
# By default a map is drawn on a plain background: no tile server, nothing fetched from outside.
# `SUIVI_MAP_TILES` names a raster tile server (`https://…/{z}/{x}/{y}.png`) to draw the
# quartiers over, with `SUIVI_MAP_ATTRIBUTION` its credit line (e.g. « © OpenStreetMap »).
# `SUIVI_CARTES=0` leaves the maps out (the benchmark times the pages both ways).


def map_tiles() -> str | None:
    """The raster tile URL template maps are drawn over, or None for a plain background."""
    return os.environ.get("SUIVI_MAP_TILES") or None


def map_attribution() -> str:
    return os.environ.get("SUIVI_MAP_ATTRIBUTION", "")


def maps_enabled() -> bool:
    return os.environ.get("SUIVI_CARTES", "1").strip().lower() not in ("0", "non", "false")
