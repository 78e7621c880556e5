"""Shared fixtures: real databases on both engines, loaded through the real ETL.

Every test that touches the store runs twice, on an embedded DuckDB file and on a PostgreSQL
server the session starts itself (tests/pgserver.py), through the session-scoped `backend`
parameter. Databases that take time to build (the embedded default, the small test contract)
are built once per backend and per test worker, then copied for each test: a file copy for
DuckDB, `CREATE DATABASE … TEMPLATE …` for PostgreSQL.
"""

from __future__ import annotations

import functools
import io
import itertools
import os
import shutil
import subprocess
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from etl.pipeline import init, load
from suivi.store import (
    open_store,
    reports,
    stored_counts,
    stored_gaps,
    stored_sources,
    stored_status,
)
from suivi.store.projection_sql import projection_sql
from suivi.store.schema import ENTITIES, LOAD_ORDER, SCHEMA_VERSION, schema_version, upgrade
from suivi.store.status_sql import SERIES_KEY, fetch_series_status
from tests.workbooks import full_workbook

BACKENDS = ("duckdb", "postgresql")
# Password hashing at the lowest argon2 cost, in this process and in the CLI and app servers
# the tests start (they inherit the environment): tests only, see suivi/accounts/users.py.
os.environ["SUIVI_ARGON2_TEST"] = "1"

# Each new AppTest has Streamlit scan every installed distribution's metadata for components
# (0.08 s, some 150 times a run); the environment does not change during a test session.
try:
    from streamlit.components.v2 import manifest_scanner
except ImportError:  # another Streamlit: nothing to cache
    manifest_scanner = None
else:
    manifest_scanner.scan_component_manifests = functools.cache(
        manifest_scanner.scan_component_manifests)


# --- Sessions for the tests' own queries ------------------------------------------------------

@contextmanager
def connection(db, read_only: bool = False):
    """A store session on `db` (DuckDB path or PostgreSQL URL) for a test's own queries."""
    with open_store(db).session() as s:
        yield s


def upgraded_from(db, version: int, *statements: str):
    """`db` made to look like a database of schema `version` (`statements` undo what came
    after it), then upgraded as the app does when it opens it; returns its store."""
    with connection(db) as s:
        for statement in statements:
            s.execute(statement)
        s.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])
    store = open_store(db)
    upgrade(store)
    with store.session() as s:
        assert schema_version(s) == SCHEMA_VERSION
    return store


def cli_in_process(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`python -m etl ARGV` through its entry point (`suivi.cli.main`) in this process, `stdin`
    as its standard input and its output captured: what a subprocess gives, without its
    half-second of imports. Tests that need a real process (killed, concurrent) start one."""
    from unittest import mock

    from suivi.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (redirect_stdout(out), redirect_stderr(err),
          mock.patch("sys.stdin", io.StringIO(stdin or ""))):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's errors
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(list(argv), code, out.getvalue(), err.getvalue())


def scalar(s, sql: str, params=None):
    return s.scalar(sql, params)


# The register's tables (tens of thousands of rows in the embedded default) are compared by
# the count and the sum of a hash of every version, computed by the engine: reading and
# comparing their 180 000 rows took 0.3 s per snapshot on PostgreSQL. Smaller tables stay
# frames, which the crash tests trim batch by batch.
DIGESTED = ("territory", "territory_alias", "territory_ref")
DIGEST_ABOVE = 5_000
_ROW_HASH = {"duckdb": "hash({cols})::HUGEINT",
             "postgresql": "hashtextextended(({cols})::text, 0)::numeric"}


def snapshot(db) -> dict[str, pd.DataFrame]:
    """Every version of every table, the batch log and the stored statuses: equal snapshots =
    unchanged database."""
    with connection(db) as con:
        out = {"batch": con.df("SELECT * FROM batch ORDER BY id")}
        for entity in LOAD_ORDER:
            spec = ENTITIES[entity]
            cols = [*spec["keys"], *spec["values"], "created_batch", "superseded_batch"]
            order = ", ".join(f"{c} NULLS FIRST" for c in cols)
            if entity in DIGESTED and con.scalar(f"SELECT count(*) FROM {entity}_v") \
                    > DIGEST_ABOVE:
                row_hash = _ROW_HASH[con.dialect.name].format(cols=", ".join(cols))
                out[entity] = con.df(f"SELECT count(*) AS versions, CAST(sum({row_hash}) AS "
                                     f"VARCHAR) AS digest FROM {entity}_v")
            else:
                out[entity] = con.df(f"SELECT {', '.join(cols)} FROM {entity}_v "
                                     f"ORDER BY {order}")
        if con.scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                      "current_schema() AND table_name = 'series_status'"):
            out["series_status"] = con.df(
                "SELECT * FROM series_status ORDER BY indicator_code, territory_code, "
                "breakdown, modality, valid_from NULLS FIRST")
    return out


def _same_column(x: pd.Series, y: pd.Series) -> bool:
    """Nulls in the same cells and the other cells equal (==, so 3 equals 3.0, as with
    check_dtype=False), compared by numpy at once."""
    nx, ny = x.isna().to_numpy(), y.isna().to_numpy()
    if not (nx == ny).all():
        return False
    return bool((x.to_numpy(dtype=object)[~nx] == y.to_numpy(dtype=object)[~ny]).all())


def assert_frames_equal(a: pd.DataFrame, b: pd.DataFrame, obj: str) -> None:
    """`pd.testing.assert_frame_equal(a, b, check_dtype=False)` with a vectorised fast path.

    pandas compares the nulls of an object column one cell at a time (a Python loop with a
    warnings context per cell): 2 s per pair of PostgreSQL snapshots of the embedded default.
    Same columns, same index and every column equal settle it at once; anything else gets
    pandas' full comparison, its tolerance and its message."""
    try:
        if (a.shape == b.shape and list(a.columns) == list(b.columns)
                and a.index.equals(b.index)
                and all(_same_column(a.iloc[:, i], b.iloc[:, i]) for i in range(a.shape[1]))):
            return
    except (TypeError, ValueError):
        pass
    pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=obj)


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert_frames_equal(a[key], b[key], obj=key)


