"""Quartiers: one quartier's indicators and statuses, and its gaps to the reference territories
(the legal aim of the policy: reduce the gaps between the quartiers and their city)."""

import streamlit as st

from suivi.core import fmt
from suivi.core import progress as pg
from suivi.views import charts, maps
from suivi.views import overview as ov
from suivi.web import maps as mapview
from suivi.web import ui

sel = ui.selection()
st.title("Quartiers")
ui.require_contract(sel)

quartiers = ui.query("quartiers", sel.contract)
if quartiers.empty:
    st.info("Ce contrat ne liste encore aucun quartier (onglet « territoires » du classeur, "
            "types qpv, quartier_veille ou quartier_cucs).")
    st.stop()

if not sel.quartier:
    # The choice goes to the sidebar's own state, which mirrors it in the URL (`quartier`).
    labels = dict(zip(quartiers["code"], quartiers["label"]))
    st.session_state["quartier_page"] = None
    st.selectbox("Quartier", quartiers["code"].tolist(), index=None, key="quartier_page",
                 placeholder="Choisir un quartier", format_func=lambda c: labels.get(c, c),
                 on_change=lambda: st.session_state.update(
                     quartier=st.session_state["quartier_page"]))
    st.info("Choisissez un quartier ici ou dans le panneau latéral.")
    # Counted by the engine (shared with the Vue d'ensemble), not read series by series.
    counts = ui.query("status_overview", sel.contract, sel.year, None)["territory"]
    table = ov.counts_table(ov.territory_counts(counts, quartiers), "Quartier")
    st.dataframe(table, hide_index=True, width="stretch")
    st.stop()

code = sel.quartier
territories = ui.query("territories", sel.contract)
references = ui.query("references_of", code)
facts = ov.quartier_facts(territories, references, code)
st.header(facts["label"])
st.caption(f"{facts['kind']} · code {code} · situation en {sel.year}")
cols = st.columns(3)
cols[0].markdown(f"**Population**\n\n{facts['population']}")
cols[1].markdown(f"**Géographie**\n\n{facts['geography']}")
with cols[2]:
    st.markdown("**Territoires de référence**")
    st.markdown("\n".join(f"{i}. {r}" for i, r in enumerate(facts["references"], 1))
                if facts["references"] else "Aucun territoire de référence déclaré.")

# --- Map: the quartier and its neighbours ------------------------------------------------------
if mapview.enabled():
    st.subheader("Carte du quartier et de ses voisins")
    around = ui.query("contour_neighbours", code)
    if around.empty:
        mapview.show_missing()
    else:
        fig = maps.neighbourhood(around, f"{facts['label']} et les quartiers à moins de 2 km",
                                 *mapview.tiles())
        mapview.show(fig, maps.neighbourhood_table(around), around, key="quartier_map",
                     grey_note=False)

# --- Its predecessor in the 2015 geography: a separate series --------------------------------
predecessors = ui.query("predecessors", [code])
if len(predecessors):
    st.subheader("QPV 2015 correspondant")
    st.caption("La géographie prioritaire a changé en 2024 : le ou les quartiers 2015 dont ce "
               "quartier est issu (table de passage de l'ANCT) ont leurs propres séries, "
               "montrées à côté, jamais fusionnées avec celles du quartier (les périmètres "
               "diffèrent).")
    st.markdown("\n".join(f"- {r.label} ({r.code})" + (f" : {r.status}" if r.status else "")
                           for r in predecessors.itertuples()))
    catalogue_codes = ui.query("indicators", sel.contract)["code"].tolist()
    both = ui.query("values_for", sel.contract, catalogue_codes,
                    [code, *predecessors["code"].tolist()])
    table = ov.predecessor_table(both, code, predecessors, sel.year)
    if table.empty:
        st.info("Aucune valeur n'est encore chargée pour le QPV 2015 correspondant.")
    else:
        st.dataframe(table, hide_index=True, width="stretch")

# --- All its indicators and statuses -----------------------------------------------------------
st.subheader("Indicateurs et statuts")
# The quartier's series and its reference territories' (for the demo flags of the gaps).
statuses = ui.query("series_status_for", sel.contract, sel.year,
                    [code, *references["code"].tolist()])
mine = ov.restrict(statuses, code)
catalogue = ui.query("indicators", sel.contract)
if mine.empty:
    st.info("Aucune valeur n'est encore chargée pour ce quartier.")
else:
    st.caption(ov.status_summary(ov.headline_counts(mine)))
    actuals = ui.query("values_for", sel.contract, sorted(mine["indicator_code"].unique()),
                       [code])
    rows = ov.progress_rows(mine, catalogue, ui.query("tree", sel.contract), actuals, [code],
                            sel.year) \
        .drop_duplicates(["indicator_code", "breakdown", "modality"])
    table = ov.progress_table(rows).drop(columns=["Territoire"])
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "Avancement": st.column_config.ProgressColumn(
            "Avancement", min_value=0, max_value=100, format="%.0f\u202f%%",
            color="#1f4e79", help="A = (V − B) / (C − B), bornée entre 0 et 100 %."),
        "Attendu": st.column_config.TextColumn(
            "Attendu", help="Avancement attendu pour le temps écoulé (E)."),
        "Évolution": st.column_config.LineChartColumn(
            "Évolution", color="gray", help="Valeurs réalisées jusqu'à l'année choisie."),
    })
    labels = dict(zip(rows["indicator_code"], rows["indicator_label"]))
    # The box shows the code (a long label would be cut at 1 024 px); the label is written
    # out in full underneath.
    pick = st.selectbox("Voir la fiche d'un indicateur", list(labels))
    st.caption(labels[pick])
    st.page_link("app_pages/fiche_indicateur.py", label=f"Fiche {pick}", icon="🔎",
                 query_params={"contrat": sel.contract, "annee": str(sel.year),
                               "quartier": code, "indicateur": pick})

