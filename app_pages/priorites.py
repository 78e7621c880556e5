"""Priorités: the objective tree with, for each indicator and territory, where it stands."""

import pandas as pd
import streamlit as st

from suivi.core import fmt
from suivi.views import overview as ov
from suivi.web import ui

sel = ui.selection()
st.title("Priorités")
ui.require_contract(sel)

# « En retard seulement » is kept in the URL (retard=1) so that the filtered view can be shared.
ui.from_url("retard", [True, False], False)
late_only = st.toggle("En retard seulement", key="retard",
                      help="Séries en « accélération nécessaire », « progrès limité », "
                           "« dégradation » ou « objectif non atteint ».")
ui.to_url("retard", late_only)

# Counted by the engine first (shared with the Vue d'ensemble): a national contract's
# series are only read one quartier at a time.
tally = ui.query("status_overview", sel.contract, sel.year,
                 [sel.quartier] if sel.quartier else None)
n_series = int(tally["territory"]["n"].sum())
nodes = ui.query("tree", sel.contract)
catalogue = ui.query("indicators", sel.contract)
territories = ui.query("territories", sel.contract)
q_label = dict(zip(territories["code"], territories["label"])).get(sel.quartier)
where = f"quartier **{q_label}**" if sel.quartier else "tous les territoires"
st.markdown(f"Situation en **{sel.year}**, {where}. Pour chaque indicateur et territoire : "
            "situation de référence, situation visée, dernier réalisé, avancement vers la cible "
            "comparé à l'avancement attendu pour le temps écoulé, statut et évolution.")

if not n_series:
    st.info("Aucune valeur n'est encore chargée pour ce périmètre : aucun indicateur ne peut "
            "être situé par rapport à sa cible. La page Vue d'ensemble liste ce qui manque.")
    st.stop()

if not sel.quartier and n_series > ov.MAX_SERIES:
    # A national contract has hundreds of thousands of series: list them one quartier at a time.
    st.info(f"Ce contrat compte {fmt.number(n_series)} séries : choisissez un quartier dans "
            "le panneau latéral pour afficher le détail de chaque indicateur. Répartition des "
            "statuts par priorité :")
    level = ov.level_name(nodes, 2, "priorité")
    counts = tally["node"]
    table = ui.memo(("priority_counts", sel.contract, sel.year, late_only), lambda: (
        ov.counts_table(ov.group_counts(counts[counts["status"].isin(ov.LATE_STATUSES)]
                                        if late_only else counts, nodes, 2),
                        level.capitalize())))
    st.dataframe(table, hide_index=True, width="stretch")
    st.stop()

scope = ov.restrict(ui.statuses(sel), sel.quartier)


def progress_rows() -> pd.DataFrame:
    actuals = ui.query("values_for", sel.contract, sorted(scope["indicator_code"].unique()),
                       sorted(scope["territory_code"].unique()))
    return ov.progress_rows(scope, catalogue, nodes, actuals, territories["code"].tolist(),
                            sel.year, late_only=late_only)


rows = ui.memo(("progress_rows", sel.contract, sel.year, sel.quartier, late_only),
               progress_rows)
shown = rows.drop_duplicates(["indicator_code", "territory_code", "breakdown", "modality"]) \
    if len(rows) else rows
st.caption(f"{fmt.number(len(shown))} série(s) affichée(s) sur {fmt.number(len(scope))} : "
           f"{ov.status_summary(ov.headline_counts(shown))}. Un indicateur qui mesure "
           "plusieurs priorités apparaît sous chacune.")
if rows.empty:
    st.success("Aucune série en retard pour ce périmètre.")
    st.stop()

COLUMNS = {
    "Libellé": ui.LONG_TEXT,
    "Avancement": st.column_config.ProgressColumn(
        "Avancement", min_value=0, max_value=100, format="%.0f\u202f%%", color="#1f4e79",
        help="Part du chemin parcouru entre la situation de référence et la cible : "
             "A = (V − B) / (C − B), bornée entre 0 et 100 %."),
    "Attendu": st.column_config.TextColumn(
        "Attendu", help="Avancement attendu pour le temps écoulé : E = (t − b) / (T − b)."),
    "Statut": st.column_config.TextColumn("Statut", width="medium"),
    "Évolution": st.column_config.LineChartColumn(
        "Évolution", color="gray", help="Valeurs réalisées jusqu'à l'année choisie."),
    "Démo": st.column_config.TextColumn("Démo", help="Valeurs de démonstration, non réelles."),
}


def show(part: pd.DataFrame, key: str) -> None:
    """The table of a group, then a link to each of its indicators' fiche."""
    st.dataframe(ov.progress_table(part), hide_index=True, width="stretch",
                 column_config=COLUMNS, key=key)
    codes = part.drop_duplicates("indicator_code")[["indicator_code", "indicator_label"]]
    cols = st.columns(4)
    params = {"contrat": sel.contract, "annee": str(sel.year)}
    if sel.quartier:
        params["quartier"] = sel.quartier
    for i, item in enumerate(codes.itertuples()):
        cols[i % 4].page_link("app_pages/fiche_indicateur.py", label=f"Fiche {item.indicator_code}",
                              icon="🔎", help=item.indicator_label,
                              query_params={**params, "indicateur": item.indicator_code})


def expander_label(code: str, label: str, part: pd.DataFrame) -> str:
    n_late = int(part["status"].isin(ov.LATE_STATUSES).sum())
    name = label if code == ov.NO_GROUP else f"{code} – {ov.short(label, 90)}"
    return f"{name} · {len(part)} série(s), {n_late} en retard"


ordered = ov.tree_order(nodes)
open_all = len(rows) <= 60  # a short list (one quartier, late only) is shown unfolded
for pillar in ordered[ordered["depth"] == 1].itertuples():
    part = rows[rows["pillar"] == pillar.code]
    st.subheader(f"{pillar.code} – {pillar.label}")
    children = ordered[(ordered["depth"] == 2) & (ordered["parent_code"] == pillar.code)]
    empty = [c.code for c in children.itertuples() if c.code not in set(part["priority"])]
    if part.empty:
        st.caption("Aucune série en retard." if late_only else "Aucun indicateur renseigné.")
        continue
    st.caption(ov.status_summary(ov.headline_counts(part)))
    own = part[part["priority"] == ""]
    if len(own):
        with st.expander(expander_label(pillar.code, "indicateurs du pilier lui-même", own),
                         expanded=open_all):
            show(own, f"t_{pillar.code}")
    for child in children.itertuples():
        group = part[part["priority"] == child.code]
        if len(group):
            with st.expander(expander_label(child.code, child.label, group),
                             expanded=open_all):
                show(group, f"t_{pillar.code}_{child.code}")
    if empty:
        st.caption(("Sans série en retard : " if late_only else "Sans indicateur renseigné : ")
                   + ", ".join(empty))

orphans = rows[rows["pillar"] == ov.NO_GROUP]
if len(orphans):
    st.subheader(ov.NO_GROUP_LABEL)
    st.caption("Indicateurs dont le classeur ne cite aucun objectif de l'arborescence.")
    with st.expander(expander_label(ov.NO_GROUP, ov.NO_GROUP_LABEL, orphans),
                     expanded=open_all):
        show(orphans, "t_orphans")
