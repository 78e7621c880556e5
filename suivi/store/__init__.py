"""The store: every read and write of the data goes through here (see base.py).

    store = open_store()                  # $SUIVI_DB: a DuckDB file or a PostgreSQL URL
    with store.session(read_only=True) as s:
        df = queries.contracts(s)
"""

from __future__ import annotations

import os

from suivi.core.config import db_url, is_postgres
from suivi.store.base import Session, Store

__all__ = ["Session", "Store", "open_store"]

_STORES: dict[str, Store] = {}


def open_store(db: str | os.PathLike | Store | None = None) -> Store:
    """The store for `db` (a path, a URL, or None for $SUIVI_DB / data/suivi.duckdb); one
    object per location in a process."""
    if isinstance(db, Store):
        return db
    url = db_url(db)
    if url not in _STORES:
        if is_postgres(url):
            from suivi.store.postgres_store import PgStore

            _STORES[url] = PgStore(url)
        else:
            from suivi.store.duckdb_store import DuckStore

            _STORES[url] = DuckStore(url)
    return _STORES[url]