# --- Gaps to the reference territories ---------------------------------------------------------
st.subheader("Écarts avec la commune et les autres territoires de référence")
st.caption("Pour les indicateurs en taux, pourcentage, ratio ou score mesurés aussi sur le "
           "territoire de référence : écart = d × (Référence − Quartier), en points pour les "
           "taux et pourcentages, positif quand le quartier est en retard (d = +1 si plus haut "
           "= mieux, −1 sinon ; écart absolu pour un indicateur neutre). L'évolution compare la "
           "première et la dernière année : plus de 0,1 point par an dans un sens ou l'autre.")
series = ov.gap_series(ui.query("gaps", sel.contract, code), sel.year)
summary = ov.mark_demo(ov.gap_summary(series), statuses, code)
if summary.empty:
    st.info("Aucun indicateur comparable n'a de valeur à la fois pour ce quartier et pour un de "
            "ses territoires de référence : les écarts ne peuvent pas encore être calculés.")
else:
    nearest = summary[summary["rank"] == summary["rank"].min()]
    ref_name = nearest["reference_label"].iloc[0]
    trend_counts = nearest["trend_text"].value_counts()
    st.markdown(f"Avec **{ref_name}** ({len(nearest)} indicateur(s) comparable(s)) : "
                + " ; ".join(f"{text} pour {n}" for text, n in trend_counts.items()) + ".")
    st.dataframe(ov.gap_table(summary), hide_index=True, width="stretch", column_config={
        "Libellé": ui.LONG_TEXT,
        "Écart": st.column_config.NumberColumn(
            "Écart", format="localized",
            help="d × (Référence − Quartier) la dernière année : positif = quartier en retard."),
        "Rapport quartier / référence": st.column_config.NumberColumn(
            "Rapport quartier / référence", format="localized",
            help="Valeur du quartier divisée par celle du territoire de référence."),
    })
    # One chart at a time: a quartier of the national benchmark has some 40 comparable
    # indicators, and drawing them all would take seconds.
    st.markdown("**Évolution de l'écart, indicateur par indicateur**")
    names = dict(zip(summary["indicator_code"], summary["indicator_label"]))
    texts = {c: f" : {t} avec {ref_name}" for c, t in
             zip(nearest["indicator_code"], nearest["trend_text"])}
    ind = st.selectbox("Indicateur", sorted(names), key="ecart")
    st.caption(f"{names[ind]}{texts.get(ind, '')}")
    part = series[series["indicator_code"] == ind]
    first = summary[summary["indicator_code"] == ind].iloc[0]
    unit = first["unit"]
    title = f"Écart de {facts['label']} – {ov.short(first['indicator_label'], 70)}"
    st.plotly_chart(charts.gap_chart(part, title, unit), width="stretch", key="gap_chart")
    with st.expander("Données du graphique"):
        st.dataframe(ov.gap_chart_table(part), hide_index=True, width="stretch",
                     column_config={
                         "Écart": st.column_config.NumberColumn(
                             f"Écart ({ov.gap_unit(unit)})", format="localized"),
                         "Rapport quartier / référence": st.column_config.NumberColumn(
                             "Rapport quartier / référence", format="localized")})

# --- Counts: never compared raw ----------------------------------------------------------------
counts = ov.count_series(mine)
if len(counts) and len(references):
    values = ui.query("values_for", sel.contract, sorted(counts["indicator_code"].unique()),
                      [code, *references["code"].tolist()])
    compared = ov.count_comparison(values, {"code": code}, references, territories)
    st.markdown("**Indicateurs en nombre**")
    if compared.empty:
        st.caption("Les nombres ne sont pas comparés tels quels à ceux de la commune : il faut "
                   "la valeur de la commune la même année (part du quartier dans le total) ou "
                   "les populations des deux territoires (taux pour 1 000 habitants). Aucun "
                   "indicateur en nombre de ce quartier n'a ces données.")
    else:
        st.caption("Les nombres ne sont pas comparés tels quels : part du quartier dans le "
                   "total de la commune, et taux pour 1 000 habitants quand les populations "
                   "sont connues.")
        st.dataframe(ov.count_table(compared), hide_index=True, width="stretch")

# --- What is missing for this quartier ---------------------------------------------------------
gaps = ov.data_gaps(catalogue, statuses, sel.year, code)
missing = ov.data_gap_counts(gaps)
if missing["incomplete"]:
    st.subheader("Ce qui manque pour ce quartier")
    st.markdown(
        f"Sur {fmt.number(missing['indicators'])} indicateurs du contrat : "
        f"**{fmt.number(missing['no_data'])}** sans aucune valeur pour ce quartier, "
        f"{fmt.number(missing['no_baseline'])} sans situation de référence, "
        f"{fmt.number(missing['no_target'])} sans cible, {fmt.number(missing['no_recent'])} "
        f"sans valeur réalisée depuis {pg.recent_since(sel.year)}.")
    with st.expander(f"Liste des {missing['incomplete']} indicateur(s) incomplet(s)"):
        st.dataframe(ov.data_gaps_table(gaps, sel.year), hide_index=True, width="stretch")