def _sorted(df: pd.DataFrame, by=SERIES_KEY) -> pd.DataFrame:
    return df.sort_values(list(by), kind="stable").reset_index(drop=True)


def assert_stored_equal_recomputed(db) -> int:
    """Every year from before the first value to after the last (those where either side
    may change), and the latest (None):
    the stored rows equal the statuses and projections computed from the observations, and
    the stored gaps and source counts of every contract those of reports.quartier_gaps and
    reports.sources_from_values, and the stored status counts (for the years they hold)
    those counted from the steps. Returns the number of (year, series) pairs compared. The
    years are stacked (column `as_of`, -1 for the latest) and compared at once: pandas' fixed
    cost per comparison, paid twice a year, was most of this check on a small database."""
    parts: dict[str, list[pd.DataFrame]] = {"fresh": [], "stored": [], "fresh_p": [],
                                            "stored_p": [], "fresh_g": [], "stored_g": []}
    counted: dict[str, int] = {}  # per contract, the years its stored counts hold
    columns = [*SERIES_KEY, "target_year", *stored_status.PROJECTION_COLUMNS]
    with connection(db) as s:
        first, last = s.first("SELECT min(year), max(year) FROM observation")
        # Both sides change only in a year with a value or where a stored step starts or
        # ends: the years in between would repeat the year before them.
        bounds = " UNION ".join(
            f"SELECT {c} FROM {table}" for table in (*stored_status.TABLES, stored_gaps.TABLE)
            for c in ("valid_from", "valid_to"))
        years = {int(first) - 1, int(last) + 1, *(int(r[0]) for r in s.rows(
            f"SELECT DISTINCT year FROM observation UNION {bounds}") if r[0] is not None)}
        for as_of in [*sorted(years), None]:
            year = -1 if as_of is None else as_of
            parts["fresh"].append(fetch_series_status(s, None, as_of).assign(as_of=year))
            parts["stored"].append(stored_status.read(s, None, as_of)
                                   .drop(columns=["demo"]).assign(as_of=year))
            parts["fresh_p"].append(s.df(*projection_sql(None, as_of, dialect=s.dialect))
                                    [columns].assign(as_of=year))
            parts["stored_p"].append(stored_status.read_projections(s, None, as_of)
                                     .assign(as_of=year))
            for contract in ([] if as_of is None
                             else [r[0] for r in s.rows("SELECT code FROM contract")]):
                parts["fresh_g"].append(reports.quartier_gaps(s, contract, as_of, None)
                                        .assign(as_of=year, contract=contract))
                parts["stored_g"].append(stored_gaps.read(s, contract, as_of)
                                         .assign(as_of=year, contract=contract))
                fresh = reports.sources_from_values(s, contract, as_of, None)
                stored = stored_sources.read(s, contract, as_of)
                assert_frames_equal(stored, fresh, obj=f"sources ({contract}, {as_of})")
            for contract in [r[0] for r in s.rows("SELECT code FROM contract")]:
                # The latest (None) and the first year the counts hold, the year before
                # which the steps are counted: later years read the same stored rows.
                if not stored_counts.holds(s, contract, as_of) or (
                        as_of is not None and contract in counted):
                    continue
                counted[contract] = counted.get(contract, 0) + 1
                for stored, name in ((True, "stored_c"), (False, "fresh_c")):
                    for key, frame in stored_status.overview(s, contract, as_of,
                                                             stored=stored).items():
                        parts.setdefault(f"{name}_{key}", []).append(
                            frame.assign(as_of=year, contract=contract))
        # The latest step of each series in TABLE, one per series, and the same rows among
        # every step in STEPS.
        key = ", ".join(SERIES_KEY)
        assert s.first(f"""
            SELECT count(*), count(DISTINCT ({key})), count(valid_to)
            FROM {stored_status.TABLE}""") == s.first(f"""
            SELECT count(DISTINCT ({key})), count(DISTINCT ({key})), 0 FROM observation o
            JOIN indicator i ON i.code = o.indicator_code""")
        latest = f"SELECT * FROM {stored_status.STEPS} WHERE valid_to IS NULL"
        assert_frames_equal(_sorted(s.df(latest)),
                            _sorted(s.df(f"SELECT * FROM {stored_status.TABLE}")),
                            obj="latest steps")
    assert counted and all(n == 2 for n in counted.values())
    gap_key = ("contract", "as_of", "quartier", "indicator_code")
    stacked = {k: _sorted(pd.concat(v, ignore_index=True),
                          gap_key if k.endswith("_g") else ("as_of", *SERIES_KEY))
               for k, v in parts.items() if "_c_" not in k}
    for k in [k for k in parts if k.startswith("stored_c_")]:
        stored, fresh = (pd.concat(parts[k.replace("stored", side)], ignore_index=True)
                         for side in ("stored", "fresh"))
        key = ["contract", "as_of", *(c for c in fresh.columns if c not in (
            "contract", "as_of", "n", "n_series", "demo", "score_sum", "n_scored",
            "has_baseline", "has_target", "last_year"))]
        assert len(fresh), k
        assert_frames_equal(_sorted(stored, key), _sorted(fresh, key), obj=f"counts ({k})")
    assert_frames_equal(stacked["stored"], stacked["fresh"], obj="statuses (as_of: year)")
    assert_frames_equal(stacked["stored_p"], stacked["fresh_p"],
                        obj="projections (as_of: year)")
    assert_frames_equal(stacked["stored_g"], stacked["fresh_g"], obj="gaps (as_of: year)")
    return len(stacked["fresh_p"])


