"""Loading validated rows as one batch: all or nothing, in one transaction, nothing erased.

Each staged table is diffed against the current versions in SQL (new / changed / unchanged).
Changed rows get their old version superseded by the batch, never deleted, so etl/history.py
can list every version and roll any batch back exactly. A file that changes nothing writes no
batch at all: loading the same file twice is a no-op.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from etl.schema import ENTITIES, LOAD_ORDER, column_type, ensure_schema
from etl.validate import Staged
from tracker.db import db_path, scalar

_THREAD_LOCK = threading.Lock()


@contextmanager
def write_lock(path=None):
    """Serialise writers across threads (Streamlit sessions) and processes (CLI, app)."""
    lock_file = db_path(path).with_suffix(".lock")
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with _THREAD_LOCK, open(lock_file, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass
class LoadResult:
    batch_id: int | None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def total(self, kind: str) -> int:
        return sum(c.get(kind, 0) for c in self.counts.values())

    @property
    def changed(self) -> bool:
        return self.total("inserted") + self.total("updated") + self.total("removed") > 0

    def summary(self) -> str:
        if not self.changed:
            return "Aucune modification : toutes les lignes sont déjà dans la base."
        return (f"Lot {self.batch_id} chargé : {self.total('inserted')} ajout(s), "
                f"{self.total('updated')} mise(s) à jour, {self.total('unchanged')} inchangée(s).")


def _stage(con, entity: str, df: pd.DataFrame) -> str:
    """Copy a staged DataFrame into a typed temp table named stg_<entity>."""
    spec = ENTITIES[entity]
    cols = spec["keys"] + spec["values"]
    frame = df.reindex(columns=cols)
    for c in cols:  # text columns as Arrow strings; categories are cast inside DuckDB
        if column_type(c) == "VARCHAR" and not isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype("string")
    con.register("_incoming", frame)
    select = ", ".join(f"CAST({c} AS {column_type(c)}) AS {c}" for c in cols)
    con.execute(f"CREATE OR REPLACE TEMP TABLE stg_{entity} AS SELECT DISTINCT ON "
                f"({', '.join(spec['keys'])}) {select} FROM _incoming")
    con.unregister("_incoming")
    return f"stg_{entity}"


def versioned_upsert(con, entity: str, df: pd.DataFrame, batch_id: int) -> dict[str, int]:
    """Insert new rows, supersede changed ones, count unchanged; returns the counts."""
    spec = ENTITIES[entity]
    keys, values = spec["keys"], spec["values"]
    stg = _stage(con, entity, df)
    on = " AND ".join(f"c.{k} = s.{k}" for k in keys)
    same = " AND ".join(f"c.{v} IS NOT DISTINCT FROM s.{v}" for v in values) or "TRUE"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE cls_{entity} AS
        SELECT s.*, CASE WHEN c.{keys[0]} IS NULL THEN 'new'
                         WHEN {same} THEN 'same' ELSE 'changed' END AS _change
        FROM {stg} s LEFT JOIN {entity} c ON {on}""")
    counts = dict(con.execute(
        f"SELECT _change, count(*) FROM cls_{entity} GROUP BY _change").fetchall())
    match = " AND ".join(f"t.{k} = x.{k}" for k in keys)
    con.execute(f"""
        UPDATE {entity}_v t SET superseded_batch = ?
        FROM (SELECT * FROM cls_{entity} WHERE _change = 'changed') x
        WHERE t.superseded_batch IS NULL AND {match}""", [batch_id])
    removed = 0
    if "scope" in spec:  # rows of a mentioned scope that the file no longer lists
        scope_match = " AND ".join(f"t.{k} = x.{k}" for k in spec["scope"])
        key_match = " AND ".join(f"t.{k} = s.{k}" for k in keys)
        removed = con.execute(f"""
            UPDATE {entity}_v t SET superseded_batch = ?
            FROM (SELECT DISTINCT {', '.join(spec['scope'])} FROM {stg}) x
            WHERE t.superseded_batch IS NULL AND t.created_batch <> ? AND {scope_match}
              AND NOT EXISTS (SELECT 1 FROM {stg} s WHERE {key_match})""",
                              [batch_id, batch_id]).fetchall()[0][0]
    cols = ", ".join(keys + values)
    con.execute(f"""
        INSERT INTO {entity}_v ({cols}, created_batch, superseded_batch)
        SELECT {cols}, ?, NULL FROM cls_{entity} WHERE _change IN ('new', 'changed')""", [batch_id])
    con.execute(f"DROP TABLE cls_{entity}")
    con.execute(f"DROP TABLE {stg}")
    return {"inserted": counts.get("new", 0), "updated": counts.get("changed", 0),
            "unchanged": counts.get("same", 0), "removed": removed}


def next_batch_id(con) -> int:
    return scalar(con, "SELECT coalesce(max(id), 0) + 1 FROM batch")


def load_staged(con, staged: Staged, file_name: str, sha256: str, user: str | None = None,
                note: str | None = None) -> LoadResult:
    """Write every staged table as one batch inside one transaction."""
    ensure_schema(con)
    # A national file stages millions of rows: let DuckDB spill to disk beyond this budget
    # instead of growing the process (the loader shares the machine with the app).
    con.execute(f"SET memory_limit = '{os.environ.get('SUIVI_LOAD_MEMORY', '800MB')}'")
    con.begin()
    try:
        batch_id = next_batch_id(con)
        result = LoadResult(batch_id)
        for entity in LOAD_ORDER:
            df = staged.tables.get(entity)
            if df is not None and len(df):
                result.counts[entity] = versioned_upsert(con, entity, df, batch_id)
        if not result.changed:
            con.rollback()
            result.batch_id = None
            return result
        obs = staged.tables.get("observation")
        is_demo = obs is not None and len(obs) > 0 and bool((obs["status"] == "demo").all())
        con.execute(
            "INSERT INTO batch (id, kind, file_name, sha256, user_name, loaded_at, inserted, "
            "updated, unchanged, is_demo, note) VALUES (?, 'load', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [batch_id, file_name, sha256, user or getpass.getuser(), datetime.now(),
             result.total("inserted"), result.total("updated"), result.total("unchanged"),
             is_demo, note or json.dumps(result.counts, ensure_ascii=False)])
        con.commit()
        return result
    except BaseException:
        con.rollback()
        raise


def preview(con, staged: Staged) -> pd.DataFrame:
    """What a load would do to observations: new, updated (old -> new) or unchanged rows."""
    obs = staged.tables.get("observation")
    if obs is None or obs.empty:
        return pd.DataFrame(columns=["changement", "indicator_code", "territory_code", "year",
                                     "nature", "breakdown", "modality", "ancienne_valeur",
                                     "value", "status"])
    stg = _stage(con, "observation", obs)
    keys = ENTITIES["observation"]["keys"]
    on = " AND ".join(f"c.{k} = s.{k}" for k in keys)
    same = " AND ".join(f"c.{v} IS NOT DISTINCT FROM s.{v}"
                        for v in ENTITIES["observation"]["values"])
    out = con.sql(f"""
        SELECT CASE WHEN c.indicator_code IS NULL THEN 'nouveau'
                    WHEN {same} THEN 'inchangé' ELSE 'modifié' END AS changement,
               s.indicator_code, s.territory_code, s.year, s.nature, s.breakdown, s.modality,
               c.value AS ancienne_valeur, s.value, s.status
        FROM {stg} s LEFT JOIN observation c ON {on}
        ORDER BY changement DESC, s.indicator_code, s.territory_code, s.year""").df()
    con.execute(f"DROP TABLE {stg}")
    return out
