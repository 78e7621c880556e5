"""The shared store: a PostgreSQL server, for several observatories and several app replicas.

Same versioned schema and the same queries as the embedded store (suivi/store/dialect.py
translates the few differences). Bulk rows enter through COPY, a batch is one transaction
(readers see none or all of it, MVCC), writers are serialised by an advisory lock held for the
whole validate-then-load (released by the server if the process dies), and the change token
is read from the batch log, so it works across replicas.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from decimal import Decimal

import pandas as pd

from suivi.store.base import Session, Store
from suivi.store.dialect import POSTGRES

# pg_advisory_lock key of the writers' lock ("suiviqpv" folded into a bigint).
WRITE_LOCK_KEY = 0x5355495649515056 & 0x7FFFFFFFFFFFFFFF


# The settings of the app's own sessions (docs/deploiement.md). The pages count the 300 000
# statuses of a national contract: at the default work_mem (4 MB) their sorts and hashes
# spilled to disk, and JIT compiled some 50 functions (40 ms) for queries of a few tenths of
# a second; the first Vue d'ensemble after a national upload went from 0.56 to 0.39 s in
# stored_status.overview. Options given in the URL come after these and win.
SESSION_OPTIONS = "-c work_mem=64MB -c jit=off"


def _connect(url: str):
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(url).get("options", "")
    return psycopg.connect(url, autocommit=True, options=f"{SESSION_OPTIONS} {given}".strip())


def _frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows, columns=columns)
    for col in df.columns:  # numeric aggregates come back as Decimal: numbers, as on DuckDB
        if df[col].dtype == object and len(df) and any(isinstance(v, Decimal)
                                                       for v in df[col].head(50)):
            df[col] = pd.to_numeric(df[col].map(lambda v: None if v is None else float(v)))
    return df


class PgSession(Session):
    dialect = POSTGRES

    def __init__(self, con):
        self.con = con

    def _run(self, sql: str, params=None):
        cur = self.con.cursor()
        if params:
            cur.execute(self.dialect.sql(sql), params)
        else:
            cur.execute(self.dialect.sql(sql, params=False))
        return cur

    def execute(self, sql: str, params=None) -> None:
        self._run(sql, params).close()

    def rows(self, sql: str, params=None) -> list[tuple]:
        with self._run(sql, params) as cur:
            return cur.fetchall() if cur.description else []

    def df(self, sql: str, params=None) -> pd.DataFrame:
        with self._run(sql, params) as cur:
            columns = [d.name for d in cur.description]
            return _frame(cur.fetchall(), columns)

    def put_frame(self, name: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
        cols = list(frame.columns)
        self.execute(f"DROP TABLE IF EXISTS {name}")
        self.execute(f"CREATE TEMP TABLE {name} ("
                     + ", ".join(f'"{c}" {_pg_type(types.get(c, "VARCHAR"))}' for c in cols)
                     + ")")
        if frame.empty:
            return
        buffer = io.StringIO()
        _csv(frame, types).to_csv(buffer, index=False, header=False, na_rep="\\N")
        with self.con.cursor() as cur, cur.copy(
                f"COPY {name} ({', '.join(chr(34) + c + chr(34) for c in cols)}) FROM STDIN "
                "WITH (FORMAT csv, NULL '\\N')") as copy:
            copy.write(buffer.getvalue())
        self.execute(f"ANALYZE {name}")  # autovacuum never analyses temporary tables

    def refresh_statistics(self, tables) -> None:
        for table in dict.fromkeys(tables):
            self.execute(f"ANALYZE {table}")

    def changed_enough(self, tables) -> list[str]:
        """A national upload changes a few percent of the big tables: analysing them all
        the same took 4.6 s of its 21 s. The transaction's own counts are read from
        pg_stat_xact_all_tables (autovacuum sees them only once committed)."""
        names = list(dict.fromkeys(tables))
        return [r[0] for r in self.rows(_CHANGED_ENOUGH, [names])] if names else []


# The tables of a list (in its order) never analysed, or changed since their last ANALYZE,
# counting the current transaction's changes, by more rows than autovacuum's threshold.
_CHANGED_ENOUGH = """
SELECT t.name FROM unnest(CAST(? AS text[])) WITH ORDINALITY AS t(name, i)
JOIN pg_class c ON c.oid = to_regclass(t.name)
LEFT JOIN pg_stat_all_tables a ON a.relid = c.oid
LEFT JOIN pg_stat_xact_all_tables x ON x.relid = c.oid
WHERE c.reltuples < 0
   OR coalesce(a.n_mod_since_analyze, 0)
      + coalesce(x.n_tup_ins + x.n_tup_upd + x.n_tup_del, 0)
      > current_setting('autovacuum_analyze_threshold')::float8
        + current_setting('autovacuum_analyze_scale_factor')::float8 * c.reltuples
ORDER BY t.i"""


def _pg_type(sql_type: str) -> str:
    return "DOUBLE PRECISION" if sql_type.upper() == "DOUBLE" else sql_type


def _csv(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """Columns as COPY reads them: whole numbers without `.0`, booleans as t/f, NaN as NULL."""
    out = frame.copy()
    for col in out.columns:
        kind = types.get(col, "VARCHAR").upper()
        if kind in ("INTEGER", "BIGINT"):
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
        elif kind == "BOOLEAN":
            out[col] = out[col].map({True: "t", False: "f"})
        elif isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(object)
    return out


class PgStore(Store):
    kind = "postgresql"
    dialect = POSTGRES

    # The change token is read at most this often (seconds): a page asks for it before each
    # of its queries, and a replica learns of another's load within this delay.
    VERSION_TTL = 0.5

    def __init__(self, url: str):
        self.url = url
        self._version = (0.0, None)

    @contextmanager
    def session(self, read_only: bool = False):
        con = _connect(self.url)
        try:
            if read_only:
                con.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            yield PgSession(con)
        finally:
            con.close()

    @contextmanager
    def write_lock(self):
        con = _connect(self.url)
        try:
            con.execute("SELECT pg_advisory_lock(%s)", [WRITE_LOCK_KEY])
            try:
                yield
            finally:
                con.execute("SELECT pg_advisory_unlock(%s)", [WRITE_LOCK_KEY])
                # This process wrote (or may have): its next page run reads the batch log
                # again instead of a token cached before the write.
                self._version = (0.0, None)
        finally:
            con.close()

    def version(self) -> tuple:
        import time

        read_at, value = self._version
        if value is not None and time.monotonic() - read_at < self.VERSION_TTL:
            return value
        with self.session() as s:
            if not s.scalar("SELECT count(*) FROM information_schema.tables "
                            "WHERE table_schema = current_schema() AND table_name = 'batch'"):
                value = (0, 0)
            else:
                value = tuple(s.first("SELECT count(*), coalesce(max(id), 0) FROM batch"))
        self._version = (time.monotonic(), value)
        return value

    def exists(self) -> bool:
        try:
            with self.session() as s:
                return bool(s.scalar("SELECT count(*) FROM information_schema.tables WHERE "
                                     "table_schema = current_schema() AND table_name = 'meta'"))
        except Exception:  # noqa: BLE001 - no server or no database: nothing to open yet
            return False

    def drop_all(self) -> None:
        with self.session() as s:
            s.execute("DROP SCHEMA IF EXISTS public CASCADE")
            s.execute("CREATE SCHEMA public")

    def describe(self) -> str:
        """The URL without its password, for messages."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        netloc = parts.hostname or ""
        if parts.username:
            netloc = f"{parts.username}@{netloc}"
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