# --- Databases on both engines ------------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL server per test worker."""
    from tests.pgserver import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


class Databases:
    """Fresh databases of one engine: empty ones, and copies of templates built once."""

    _names = itertools.count()

    def __init__(self, backend: str, folder: Path, pg=None):
        self.backend, self.folder, self.pg = backend, folder, pg
        self.templates: dict[str, str] = {}

    def empty(self, folder: Path | None = None) -> str:
        n = next(self._names)
        if self.backend == "postgresql":
            return self.pg.create_database(f"t{os.getpid()}_{n}")
        return str((folder or self.folder) / f"base{n}.duckdb")

    def template(self, name: str, build) -> str:
        """A database built once by `build(url, folder)` (never modified: tests get copies)."""
        if name not in self.templates:
            url = self.empty()
            build(url, self.folder)
            self.templates[name] = url
        return self.templates[name]

    def derived(self, name: str, base: str, build) -> str:
        """A template made by `build(url, folder)` on a copy of template `base`: a few loads
        on top of the embedded default cost less than building it again."""
        if name not in self.templates:
            url = self.copy(base, self.folder)
            build(url, self.folder)
            self.templates[name] = url
        return self.templates[name]

    def copy(self, name: str, folder: Path) -> str:
        source = self.templates[name]
        if self.backend == "postgresql":
            import psycopg

            target = f"t{os.getpid()}_{next(self._names)}"
            with psycopg.connect(self.pg.dsn, autocommit=True) as con:
                # FILE_COPY copies the files (a checkpoint costs nothing without fsync);
                # the default WAL_LOG writes every block to the log: 0.08-0.14 against
                # 0.05-0.06 s for the embedded default, about 250 times a run.
                con.execute(f'CREATE DATABASE "{target}" TEMPLATE '
                            f'"{source.rsplit("/", 1)[1]}" STRATEGY FILE_COPY')
            return self.pg.dsn_for(target)
        target = folder / f"copie{next(self._names)}.duckdb"
        shutil.copy(source, target)
        return str(target)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


