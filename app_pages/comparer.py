"""Comparer: indicators x quartiers x reference territories over time, with gaps and downloads.

Selections are kept in the URL (indicateurs, quartiers, references, comma-separated) so that an
evaluator can share the exact comparison.
"""

import streamlit as st

from suivi.core import fmt
from suivi.core.vocab import QUARTIER_KINDS
from suivi.views import charts, compare, maps
from suivi.views.overview import short as ov_short
from suivi.web import maps as mapview
from suivi.web import ui

sel = ui.selection()
st.title("⚖️ Comparer")
ui.require_contract(sel)


def url_multiselect(label: str, param: str, options: list, default: list, labels: dict,
                    help: str | None = None) -> list:
    """A multiselect initialised from the URL on first display and mirrored in it."""
    key = f"cmp_{param}"
    ui.from_url(key, options, default, param=param, multi=True)
    chosen = st.multiselect(label, options, key=key, help=help, placeholder="Choisir…",
                            format_func=lambda c: labels.get(c, c))
    ui.to_url(param, chosen)
    return chosen


catalogue = ui.query("indicators", sel.contract)
with_data = catalogue[catalogue["last_year"].notna()]
territories = ui.query("territories", sel.contract)
quartiers = territories[territories["kind"].isin(QUARTIER_KINDS)]
if with_data.empty or quartiers.empty:
    st.info("Ce contrat n'a pas encore de valeurs réalisées à comparer.")
    st.stop()

# A new quartier picked in the sidebar resets the quartier and reference selections.
if st.session_state.get("cmp_sidebar_quartier", sel.quartier) != sel.quartier:
    for key in ("cmp_quartiers", "cmp_references"):
        st.session_state.pop(key, None)
        ui.to_url(key.removeprefix("cmp_"), None)
st.session_state["cmp_sidebar_quartier"] = sel.quartier

ind_labels = {r.code: f"{r.code} – {r.label}" for r in with_data.itertuples()}
ter_labels = dict(zip(territories["code"], territories["label"]))
q_codes = quartiers["code"].tolist()
first_q = sel.quartier if sel.quartier in q_codes else q_codes[0]

c1, c2, c3 = st.columns(3)
with c2:
    chosen_q = url_multiselect("Quartiers", "quartiers", q_codes, [first_q], ter_labels)
refs_default = ui.query("references_of", chosen_q[0] if chosen_q else first_q)["code"].tolist()
# Any territory of the contract may serve as a reference (the rest of the city is a quartier).
ref_options = list(dict.fromkeys([*refs_default, *territories["code"]]))
with c3:
    chosen_r = url_multiselect("Territoires de référence", "references", ref_options,
                               refs_default, ter_labels)
with c1:
    main_q = chosen_q[0] if chosen_q else first_q
    pool_territories = [main_q, *refs_default]
    pool = ui.query("values_for", sel.contract, with_data["code"].tolist(), pool_territories)
    nearby = compare.up_to(pool, sel.year)
    default_ind = compare.default_indicator_for(nearby, main_q, refs_default, with_data)
    chosen_ind = url_multiselect("Indicateurs", "indicateurs", with_data["code"].tolist(),
                                 default_ind, ind_labels,
                                 help="Indicateurs du contrat ayant au moins une valeur réalisée.")

if not chosen_ind or not (chosen_q or chosen_r):
    st.info("Choisissez au moins un indicateur et un territoire.")
    st.stop()

# What follows is derived from the selection alone: built once per data version and
# selection (ui.memo), so that a rerun (a widget, a download) only sends it again.
picked = (sel.contract, sel.year, tuple(chosen_ind), tuple(chosen_q), tuple(chosen_r))

def selected_values():
    within = compare.values_within(pool, pool_territories, chosen_ind, [*chosen_q, *chosen_r])
    return compare.up_to(within if within is not None else ui.query(
        "values_for", sel.contract, chosen_ind, [*chosen_q, *chosen_r]), sel.year)


values = ui.memo(("cmp_values", *picked), selected_values)
st.caption(f"Valeurs réalisées jusqu'à {sel.year} (année d'évaluation choisie dans le panneau "
           "latéral).")
if values.empty:
    st.info("Aucune valeur réalisée pour cette sélection.")
    st.stop()

# One chart per unit, so that each y axis carries one unit.
for unit, part in values.groupby("unit", sort=False):
    codes = part["indicator_code"].unique().tolist()
    title = ind_labels[codes[0]] if len(codes) == 1 else \
        f"Indicateurs en {fmt.unit_label(unit)} : {', '.join(codes)}"
    st.plotly_chart(ui.memo(("cmp_chart", *picked, unit), lambda part=part, title=title: (
        charts.freeze(charts.comparison_chart(part, title)))), key=f"cmp_chart_{unit}")
with st.expander("Données du graphique"):
    st.dataframe(ui.memo(("cmp_values_table", *picked), lambda: compare.values_table(
        values, [*chosen_q, *chosen_r])), hide_index=True,
                 placeholder="–", key="cmp_values",
                 column_config={"Libellé": ui.LONG_TEXT,
                                "Année": st.column_config.NumberColumn(format="%d"),
                                "Valeur": ui.number_column("Valeur")})

