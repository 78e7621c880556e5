"""Suivi QPV: entry point. Builds the database if absent, the sidebar, then runs the page."""

import streamlit as st

from tracker import ui

st.set_page_config(page_title="Suivi QPV", page_icon="📈", layout="wide")

PAGES = [
    st.Page("pages/vue_ensemble.py", title="Vue d'ensemble", icon="📊", url_path="vue-ensemble",
            default=True),
    st.Page("pages/priorites.py", title="Priorités", icon="🎯", url_path="priorites"),
    st.Page("pages/quartiers.py", title="Quartiers", icon="🏘️", url_path="quartiers"),
    st.Page("pages/comparer.py", title="Comparer", icon="⚖️", url_path="comparer"),
    st.Page("pages/fiche_indicateur.py", title="Fiche indicateur", icon="🔎",
            url_path="fiche-indicateur"),
    st.Page("pages/catalogue.py", title="Catalogue", icon="📚", url_path="catalogue"),
    st.Page("pages/import_donnees.py", title="Import", icon="📥", url_path="import"),
    st.Page("pages/bilan.py", title="Bilan annuel", icon="🖨️", url_path="bilan"),
]

ui.ensure_database()
page = st.navigation(PAGES)
st.sidebar.title("Suivi QPV")
selection = ui.sidebar()
ui.demo_notice(selection.contract)
page.run()
