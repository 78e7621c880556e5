"""What the Import page shows, as French tables: the validation report, the preview of a
load, the batch history. Codes come from below (the report's severities, the preview's
`change`, the batch log's kinds) and become French here, once."""

from __future__ import annotations

import pandas as pd

from suivi.core import fmt

#: Rows shown on screen; the full tables stay available for download.
MAX_ROWS = 2000

SEVERITY = {"erreur": "⛔ Erreur", "avertissement": "⚠️ Avertissement"}
CHANGES = {"new": "🆕 nouveau", "changed": "✏️ modifié", "same": "= inchangé"}
BATCH_KINDS = {"load": "chargement", "rollback": "annulation", "demo_remove": "suppression démo"}


def report_frame(report, file_name: str = "") -> pd.DataFrame:
    """Validation problems, located by file, sheet, row, column and value, in French."""
    table = report.table
    return pd.DataFrame({
        "Gravité": table["gravite"].map(SEVERITY).fillna(table["gravite"]),
        "Fichier": file_name,
        "Onglet": table["onglet"],
        "Ligne": table["ligne"],
        "Colonne": table["colonne"],
        "Valeur": table["valeur"],
        "Message": table["message"],
    })


def preview_counts(preview: pd.DataFrame) -> dict[str, int]:
    """New, changed and unchanged values of a load (codes of CHANGES)."""
    counts = preview["change"].value_counts()
    return {k: int(counts.get(k, 0)) for k in CHANGES}


def preview_frame(preview: pd.DataFrame, catalogue: pd.DataFrame, changed_only: bool = True,
                  limit: int = MAX_ROWS) -> pd.DataFrame:
    """The rows a load would write, old -> new value in French with their unit
    (`catalogue`: code, label and unit of the indicators concerned)."""
    rows = preview[preview["change"] != "same"] if changed_only else preview
    rows = rows.head(limit)
    meta = catalogue.rename(columns={"code": "indicator_code", "label": "indicator_label"})
    rows = rows.merge(meta[["indicator_code", "indicator_label", "unit"]], on="indicator_code",
                      how="left")
    units = rows["unit"].where(rows["unit"].notna(), None)
    old = [fmt.with_unit(v, u) for v, u in zip(rows["old_value"], units)]
    new = [fmt.with_unit(v, u) for v, u in zip(rows["value"], units)]
    ventilation = (rows["breakdown"].fillna("") + " " + rows["modality"].fillna("")).str.strip()
    return pd.DataFrame({
        "Changement": rows["change"].map(CHANGES),
        "Indicateur": rows["indicator_code"],
        "Libellé": rows["indicator_label"].fillna(""),
        "Territoire": rows["territory_code"],
        "Année": rows["year"],
        "Nature": rows["nature"],
        "Ventilation": ventilation,
        "Ancienne valeur": old,
        "Nouvelle valeur": new,
        "Statut de la valeur": rows["status"].fillna(""),
    })


def _date(value) -> str:
    return fmt.date_fr(value.to_pydatetime() if hasattr(value, "to_pydatetime") else value)


def history_frame(batch_log: pd.DataFrame) -> pd.DataFrame:
    """The batch log in French: kind, file, user, date (dd/mm/yyyy hh:mm), counts, state."""
    state = pd.Series("", index=batch_log.index, dtype="object")
    undone = batch_log["rolled_back_by"].notna()
    state[undone] = "annulé par le lot " + batch_log.loc[undone, "rolled_back_by"] \
        .astype("Int64").astype(str)
    undoes = batch_log["target_batch"].notna()
    state[undoes] = "annule le lot " + batch_log.loc[undoes, "target_batch"].astype("Int64") \
        .astype(str)
    return pd.DataFrame({
        "Lot": batch_log["id"],
        "Opération": batch_log["kind"].map(BATCH_KINDS).fillna(batch_log["kind"]),
        "Fichier": batch_log["file_name"].fillna(""),
        "Utilisateur": batch_log["user_name"].fillna(""),
        "Date": [_date(v) for v in batch_log["loaded_at"]],
        "Ajouts": batch_log["inserted"],
        "Mises à jour": batch_log["updated"],
        "Inchangées": batch_log["unchanged"],
        "Démo": batch_log["is_demo"].map({True: "oui", False: ""}).fillna(""),
        "État": state,
    })


def undoable(batch_log: pd.DataFrame) -> pd.DataFrame:
    """Load batches not yet rolled back, newest first: the ones the page offers to undo."""
    return batch_log[(batch_log["kind"] == "load") & batch_log["rolled_back_by"].isna()]


def batch_choice_label(row) -> str:
    return (f"Lot {row['id']} – {row['file_name'] or 'sans nom'} – {_date(row['loaded_at'])} "
            f"({fmt.number(row['inserted'])} ajout(s), {fmt.number(row['updated'])} "
            "mise(s) à jour)")


def indicator_choices(catalogue: pd.DataFrame) -> dict[str, str]:
    """« CODE – libellé » of the contract's indicators, for the mapping selectboxes."""
    return {r.code: f"{r.code} – {r.label}" for r in catalogue.itertuples()}
