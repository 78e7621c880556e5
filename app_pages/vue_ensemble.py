"""Vue d'ensemble: the contract's headline for the selected year (or one quartier's)."""

import streamlit as st

from suivi.core import fmt
from suivi.core import progress as pg
from suivi.views import charts, maps
from suivi.views import overview as ov
from suivi.views.indicator import thresholds_of
from suivi.web import maps as mapview
from suivi.web import ui

sel = ui.selection()
st.title("Vue d'ensemble")
ui.require_contract(sel)

contract = ui.query("contract", sel.contract)
# The statuses counted by the engine (per node, territory, indicator and reason): the page
# never reads the 270 000 series of a national contract, nor more than one quartier's.
tally = ui.query("status_overview", sel.contract, sel.year,
                 [sel.quartier] if sel.quartier else None)
nodes = ui.query("tree", sel.contract)
quartiers = ui.query("quartiers", sel.contract)
q_label = dict(zip(quartiers["code"], quartiers["label"])).get(sel.quartier, sel.quartier)

where = f"quartier **{q_label}**" if sel.quartier else "tous les territoires du contrat"
st.markdown(f"**{contract['name']}** — situation en **{sel.year}**, {where}.")

# --- Headline: series per status ---------------------------------------------------------------
counts = ov.headline_counts(tally["territory"])
total = sum(counts.values())
score, n_scored = ov.headline_score(tally["territory"])
upload = ui.query("contract_last_upload", sel.contract)
top = st.columns(3)
top[0].metric("Séries suivies", fmt.number(total),
              help="Une série = un indicateur pour un territoire (et une ventilation).")
top[1].metric("Score moyen (−5 à +5)", "–" if score is None else fmt.number(score, 1),
              help=f"Moyenne des scores de {n_scored} série(s) évaluée(s) (méthode Open SDG : "
                   "objectif atteint = +5 ; rythme 0,6 → 0 ; 0,95 → +2,5 ; 1,3 → +5).")
top[2].metric("Dernier chargement", "–" if not upload else fmt.date_fr(upload["loaded_at"]),
              help=None if not upload else f"Lot n° {upload['id']} : {upload['file_name']}"
              + (" (valeurs de démonstration)" if upload["is_demo"] else ""))

# Two rows of four, so that the long status labels are not cut.
for start in range(0, len(pg.STATUSES), 4):
    row = st.columns(4)
    for col, info in zip(row, pg.STATUSES[start:start + 4]):
        col.metric(f"{info.icon} {info.label}", fmt.number(counts[info.code]), border=True)

st.caption(pg.method_summary(thresholds_of(contract))
           + " La page Fiche indicateur montre le « Détail du calcul » de chaque série.")
st.page_link("app_pages/fiche_indicateur.py", label="Fiche indicateur : détail du calcul",
             icon="🔎", query_params={"contrat": sel.contract, "annee": str(sel.year)})

if counts["not_assessable"]:
    with st.expander(f"Pourquoi {fmt.number(counts['not_assessable'])} série(s) sont "
                     "non évaluables"):
        st.dataframe(ui.memo(("reasons", sel.contract, sel.year, sel.quartier),
                             lambda: ov.reasons_table(tally["reason"])),
                     hide_index=True, width="stretch")
if not total:
    st.info("Aucune valeur pour ce périmètre : aucun statut ne peut être calculé. "
            "Voir ci-dessous ce qui manque.")


# --- Stacked bars per pillar, priority, quartier -------------------------------------------------
def status_chart(frame, title: str, group_title: str, key: str, memo_key: tuple) -> None:
    """A stacked status bar chart with its data table (counts and demo series); the figure
    and the table are built once per data version."""
    if frame.empty:
        return
    # Groups without any series are named under the chart, not drawn as empty bars (Blois:
    # some 35 axes at 0); the data table keeps every group.
    followed, unfollowed = frame[frame["total"] > 0], frame[frame["total"] == 0]
    shown = ov.most_late(followed)
    if len(shown) < len(followed):
        title += (f" ({len(shown)} sur {len(followed)} : ceux qui ont le plus de séries en "
                  "retard)")

    def figure():  # inline SVG, not plotly: the first screen of a shared link draws at once
        chart_counts, labels = ov.chart_counts(shown)
        return charts.status_bars_block(charts.status_bars_svg(
            chart_counts, [labels[g] for g in chart_counts.index], title))

    if frame["total"].sum():
        st.markdown(ui.memo(("figure", key, *memo_key), figure), unsafe_allow_html=True)
        if len(unfollowed):
            st.caption(ov.unfollowed_text(unfollowed))
    else:
        st.markdown(f"**{title}**")
        st.caption("Aucune série pour le moment.")
    data = st.expander("Données du graphique", key=f"{key}_donnees", on_change="rerun")
    with data:
        if data.open:  # built and sent when opened: 1 580 rows for a national contract
            st.dataframe(ui.memo(("table", key, *memo_key),
                                 lambda: ov.counts_table(frame, group_title)),
                         hide_index=True, width="stretch")
            if frame["demo"].sum():
                st.caption("« dont démo » : séries calculées avec des valeurs de "
                           "démonstration.")


