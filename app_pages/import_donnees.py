"""Import (observatory staff): check a file, preview what it changes, load it, undo a batch,
download the pre-filled template.

The upload's life (checked once per data version, loaded once) is suivi/web/imports.Uploads,
kept in the session; every write goes through suivi/web/imports.py (`load`, `rollback`,
`save_mapping`) right after a server-side role check (suivi/web/auth.py): loading needs a
contributor, undoing a batch an administrator.
"""

import streamlit as st

from etl import safety
from suivi.core.config import SettingError
from suivi.store.history import RollbackError
from suivi.views import imports as view
from suivi.web import auth, imports, ui

sel = ui.selection()
if not auth.require("contributeur"):  # server-side, on every run, whatever the URL
    st.stop()
db = ui.db_file()
uploads: imports.Uploads = st.session_state.setdefault("import_uploads", imports.Uploads())

st.title("Import des données")
st.caption("Contrôlez un classeur (rien n'est écrit), vérifiez ce qui va changer, puis "
           "confirmez le chargement. Chaque chargement est un lot que l'on peut annuler.")

flash = st.session_state.pop("import_flash", None)
if flash:
    getattr(st, flash[0])(flash[1])


def show_report(entry: imports.Upload) -> None:
    report = entry.checked.report
    n_err, n_warn = report.n_errors, report.n_warnings
    if report.headline:
        st.info(report.headline, icon="🔎")
    summary = f"{n_err} erreur(s) bloquante(s), {n_warn} avertissement(s)."
    if n_err:
        st.error(f"Fichier refusé : {summary} Rien n'a été écrit dans la base. Corrigez les "
                 "cellules indiquées puis déposez à nouveau le fichier.", icon="⛔")
    elif n_warn:
        st.warning(f"Fichier valide : {summary} Les avertissements n'empêchent pas le "
                   "chargement.", icon="⚠️")
    else:
        st.success(f"Fichier valide : {summary}", icon="✅")
    for line in report.info:
        st.info(line)
    if n_err or n_warn:
        table = view.report_frame(report, entry.name)
        st.dataframe(table.head(view.MAX_ROWS), hide_index=True, width="stretch",
                     column_config={"Ligne": st.column_config.NumberColumn("Ligne", format="%d")})
        if len(table) > view.MAX_ROWS:
            st.caption(f"{view.MAX_ROWS} premières lignes affichées sur {len(table)} : "
                       "téléchargez le rapport complet.")
        st.download_button("Télécharger le rapport de contrôle (CSV)",
                           imports.report_csv(table),
                           file_name="rapport-controle.csv", mime="text/csv", on_click="ignore")


def show_preview(entry: imports.Upload, key: str) -> None:
    counts = view.preview_counts(entry.preview)
    st.subheader("Ce que le chargement va changer")
    cols = st.columns(3)
    cols[0].metric("Nouvelles valeurs", counts["new"])
    cols[1].metric("Valeurs modifiées", counts["changed"])
    cols[2].metric("Valeurs inchangées", counts["same"])
    show_all = st.toggle("Afficher aussi les valeurs inchangées", key=f"all-{key}")
    codes = sorted(entry.preview["indicator_code"].dropna().unique())
    table = view.preview_frame(entry.preview, ui.query("indicator_labels", codes), not show_all)
    if table.empty:
        st.info("Aucune valeur nouvelle ni modifiée dans ce fichier.")
    else:
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"Année": st.column_config.NumberColumn("Année", format="%d")})
        shown = counts["new"] + counts["changed"] + (counts["same"] if show_all else 0)
        if shown > len(table):
            st.caption(f"{len(table)} premières lignes affichées sur {shown}.")


def confirm_load(entry: imports.Upload, key: str) -> None:
    if not st.button("Confirmer le chargement", type="primary", key=f"confirm-{key}"):
        return
    if entry.result is not None:  # a second click on a file already loaded
        return
    if not auth.require("contributeur"):
        return
    try:
        with ui.stages("Chargement en cours…", "Chargement terminé") as report:
            imports.load(entry, db, auth.user_name(), progress=report)
    except SettingError as exc:  # nothing was written
        st.error(f"Chargement impossible, configuration du serveur : {exc}", icon="⛔")
        return
    st.session_state.pop("rollback_batch", None)  # offer the newest batch for undo
    ui.clear_cache()
    st.rerun()


