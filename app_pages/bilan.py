"""Bilan annuel: the comité de pilotage's report for the selected contract and year, previewed
here and downloadable as a self-contained HTML file (prints to A4 PDF) and as xlsx data."""

import streamlit as st

from suivi.views import bilan as tb
from suivi.views.report.data import file_stem
from suivi.web import documents, ui

sel = ui.selection()
st.title("Bilan annuel")
ui.require_contract(sel)

with st.spinner("Préparation du bilan…"):
    report = documents.bilan(sel)

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
                      data=lambda: documents.bilan_xlsx(sel),  # built when asked for
                      file_name=f"{report.file_stem}.xlsx",
                      mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      on_click="ignore", key="bilan_xlsx",
                      help="Un onglet par tableau du bilan, valeurs brutes.")

st.download_button("Télécharger le rapport annuel politique de la ville (Word, modifiable)",
                   data=lambda: documents.report_docx(sel),  # built when asked for
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
