"""The app shell: builds the database when absent, sidebar state mirrored in the URL."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from suivi.core.config import ROOT


def test_app_builds_database_when_absent(tmp_path, monkeypatch):
    db = tmp_path / "absent.duckdb"
    monkeypatch.setenv("SUIVI_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert db.exists()
    assert at.sidebar.selectbox[0].value == "AMBOISE-2015"
    assert any("Valeurs de démonstration" in w.value for w in at.warning)


def test_shared_link_sets_the_selection(app):
    at = app(contrat="AMBOISE-2015", quartier="AMB-QPV-VE", annee="2021")
    contract, quartier, year = (sb.value for sb in at.sidebar.selectbox[:3])
    assert (contract, quartier, year) == ("AMBOISE-2015", "AMB-QPV-VE", 2021)
    assert at.query_params["quartier"] == ["AMB-QPV-VE"] or at.query_params["quartier"] == "AMB-QPV-VE"


def test_changing_contract_updates_url_and_resets_quartier(app):
    at = app(contrat="AMBOISE-2015", quartier="AMB-QPV-VE")
    at.sidebar.selectbox[0].set_value("BLOIS-2015").run()
    params = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert params["contrat"] == "BLOIS-2015" and "quartier" not in params
    assert not any("Valeurs de démonstration" in w.value for w in at.warning)


def test_a_contract_without_values_opens_on_this_year_within_its_period(app):
    """TMVL-2024 (2024-2030) has no value yet: it opens on this year, not on 2030; a
    contract with values on its latest one."""
    from datetime import date

    from suivi.web.ui import default_year

    at = app(contrat="TMVL-2024")
    assert at.sidebar.selectbox[2].value == min(max(date.today().year, 2024), 2030)
    assert not at.exception
    none = pd.Series([], dtype="float64")
    assert [default_year(none, 2024, 2030, today) for today in (2020, 2026, 2035)] == \
        [2024, 2026, 2030]
    assert default_year(pd.Series([2019.0, 2023.0]), 2015, 2022, 2026) == 2023


def test_a_page_changing_a_cached_frame_never_changes_the_cache(test_db, monkeypatch):
    """ui.query and ui.memo hand out lazy copies (pandas 3 copies on write): whatever a page
    does to its frame in place, the next page gets the cached result intact."""
    import pandas as pd

    from suivi.web import ui

    monkeypatch.setenv("SUIVI_DB", test_db)
    ui.clear_cache()
    first = ui.query("territories", "TEST-2015")
    expected = first.copy(deep=True)
    assert len(expected) > 1
    first["label"] = "changé"
    first.loc[0, "population"] = -1
    del first["kind"]
    pd.testing.assert_frame_equal(ui.query("territories", "TEST-2015"), expected)

    derived = ui.memo(("test", "labels"), lambda: expected[["code", "label"]])
    derived.iloc[0, 1] = "changé aussi"
    derived["extra"] = 1
    pd.testing.assert_frame_equal(ui.memo(("test", "labels"), lambda: None),
                                  expected[["code", "label"]])
    ui.clear_cache()


def test_a_page_run_files_what_it_derives_under_the_version_it_started_with(test_db,
                                                                             monkeypatch):
    """Another replica commits while a page run is under way: what the run derives from the
    values it had already read must not be filed under the new version, or every later run
    would show the values from before that load."""
    import threading

    from suivi.web import imports, ui

    monkeypatch.setenv("SUIVI_DB", test_db)
    ui.clear_cache()
    with ui.kept_open():
        started = ui.data_version()
        before = ui.query("territories", "TEST-2015")
        newest = imports.batches(test_db)["id"].max()
        writer = threading.Thread(target=imports.rollback, args=(test_db, int(newest)))
        writer.start()
        writer.join()
        assert ui.data_version() == started  # the run keeps its version
        derived = ui.memo(("test", "derived"), lambda: ("from before the load", len(before)))
        assert derived[0] == "from before the load"
    with ui.kept_open():
        assert ui.data_version() != started  # the next run sees the load
        assert ui.memo(("test", "derived"), lambda: ("recomputed", 0)) == ("recomputed", 0)
    # Outside a run (a fragment, a test), the version is read at each call.
    assert ui.data_version() != started
    ui.clear_cache()
