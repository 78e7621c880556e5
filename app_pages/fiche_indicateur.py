"""Fiche indicateur: what an indicator measures, its values, how its statuses are computed and
how its values changed from batch to batch. The indicator is kept in the URL (indicateur=...)."""

import streamlit as st

from suivi.views import charts
from suivi.views import indicator as det
from suivi.web import ui

sel = ui.selection()
st.title("🔎 Fiche indicateur")
ui.require_contract(sel)

catalogue = ui.query("indicators", sel.contract)
if catalogue.empty:
    st.info("Ce contrat n'a pas d'indicateur.")
    st.stop()
codes = catalogue["code"].tolist()
labels = dict(zip(catalogue["code"], catalogue["label"]))

with_data = catalogue.loc[catalogue["last_year"].notna(), "code"].tolist()
ui.from_url("fiche_indicateur", codes, (with_data or codes)[0], param="indicateur")
code = st.selectbox("Indicateur", codes, key="fiche_indicateur",
                    format_func=lambda c: f"{c} – {labels[c]}")
ui.to_url("indicateur", code)

ind = ui.query("indicator", code)
unit = ind["unit"]
st.header(f"{code} – {ind['label']}")

objectives = ui.query("indicator_objectives", code)
st.markdown(det.summary_line(ind))
if ind.get("definition"):
    st.markdown(f"**Définition** : {ind['definition']}")
if len(objectives):
    st.markdown("**Objectif(s) mesuré(s)** : " + " ; ".join(
        f"{r.code} – {r.label}" for r in objectives.itertuples()))
with st.expander("Toutes les métadonnées (parent, sous-indicateurs, ventilations, note)"):
    st.table(det.metadata_rows(ind, catalogue, objectives), hide_index=True, hide_header=True,
             border="horizontal")

# --- Breakdown, territories, values -----------------------------------------------------------
options = det.breakdown_options(ui.query("breakdowns", code))
breakdown = options[0]
if len(options) > 1:
    breakdown = st.selectbox("Ventilation", options, format_func=det.breakdown_label,
                             key="fiche_ventilation")

territories = ui.query("territories", sel.contract)
names = dict(zip(territories["code"], territories["label"]))
# What follows depends on the indicator, the breakdown and the sidebar only: derived once per
# data version (ui.memo), so that a rerun (an expander, a widget) only sends it again.
key = ("fiche", sel.contract, sel.year, sel.quartier, code, breakdown)


def shown():
    all_obs = ui.query("observations", code, None, breakdown[0], breakdown[1])
    shown_q, n_with_values = det.shown_quartiers(all_obs, territories, sel.quartier)
    references = ui.query("references_of", shown_q[0]) if shown_q else territories.iloc[0:0]
    predecessors = ui.query("predecessors", shown_q)
    order, obs, n_known = det.shown_values(all_obs, territories, shown_q, references,
                                           predecessors, sel.year)
    return shown_q, n_with_values, predecessors, order, obs, n_known


shown_q, n_with_values, predecessors, order, obs, n_known = ui.memo(key, shown)
if n_with_values > len(shown_q):
    st.info(f"{n_with_values} quartiers ont des valeurs pour cet indicateur : les "
            f"{det.MAX_QUARTIERS} premiers sont affichés. Choisissez un quartier dans le "
            "panneau latéral pour voir le sien.")
scope = names.get(sel.quartier, sel.quartier) if sel.quartier else "tous les quartiers"
st.subheader(f"Valeurs : {scope} et territoires de référence")
if n_known is not None:
    st.caption(f"Pas de valeur pour ce quartier et ses territoires de référence : les valeurs "
               f"connues de l'indicateur sont affichées ({len(order)} territoire(s) sur "
               f"{n_known}).")
st.caption(f"Réalisés jusqu'à {sel.year} (année d'évaluation) ; situation de référence et "
           "situation visée du contrat.")
if len(predecessors) and predecessors["code"].isin(obs["territory_code"]).any():
    st.caption(f"« {det.PREDECESSOR} » : le quartier de la géographie 2015 dont ce quartier "
               "est issu (table de passage de l'ANCT). Sa série est montrée à part : les "
               "périmètres diffèrent, elle n'est jamais fusionnée avec celle du quartier.")
