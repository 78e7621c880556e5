"""Database schema: every entity is versioned by batch so that nothing is ever erased.

Each `*_v` table holds every version of its rows. A version carries the batch that created it
(`created_batch`) and the batch that replaced it (`superseded_batch`, NULL while current). The
view with the plain name (`observation`, `indicator`...) shows the current versions only; pages
and queries read the views, the loader and the history read the tables. Rolling a batch back
is then two UPDATEs per table (see suivi/store/history.py) and restores the previous state exactly.
"""

from __future__ import annotations

# Key and value columns of each versioned entity. The loader diffs staged rows against the
# current versions on these keys; `scope` names the key columns whose whole set of rows is
# replaced when a file mentions them (a territory's reference list, an indicator's objectives).
ENTITIES: dict[str, dict] = {
    "contract": {
        "keys": ["code"],
        "values": [
            "name", "period_start", "period_end", "baseline_year", "target_year", "generation",
            "levels", "threshold_on_track", "threshold_acceleration", "source",
        ],
    },
    "territory": {
        "keys": ["code"],
        "values": ["label", "kind", "geography", "population", "population_year", "source"],
    },
    # Old or local codes that still load (AMB-COM -> COM-37003, a merged commune's old COG).
    "territory_alias": {"keys": ["alias"], "values": ["code"]},
    "territory_ref": {"keys": ["territory_code", "reference_code"], "values": ["rank"],
                      "scope": ["territory_code"]},
    # Between generations of the priority geography (a 2024 QPV and the 2015 QPVs it
    # succeeds): links only, the series stay apart.
    "territory_link": {"keys": ["territory_code", "predecessor_code"],
                       "values": ["status", "rank"], "scope": ["territory_code"]},
    # A territory's contour (etl/sources/contours.py): GeoJSON text in WGS 84, simplified on
    # load, with its bounding box for neighbour queries; `synthetic` marks generated shapes.
    "territory_geometry": {"keys": ["territory_code"],
                           "values": ["geometry", "lon_min", "lat_min", "lon_max", "lat_max",
                                      "synthetic", "source"]},
    "contract_territory": {"keys": ["contract_code", "territory_code"], "values": []},
    "node": {
        "keys": ["contract_code", "code"],
        "values": ["parent_code", "level", "category", "label", "position", "source"],
    },
    "indicator": {
        "keys": ["code"],
        "values": [
            "contract_code", "label", "unit", "polarity", "type", "definition", "source",
            "frequency", "parent_code", "breakdowns", "note",
        ],
    },
    "indicator_node": {"keys": ["indicator_code", "node_code"], "values": ["contract_code"],
                       "scope": ["indicator_code"]},
    # Column names of public source files that carry an indicator (`variables_source`), in
    # their folded form (etl/mapping.py), so that next year's file maps itself.
    "indicator_variable": {"keys": ["indicator_code", "variable"],
                           "values": ["contract_code", "label"], "scope": ["indicator_code"]},
    "observation": {
        "keys": ["indicator_code", "territory_code", "year", "nature", "breakdown", "modality"],
        "values": ["value", "status", "wording", "source", "comment"],
    },
}

# Load order: a row may only reference rows of earlier entities.
LOAD_ORDER = ["contract", "territory", "territory_alias", "territory_ref", "territory_link",
              "territory_geometry", "contract_territory", "node", "indicator", "indicator_node",
              "indicator_variable", "observation"]

COLUMN_TYPES = {
    "period_start": "INTEGER", "period_end": "INTEGER", "baseline_year": "INTEGER",
    "target_year": "INTEGER", "threshold_on_track": "DOUBLE PRECISION",
    "threshold_acceleration": "DOUBLE PRECISION", "population": "DOUBLE PRECISION",
    "population_year": "INTEGER", "rank": "INTEGER", "position": "INTEGER", "year": "INTEGER",
    "value": "DOUBLE PRECISION", "lon_min": "DOUBLE PRECISION",
    "lat_min": "DOUBLE PRECISION", "lon_max": "DOUBLE PRECISION",
    "lat_max": "DOUBLE PRECISION", "synthetic": "BOOLEAN",
}


def column_type(name: str) -> str:
    return COLUMN_TYPES.get(name, "VARCHAR")


def _entity_ddl(name: str, spec: dict) -> list[str]:
    cols = spec["keys"] + spec["values"]
    not_null = set(spec["keys"])
    lines = [
        f"{c} {column_type(c)}{' NOT NULL' if c in not_null else ''}" for c in cols
    ]
    lines += ["created_batch INTEGER NOT NULL", "superseded_batch INTEGER"]
    select = ", ".join(cols + ["created_batch"])
    return [
        f"CREATE TABLE IF NOT EXISTS {name}_v ({', '.join(lines)})",
        f"CREATE OR REPLACE VIEW {name} AS SELECT {select} FROM {name}_v "
        "WHERE superseded_batch IS NULL",
    ]