# --- Map: one indicator in every quartier of the contract ------------------------------------
if mapview.enabled():
    st.subheader("Carte des quartiers")
    contours = ui.query("contours", sel.contract)
    if contours.empty:
        mapview.show_missing()
    else:
        m1, m2, m3 = st.columns(3)
        map_ind = m1.selectbox("Indicateur de la carte", chosen_ind, key="cmp_map_ind",
                               format_func=lambda c: ov_short(ind_labels.get(c, c)))
        modes = ["valeur", "ecart"] if chosen_r else ["valeur"]
        map_mode = m2.radio("Couleur", modes, horizontal=True, key="cmp_map_mode",
                            format_func={"valeur": "Valeur",
                                         "ecart": "Écart à la référence"}.get)
        map_ref = m3.selectbox("Territoire de référence de l'écart", chosen_r,
                               key="cmp_map_ref", format_func=lambda c: ter_labels.get(c, c),
                               disabled=map_mode != "ecart") if chosen_r else None
        shown = (sel.contract, sel.year, map_ind, map_mode, map_ref, mapview.tiles())

        def colour():
            map_values = compare.up_to(ui.query("values_for", sel.contract, [map_ind],
                                                [*q_codes, *chosen_r]), sel.year)
            return maps.indicator_colouring(map_values, map_ind, quartiers, map_mode,
                                            map_ref, territories)

        colouring = ui.memo(("cmp_map_colours", *shown), colour)
        fig = ui.memo(("cmp_map", *shown), lambda: charts.freeze(maps.choropleth(
            contours, colouring, f"{map_ind} : {colouring.title}, jusqu'à {sel.year}",
            *mapview.tiles(), shapes=mapview.shapes(contours))))
        mapview.show(fig, ui.memo(("cmp_map_table", *shown), lambda: maps.map_table(
            contours, quartiers, colouring)), contours, key="cmp_map")

st.subheader("Écarts entre quartiers et territoires de référence")
st.caption("Écart = d × (référence − quartier), d = +1 si plus haut = mieux, −1 si plus bas = "
           "mieux : un écart positif signifie que le quartier est en retard. Taux, parts et "
           "scores sont comparés en points ; un effectif l'est pour 1 000 habitants quand les "
           "deux populations sont connues, sinon il n'est pas comparé.")
gaps = ui.memo(("cmp_gaps", *picked),
              lambda: compare.gap_table(values, chosen_q, chosen_r, territories))
if gaps.empty:
    st.info("Choisissez au moins un quartier et un territoire de référence pour voir les écarts.")
else:
    number = st.column_config.NumberColumn
    localized = number(format="localized")
    # The values a gap is computed on differ from the values only for counts (per 1 000 hab.).
    base = localized if (gaps["basis"] == compare.GAP_BASIS["count"]).any() else None
    st.dataframe(ui.memo(("cmp_gaps_fr", *picked), lambda: compare.gap_table_fr(gaps)),
                 hide_index=True, placeholder="–", key="cmp_gaps",
                 column_config={
                     "Libellé": ui.LONG_TEXT,
                     "Année": number(format="%d"),
                     "Valeur quartier": localized,
                     "Valeur référence": localized,
                     "Quartier (base de l'écart)": base,
                     "Référence (base de l'écart)": base,
                     "Écart d × (réf. − quartier)": number(
                         format="localized", help="Unité : voir « Écart exprimé en »."),
                     "Ratio quartier / réf.": localized,
                 })
    summary = ui.memo(("cmp_summary", *picked), lambda: compare.gap_summary(gaps))
    if len(summary):
        st.markdown("**Évolution de l'écart** (de la première à la dernière année comparée)")
        st.dataframe(compare.summary_table_fr(summary), hide_index=True, placeholder="–",
                     key="cmp_summary",
                     column_config={"Première année": number(format="%d"),
                                    "Dernière année": number(format="%d"),
                                    "Écart initial": localized, "Dernier écart": localized,
                                    "Variation par an": localized})



def download_files(values, gaps, codes) -> tuple:
    """The three files, each built when its button is clicked (the workbook alone took a
    quarter of a second of every first visit of a selection)."""
    def sheets():
        return compare.download_sheets(values, gaps, codes)
    return (lambda: compare.csv_bytes(sheets()["ecarts"]),
            lambda: compare.csv_bytes(sheets()["valeurs"]),
            lambda: compare.xlsx_bytes(sheets()))


downloads = download_files(values, gaps, [*chosen_q, *chosen_r])
stem = f"comparaison-{sel.contract}-{sel.year}"
d1, d2, d3 = st.columns(3)
d1.download_button("Télécharger les écarts (CSV)", downloads[0],
                   file_name=f"{stem}-ecarts.csv", mime="text/csv", on_click="ignore",
                   icon="⬇️", key="cmp_dl_gaps")
d2.download_button("Télécharger les valeurs (CSV)", downloads[1],
                   file_name=f"{stem}-valeurs.csv", mime="text/csv", on_click="ignore",
                   icon="⬇️", key="cmp_dl_values")
d3.download_button("Télécharger valeurs et écarts (xlsx)", downloads[2],
                   file_name=f"{stem}.xlsx", on_click="ignore", icon="⬇️", key="cmp_dl_xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