def map_columns(entry: imports.Upload) -> None:
    """Columns of a public file no indicator claims: map them by hand, saved in the catalogue
    (a batch), so that the file, and next year's, map themselves."""
    columns = entry.unmapped
    if not columns or not sel.contract:
        return
    st.subheader("Colonnes non reconnues")
    st.caption(f"Aucun indicateur du contrat {sel.contract} ne déclare ces colonnes (colonne "
               "« variables_source » du catalogue). Associez celles qui correspondent à un "
               "indicateur ; les autres sont ignorées. La correspondance est enregistrée dans "
               "le catalogue : le fichier de l'an prochain sera reconnu tout seul.")
    choices = view.indicator_choices(ui.query("indicators", sel.contract))
    with st.form(f"mapping-{entry.name}"):
        picked = {col: st.selectbox(col, list(choices), index=None, format_func=choices.get,
                                    placeholder="Ignorer cette colonne", key=f"map-{col}")
                  for col in columns[:40]}
        if st.form_submit_button("Enregistrer la correspondance dans le catalogue") \
                and auth.require("contributeur"):
            mapping = {c: i for c, i in picked.items() if i}
            if not mapping:
                st.warning("Choisissez un indicateur pour au moins une colonne.")
                return
            checked, result = imports.save_mapping(db, mapping, auth.user_name())
            if result is None:
                st.error(checked.report.render())
                return
            ui.clear_cache()
            st.session_state["import_flash"] = (
                "success", f"Correspondance enregistrée ({len(mapping)} colonne(s)) : le "
                           "fichier a été contrôlé à nouveau.")
            st.rerun()


# --- 1. Check and load a file -------------------------------------------------------------------
st.header("1. Contrôler et charger un fichier")
with st.expander("Options pour les fichiers publics (Insee, Observatoire des territoires, "
                 "ANCT)"):
    layouts = imports.layout_choices()
    layout = st.selectbox("Disposition du fichier", list(layouts), format_func=layouts.get,
                          key="import_layout")
    year_text = st.text_input("Année des colonnes sans année (POP_MUN…)", key="import_year",
                              help="Sinon l'année vient du nom de la colonne, du nom du "
                                   "fichier ou de ses lignes de titre.")
    year = int(year_text) if year_text.strip().isdigit() else None
    st.caption(f"Les colonnes sont associées aux indicateurs du contrat {sel.contract} "
               "(barre latérale).")
uploaded = st.file_uploader("Fichier à contrôler : classeur du contrat, base QPV de l'Insee, "
                            "statistiques locales, Observatoire des territoires, listes de "
                            "l'ANCT (.xlsx, .xlsm, .csv, .parquet), contours des quartiers "
                            "(.geojson de l'ANCT, ou .gpkg, shapefile en .zip)",
                            # .xls/.txt/.tsv are accepted here so that they get the ETL's French
                            # explanation instead of the uploader's English refusal.
                            type=["xlsx", "xlsm", "csv", "parquet", "xls", "txt", "tsv",
                                  "geojson", "json", "gpkg", "zip"],
                            max_upload_size=int(safety.max_upload_mb()), key="import_file",
                            help="Modèle annuel (onglet « valeurs ») ou classeur complet d'un "
                                 "contrat. Le contrôle n'écrit rien dans la base.")
