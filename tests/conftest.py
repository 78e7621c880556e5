"""Shared fixtures: a real DuckDB file per test, loaded through the real ETL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from etl.pipeline import init, load
from etl.schema import LOAD_ORDER
from tests.workbooks import full_workbook
from tracker.db import connection

SESSION_DB: dict[str, Path] = {}


@pytest.fixture
def test_db(tmp_path) -> Path:
    """A database holding the small test contract of tests/workbooks.py."""
    db = tmp_path / "test.duckdb"
    checked, result = load(full_workbook(tmp_path / "contrat.xlsx"), db=db)
    assert checked.ok, checked.report.render()
    assert result is not None and result.batch_id == 1
    return db


def snapshot(db: Path) -> dict[str, pd.DataFrame]:
    """Every version of every table, plus the batch log: equal snapshots = unchanged database."""
    with connection(db, read_only=True) as con:
        out = {"batch": con.sql("SELECT * FROM batch ORDER BY id").df()}
        for entity in LOAD_ORDER:
            out[entity] = con.sql(f"SELECT * FROM {entity}_v ORDER BY ALL").df()
    return out


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        pd.testing.assert_frame_equal(a[key], b[key], check_dtype=False, obj=key)


@pytest.fixture(scope="session")
def default_db_template(tmp_path_factory) -> Path:
    """The embedded default (four contracts + Amboise demo values), built once per session."""
    db = tmp_path_factory.mktemp("default") / "suivi.duckdb"
    results = init(db, demo=True)
    bad = [(name, c.report.render()) for name, c, _ in results if not c.ok]
    assert not bad, bad
    return db


@pytest.fixture
def default_db(default_db_template, tmp_path) -> Path:
    """A private copy of the embedded default database, free to modify."""
    db = tmp_path / "suivi.duckdb"
    shutil.copy(default_db_template, db)
    return db


@pytest.fixture
def app(default_db, monkeypatch):
    """Factory for the real app through AppTest, on a private copy of the embedded default.

    app(page="app_pages/quartiers.py", contrat="AMBOISE-2015", quartier="AMB-QPV-VE") opens the app
    with those query parameters (as a shared link would) and switches to the page.
    """
    from streamlit.testing.v1 import AppTest

    from tracker.db import ROOT

    monkeypatch.setenv("SUIVI_DB", str(default_db))

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

    make.db = default_db
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