BATCH_DDL = """
CREATE TABLE IF NOT EXISTS batch (
    id INTEGER PRIMARY KEY,
    kind VARCHAR NOT NULL,          -- load | rollback | demo_remove
    file_name VARCHAR,
    sha256 VARCHAR,
    user_name VARCHAR,
    loaded_at TIMESTAMP NOT NULL,
    inserted INTEGER DEFAULT 0,
    updated INTEGER DEFAULT 0,
    unchanged INTEGER DEFAULT 0,
    is_demo BOOLEAN DEFAULT FALSE,
    target_batch INTEGER,           -- rollback: the batch it undid
    rolled_back_by INTEGER,         -- load: the rollback batch that undid it
    note VARCHAR
)
"""

# PostgreSQL only (see the module docstring): the keys of the current rows of each table.
PG_INDEXES = [
    f"CREATE INDEX IF NOT EXISTS {name}_v_current ON {name}_v "
    f"({', '.join(ENTITIES[name]['keys'])}) WHERE superseded_batch IS NULL"
    for name in LOAD_ORDER
] + [
    "CREATE INDEX IF NOT EXISTS observation_v_created ON observation_v (created_batch)",
    "CREATE INDEX IF NOT EXISTS observation_v_superseded ON observation_v (superseded_batch)",
    "CREATE INDEX IF NOT EXISTS observation_v_territory ON observation_v (territory_code) "
    "WHERE superseded_batch IS NULL",
]

SCHEMA_VERSION = 10  # 3: stored statuses (suivi/store/stored_status.py); 4: contours;
# 5: stored projections (columns of the stored statuses); 6: latest steps in a table of their
# own; 7: stored gaps (suivi/store/stored_gaps.py); 8: stored source counts; 9: stored
# status counts (suivi/store/stored_counts.py); 10: every step in one table, the latest
# copied (series_status_step instead of series_status_past)

# The territories a contract may hold values for: those it lists, their reference territories
# (commune, EPCI, département... from the register) and the QPVs of the previous generation
# its quartiers succeed. `via` says how (0 listed, 1 reference, 2 predecessor).
SCOPE_DDL = """
CREATE OR REPLACE VIEW contract_scope AS
SELECT contract_code, territory_code, min(via) AS via FROM (
    SELECT contract_code, territory_code, 0 AS via FROM contract_territory
    UNION ALL
    SELECT ct.contract_code, r.reference_code, 1 FROM contract_territory ct
    JOIN territory_ref r ON r.territory_code = ct.territory_code
    UNION ALL
    SELECT ct.contract_code, l.predecessor_code, 2 FROM contract_territory ct
    JOIN territory_link l ON l.territory_code = ct.territory_code
) s GROUP BY contract_code, territory_code
"""


def schema_version(s) -> int:
    """The version recorded in `meta` (0 for an empty database)."""
    has_meta = s.scalar("SELECT count(*) FROM information_schema.tables "
                        "WHERE table_schema = current_schema() AND table_name = 'meta'")
    if not has_meta:
        return 0
    value = s.scalar("SELECT value FROM meta WHERE key = 'schema_version'")
    return int(value) if value is not None else 0


def ensure_schema(s) -> None:
    """Create missing tables and views; safe to call on every session that writes, and cheap
    once the database is at the current version (one query instead of 25 DDL)."""
    version = schema_version(s)
    if version >= SCHEMA_VERSION:
        return
    s.execute(BATCH_DDL)
    s.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    for name in LOAD_ORDER:
        for stmt in _entity_ddl(name, ENTITIES[name]):
            s.execute(stmt)
    s.execute(SCOPE_DDL)
    from suivi.store import stored_status

    if version < 10:  # derived rows from before the latest derived table: computed again
        for table in (*stored_status.DERIVED, *stored_status.RETIRED):
            s.execute(f"DROP TABLE IF EXISTS {table}")
    had_statuses = s.scalar("SELECT count(*) FROM information_schema.tables WHERE "
                            "table_schema = current_schema() AND table_name = ?",
                            [stored_status.TABLE])
    for stmt in stored_status.DERIVED_DDL:
        s.execute(stmt)
    if s.dialect.name == "postgresql":
        for stmt in PG_INDEXES + stored_status.DERIVED_PG_INDEXES:
            s.execute(stmt)
    if not had_statuses:  # a database from before the stored statuses: compute them all
        stored_status.rebuild(s)
    s.execute("DELETE FROM meta WHERE key = 'schema_version'")
    s.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])


def upgrade(store) -> None:
    """Bring an existing store to the current schema (a database built by an earlier
    version gets its new tables, e.g. the stored statuses): under the write lock, in one
    transaction; one cheap query when it is current already."""
    with store.session() as s:
        if schema_version(s) >= SCHEMA_VERSION:
            return
    with store.write_lock(), store.session() as s, s.transaction():
        ensure_schema(s)
