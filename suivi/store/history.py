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

from suivi.store import stored_status
from suivi.store.load import next_batch_id
from suivi.store.queries import in_list
from suivi.store.schema import ENTITIES, LOAD_ORDER


class RollbackError(Exception):
    """The batch cannot be undone; the message is French."""


def batches(s) -> pd.DataFrame:
    """The batch log, newest first (codes and English column names: the views translate)."""
    return s.df("""
        SELECT id, kind, file_name, user_name, loaded_at, inserted, updated, unchanged,
               is_demo, target_batch, rolled_back_by, sha256
        FROM batch ORDER BY id DESC""")


def value_history(s, indicator: str, territory: str | None = None,
                  territories=None) -> pd.DataFrame:
    """Every version of an indicator's values, current or superseded, with its batch: of
    one territory, or of `territories` when given.

    The current versions and the superseded ones are selected apart, so that PostgreSQL
    finds each through its own index (the current rows' keys, the superseding batch)
    instead of scanning every version of every value: 0.9 s for one indicator of a
    national contract."""
    where, params = "o.indicator_code = ?", [indicator]
    if territory:
        territories = [territory]
    extra, codes = in_list("o.territory_code", territories)
    where += extra
    params.extend(codes)
    columns = ("o.territory_code, o.year, o.nature, o.breakdown, o.modality, o.value, "
               "o.status, o.source, o.created_batch, o.superseded_batch")
    return s.df(f"""
        SELECT o.territory_code, o.year, o.nature, o.breakdown, o.modality, o.value,
               o.status, o.source, o.created_batch, b.file_name, b.loaded_at,
               o.superseded_batch, o.superseded_batch IS NULL AS courant
        FROM (SELECT {columns} FROM observation_v o WHERE o.superseded_batch IS NULL
                 AND {where}
              UNION ALL
              SELECT {columns} FROM observation_v o WHERE o.superseded_batch IS NOT NULL
                 AND {where}) o
        LEFT JOIN batch b ON b.id = o.created_batch
        ORDER BY o.territory_code, o.year, o.nature, o.breakdown, o.modality,
                 o.created_batch""", params * 2)


def rollback(s, batch_id: int, user: str | None = None) -> int:
    """Undo a load batch; returns the id of the rollback batch."""
    row = s.first("SELECT kind, rolled_back_by FROM batch WHERE id = ?", [batch_id])
    if row is None:
        raise RollbackError(f"Le lot {batch_id} n'existe pas (voir « python -m etl history »).")
    if row[0] != "load":
        raise RollbackError(f"Le lot {batch_id} est une opération « {row[0]} », pas un chargement : "
                            "il ne peut pas être annulé.")
    if row[1] is not None:
        raise RollbackError(f"Le lot {batch_id} a déjà été annulé par le lot {row[1]}.")
    later = set()
    for entity in LOAD_ORDER:
        later |= {r[0] for r in s.rows(
            f"SELECT DISTINCT superseded_batch FROM {entity}_v WHERE created_batch = ? "
            "AND superseded_batch IS NOT NULL", [batch_id])}
    # Versions this batch superseded come back: refuse if a later batch has since made a
    # current row with the same key (e.g. it re-added a reference territory this batch removed).
    for entity in LOAD_ORDER:
        on = " AND ".join(f"c.{k} = o.{k}" for k in ENTITIES[entity]["keys"])
        later |= {r[0] for r in s.rows(
            f"SELECT DISTINCT c.created_batch FROM {entity}_v o JOIN {entity}_v c ON {on} "
            "WHERE o.superseded_batch = ? AND c.superseded_batch IS NULL "
            "AND c.created_batch > ?", [batch_id, batch_id])}
    if later:
        raise RollbackError(
            f"Des valeurs du lot {batch_id} ont été modifiées ensuite par le(s) lot(s) "
            f"{', '.join(map(str, sorted(later)))} : annulez d'abord ce(s) lot(s).")
    with s.transaction():
        new_id = next_batch_id(s)
        stored_status.mark_touched(s, batch_id)  # before the marks are moved
        for entity in LOAD_ORDER:
            s.execute(f"UPDATE {entity}_v SET superseded_batch = ? WHERE created_batch = ? "
                      "AND superseded_batch IS NULL", [new_id, batch_id])
            s.execute(f"UPDATE {entity}_v SET superseded_batch = NULL "
                      "WHERE superseded_batch = ?", [batch_id])
        s.execute("INSERT INTO batch (id, kind, user_name, loaded_at, target_batch, note) "
                  "VALUES (?, 'rollback', ?, ?, ?, ?)",
                  [new_id, user or getpass.getuser(), datetime.now(), batch_id,
                   f"Annulation du lot {batch_id}"])
        s.execute("UPDATE batch SET rolled_back_by = ? WHERE id = ?", [new_id, batch_id])
        stored_status.refresh(s)
    s.refresh_statistics([*(f"{entity}_v" for entity in LOAD_ORDER), *stored_status.DERIVED])
    return new_id


def remove_demo(s, user: str | None = None) -> int:
    """Delete every demonstration value (all versions); returns how many rows were removed."""
    with s.transaction():
        n = s.scalar("SELECT count(*) FROM observation_v WHERE status = 'demo'")
        stored_status.mark_touched(s, demo=True)
        # A demo version that had replaced a real one hands the place back to it.
        s.execute("""
            UPDATE observation_v t SET superseded_batch = NULL
            FROM observation_v d
            WHERE d.status = 'demo' AND d.superseded_batch IS NULL
              AND t.superseded_batch = d.created_batch AND t.status <> 'demo'
              AND t.indicator_code = d.indicator_code AND t.territory_code = d.territory_code
              AND t.year = d.year AND t.nature = d.nature AND t.breakdown = d.breakdown
              AND t.modality = d.modality""")
        s.execute("DELETE FROM observation_v WHERE status = 'demo'")
        stored_status.refresh(s)
        if n:
            s.execute("INSERT INTO batch (id, kind, user_name, loaded_at, note) "
                        "VALUES (?, 'demo_remove', ?, ?, ?)",
                        [next_batch_id(s), user or getpass.getuser(), datetime.now(),
                         f"{n} valeurs de démonstration supprimées"])
    s.refresh_statistics(["observation_v", *stored_status.DERIVED])
    return n
