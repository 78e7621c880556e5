"""What a person feels: the real app served by Streamlit, driven in Debian's Chromium.

    python -m bench.browser --db bench/out/work/default.duckdb [--clicks 3]

Run as a child of `python -m bench` (benchmark `browser`), once on the embedded default and
once on the national database. Two measures, both in the browser's own clock
(performance.now), localhost only, every wait bounded:

- *sidebar click*: from the click on a page's link in the sidebar to the moment the page's
  title is shown, no element is stale or still loading, the script has finished, every
  plotly chart of the page has drawn its SVG and the text has stopped changing (the tests'
  rule, tests/test_browser.READY_JS); each page is visited `clicks` times in a cycle;
- *shared link*: a fresh browser context (nothing cached, a new Streamlit session) opens the
  Vue d'ensemble link of a contract and year, until the same condition holds (after one
  untimed opening: the server's first run pays its imports once, as a deployment has).

The moment the page reaches that state is what is reported; it must then stay so for
150 ms (a script still running would change it), which costs wall time but is not counted.
Prints one JSON line (the medians, worsts and every sample).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.test_browser import (  # the tests' own browser setup and readiness rule
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    ready_since,
)

ROOT = Path(__file__).resolve().parent.parent
# Sidebar link text -> the text the page's title holds.
PAGES = {"Vue d'ensemble": "Vue d'ensemble", "Priorités": "Priorités", "Quartiers": "Quartiers",
         "Comparer": "Comparer", "Fiche indicateur": "Fiche indicateur",
         "Catalogue": "Catalogue", "Bilan annuel": "Bilan annuel"}
TIMEOUT_MS = 60_000


def serve(db: str, port: int, log: Path, options: tuple[str, ...] = ()) -> subprocess.Popen:
    """The app's server on `db`, as `make run` starts it (plus Streamlit `options`): the
    warmed-up launcher (suivi/web/serve.py), or `streamlit run app.py` in code from before
    it; waits for its health check."""
    env = {**os.environ, "SUIVI_DB": db}
    launcher = (["-m", "suivi.web.serve"] if (ROOT / "suivi" / "web" / "serve.py").exists()
                else ["-m", "streamlit", "run", "app.py"])
    proc = subprocess.Popen(
        [sys.executable, *launcher, "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false", *options],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                        timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError("the app did not start: " + log.read_text()[-2000:])


def ready_at(page, title: str) -> float:
    """The tests' readiness rule (tests/test_browser.READY_JS) for the page titled `title`,
    held for 150 ms: the moment it first held, in the browser's clock."""
    return ready_since(page, TIMEOUT_MS / 1000, 150, title, polling=20)


def click_times(browser, url: str, clicks: int) -> dict[str, list[float]]:
    """Each sidebar link clicked `clicks` times in a cycle (after one untimed visit of each,
    which warms the server's caches as a person's first minute would)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    page.goto(url, timeout=TIMEOUT_MS)
    ready_at(page, PAGES["Vue d'ensemble"])
    times: dict[str, list[float]] = {name: [] for name in PAGES}
    nav = page.locator('[data-testid="stSidebarNav"]')
    for round_ in range(clicks + 1):
        for name, title in [*list(PAGES.items())[1:], next(iter(PAGES.items()))]:
            link = nav.get_by_role("link", name=name, exact=False).first
            start = page.evaluate("() => performance.now()")
            link.click()
            done = ready_at(page, title)
            if round_:  # the first round only warms up
                times[name].append((done - start) / 1000)
    context.close()
    return times


def shared_link_times(browser, url: str, runs: int) -> list[float]:
    """A fresh context per run: the link opened as a colleague would, from a message."""
    out = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
        page = context.new_page()
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        # navigationStart is performance's origin: performance.now() counts from it.
        out.append(ready_at(page, PAGES["Vue d'ensemble"]) / 1000)
        context.close()
    return out


def summary(samples: list[float]) -> dict:
    return {"median": round(statistics.median(samples), 3), "worst": round(max(samples), 3),
            "samples": [round(x, 3) for x in samples]}


def run(db: str, contract: str, year: int, clicks: int, links: int, log: Path) -> dict:
    from playwright.sync_api import sync_playwright

    port = free_port()
    proc = serve(db, port, log)
    try:
        base = f"http://127.0.0.1:{port}"
        link = f"{base}/?contrat={contract}&annee={year}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                shared_link_times(browser, link, 1)  # the server's first run: imports, caches
                shared = shared_link_times(browser, link, links)
                clicked = click_times(browser, link, clicks)
            finally:
                browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    every_click = [t for ts in clicked.values() for t in ts]
    return {"shared_link": summary(shared), "clicks": summary(every_click),
            "pages": {name: summary(ts) for name, ts in clicked.items() if ts}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.browser")
    p.add_argument("--db", required=True)
    p.add_argument("--contract", required=True)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--clicks", type=int, default=3, help="timed visits of each page")
    p.add_argument("--links", type=int, default=3, help="shared links opened")
    p.add_argument("--log", type=Path, default=ROOT / "bench" / "out" / "browser-app.log")
    args = p.parse_args(argv)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    print(json.dumps(run(args.db, args.contract, args.year, args.clicks, args.links, args.log)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
