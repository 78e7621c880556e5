"""Suivi QPV: entry point. Builds the database if absent, checks who is there, the sidebar,
then runs the page.

Access is decided here on every run, on the server: the Import page is registered only for
contributors (others get a hidden refusal page at the same URL, so a crafted /import link
shows the refusal), and a protected page is checked once more before it runs.
"""

import streamlit as st

from suivi.web import auth, ui

st.set_page_config(page_title="Suivi QPV", page_icon="📈", layout="wide")
ui.page_style()

IMPORT = ("app_pages/import_donnees.py", "Import", "📥", "import")


def pages() -> list:
    """Pages this session may open (Import only for contributors and administrators)."""
    path, title, icon, url = IMPORT
    import_page = (st.Page(path, title=title, icon=icon, url_path=url)
                   if auth.can(auth.PROTECTED_PAGES[url])
                   else auth.denied_page(auth.PROTECTED_PAGES[url], title, url))
    return [
        st.Page("app_pages/vue_ensemble.py", title="Vue d'ensemble", icon="📊",
                url_path="vue-ensemble", default=True),
        st.Page("app_pages/priorites.py", title="Priorités", icon="🎯", url_path="priorites"),
        st.Page("app_pages/quartiers.py", title="Quartiers", icon="🏘️", url_path="quartiers"),
        st.Page("app_pages/comparer.py", title="Comparer", icon="⚖️", url_path="comparer"),
        st.Page("app_pages/fiche_indicateur.py", title="Fiche indicateur", icon="🔎",
                url_path="fiche-indicateur"),
        st.Page("app_pages/catalogue.py", title="Catalogue", icon="📚", url_path="catalogue"),
        import_page,
        st.Page("app_pages/bilan.py", title="Bilan annuel", icon="🖨️", url_path="bilan"),
    ]


ui.settle_memory()  # once per process: the imported libraries out of the GC's scans

# One opening of the database for the whole run (ui.kept_open): a run after a load misses
# many caches, and opening a DuckDB file each time cost 15-30 ms.
with ui.kept_open():
    ui.ensure_database()
    auth.sync_cookie()  # after a login or logout: the session cookie, set or deleted
    if not auth.can("lecteur"):  # reading requires a login and nobody is logged in
        st.navigation([st.Page(auth.login_page, title="Connexion", url_path="connexion")],
                      position="hidden").run()
        st.stop()

    page = st.navigation(pages())
    st.sidebar.title("Suivi QPV")
    selection = ui.sidebar()
    auth.sidebar()
    ui.demo_notice(selection.contract)
    if not auth.page_allowed(page.url_path):  # server-side guard, whatever the navigation says
        st.title(page.title)
        auth.deny(auth.PROTECTED_PAGES[page.url_path])
        st.stop()
    page.run()
