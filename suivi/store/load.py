"""Writing validated rows as one batch: all or nothing, in one transaction, nothing erased.

Each staged table is diffed against the current versions in SQL (new / changed / unchanged).
Changed rows get their old version superseded by the batch, never deleted, so history.py can
list every version and roll any batch back exactly. A file that changes nothing writes no
batch at all: loading the same file twice is a no-op.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from suivi.core import memory
from suivi.store import stored_status
from suivi.store.schema import ENTITIES, LOAD_ORDER, column_type, ensure_schema

#: Codes of a preview row's `change` (the views say them in French).
NEW, CHANGED, SAME = "new", "changed", "same"


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


def _stage(s, entity: str, df: pd.DataFrame) -> str:
    """The staged rows of an entity in a typed temporary table stg_<entity>, one row per key
    (validation already refused contradictory duplicates; identical ones are dropped here,
    unless the frame says it holds none: `df.attrs["unique_keys"]`, set by validation on
    the values it deduplicated itself, saves a DISTINCT over millions of rows)."""
    spec = ENTITIES[entity]
    keys = spec["keys"]
    cols = keys + spec["values"]
    frame = df.reindex(columns=cols)
    for c in cols:  # text columns as Arrow strings; categories are cast by the engine
        if column_type(c) == "VARCHAR" and not isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype("string")
    types = {c: column_type(c) for c in cols}
    if df.attrs.get("unique_keys"):
        s.put_frame(f"stg_{entity}", frame, types)
        return f"stg_{entity}"
    s.put_frame("incoming", frame, types)
    for stmt in s.dialect.temp_table(
            f"stg_{entity}", f"SELECT DISTINCT ON ({', '.join(keys)}) * FROM incoming"):
        s.execute(stmt)
    s.drop("incoming")
    return f"stg_{entity}"


def _classify(s, entity: str, stg: str) -> str:
    """stg rows with `_change`: new, changed or same against the current versions."""
    spec = ENTITIES[entity]
    keys, values = spec["keys"], spec["values"]
    on = " AND ".join(f"c.{k} = s.{k}" for k in keys)
    same = " AND ".join(f"c.{v} IS NOT DISTINCT FROM s.{v}" for v in values) or "TRUE"
    for stmt in s.dialect.temp_table(f"cls_{entity}", f"""
            SELECT s.*, CASE WHEN c.{keys[0]} IS NULL THEN '{NEW}'
                             WHEN {same} THEN '{SAME}' ELSE '{CHANGED}' END AS _change
            FROM {stg} s LEFT JOIN {entity} c ON {on}"""):
        s.execute(stmt)
    return f"cls_{entity}"


def _upsert_staged(s, entity: str, stg: str, batch_id: int) -> dict[str, int]:
    """Insert the staged rows that are new, supersede the changed ones, count the unchanged;
    returns the counts."""
    spec = ENTITIES[entity]
    keys, values = spec["keys"], spec["values"]
    cols = ", ".join(keys + values)
    if not s.holds_rows(entity):
        # Nothing current (a first load: the values of a national init): every row is new,
        # nothing to supersede or remove, no diff to make (0.2 s of 3 million values).
        inserted = s.scalar(f"SELECT count(*) FROM {stg}")
        s.execute(f"INSERT INTO {entity}_v ({cols}, created_batch, superseded_batch) "
                  f"SELECT {cols}, ?, NULL FROM {stg}", [batch_id])
        s.drop(stg)
        return {"inserted": int(inserted), "updated": 0, "unchanged": 0, "removed": 0}
    cls = _classify(s, entity, stg)
    counts = dict(s.rows(f"SELECT _change, count(*) FROM {cls} GROUP BY _change"))
    match = " AND ".join(f"t.{k} = x.{k}" for k in keys)
    s.execute(f"""
        UPDATE {entity}_v t SET superseded_batch = ?
        FROM (SELECT * FROM {cls} WHERE _change = '{CHANGED}') x
        WHERE t.superseded_batch IS NULL AND {match}""", [batch_id])
    removed = 0
    if "scope" in spec:  # rows of a mentioned scope that the file no longer lists
        scope_match = " AND ".join(f"t.{k} = x.{k}" for k in spec["scope"])
        key_match = " AND ".join(f"t.{k} = st.{k}" for k in keys)
        removed = s.scalar(f"""
            SELECT count(*) FROM {entity}_v t
            JOIN (SELECT DISTINCT {', '.join(spec['scope'])} FROM {stg}) x ON {scope_match}
            WHERE t.superseded_batch IS NULL
              AND NOT EXISTS (SELECT 1 FROM {stg} st WHERE {key_match})""")
        s.execute(f"""
            UPDATE {entity}_v t SET superseded_batch = ?
            FROM (SELECT DISTINCT {', '.join(spec['scope'])} FROM {stg}) x
            WHERE t.superseded_batch IS NULL AND t.created_batch <> ? AND {scope_match}
              AND NOT EXISTS (SELECT 1 FROM {stg} st WHERE {key_match})""",
                  [batch_id, batch_id])
    s.execute(f"""
        INSERT INTO {entity}_v ({cols}, created_batch, superseded_batch)
        SELECT {cols}, ?, NULL FROM {cls} WHERE _change IN ('{NEW}', '{CHANGED}')""",
              [batch_id])
    s.drop(cls)
    s.drop(stg)
    return {"inserted": counts.get(NEW, 0), "updated": counts.get(CHANGED, 0),
            "unchanged": counts.get(SAME, 0), "removed": int(removed or 0)}


def next_batch_id(s) -> int:
    return int(s.scalar("SELECT coalesce(max(id), 0) + 1 FROM batch"))


def load_tables(s, tables: dict[str, pd.DataFrame], file_name: str, sha256: str,
                user: str | None = None, note: str | None = None,
                release: bool = False) -> LoadResult:
    """Write every staged table as one batch inside one transaction. With `release`, each
    table leaves `tables` once the engine holds it: its memory is free for the engine's
    work (the statuses of a national file)."""
    ensure_schema(s)
    obs = tables.get("observation")
    is_demo = obs is not None and len(obs) > 0 and bool((obs["status"] == "demo").all())
    del obs
    s.prepare_bulk_load()
    try:
        result, stale = _write_batch(s, tables, file_name, sha256, user, note, is_demo,
                                     release)
    finally:
        s.end_bulk_load()
    s.refresh_statistics(stale)
    return result


def _write_batch(s, tables, file_name, sha256, user, note, is_demo,
                 release) -> tuple[LoadResult, list[str]]:
    """load_tables' transaction: rolled back whole on any error, or when nothing changed.
    Also returns the tables it changed enough to analyse once committed."""
    s.begin()
    try:
        batch_id = next_batch_id(s)
        result = LoadResult(batch_id)
        for entity in LOAD_ORDER:
            if tables.get(entity) is not None and len(tables[entity]):
                df = tables.pop(entity) if release else tables[entity]
                stg = _stage(s, entity, df)
                rows = len(df)
                del df
                if release:  # the frame's pages, back to the system before the engine's work
                    memory.give_back(rows)
                result.counts[entity] = _upsert_staged(s, entity, stg, batch_id)
        if not result.changed:
            s.rollback()
            result.batch_id = None
            return result, []
        stored_status.after_batch(s, batch_id)
        s.execute(
            "INSERT INTO batch (id, kind, file_name, sha256, user_name, loaded_at, inserted, "
            "updated, unchanged, is_demo, note) VALUES (?, 'load', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [batch_id, file_name, sha256, user or getpass.getuser(), datetime.now(),
             result.total("inserted"), result.total("updated"), result.total("unchanged"),
             is_demo, note or json.dumps(result.counts, ensure_ascii=False)])
        stale = s.changed_enough([*(f"{entity}_v" for entity in result.counts),
                                  *stored_status.DERIVED])
        s.before_bulk_commit()
        s.commit()
    except BaseException:
        s.rollback()
        raise
    return result, stale


def preview(s, obs: pd.DataFrame | None) -> pd.DataFrame:
    """What a load would do to observations: `change` new, changed (with `old_value`) or
    same, row by row."""
    columns = ["change", "indicator_code", "territory_code", "year", "nature", "breakdown",
               "modality", "old_value", "value", "status"]
    if obs is None or obs.empty:
        return pd.DataFrame(columns=columns)
    stg = _stage(s, "observation", obs)
    cls = _classify(s, "observation", stg)
    out = s.df(f"""
        SELECT x._change AS change, CAST(x.indicator_code AS VARCHAR) AS indicator_code,
               CAST(x.territory_code AS VARCHAR) AS territory_code, x.year,
               CAST(x.nature AS VARCHAR) AS nature, CAST(x.breakdown AS VARCHAR) AS breakdown,
               CAST(x.modality AS VARCHAR) AS modality, c.value AS old_value, x.value,
               CAST(x.status AS VARCHAR) AS status
        FROM {cls} x LEFT JOIN observation c ON c.indicator_code = x.indicator_code
            AND c.territory_code = x.territory_code AND c.year = x.year
            AND c.nature = x.nature AND c.breakdown = x.breakdown AND c.modality = x.modality
        ORDER BY CASE x._change WHEN '{NEW}' THEN 0 WHEN '{CHANGED}' THEN 1 ELSE 2 END,
                 CAST(x.indicator_code AS VARCHAR), CAST(x.territory_code AS VARCHAR),
                 x.year""")  # as text: a staged ENUM sorts in its file's order
    s.drop(cls)
    s.drop(stg)
    return out
