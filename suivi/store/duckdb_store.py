"""The embedded store: one DuckDB file, for one observatory on one machine.

DuckDB lets one process write a file at a time. The app, the CLI and the tests therefore open
short-lived connections and retry for a few seconds when another process holds the lock,
instead of keeping the file open for the life of the app. Writers are serialised by a lock
file beside the database (fcntl, plus a thread lock for the app's sessions); the change token
is the size and modification time of the file and its write-ahead log (two stat() calls).
"""

from __future__ import annotations

import fcntl
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from suivi.core.config import load_memory_bytes
from suivi.store.base import Session, Store
from suivi.store.dialect import DUCKDB

_THREAD_LOCK = threading.Lock()


class DuckSession(Session):
    dialect = DUCKDB

    def __init__(self, con):
        self.con = con
        self._unordered = False  # unordered_writes' setting still to put back

    def execute(self, sql: str, params=None) -> None:
        if params is None:
            self.con.execute(sql)
        else:
            self.con.execute(sql, params)

    def rows(self, sql: str, params=None) -> list[tuple]:
        # Everything is fetched: DuckDB 2 refuses further work on a connection with an
        # unfinished result.
        return self.con.execute(sql, params if params is not None else []).fetchall()

    def df(self, sql: str, params=None) -> pd.DataFrame:
        return self.con.execute(sql, params if params is not None else []).df()

    def table_df(self, sql: str, params=None) -> pd.DataFrame:
        """Through Arrow: 0.1 s instead of 0.5-0.85 s for a national contract's 270 000
        stored statuses. Arrow turns an integer column holding NULLs into floats and an
        all-NULL (or empty) text column into strings; they get .df()'s types back (nullable
        integers, objects), so both fetches give equal frames (tests/test_stored_status.py)."""
        table = self.con.sql(sql, params=params).to_arrow_table()
        frame = table.to_pandas()
        for i, column in enumerate(table.columns):
            if column.null_count and pa.types.is_integer(column.type):
                frame.isetitem(i, column.to_pandas(types_mapper=_NULLABLE_INTEGERS.get))
            elif column.null_count == len(column) and pa.types.is_string(column.type):
                frame.isetitem(i, pd.Series([None] * len(column), dtype=object))
        return frame

    def put_frame(self, name: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
        """The frame as a temporary table. Text columns held as categories stay coded (DuckDB
        ENUMs, cast to text where they are compared or inserted): as text, a national file's
        3 million staged values took 400 MB of the engine's memory, its peak at init."""
        view = f"_frame_{name}"
        self.con.register(view, frame)
        try:
            select = ", ".join(
                f'"{c}"' if types.get(c, "VARCHAR") == "VARCHAR" and _text_codes(frame[c])
                else f'CAST("{c}" AS {types.get(c, "VARCHAR")}) AS "{c}"'
                for c in frame.columns)
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {select} "
                             f"FROM {view}")
        finally:
            self.con.unregister(view)

    def prepare_bulk_load(self) -> None:
        # A national file stages millions of rows: let DuckDB spill to disk beyond this budget
        # instead of growing the process (the loader shares the machine with the app).
        self._budget(1.0)

    def before_bulk_commit(self) -> None:
        # The commit writes the batch into the file. With the statuses' budget, the blocks
        # they had read stayed in memory beside it: the national init's peak (748-755 MB at
        # 400 MB, 670-680 MB with 350 then 245 MB, in the same time).
        self._budget(COMMIT_SHARE)

    def _budget(self, share: float) -> None:
        """DuckDB's memory limit at `share` of $SUIVI_LOAD_MEMORY."""
        self.con.execute(f"SET memory_limit = '{int(load_memory_bytes() * share) // 1000}KB'")

    @contextmanager
    def unordered_writes(self):
        # The setting is the database instance's: every connection of the process (the
        # app's other sessions) has it until it is put back.
        self.con.execute("SET preserve_insertion_order = false")
        self._unordered = True
        try:
            yield
        finally:
            self._put_order_back()

    def _put_order_back(self) -> None:
        """RESET, refused while a failed statement has aborted the transaction (a rollback
        does not undo a SET): then `rollback` puts it back."""
        if not self._unordered:
            return
        try:
            self.con.execute("RESET preserve_insertion_order")
        except duckdb.Error:
            return
        self._unordered = False

    def rollback(self) -> None:
        super().rollback()
        self._put_order_back()

    def end_bulk_load(self) -> None:
        # The budget is the database instance's, which the app's readers share in its
        # process: back to DuckDB's default (nothing opens the store with another).
        try:
            self.con.execute("RESET memory_limit")
        except duckdb.Error:  # an instance a failure invalidated: its settings go with it
            pass


COMMIT_SHARE = 0.7  # of the load's budget ($SUIVI_LOAD_MEMORY), at its commit


def _text_codes(column: pd.Series) -> bool:
    """A categorical column of texts (DuckDB scans it as an ENUM of those texts)."""
    return (isinstance(column.dtype, pd.CategoricalDtype)
            and pd.api.types.is_string_dtype(column.cat.categories.dtype))


_NULLABLE_INTEGERS = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(),
                      pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype()}


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text


class DuckStore(Store):
    kind = "duckdb"
    dialect = DUCKDB

    def __init__(self, url: str):
        self.url = url
        self.path = Path(url)
        self._kept = threading.local()  # kept_open's connection, per thread (page run)

    def connect(self, read_only: bool = False, wait: float = 15.0):
        """A raw connection, retrying while another process holds the file's lock."""
        deadline = time.monotonic() + wait
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as exc:
                if not _is_lock_error(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    @contextmanager
    def session(self, read_only: bool = False):
        if read_only and not self.path.exists():
            raise FileNotFoundError(f"Base introuvable : {self.path}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if getattr(self._kept, "active", False) and not read_only:
            if self._kept.con is None:
                self._kept.con = self.connect()
            con = self._kept.con.cursor()  # its own transactions, the same open file
        else:
            con = self.connect(read_only=read_only)
        try:
            yield DuckSession(con)
        finally:
            con.close()

    @contextmanager
    def kept_open(self):
        """The sessions this thread opens inside the block share one opening of the file,
        made at the first of them and closed at the end. A page run after a load misses a
        dozen caches, and opening the file cost 15-30 ms each time; other processes wait
        for the lock while the block runs (a page run), as they wait for a session."""
        if getattr(self._kept, "active", False):  # nested: the outer block keeps it
            yield
            return
        self._kept.active, self._kept.con = True, None
        try:
            yield
        finally:
            con, self._kept.con, self._kept.active = self._kept.con, None, False
            if con is not None:
                con.close()

    @contextmanager
    def write_lock(self):
        lock_file = self.path.with_suffix(".lock")
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        with _THREAD_LOCK, open(lock_file, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def version(self) -> tuple:
        """DuckDB appends every commit to the write-ahead log (and checkpoints into the file),
        so the size and modification time of both files change with any commit by any
        process, read without opening the database."""
        signature = []
        for part in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                info = part.stat()
                signature += [info.st_size, info.st_mtime_ns]
            except FileNotFoundError:
                signature += [0, 0]
        return tuple(signature)

    def exists(self) -> bool:
        return self.path.exists()

    def drop_all(self) -> None:
        for extra in (self.path, Path(str(self.path) + ".wal")):
            extra.unlink(missing_ok=True)
