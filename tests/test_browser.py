"""End-to-end: Playwright drives Debian's Chromium against the server `make run` starts.

Screenshots of every page land in tests/artifacts/ (ignored by git) so a person can look at
what the app shows.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from etl.template import write_template
from suivi.core.config import ROOT
from tests.conftest import connection

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]
ERROR_TEXT = re.compile(r"Traceback|Exception|StreamlitAPIException|Erreur inattendue")

PAGES = {
    "": "Vue d'ensemble", "priorites": "Priorités", "quartiers": "Quartiers",
    "comparer": "Comparer", "fiche-indicateur": "Fiche indicateur", "catalogue": "Catalogue",
    "import": "Import", "bilan": "Bilan annuel",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(duckdb_default, tmp_path_factory):
    """`make run` on a private copy of the embedded default, on a free local port."""
    db = tmp_path_factory.mktemp("browser") / "suivi.duckdb"
    shutil.copy(duckdb_default, db)
    port = free_port()
    log = open(db.parent / "server.log", "w")
    proc = subprocess.Popen(["make", "-s", "run", f"DB={db}", f"PORT={port}"], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "SUIVI_DB": str(db)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        os.killpg(proc.pid, signal.SIGTERM)
        pytest.fail("the server did not start: " + (db.parent / "server.log").read_text()[-2000:])
    yield {"url": url, "db": db}
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


VIEWPORT = {"width": 1400, "height": 1000}


@pytest.fixture(scope="module")
def tab(browser) -> Page:
    """One tab per module, which its tests share through `page`. A new context for each test
    cost 2-3 s of Chromium's CPU: its renderer parsed and compiled Streamlit's bundle and
    plotly's code again, which the same tab keeps compiled (1.0 against 3.2 s for the
    catalogue, 1.6 against 4.6 s for the Vue d'ensemble)."""
    context = browser.new_context(viewport=VIEWPORT, locale="fr-FR", accept_downloads=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def page(tab) -> Page:
    """The module's tab as a new visitor finds it: no cookie, nothing in the origin's
    storage, the default size, on a blank page."""
    if tab.url.startswith("http"):
        tab.evaluate("() => { sessionStorage.clear(); localStorage.clear(); }")
    tab.context.clear_cookies()
    tab.set_viewport_size(VIEWPORT)
    tab.goto("about:blank")
    return tab


# Ready: the page's title shown (every page has one; an empty main area is a script not yet
# started; `title`, when given, must be in it), no skeleton or stale element, the script run
# over (the app's own `data-test-script-state`, which Streamlit's tests read too, and no
# « Running » status), every chart drawn (plotly's code is loaded on the first chart of a fresh
# tab), and the text of the main area and the sidebar unchanged for `hold` ms (Streamlit
# renders in several passes; a form filled while the sidebar is still being drawn loses its
# input). Polled in the page; returns the moment (performance.now) the page reached that state.
HOLD_MS = 250  # 500 until the script state was read: about 100 waits in a run
READY_JS = """
({hold, title}) => {
  const main = document.querySelector('[data-testid="stMain"]');
  const side = document.querySelector('[data-testid="stSidebar"]');
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  const app = document.querySelector('[data-testid="stApp"]');
  const h1 = main && main.querySelector('h1');
  const busy = !h1 || (title && !h1.innerText.includes(title))
    || !app || app.getAttribute('data-test-script-state') !== 'notRunning'
    || !!document.querySelector('[data-testid="stSkeleton"], [data-stale="true"]')
    || !!(status && /Stop|Running/i.test(status.innerText))
    || [...main.querySelectorAll('[data-testid="stPlotlyChart"]')]
         .some(c => !c.querySelector('.main-svg'));
  const text = busy ? null : main.innerText + (side ? side.innerText : '');
  const now = performance.now();
  if (busy || text !== window.__readyText) {
    window.__readyText = text;
    window.__readySince = now;
    return false;
  }
  return now - window.__readySince >= hold ? window.__readySince : false;
}
"""


def ready_since(page: Page, timeout: float = 60.0, hold_ms: int = HOLD_MS, title: str = "",
                polling: int = 50) -> float:
    """Wait until the page has stopped changing (awaited in the page, not slept for) and
    return the moment, in the page's clock, it reached that state."""
    page.evaluate("() => { window.__readyText = null; window.__readySince = null; }")
    handle = page.wait_for_function(READY_JS, arg={"hold": hold_ms, "title": title},
                                    polling=polling, timeout=timeout * 1000)
    return float(handle.json_value())


def wait_ready(page: Page, timeout: float = 60.0, hold_ms: int = HOLD_MS) -> None:
    page.wait_for_selector("[data-testid='stMain']", timeout=60_000)
    ready_since(page, timeout, hold_ms)


def assert_no_error(page: Page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    assert not ERROR_TEXT.search(page.inner_text("[data-testid='stMain']"))


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_every_page_loads_without_error(server, page):
    for path, title in PAGES.items():
        page.goto(f"{server['url']}/{path}?contrat=AMBOISE-2015&annee=2022")
        wait_ready(page)
        expect(page.locator("[data-testid='stMain']")).to_contain_text(title.split()[0],
                                                                       timeout=30_000)
        assert_no_error(page)
        shot(page, f"page-{path or 'vue-ensemble'}")


def test_shared_link_opens_the_quartier_page(server, page):
    page.goto(f"{server['url']}/quartiers?contrat=AMBOISE-2015&quartier=AMB-QPV-VE&annee=2022")
    wait_ready(page)
    main = page.locator("[data-testid='stMain']")
    expect(main).to_contain_text("La Verrerie", timeout=30_000)
    expect(main).to_contain_text("Amboise")
    quartier = page.locator("[data-testid='stSidebar']").get_by_role("combobox", name="Quartier")
    assert "La Verrerie" in quartier.aria_snapshot()
    assert "quartier=AMB-QPV-VE" in page.url
    assert_no_error(page)
    shot(page, "lien-partage-quartier")


def test_upload_a_workbook_on_the_import_page(server, page, tmp_path):
    import openpyxl

    out = tmp_path / "saisie.xlsx"
    with connection(server["db"]) as con:
        write_template(con, "AMBOISE-2015", 2024, out)
    wb = openpyxl.load_workbook(out)
    ws = wb["valeurs"]
    header = [c.value for c in ws[1]]
    ws.cell(2, header.index("valeur") + 1).value = 12.5
    ws.cell(2, header.index("source") + 1).value = "Test navigateur"
    wb.save(out)
    indicator, territory = ws.cell(2, 1).value, ws.cell(2, 2).value

    from tests.test_browser_access import ensure_accounts, login

    ensure_accounts(server["db"])
    page.goto(f"{server['url']}/import?contrat=AMBOISE-2015&annee=2024")
    wait_ready(page)
    login(page, "carla")  # a contributeur: importing needs that role
    page.locator("input[type='file']").set_input_files(str(out))
    wait_ready(page)
    main = page.locator("[data-testid='stMain']")
    expect(main).to_contain_text("nouveau", timeout=30_000)
    shot(page, "import-apercu")
    page.get_by_role("button", name=re.compile("Confirmer")).click()
    wait_ready(page)
    expect(main).to_contain_text(re.compile(r"Lot \d+ chargé"), timeout=30_000)
    assert_no_error(page)
    shot(page, "import-charge")
    with connection(server["db"], read_only=True) as con:
        got = con.rows("SELECT value, source FROM observation WHERE indicator_code = ? AND "
                          "territory_code = ? AND year = 2024", [indicator, territory])
    assert got == [(12.5, "Test navigateur")]


def test_download_the_bilan(server, page):
    page.goto(f"{server['url']}/bilan?contrat=AMBOISE-2015&annee=2022")
    wait_ready(page)
    button = page.get_by_role("button", name=re.compile("HTML"))
    expect(button).to_be_visible(timeout=60_000)
    with page.expect_download(timeout=60_000) as info:
        button.click()
    path = Path(info.value.path())
    html = path.read_text(encoding="utf-8")
    assert info.value.suggested_filename.endswith(".html")
    assert "<h1>" in html and "AMBOISE-2015" in html and "Amboise" in html
    assert "Valeurs de démonstration" in html  # the contract holds demo values: said so
    assert "<script" not in html and "http://" not in html.split("</head>")[0]
    assert_no_error(page)
    shot(page, "bilan")
