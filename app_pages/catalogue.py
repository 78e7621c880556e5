"""Catalogue: every indicator of the contract, searchable and filterable, with what data each
has (situation de référence, situation visée, recent actuals) and a link to its sheet."""

import streamlit as st

from suivi.core import progress as pg
from suivi.core.vocab import LABELS
from suivi.views import compare
from suivi.views import indicator as det
from suivi.web import ui

sel = ui.selection()
st.title("📚 Catalogue des indicateurs")
ui.require_contract(sel)

catalogue = det.with_flags(ui.query("indicators", sel.contract), sel.year)
since = pg.recent_since(sel.year)

text = st.text_input("Rechercher", key="cat_recherche",
                     placeholder="code, intitulé ou définition (accents et majuscules ignorés)")
c1, c2, c3 = st.columns(3)


def present(column: str, kind: str) -> list[str]:
    return sorted(catalogue[column].dropna().unique().tolist(),
                  key=lambda c: LABELS[kind].get(c, c))


types = c1.multiselect("Type", present("type", "type"), key="cat_type", placeholder="Tous",
                       format_func=lambda c: det.label_of("type", c))
units = c2.multiselect("Unité", present("unit", "unit"), key="cat_unite", placeholder="Toutes",
                       format_func=lambda c: det.label_of("unit", c))
polarities = c3.multiselect("Polarité", present("polarity", "polarity"), key="cat_polarite",
                            placeholder="Toutes",
                            format_func=lambda c: det.label_of("polarity", c))
CHOICES = {"Tous": None, "Avec": True, "Sans": False}
c4, c5, c6 = st.columns(3)
baseline = c4.selectbox("Situation de référence", list(CHOICES), key="cat_reference")
target = c5.selectbox("Situation visée", list(CHOICES), key="cat_cible")
recent = c6.selectbox(f"Données récentes (depuis {since})", list(CHOICES), key="cat_recent",
                      help=f"Au moins une valeur réalisée entre {since} et {sel.year} ou après.")

found = det.filter_catalogue(det.search(catalogue, text), types, units, polarities,
                             CHOICES[baseline], CHOICES[target], CHOICES[recent])
table = det.catalogue_table(found, sel.contract, sel.year)
st.markdown(f"**{len(found)} indicateur(s)** sur {len(catalogue)} dans ce contrat.")
st.dataframe(table, hide_index=True, placeholder="–", key="cat_table", height=560,
             column_config={
                 "Fiche": st.column_config.LinkColumn(
                     "Fiche", display_text=r"indicateur=([^&]+)", pinned=True,
                     help="Ouvrir la fiche de l'indicateur"),
                 "Code": None,  # shown by the link
                 "Intitulé": st.column_config.TextColumn(width="large"),
                 "Dernière année": st.column_config.NumberColumn(format="%d"),
                 "Définition": st.column_config.TextColumn(width="large"),
             })
st.download_button("Télécharger le catalogue (CSV)",
                   compare.csv_bytes(table.drop(columns=["Fiche"])),
                   file_name=f"catalogue-{sel.contract}.csv", mime="text/csv",
                   on_click="ignore", icon="⬇️", key="cat_dl")
