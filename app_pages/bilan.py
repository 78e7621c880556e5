"""Bilan annuel: the comité de pilotage's report for the selected contract and year, previewed
here and downloadable as a self-contained HTML file (prints to A4 PDF) and as xlsx data."""

import streamlit as st

from tracker import bilan as tb
from tracker import db, ui
from tracker.report_data import file_stem

sel = ui.selection()
st.title("Bilan annuel")
ui.require_contract(sel)


@st.cache_data(show_spinner=False, max_entries=16)
def _bilan(path: str, version: tuple, contract: str, year: int, quartier: str | None):
    statuses = ui.query("series_status", contract, year)  # shared with the other pages
    with db.connection(path) as con:
        return tb.build_bilan(con, contract, year, quartier, statuses=statuses)


@st.cache_data(show_spinner=False, max_entries=16)
def _xlsx(path: str, version: tuple, contract: str, year: int, quartier: str | None) -> bytes:
    return tb.bilan_xlsx(_bilan(path, version, contract, year, quartier))


@st.cache_data(show_spinner=False, max_entries=8)
def _docx(path: str, version: tuple, contract: str, year: int, quartier: str | None) -> bytes:
    from tracker import report_docx as rapport  # python-docx and matplotlib: only when asked

    with db.connection(path) as con:
        return rapport.build_report(con, contract, year, quartier).docx


with st.spinner("Préparation du bilan…"):
    args = (ui.db_file(), ui.data_version(), sel.contract, sel.year, sel.quartier)
    report = _bilan(*args)

scope = "le quartier choisi et ses territoires de référence" if sel.quartier \
    else "tous les quartiers du contrat"
st.caption(f"Rapport pour le comité de pilotage, contrat {sel.contract}, {scope}, situation en "
           f"{sel.year} (valeurs postérieures ignorées) : synthèse des statuts, une section par "
           "priorité, écart avec la commune, indicateurs sans données, méthode et sources. "
           "Contrat, quartier et année se choisissent dans la barre latérale.")
if not report.detailed:
    st.info("Ce périmètre compte trop de séries pour un détail lisible : le bilan donne, par "
            "indicateur, le nombre de séries dans chaque statut. Choisissez un quartier dans la "
            "barre latérale pour le détail de chaque série.")

left, right = st.columns(2)
left.download_button("Télécharger le bilan (HTML, imprimable en PDF)",
                     report.html.encode("utf-8"), file_name=f"{report.file_stem}.html",
                     mime="text/html", type="primary", on_click="ignore", key="bilan_html",
                     help="Fichier autonome : s'ouvre sans connexion ; « Imprimer > "
                          "Enregistrer en PDF » donne un document A4.")
right.download_button("Télécharger les données du bilan (xlsx)",
                      data=lambda: _xlsx(*args),  # built when asked for, not on each visit
                      file_name=f"{report.file_stem}.xlsx",
                      mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      on_click="ignore", key="bilan_xlsx",
                      help="Un onglet par tableau du bilan, valeurs brutes.")

st.download_button("Télécharger le rapport annuel politique de la ville (Word, modifiable)",
                   data=lambda: _docx(*args),  # built when asked for, not on each visit
                   file_name=f"{file_stem(sel.contract, sel.year, sel.quartier)}.docx",
                   mime="application/vnd.openxmlformats-officedocument.wordprocessingml."
                        "document",
                   on_click="ignore", key="rapport_docx",
                   help="Le rapport prévu par le décret n° 2015-1118 : orientations, évolution "
                        "des quartiers, actions, perspectives, articulation des piliers, DSU, "
                        "données par sexe, annexe pour les avis. Texte modifiable : complétez "
                        "les paragraphes « À compléter ».")

st.subheader("Aperçu")
st.iframe(report.html, height=900,
          alt=f"Aperçu du bilan annuel {sel.year} du contrat {sel.contract}")

with st.expander("Tableaux du bilan"):
    tabs = st.tabs([tb.SHEETS[k] for k in report.tables])
    for tab, table in zip(tabs, report.tables.values()):
        config = {c: st.column_config.NumberColumn(c, format="%d" if c in tb.YEAR_COLUMNS
                                                   else "localized")
                  for c in table.select_dtypes("number").columns}
        tab.dataframe(table, hide_index=True, width="stretch", column_config=config)
