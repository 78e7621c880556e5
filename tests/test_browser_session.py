"""In Chromium: a local login survives a page reload (a signed session cookie, checked on the
server), a logout ends it for good, and a forged or expired cookie opens nothing.

Reuses the `make run` server and the Chromium fixtures of tests/test_browser.py.
"""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from suivi.accounts import users
from tests import test_browser as _browser
from tests.test_browser import assert_no_error, wait_ready
from tests.test_browser_access import ACCOUNTS, ensure_accounts, login

server, browser, tab, page = _browser.server, _browser.browser, _browser.tab, _browser.page

COOKIE = "suivi_session"
# The catalogue: a page without charts, drawn in 2 s from a fresh load against 3 s for the Vue
# d'ensemble (plotly's code); the cookie does not depend on the page, and these tests reload a
# dozen times.
URL = "{}/catalogue?contrat=AMBOISE-2015&annee=2022"


def session_cookie(page: Page) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == COOKIE), None)


def assert_anonymous(page: Page) -> None:
    sidebar = page.locator("[data-testid='stSidebar']")
    expect(sidebar).to_contain_text("Connexion", timeout=30_000)
    assert "Connecté" not in sidebar.inner_text()


def reload_with(page: Page, server, value: str) -> None:
    page.context.clear_cookies()
    page.context.add_cookies([{"name": COOKIE, "value": value, "url": server["url"]}])
    page.reload()
    wait_ready(page)


def test_login_survives_a_reload_until_logout(server, page):
    ensure_accounts(server["db"])
    page.goto(URL.format(server["url"]))
    wait_ready(page)
    assert_anonymous(page)
    login(page, "lea")
    page.wait_for_function(f"document.cookie.includes('{COOKIE}=')", timeout=30_000)
    cookie = session_cookie(page)
    assert ACCOUNTS["lea"][1] not in cookie and "lea" not in cookie  # no password, no name
    assert users.session_user(cookie, server["db"]) == "lea"

    page.reload()
    wait_ready(page)
    sidebar = page.locator("[data-testid='stSidebar']")
    expect(sidebar).to_contain_text("Connecté : lea (lecteur)", timeout=30_000)
    page.goto(f"{server['url']}/quartiers?contrat=AMBOISE-2015")  # a new page load, too
    wait_ready(page)
    expect(sidebar).to_contain_text("Connecté : lea (lecteur)", timeout=30_000)
    assert_no_error(page)

    sidebar.get_by_role("button", name="Se déconnecter").click()
    wait_ready(page)
    assert_anonymous(page)
    page.wait_for_function(f"!document.cookie.includes('{COOKIE}=')", timeout=30_000)
    assert users.session_user(cookie, server["db"]) is None  # ended on the server
    page.reload()
    wait_ready(page)
    assert_anonymous(page)

    # A copy of the cookie kept from before the logout opens nothing.
    reload_with(page, server, cookie)
    assert_anonymous(page)


def test_forged_and_expired_cookies_are_refused(server, page):
    ensure_accounts(server["db"])
    db = server["db"]
    page.goto(URL.format(server["url"]))
    wait_ready(page)
    valid, _ = users.open_session("adam", db, hours=1)
    token, signature = valid.split(".")
    reload_with(page, server, f"{token}.{'A' * len(signature)}")  # forged signature
    assert_anonymous(page)
    reload_with(page, server, users.sign("jeton-invente", db))  # signed, never issued
    assert_anonymous(page)
    expired, _ = users.open_session("adam", db, hours=1, now=time.time() - 2 * 3600)
    reload_with(page, server, expired)
    assert_anonymous(page)
    # The same browser with a cookie the server did issue, still valid: logged in.
    reload_with(page, server, valid)
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text(
        "Connecté : adam (administrateur)", timeout=30_000)