if obs.empty:
    st.info("Aucune valeur pour cet indicateur et cette sélection.")
else:
    left, right = st.columns([3, 2])
    with left:
        projections = ui.memo(("fiche_projections", *key), lambda: {
            q: det.project_territory(obs, q, ind["polarity"]) for q in shown_q
            if q in set(obs["territory_code"])})

        def figure():
            fig = charts.indicator_chart(det.chart_rows(obs, shown_q), unit,
                                         f"{code} – {ind['label']}", main_territory=order[0])
            if order[0] in projections:
                charts.add_projection(fig, projections[order[0]],
                                      names.get(order[0], order[0]))
            return charts.freeze(fig)

        st.plotly_chart(ui.memo(("fiche_chart", *key), figure), key="fiche_chart")
        for q, p in projections.items():
            st.markdown(f"**{names.get(q, q)}** : {p.sentence}")
    with right:
        st.markdown("**Données du graphique**")
        st.dataframe(ui.memo(("fiche_data", *key), lambda: det.data_table(obs, order)),
                     hide_index=True, placeholder="–",
                     key="fiche_data",
                     column_config={"Territoire": ui.LONG_TEXT,
                                    "Année": st.column_config.NumberColumn(format="%d"),
                                    "Valeur": ui.number_column("Valeur", unit)})
        if (obs["status"] == "demo").any():
            st.caption("⚠️ Les lignes « démonstration » sont des valeurs générées, non "
                       "réelles.")

# --- Détail du calcul -------------------------------------------------------------------------
thresholds = det.thresholds_of(ui.query("contract", sel.contract))
with st.expander("Détail du calcul", expanded=bool(sel.quartier)):
    if not shown_q:
        st.write("Aucun quartier n'a de valeur pour cet indicateur.")
    st.caption(f"Statut au regard de la situation visée, avec les réalisés jusqu'à {sel.year}. "
               "Méthode : atteinte A = (V − B) / (C − B), temps écoulé E, rythme P = A / E "
               "comparé aux seuils du contrat.")
    assessments = ui.memo(("fiche_assessments", *key), lambda: [
        (q, det.assess_territory(obs, q, ind["polarity"], thresholds),
         det.project_territory(obs, q, ind["polarity"])) for q in shown_q])
    for q, a, projection in assessments:
        st.markdown(f"#### {names.get(q, q)} : {ui.status_text(a.status)}")
        st.markdown("\n".join(f"- {line}" for line in a.explain()))
        st.table(det.calculation_table(a), hide_index=True, border="horizontal")
        st.markdown("**Projection au rythme actuel**\n" + "\n".join(
            f"- {line}" for line in projection.explain(unit)))

# --- History of values ------------------------------------------------------------------------
st.subheader("Historique des valeurs")
history = ui.memo(("fiche_history", *key), lambda: det.history_table(
    ui.query("value_history", code, None, tuple(order)), names, order, breakdown))
superseded = int((history["Version"] == "✘ remplacée").sum()) if len(history) else 0
history_columns = {"Année": st.column_config.NumberColumn(format="%d"),
                   "Lot": st.column_config.NumberColumn(format="%d"),
                   "Remplacée par le lot": st.column_config.NumberColumn(format="%d"),
                   "Valeur": ui.number_column("Valeur", unit)}
if superseded:
    st.markdown(f"**{superseded} valeur(s) remplacée(s)** pour les territoires affichés, "
                "avec la valeur qui les remplace (une valeur remplacée n'est jamais effacée) :")
    st.dataframe(det.changed_only(history), hide_index=True, placeholder="–",
                 key="fiche_history_changed",
                 column_config=history_columns)
else:
    st.caption("Aucune valeur n'a été remplacée pour les territoires affichés.")
with st.expander(f"Tout l'historique ({len(history)} version(s))"):
    st.dataframe(history, hide_index=True, placeholder="–", key="fiche_history",
                 column_config=history_columns)
