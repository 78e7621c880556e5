"""What the Import page shows and does, kept out of the page: the validation report, the
preview of a load and the batch history as French tables, the pre-filled template as bytes,
and the writes (load, rollback) behind one function each.

`load` and `rollback` are the only functions here that change the database; the page checks
the user's role (tracker/auth.py) right before calling them.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd

from etl import history
from etl.load import LoadResult, write_lock
from etl.pipeline import Checked, load_checked
from etl.report import ERROR
from etl.template import write_template
from tracker import fmt
from tracker.db import connection

#: Recorded as the batch's user when nobody is logged in (reading and import left open).
APP_USER = "application (page Import)"
#: Rows shown on screen; the full tables stay available for download.
MAX_ROWS = 2000

SEVERITY = {ERROR: "⛔ Erreur", "avertissement": "⚠️ Avertissement"}
CHANGES = {"nouveau": "🆕 nouveau", "modifié": "✏️ modifié", "inchangé": "= inchangé"}
BATCH_KINDS = {"load": "chargement", "rollback": "annulation", "demo_remove": "suppression démo"}


def digest(data: bytes) -> str:
    """Identity of an upload: the same bytes are checked and loaded once per session."""
    return hashlib.sha256(data).hexdigest()


def report_frame(checked: Checked) -> pd.DataFrame:
    """Validation problems, located by file, sheet, row, column and value, in French."""
    table = checked.report.table
    name = checked.workbook.name if checked.workbook is not None else ""
    return pd.DataFrame({
        "Gravité": table["gravite"].map(SEVERITY).fillna(table["gravite"]),
        "Fichier": name,
        "Onglet": table["onglet"],
        "Ligne": table["ligne"],
        "Colonne": table["colonne"],
        "Valeur": table["valeur"],
        "Message": table["message"],
    })


def preview_counts(preview: pd.DataFrame) -> dict[str, int]:
    counts = preview["changement"].value_counts()
    return {k: int(counts.get(k, 0)) for k in CHANGES}


def _indicator_meta(con, codes: list[str]) -> pd.DataFrame:
    if not codes:
        return pd.DataFrame(columns=["indicator_code", "indicator_label", "unit"])
    return con.execute(
        "SELECT code AS indicator_code, label AS indicator_label, unit FROM indicator "
        f"WHERE code IN ({', '.join('?' * len(codes))})", codes).df()


def preview_frame(db, preview: pd.DataFrame, changed_only: bool = True,
                  limit: int = MAX_ROWS) -> pd.DataFrame:
    """The rows a load would write, old -> new value in French with their unit."""
    rows = preview[preview["changement"] != "inchangé"] if changed_only else preview
    rows = rows.head(limit)
    with connection(db) as con:
        meta = _indicator_meta(con, rows["indicator_code"].dropna().unique().tolist())
    rows = rows.merge(meta, on="indicator_code", how="left")
    units = rows["unit"].where(rows["unit"].notna(), None)
    old = [fmt.with_unit(v, u) for v, u in zip(rows["ancienne_valeur"], units)]
    new = [fmt.with_unit(v, u) for v, u in zip(rows["value"], units)]
    ventilation = (rows["breakdown"].fillna("") + " " + rows["modality"].fillna("")).str.strip()
    return pd.DataFrame({
        "Changement": rows["changement"].map(CHANGES),
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


AUTO = "auto"


def layout_choices() -> dict[str, str]:
    """The layouts a file may be forced into, French titles (first: recognise it)."""
    from etl.sources import LAYOUTS

    return {AUTO: "Reconnaître automatiquement", **{lay.key: lay.title for lay in LAYOUTS}}


def options(layout: str = AUTO, year: int | None = None, contract: str | None = None):
    from etl.sources import Options

    return Options(layout=None if layout == AUTO else layout, year=year, contract=contract)


def unmapped_columns(checked: Checked) -> list[str]:
    """Columns of a public file that no indicator of the contract claims yet."""
    wb = checked.workbook
    return list(wb.meta.get("unmapped", [])) if wb is not None else []


def indicator_choices(catalogue: pd.DataFrame) -> dict[str, str]:
    """« CODE – libellé » of the contract's indicators, for the mapping selectboxes."""
    return {r.code: f"{r.code} – {r.label}" for r in catalogue.itertuples()}