if uploaded is not None:
    settings, version = (layout, year, sel.contract), ui.data_version()
    if uploads.needs_check(uploaded.getvalue(), settings, version):
        with ui.stages("Contrôle du fichier…", f"« {uploaded.name} » contrôlé") as report:
            entry = uploads.current(db, uploaded.getvalue(), uploaded.name, settings, version,
                                    progress=report)
    else:
        entry = uploads.current(db, uploaded.getvalue(), uploaded.name, settings, version)
    if entry.steps:
        st.caption("Étapes : " + " · ".join(entry.steps))
    key = imports.digest(uploaded.getvalue())[:16]
    if entry.result is not None:
        if entry.result.batch_id is None:
            st.info(f"« {entry.name} » : {entry.result.summary()}")
        else:
            st.success(f"« {entry.name} » : {entry.result.summary()} Un administrateur peut "
                       "l'annuler depuis l'historique ci-dessous.", icon="✅")
    else:
        show_report(entry)
        map_columns(entry)
        if entry.checked.ok:
            show_preview(entry, key)
            confirm_load(entry, key)

# --- 2. Batch history and rollback --------------------------------------------------------------
st.header("2. Historique des lots")
log = imports.batches(db)
if log.empty:
    st.info("Aucun lot dans la base.")
else:
    st.dataframe(view.history_frame(log), hide_index=True, width="stretch", column_config={
        "Lot": st.column_config.NumberColumn("Lot", format="%d"),
        "Ajouts": st.column_config.NumberColumn("Ajouts (valeurs)", format="localized"),
        "Mises à jour": st.column_config.NumberColumn("Mises à jour (valeurs)",
                                                      format="localized"),
        "Inchangées": st.column_config.NumberColumn("Inchangées (valeurs)", format="localized"),
    })
    choices = view.undoable(log)
    with st.expander("Annuler un lot", expanded=False):
        if not auth.can("administrateur"):
            st.caption("L'annulation d'un lot est réservée aux administrateurs de "
                       "l'observatoire.")
        elif choices.empty:
            st.info("Aucun chargement à annuler.")
        else:
            labels = {int(r["id"]): view.batch_choice_label(r) for _, r in choices.iterrows()}
            batch_id = st.selectbox("Lot à annuler", list(labels), format_func=labels.get,
                                    key="rollback_batch")
            st.caption("L'annulation est elle-même un lot : les valeurs du lot annulé sont "
                       "remplacées par celles qu'il avait remplacées. Rien n'est effacé.")
            sure = st.checkbox(f"Je confirme l'annulation du lot {batch_id}",
                               key=f"rollback_sure_{batch_id}")
            if st.button("Annuler ce lot", disabled=not sure, key="rollback_go") \
                    and auth.require("administrateur"):
                try:
                    new_id = imports.rollback(db, batch_id, auth.user_name())
                except RollbackError as exc:
                    st.error(f"Annulation refusée : {exc}", icon="⛔")
                else:
                    uploads.forget_batch(batch_id)
                    ui.clear_cache()
                    st.session_state.pop("rollback_batch", None)
                    st.session_state["import_flash"] = (
                        "success", f"Lot {batch_id} annulé (lot d'annulation {new_id}).")
                    st.rerun()

# --- 3. Template -------------------------------------------------------------------------------
st.header("3. Modèle de saisie pré-rempli")
if not sel.contract:
    st.info("Choisissez un contrat dans la barre latérale.")
else:
    year = st.number_input("Année à saisir", min_value=1990, max_value=2050,
                           value=int(sel.year or 2022), step=1, key="template_year")
    st.caption(f"Une ligne par indicateur mesurable × quartier du contrat {sel.contract}, et "
               "par série qui a déjà des valeurs, avec la valeur précédente pour aide ; "
               "remplissez la colonne « valeur ».")
    if ui.query("quartiers", sel.contract).empty:
        st.warning("Ce contrat ne liste encore aucun quartier : le modèle ne reprend que les "
                   "séries qui ont déjà des valeurs (sans aucune, il n'a que sa ligne "
                   "d'en-tête). Ajoutez les quartiers dans l'onglet « territoires » du classeur "
                   "du contrat, ou saisissez les lignes vous-même.", icon="⚠️")
    st.download_button(f"Télécharger le modèle {sel.contract} – {int(year)} (.xlsx)",
                       data=lambda: imports.template_bytes(db, sel.contract, int(year)),
                       file_name=f"modele-{sel.contract}-{int(year)}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       on_click="ignore", key="template_download")
