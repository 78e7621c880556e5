"""History of batches and values, rollback, and removal of demonstration values.

A rollback is itself a batch: it supersedes the versions the undone batch created and makes
current again the versions that batch had superseded. Nothing is deleted, so the history
shows the undone values too. Only the demonstration values are ever deleted (`remove_demo`),
because they are not the observatory's record.
"""

from __future__ import annotations

import getpass
from datetime import datetime

import pandas as pd

from etl.load import next_batch_id
from etl.schema import ENTITIES, LOAD_ORDER
from tracker.db import first_row, scalar


class RollbackError(Exception):
    """The batch cannot be undone; the message is French."""


def batches(con) -> pd.DataFrame:
    return con.sql("""
        SELECT id AS lot, kind AS type, file_name AS fichier, user_name AS utilisateur,
               loaded_at AS date, inserted AS ajouts, updated AS mises_a_jour,
               unchanged AS inchanges, is_demo AS demo, target_batch AS lot_annule,
               rolled_back_by AS annule_par, sha256
        FROM batch ORDER BY id DESC""").df()


def value_history(con, indicator: str, territory: str | None = None) -> pd.DataFrame:
    """Every version of an indicator's values, current or superseded, with its batch."""
    where, params = "o.indicator_code = ?", [indicator]
    if territory:
        where += " AND o.territory_code = ?"
        params.append(territory)
    return con.execute(f"""
        SELECT o.territory_code, o.year, o.nature, o.breakdown, o.modality, o.value, o.status,
               o.source, o.created_batch, b.file_name, b.loaded_at, o.superseded_batch,
               o.superseded_batch IS NULL AS courant
        FROM observation_v o LEFT JOIN batch b ON b.id = o.created_batch
        WHERE {where}
        ORDER BY o.territory_code, o.year, o.nature, o.breakdown, o.modality,
                 o.created_batch""", params).df()


def rollback(con, batch_id: int, user: str | None = None) -> int:
    """Undo a load batch; returns the id of the rollback batch."""
    row = first_row(con, "SELECT kind, rolled_back_by FROM batch WHERE id = ?", [batch_id])
    if row is None:
        raise RollbackError(f"Le lot {batch_id} n'existe pas (voir « python -m etl history »).")
    if row[0] != "load":
        raise RollbackError(f"Le lot {batch_id} est une opération « {row[0]} », pas un chargement : "
                            "il ne peut pas être annulé.")
    if row[1] is not None:
        raise RollbackError(f"Le lot {batch_id} a déjà été annulé par le lot {row[1]}.")
    later = set()
    for entity in LOAD_ORDER:
        later |= {r[0] for r in con.execute(
            f"SELECT DISTINCT superseded_batch FROM {entity}_v WHERE created_batch = ? "
            "AND superseded_batch IS NOT NULL", [batch_id]).fetchall()}
    # Versions this batch superseded come back: refuse if a later batch has since made a
    # current row with the same key (e.g. it re-added a reference territory this batch removed).
    for entity in LOAD_ORDER:
        on = " AND ".join(f"c.{k} = o.{k}" for k in ENTITIES[entity]["keys"])
        later |= {r[0] for r in con.execute(
            f"SELECT DISTINCT c.created_batch FROM {entity}_v o JOIN {entity}_v c ON {on} "
            "WHERE o.superseded_batch = ? AND c.superseded_batch IS NULL "
            "AND c.created_batch > ?", [batch_id, batch_id]).fetchall()}
    if later:
        raise RollbackError(
            f"Des valeurs du lot {batch_id} ont été modifiées ensuite par le(s) lot(s) "
            f"{', '.join(map(str, sorted(later)))} : annulez d'abord ce(s) lot(s).")
    con.begin()
    try:
        new_id = next_batch_id(con)
        for entity in LOAD_ORDER:
            con.execute(f"UPDATE {entity}_v SET superseded_batch = ? WHERE created_batch = ? "
                        "AND superseded_batch IS NULL", [new_id, batch_id])
            con.execute(f"UPDATE {entity}_v SET superseded_batch = NULL "
                        "WHERE superseded_batch = ?", [batch_id])
        con.execute("INSERT INTO batch (id, kind, user_name, loaded_at, target_batch, note) "
                    "VALUES (?, 'rollback', ?, ?, ?, ?)",
                    [new_id, user or getpass.getuser(), datetime.now(), batch_id,
                     f"Annulation du lot {batch_id}"])
        con.execute("UPDATE batch SET rolled_back_by = ? WHERE id = ?", [new_id, batch_id])
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return new_id


def remove_demo(con, user: str | None = None) -> int:
    """Delete every demonstration value (all versions); returns how many rows were removed."""
    con.begin()
    try:
        n = scalar(con, "SELECT count(*) FROM observation_v WHERE status = 'demo'")
        # A demo version that had replaced a real one hands the place back to it.
        con.execute("""
            UPDATE observation_v t SET superseded_batch = NULL
            FROM observation_v d
            WHERE d.status = 'demo' AND d.superseded_batch IS NULL
              AND t.superseded_batch = d.created_batch AND t.status <> 'demo'
              AND t.indicator_code = d.indicator_code AND t.territory_code = d.territory_code
              AND t.year = d.year AND t.nature = d.nature AND t.breakdown = d.breakdown
              AND t.modality = d.modality""")
        con.execute("DELETE FROM observation_v WHERE status = 'demo'")
        if n:
            con.execute("INSERT INTO batch (id, kind, user_name, loaded_at, note) "
                        "VALUES (?, 'demo_remove', ?, ?, ?)",
                        [next_batch_id(con), user or getpass.getuser(), datetime.now(),
                         f"{n} valeurs de démonstration supprimées"])
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return n