if total:
    pillar = ov.level_name(nodes, 1, "pilier")
    priority = ov.level_name(nodes, 2, "priorité")
    key = (sel.contract, sel.year, sel.quartier)
    status_chart(ui.memo(("pillars", *key), lambda: ov.group_counts(tally["node"], nodes, 1)),
                 f"Statut des séries par {pillar}",
                 pillar.capitalize(), "bars_pillar", key)
    status_chart(ui.memo(("priorities", *key), lambda: ov.group_counts(tally["node"], nodes, 2)),
                 f"Statut des séries par {priority}",
                 priority.capitalize(), "bars_priority", key)
    st.caption("Une série compte sous le premier objectif que son indicateur mesure.")

    if sel.quartier:
        st.page_link("app_pages/quartiers.py", label=f"Page du quartier {q_label} : écarts avec "
                     "la commune et les autres territoires de référence", icon="🏘️")
    elif len(quartiers):
        status_chart(ui.memo(("quartiers", *key),
                             lambda: ov.territory_counts(tally["territory"], quartiers)),
                     "Statut des séries par quartier",
                     "Quartier", "bars_quartier", key)

# --- Map of the quartiers ----------------------------------------------------------------------
if not sel.quartier and len(quartiers) and mapview.enabled():
    st.subheader("Carte des quartiers")
    contours = ui.query("contours", sel.contract)
    if contours.empty:
        mapview.show_missing()
    else:
        colour_by = st.radio("Couleur des quartiers", ["part", "score"], horizontal=True,
                             key="carte_couleur", format_func={
                                 "part": "Part des séries en bonne voie",
                                 "score": "Score moyen"}.get)
        colouring = ui.memo(("carte_couleur", sel.contract, sel.year, colour_by), lambda: (
            maps.on_track_share if colour_by == "part" else maps.mean_score)(tally["territory"],
                                                                             quartiers))
        # A national contract draws some 1 400 quartiers: the figure is built once per data
        # version (reruns only send it again).
        fig = ui.memo(("carte", sel.contract, sel.year, colour_by, mapview.tiles()),
                      lambda: charts.freeze(maps.choropleth(
                          contours, colouring, f"{colouring.title}, {sel.year}",
                          *mapview.tiles(), shapes=mapview.shapes(contours))))
        mapview.show(fig, ui.memo(("carte_table", sel.contract, sel.year, colour_by),
                                  lambda: maps.map_table(contours, quartiers, colouring)),
                     contours, key="carte_vue")

# --- What has no data yet ----------------------------------------------------------------------
st.subheader("Ce qui n'a pas encore de données")
catalogue = ui.query("indicators", sel.contract)
gaps = ui.memo(("data_gaps", sel.contract, sel.year, sel.quartier),
               lambda: ov.data_gaps(catalogue, tally["indicator"], sel.year))
missing = ov.data_gap_counts(gaps)
since = pg.recent_since(sel.year)
cols = st.columns(4)
cols[0].metric("Indicateurs sans aucune valeur", fmt.number(missing["no_data"]),
               help=f"Sur {missing['indicators']} indicateurs du contrat.")
cols[1].metric("Sans situation de référence", fmt.number(missing["no_baseline"]))
cols[2].metric("Sans cible", fmt.number(missing["no_target"]),
               help="Les indicateurs de polarité neutre n'ont pas besoin de cible.")
cols[3].metric(f"Sans valeur réalisée depuis {since}", fmt.number(missing["no_recent"]))
if missing["incomplete"]:
    with st.expander(f"Liste des {missing['incomplete']} indicateur(s) incomplet(s)"):
        st.dataframe(ov.data_gaps_table(gaps, sel.year), hide_index=True, width="stretch")
else:
    st.success("Chaque indicateur a une situation de référence, une cible et une valeur récente.")
