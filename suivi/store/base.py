"""The store boundary: a `Store` (where the data is, how writers are serialised, what changed)
and its `Session` (one connection: queries in, DataFrames and plain values out).

Nothing above this package sees a DuckDB or psycopg object: ingest, views and pages call the
functions of suivi/store/ with a session and get DataFrames back. Two implementations:
duckdb_store.py (an embedded file, the default) and postgres_store.py (a shared server).
"""

from __future__ import annotations

from contextlib import contextmanager

import pandas as pd

from suivi.store.dialect import Dialect


class Session:
    """One connection to the store. SQL is written once (suivi/store/dialect.py)."""

    dialect: Dialect

    def execute(self, sql: str, params=None) -> None:
        raise NotImplementedError

    def rows(self, sql: str, params=None) -> list[tuple]:
        raise NotImplementedError

    def df(self, sql: str, params=None) -> pd.DataFrame:
        raise NotImplementedError

    def table_df(self, sql: str, params=None) -> pd.DataFrame:
        """`df` for large results of text, integer, double and boolean columns only (the
        stored statuses): the same frame, fetched the engine's fastest way."""
        return self.df(sql, params)

    def put_frame(self, name: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
        """A temporary table `name` holding `frame` (columns typed as `types`), replacing
        any table of that name: how bulk rows enter a query (Arrow scan or COPY)."""
        raise NotImplementedError

    def begin(self) -> None:
        self.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")

    @contextmanager
    def transaction(self):
        """All or nothing: readers see none or all of what happens inside."""
        self.begin()
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def scalar(self, sql: str, params=None):
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def first(self, sql: str, params=None) -> tuple | None:
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    def holds_rows(self, table: str) -> bool:
        """Whether `table` (or view) has a row at all: the first one found ends the scan."""
        return bool(self.scalar(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) t"))

    def drop(self, name: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {name}")

    def prepare_bulk_load(self) -> None:
        """Engine settings for a large load (DuckDB: spill to disk beyond a memory budget)."""

    def before_bulk_commit(self) -> None:
        """Engine settings for the commit of a large load (DuckDB: a smaller budget)."""

    def end_bulk_load(self) -> None:
        """The engine's default settings back, after a large load (DuckDB: its budget)."""

    @contextmanager
    def unordered_writes(self):
        """Inside the block, rows are inserted in whatever order the engine finds fastest
        (DuckDB: written by every thread; it keeps a query's order by default). For tables
        whose readers never rely on their physical order (PostgreSQL promises none)."""
        yield

    def refresh_statistics(self, tables) -> None:
        """Planner statistics of `tables` after a write that changed many of their rows.

        DuckDB keeps its statistics as it writes. PostgreSQL's come from ANALYZE, which
        autovacuum runs only some time after a load: a page opened meanwhile is planned on
        the empty tables' statistics (nested loops over the whole contract: minutes instead
        of a second, seen on the national benchmark)."""

    def changed_enough(self, tables) -> list[str]:
        """Those of `tables` whose rows changed enough, this transaction's changes included,
        for their statistics to need refreshing (PostgreSQL: autovacuum's threshold, 50 rows
        plus 10 %). Asked inside the write's transaction, which alone sees its own counts.
        None on DuckDB, which keeps its statistics as it writes."""
        return []


class Store:
    """Where the data lives. `url` is a DuckDB path or a PostgreSQL URL."""

    url: str
    dialect: Dialect
    kind = ""

    @contextmanager
    def session(self, read_only: bool = False):
        raise NotImplementedError
        yield

    @contextmanager
    def kept_open(self):
        """Sessions opened inside the block may share one connection (DuckDB: see
        DuckStore.kept_open); elsewhere each session opens its own."""
        yield

    @contextmanager
    def write_lock(self):
        """Serialise writers (CLI, app sessions, replicas): validation and load of a file run
        under it, so a file is always validated against the state it is written onto."""
        raise NotImplementedError
        yield

    def version(self) -> tuple:
        """A token that changes whenever anything is committed, by any process or replica:
        page caches are keyed on it."""
        raise NotImplementedError

    def exists(self) -> bool:
        raise NotImplementedError

    def drop_all(self) -> None:
        """Start from an empty store (`init --reset`)."""
        raise NotImplementedError

    def describe(self) -> str:
        return self.url
