"""A shared deployment, proven: two Streamlit servers (replicas) on one PostgreSQL.

While a contributor uploads a workbook through replica A and a CLI load lands from a third
process, three Chromium pages browse both replicas. No page ever shows an error; another
connection polling the server never sees half a batch; once both loads have landed, both
replicas show both new values (the page caches follow the batch log, not a file).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import openpyxl
import psycopg
import pytest
from playwright.sync_api import expect, sync_playwright

from etl.template import write_template
from suivi.core.config import ROOT
from tests.conftest import _build_default, connection, databases_of
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, assert_no_error, free_port, wait_ready
from tests.test_browser_access import ensure_accounts, login

CONTRACT, YEAR = "AMBOISE-2015", 2024


def start_replica(db: str, accounts: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """The app's server on `db`, as `make run` starts it (suivi/web/serve.py); returns at
    once (started_replica waits for it)."""
    port = free_port()
    env = {**os.environ, "SUIVI_DB": db, "SUIVI_USERS_DB": str(accounts)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "suivi.web.serve", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def started_replica(proc: subprocess.Popen, url: str, log: Path) -> tuple[subprocess.Popen, str]:
    """The replica once its health check answers (both start side by side)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGTERM)
    pytest.fail("replica did not start: " + log.read_text()[-2000:])


def filled(db: str, out: Path, nth: int, value: float, source: str) -> tuple[str, str]:
    """The contract's yearly template with one value filled in, on the nth row of La
    Verrerie's totals; returns its series."""
    with connection(db) as con:
        write_template(con, CONTRACT, YEAR, out)
    wb = openpyxl.load_workbook(out)
    ws = wb["valeurs"]
    header = [c.value for c in ws[1]]
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, 2).value == "AMB-QPV-VE"
            and not ws.cell(r, header.index("ventilation") + 1).value]
    row = rows[nth]
    ws.cell(row, header.index("valeur") + 1).value = value
    ws.cell(row, header.index("source") + 1).value = source
    series = ws.cell(row, 1).value, ws.cell(row, 2).value
    wb.save(out)
    return series


def open_fiche(page, url: str, indicator: str, territory: str) -> None:
    """Start loading the indicator page (the texts are read by `drawn`: two pages load side
    by side, one per reader)."""
    page.goto(f"{url}/fiche-indicateur?contrat={CONTRACT}&annee={YEAR}&quartier={territory}"
              f"&indicateur={indicator}", wait_until="commit")


def drawn(page) -> str:
    wait_ready(page)
    assert_no_error(page)
    return page.locator("[data-testid='stMain']").inner_text()


def value_on_page(page, url: str, indicator: str, territory: str) -> str:
    open_fiche(page, url, indicator, territory)
    return drawn(page)


def test_two_replicas_one_server_uploads_and_cli_load(tmp_path_factory, request, tmp_path):
    dbs = databases_of("postgresql", tmp_path_factory, request)
    dbs.template("default", _build_default)
    db = dbs.copy("default", tmp_path)
    accounts = tmp_path / "comptes.sqlite3"
    os.environ["SUIVI_USERS_DB"] = str(accounts)
    try:
        ensure_accounts(db)
    finally:
        del os.environ["SUIVI_USERS_DB"]
    upload = tmp_path / "saisie-navigateur.xlsx"
    cli_file = tmp_path / "saisie-cli.xlsx"
    ind_a, ter_a = filled(db, upload, 0, 12.5, "Envoi par le réplica A")
    ind_b, ter_b = filled(db, cli_file, 1, 77.25, "Chargement en ligne de commande")

    seen, stop = [], threading.Event()

    def poll():  # another connection, all along: 0 or all of each batch, never half
        with psycopg.connect(db, autocommit=True) as con:
            while not stop.is_set():
                seen.append(con.execute(
                    "SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM observation_v "
                    "WHERE created_batch > 6)").fetchone())
                time.sleep(0.02)

    starting = [(*start_replica(db, accounts, tmp_path / f"{n}.log"), tmp_path / f"{n}.log")
                for n in "ab"]
    (replica_a, url_a), (replica_b, url_b) = [started_replica(*s) for s in starting]
    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = [browser.new_context(locale="fr-FR").new_page() for _ in range(3)]
            contributor, reader_a, reader_b = pages
            # Before: both replicas show the page, without error.
            open_fiche(reader_a, url_a, ind_a, ter_a)
            open_fiche(reader_b, url_b, ind_b, ter_b)
            drawn(reader_a), drawn(reader_b)

            contributor.goto(f"{url_a}/import?contrat={CONTRACT}&annee={YEAR}")
            wait_ready(contributor)
            login(contributor, "carla")
            contributor.locator("input[type='file']").set_input_files(str(upload))
            wait_ready(contributor)
            cli = subprocess.Popen([sys.executable, "-m", "etl", "--db", db, "load",
                                    str(cli_file)], cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
            contributor.get_by_role("button", name=re.compile("Confirmer")).click()
            # Meanwhile, readers browse both replicas.
            for url, page in ((url_b, reader_b), (url_a, reader_a), (url_b, reader_a)):
                value_on_page(page, url, ind_b, ter_b)
            wait_ready(contributor)
            expect(contributor.locator("[data-testid='stMain']")).to_contain_text(
                re.compile(r"Lot \d+ chargé"), timeout=60_000)
            assert_no_error(contributor)
            out, _ = cli.communicate(timeout=300)
            assert cli.returncode == 0, out

            # Both loads have landed: both replicas show both new values.
            for url in (url_a, url_b):
                deadline = time.monotonic() + 30
                while True:
                    open_fiche(reader_a, url, ind_a, ter_a)
                    open_fiche(reader_b, url, ind_b, ter_b)
                    text_a, text_b = drawn(reader_a), drawn(reader_b)
                    # « Détail du calcul » (open when a quartier is chosen) states the latest
                    # actual: t → V, in French.
                    if f"{YEAR} → 12,5" in text_a and f"{YEAR} → 77,25" in text_b:
                        break
                    if time.monotonic() > deadline:
                        Path("/tmp/replica-a.txt").write_text(text_a)
                        Path("/tmp/replica-b.txt").write_text(text_b)
                    assert time.monotonic() < deadline, (url, text_a[-500:], text_b[-500:])
            browser.close()
    finally:
        stop.set()
        poller.join(timeout=30)
        for proc in (replica_a, replica_b):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    with connection(db) as con:
        landed = con.rows("SELECT id, inserted + updated FROM batch WHERE id > 6 ORDER BY id")
    assert len(landed) == 2 and all(n == 1 for _, n in landed)
    # Never half a batch: each sample has as many new versions as new batches.
    assert all(n_obs == n_batches - 6 for n_batches, n_obs in seen), sorted(set(seen))
    assert (6, 0) in seen and (8, 2) in seen
