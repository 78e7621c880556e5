"""Where things are and which store to use: paths and settings, no I/O.

`SUIVI_DB` (or `--db`) selects the store: a DuckDB file path (default `data/suivi.duckdb`)
or a PostgreSQL URL (`postgresql://user@host:5432/base`) for shared deployments.
"""

from __future__ import annotations

import os
import re
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


class SettingError(ValueError):
    """An environment setting that cannot be read: the command stops, with this message."""


#: DuckDB's budget for a load's work ($SUIVI_LOAD_MEMORY: "350MB", "1GB", "512MiB"...). The
#: national init (3 million values) peaked at 1 466 MB with 800 MB, 1 066 with 400 (stop 22),
#: 670-680 MB with 350 once the staged texts stayed coded (stop 24), for about the same time;
#: 300 MB saved 10-20 MB more for 1.5 s more; 100 MB runs out of memory.
LOAD_MEMORY = "350MB"
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def load_memory_bytes() -> int:
    """$SUIVI_LOAD_MEMORY in bytes, in DuckDB's units (KB, MB, GB are powers of 1 000; KiB,
    MiB, GiB of 1 024; a bare number is MB). An unreadable value is refused: a budget
    silently replaced by the default would be a guess."""
    text = os.environ.get("SUIVI_LOAD_MEMORY", "").strip() or LOAD_MEMORY
    match = re.fullmatch(r"(\d+(?:[.,]\d+)?)\s*([KMGT]i?B|B)?", text, re.IGNORECASE)
    number = float(match.group(1).replace(",", ".")) if match else 0
    if number <= 0:
        raise SettingError(f"SUIVI_LOAD_MEMORY = « {text} » : écrivez une taille comme 350MB "
                           "ou 1GB.")
    return int(number * _UNITS[(match.group(2) or "MB").upper()])