_DATABASES: dict[str, Databases] = {}


def databases_of(backend: str, tmp_path_factory, request) -> Databases:
    """One Databases per engine and test worker (its templates are built once)."""
    if backend not in _DATABASES:
        pg = request.getfixturevalue("pg_server") if backend == "postgresql" else None
        _DATABASES[backend] = Databases(backend, tmp_path_factory.mktemp(backend), pg)
    return _DATABASES[backend]


@pytest.fixture(scope="session")
def databases(backend, tmp_path_factory, request) -> Databases:
    return databases_of(backend, tmp_path_factory, request)


@pytest.fixture
def empty_db(databases, tmp_path) -> str:
    """A database that does not exist yet (DuckDB) or is empty (PostgreSQL)."""
    return databases.empty(tmp_path)


def _build_test_contract(url: str, folder: Path) -> None:
    checked, result = load(full_workbook(folder / "contrat.xlsx"), db=url)
    assert checked.ok, checked.report.render()
    assert result is not None and result.batch_id == 1


@pytest.fixture
def test_db(databases, tmp_path) -> str:
    """A database holding the small test contract of tests/workbooks.py (batch 1)."""
    databases.template("contrat", _build_test_contract)
    return databases.copy("contrat", tmp_path)


def _build_default(url: str, folder: Path) -> None:
    results = init(url, demo=True)
    bad = [(name, c.report.render()) for name, c, _ in results if not c.ok]
    assert not bad, bad


@pytest.fixture(scope="session")
def default_db_template(databases) -> str:
    """The embedded default (register, four contracts, Amboise demo values), built once."""
    return databases.template("default", _build_default)


@pytest.fixture(scope="session")
def duckdb_default(tmp_path_factory, request) -> str:
    """The embedded default on DuckDB only (browser tests start `make run` on a file)."""
    return databases_of("duckdb", tmp_path_factory, request).template("default", _build_default)


@pytest.fixture
def default_db(databases, default_db_template, tmp_path) -> str:
    """A private copy of the embedded default database, free to modify."""
    return databases.copy("default", tmp_path)


@pytest.fixture
def app(default_db, monkeypatch):
    """Factory for the real app through AppTest, on a private copy of the embedded default.

    app(page="app_pages/quartiers.py", contrat="AMBOISE-2015", quartier="AMB-QPV-VE") opens the app
    with those query parameters (as a shared link would) and switches to the page.
    """
    return app_on(default_db, monkeypatch)


def app_on(db: str, monkeypatch):
    """The `app` factory on database `db`."""
    from streamlit.testing.v1 import AppTest

    from suivi.core.config import ROOT

    monkeypatch.setenv("SUIVI_DB", str(db))

    def make(page: str | None = None, **params) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
        for key, value in params.items():
            at.query_params[key] = str(value)
        at.run()
        if page:
            at.switch_page(page)
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    make.db = db
    return make


@pytest.fixture
def served(monkeypatch):
    """The bytes of every file the app hands to a download button, by file name (AppTest
    cannot click a download, so the tests read what Streamlit would serve)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files: dict[str, bytes] = {}

    class Recording(MemoryMediaFileStorage):
        def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
            if isinstance(path_or_data, bytes):
                files[filename] = path_or_data
            return super().load_and_get_id(path_or_data, mimetype, kind, filename)

    monkeypatch.setattr("streamlit.testing.v1.app_test.MemoryMediaFileStorage", Recording)
    return files


@pytest.fixture
def deferred(monkeypatch):
    """Run a download button's deferred callable as a click would: the media file managers
    AppTest creates are recorded, and `deferred(at, button)` executes the button's callable
    (use with `served`, which records the bytes handed to the browser)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    managers = []

    class Recording(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            managers.append(self)

    monkeypatch.setattr("streamlit.testing.v1.app_test.MediaFileManager", Recording)

    def click(button) -> None:
        file_id = button.proto.deferred_file_id
        owner = next(m for m in reversed(managers) if file_id in m._deferred_callables)
        owner.execute_deferred(file_id)

    return click


@pytest.fixture(autouse=True)
def _own_accounts(request, tmp_path, monkeypatch):
    """On PostgreSQL the accounts file is not beside a database file: each test gets its own."""
    if "backend" in request.fixturenames and request.getfixturevalue("backend") == "postgresql":
        monkeypatch.setenv("SUIVI_USERS_DB", str(tmp_path / "comptes.sqlite3"))