def save_mapping(db, mapping: dict[str, str], user: str | None = None):
    """Save « column -> indicator » choices into the catalogue (indicator_variable) as a
    batch like any other, so that next year's file maps itself."""
    from etl.pipeline import load_workbook
    from etl.readers import Workbook

    pairs = sorted((c, i) for c, i in mapping.items() if i)
    frame = pd.DataFrame({"indicateur": [i for _, i in pairs], "variable": [c for c, _ in pairs],
                          "_row": range(2, 2 + len(pairs))})
    wb = Workbook(name="correspondance des colonnes (page Import)",
                  sha256=digest(repr(pairs).encode()), sheets={"correspondances": frame})
    return load_workbook(wb, db, user or APP_USER)


def load(checked: Checked, db, user: str | None = None) -> tuple[Checked, LoadResult | None]:
    """Load a checked file as one batch (revalidated under the write lock, all or nothing)."""
    return load_checked(checked, db, user or APP_USER)


def rollback(db, batch_id: int, user: str | None = None) -> int:
    """Undo a load batch; raises etl.history.RollbackError with a French message if refused."""
    with write_lock(db), connection(db) as con:
        return history.rollback(con, int(batch_id), user or APP_USER)


def batches(db) -> pd.DataFrame:
    with connection(db) as con:
        return history.batches(con)


def history_frame(batch_log: pd.DataFrame) -> pd.DataFrame:
    """The batch log in French: kind, file, user, date (dd/mm/yyyy hh:mm), counts, state."""
    state = pd.Series("", index=batch_log.index, dtype="object")
    undone = batch_log["annule_par"].notna()
    state[undone] = "annulé par le lot " + batch_log.loc[undone, "annule_par"].astype("Int64") \
        .astype(str)
    undoes = batch_log["lot_annule"].notna()
    state[undoes] = "annule le lot " + batch_log.loc[undoes, "lot_annule"].astype("Int64") \
        .astype(str)
    return pd.DataFrame({
        "Lot": batch_log["lot"],
        "Opération": batch_log["type"].map(BATCH_KINDS).fillna(batch_log["type"]),
        "Fichier": batch_log["fichier"].fillna(""),
        "Utilisateur": batch_log["utilisateur"].fillna(""),
        "Date": [fmt.date_fr(v.to_pydatetime() if hasattr(v, "to_pydatetime") else v)
                 for v in batch_log["date"]],
        "Ajouts": batch_log["ajouts"],
        "Mises à jour": batch_log["mises_a_jour"],
        "Inchangées": batch_log["inchanges"],
        "Démo": batch_log["demo"].map({True: "oui", False: ""}).fillna(""),
        "État": state,
    })


def undoable(batch_log: pd.DataFrame) -> pd.DataFrame:
    """Load batches not yet rolled back, newest first: the ones the page offers to undo."""
    return batch_log[(batch_log["type"] == "load") & batch_log["annule_par"].isna()]


def batch_choice_label(row) -> str:
    when = fmt.date_fr(row["date"].to_pydatetime() if hasattr(row["date"], "to_pydatetime")
                       else row["date"])
    return (f"Lot {row['lot']} – {row['fichier'] or 'sans nom'} – {when} "
            f"({fmt.number(row['ajouts'])} ajout(s), {fmt.number(row['mises_a_jour'])} "
            "mise(s) à jour)")


def template_bytes(db, contract: str, year: int) -> bytes:
    """The pre-filled `valeurs` workbook of a contract and year, as the bytes to download."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "modele.xlsx"
        with connection(db) as con:
            write_template(con, contract, int(year), out)
        return out.read_bytes()


def report_csv(table: pd.DataFrame) -> bytes:
    """The validation report as a CSV French Excel opens; cells echoed from the uploaded file
    are neutralised (a partner's "=..." must not run in the staff's spreadsheet)."""
    from tracker.compare import csv_bytes

    return csv_bytes(table)
