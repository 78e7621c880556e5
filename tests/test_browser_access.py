"""In a real browser: anonymous and lecteur sessions cannot reach the import or rollback
actions, not even by typing the URL; a contributor can.

Reuses the `make run` server and the Chromium fixtures of tests/test_browser.py. Each test
starts as a new visitor (no session cookie, nothing stored, so anonymous at first); "crafted
URL" here means opening /import directly, then logging in on it. A login surviving a reload
is tests/test_browser_session.py.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from suivi.accounts import users
from tests import test_browser as _browser
from tests.test_browser import assert_no_error, shot, wait_ready

# The fixtures of tests/test_browser.py, bound here so that pytest finds them.
server, browser, tab, page = _browser.server, _browser.browser, _browser.tab, _browser.page

ACCOUNTS = {"lea": ("lecteur", "lecture-seule-2026"), "carla": ("contributeur", "contribution-26"),
            "adam": ("administrateur", "administration-26")}
IMPORT_ACTIONS = re.compile(r"Confirmer le chargement|Annuler ce lot|Historique des lots|"
                            r"Contrôler et charger")


def ensure_accounts(db) -> None:
    existing = {u["nom"] for u in users.list_users(db)}
    for name, (role, password) in ACCOUNTS.items():
        if name not in existing:
            users.add_user(name, password, role, db)


def login(page: Page, name: str) -> None:
    """Log in with the sidebar form, as a person would. On a loaded machine the first click
    was once lost: 30 s later the form still held both fields and nothing had been sent (no
    message, no rerun). A person clicks again; so does this helper, once, and only when the
    form is still there, filled, with no message under it."""
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("Connexion", exact=False).first.click()
    sidebar.get_by_label("Identifiant").fill(name)
    sidebar.get_by_label("Mot de passe").fill(ACCOUNTS[name][1])
    button = sidebar.get_by_role("button", name="Se connecter")
    button.click()
    wait_ready(page)
    logged_in = f"Connecté : {name} ({ACCOUNTS[name][0]})"
    try:
        expect(sidebar).to_contain_text(logged_in, timeout=10_000)
    except AssertionError:
        assert sidebar.get_by_label("Identifiant").input_value() == name
        assert sidebar.locator("[data-testid='stAlert']").count() == 0
        button.click()
        wait_ready(page)
        expect(sidebar).to_contain_text(logged_in, timeout=30_000)


def assert_refused(page: Page, who: str) -> None:
    main = page.locator("[data-testid='stMain']")
    expect(main).to_contain_text("Accès refusé", timeout=30_000)
    expect(main).to_contain_text(who)
    assert page.locator("input[type='file']").count() == 0
    assert not IMPORT_ACTIONS.search(main.inner_text())
    assert "Import" not in page.locator("[data-testid='stSidebarNav']").inner_text()


def test_first_request_to_the_import_script_goes_through_the_router(server, page):
    """Must stay the first test of the module: the server has just started. A crafted URL
    naming the page script (/import_donnees) must not reach it: page scripts live in
    app_pages/, not in Streamlit's legacy pages/ folder, so only app.py's router serves pages."""
    page.goto(f"{server['url']}/import_donnees?contrat=AMBOISE-2015&annee=2022")
    wait_ready(page)
    main = page.locator("[data-testid='stMain']")
    expect(main).to_contain_text("Vue d'ensemble", timeout=30_000)
    assert page.locator("input[type='file']").count() == 0
    assert not IMPORT_ACTIONS.search(main.inner_text())
    nav = page.locator("[data-testid='stSidebarNav']").inner_text()
    assert "Import" not in nav and "import donnees" not in nav.lower()
    assert_no_error(page)


def test_anonymous_cannot_reach_import_even_by_url(server, page):
    page.goto(f"{server['url']}/vue-ensemble?contrat=AMBOISE-2015&annee=2022")
    wait_ready(page)
    nav = page.locator("[data-testid='stSidebarNav']")
    expect(nav).to_contain_text("Vue d'ensemble", timeout=30_000)
    assert "Import" not in nav.inner_text()

    page.goto(f"{server['url']}/import?contrat=AMBOISE-2015&annee=2022")
    wait_ready(page)
    assert_refused(page, "Connectez-vous dans la barre latérale")
    assert_no_error(page)
    shot(page, "acces-import-anonyme")

    # The script's own name is not a route either: it falls back to the overview.
    page.goto(f"{server['url']}/import_donnees?contrat=AMBOISE-2015")
    wait_ready(page)
    assert page.locator("input[type='file']").count() == 0
    assert not IMPORT_ACTIONS.search(page.locator("[data-testid='stMain']").inner_text())


def test_lecteur_cannot_reach_import_even_by_url(server, page):
    ensure_accounts(server["db"])
    page.goto(f"{server['url']}/import?contrat=AMBOISE-2015&annee=2022")
    wait_ready(page)
    assert_refused(page, "Connectez-vous")
    login(page, "lea")
    assert_refused(page, "votre compte « lea » (lecteur) ne permet pas l'import")
    assert_no_error(page)
    shot(page, "acces-import-lecteur")


def test_contributeur_reaches_import(server, page):
    ensure_accounts(server["db"])
    page.goto(f"{server['url']}/import?contrat=AMBOISE-2015&annee=2022")
    wait_ready(page)
    assert_refused(page, "Connectez-vous")
    login(page, "carla")
    main = page.locator("[data-testid='stMain']")
    expect(page.locator("input[type='file']")).to_have_count(1, timeout=30_000)
    assert "Accès refusé" not in main.inner_text()
    expect(page.locator("[data-testid='stSidebarNav']")).to_contain_text("Import")
    assert_no_error(page)
    shot(page, "acces-import-contributeur")
    # Logging out on the page closes it at once.
    page.locator("[data-testid='stSidebar']").get_by_role("button", name="Se déconnecter").click()
    wait_ready(page)
    assert_refused(page, "Connectez-vous")
