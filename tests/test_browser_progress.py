"""In Chromium: the Import page shows the stages of the check and of the load with their
counts (st.status while working, then a caption that stays)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests import test_browser as _browser
from tests.test_browser import assert_no_error, shot, wait_ready
from tests.test_browser_access import ensure_accounts, login
from tests.test_stages import filled_template

server, browser, tab, page = _browser.server, _browser.browser, _browser.tab, _browser.page


def test_import_page_shows_the_stages_with_counts(server, page, tmp_path):
    out = tmp_path / "saisie.xlsx"
    rows = filled_template(server["db"], out)
    n = f"{rows:,}".replace(",", "\u202f")
    ensure_accounts(server["db"])
    page.goto(f"{server['url']}/import?contrat=AMBOISE-2015&annee=2024")
    wait_ready(page)
    login(page, "carla")
    page.locator("input[type='file']").set_input_files(str(out))
    wait_ready(page)
    main = page.locator("[data-testid='stMain']")
    status = main.locator("[data-testid='stExpander']").filter(has_text="contrôlé")
    expect(status).to_have_count(1, timeout=30_000)
    assert f"Lecture du fichier : {n} / {n} ligne(s) lue(s)" in status.text_content()
    assert "Comparaison avec la base" in status.text_content()
    caption = main.locator("[data-testid='stCaptionContainer']").filter(has_text="Étapes")
    expect(caption).to_contain_text(f"Contrôle des valeurs : {n} / {n} ligne(s) contrôlée(s)")
    shot(page, "import-etapes-controle")

    page.get_by_role("button", name=re.compile("Confirmer")).click()
    wait_ready(page)
    expect(main).to_contain_text(re.compile(r"Lot \d+ chargé"), timeout=30_000)
    expect(caption).to_contain_text(re.compile(r"Écriture en base : (\d+) / \1 ligne\(s\)"))
    assert_no_error(page)
    shot(page, "import-etapes-chargement")
