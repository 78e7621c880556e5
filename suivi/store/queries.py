"""Read queries the pages need, in one place: each takes a session and returns a DataFrame.

Every query is restricted to the selected contract, so a national database with thousands of
series answers as fast as a single contract. Pages never write SQL themselves.
"""

from __future__ import annotations

import pandas as pd

from suivi.core import progress as pg
from suivi.core.vocab import COMPARABLE_UNITS, MEASURABLE_UNITS, QUARTIER_KINDS, sql_list
from suivi.store import stored_counts, stored_status
from suivi.store.projection_sql import describe as describe_projections
from suivi.store.status_sql import gap_sql


def in_list(column: str, codes: list[str] | None) -> tuple[str, list]:
    """` AND column = ANY(?)` and its one parameter, the list; nothing when `codes` is None.

    One list parameter rather than `IN (?, ?…)`: DuckDB binds each `?` of a long list on its
    own (the Comparer's 150 indicators x 3 territories of a national contract: 32-72 ms with
    one `?` each, 15 ms with a list), and the statement's text no longer depends on the
    list's length. An empty list matches nothing, as `IN (NULL)` did."""
    if codes is None:
        return "", []
    return f" AND {column} = ANY(?)", [list(codes)]


def contracts(s) -> pd.DataFrame:
    return s.df("SELECT * FROM contract ORDER BY period_start DESC, code")


def contract(s, code: str) -> dict | None:
    df = s.df("SELECT * FROM contract WHERE code = ?", [code])
    return None if df.empty else df.iloc[0].to_dict()


# Quartiers first, then from the nearest to the widest level.
_TERRITORY_ORDER = """
        ORDER BY CASE t.kind WHEN 'qpv' THEN 0 WHEN 'quartier_veille' THEN 1
                 WHEN 'quartier_cucs' THEN 2 WHEN 'commune' THEN 3 WHEN 'epci' THEN 4
                 WHEN 'bassin_emploi' THEN 5 WHEN 'aire_urbaine' THEN 6
                 WHEN 'departement' THEN 7 WHEN 'academie' THEN 8 WHEN 'region' THEN 9
                 WHEN 'france' THEN 10 ELSE 11 END, t.label"""
_TERRITORY_COLUMNS = ("t.code, t.label, t.kind, t.geography, t.population, "
                      "t.population_year, t.source")


def territories(s, contract_code: str) -> pd.DataFrame:
    """The contract's territories (those it lists, their reference territories from the
    register and the 2015 QPVs its quartiers succeed: `via` 0, 1, 2), quartiers first, then
    from the nearest to the widest level."""
    return s.df(f"""
        SELECT {_TERRITORY_COLUMNS}, ct.via
        FROM contract_scope ct JOIN territory t ON t.code = ct.territory_code
        WHERE ct.contract_code = ?{_TERRITORY_ORDER}""", [contract_code])


def quartiers(s, contract_code: str) -> pd.DataFrame:
    """The quartiers the contract lists (not the predecessors of a 2024 QPV): the rows of
    `territories` with `via` 0 and a quartier's kind, read from the contract's own list
    (the sidebar asks on every first run after a change; the whole scope, the register's
    references included, cost PostgreSQL 0.06 s for a national contract)."""
    df = s.df(f"""
        SELECT {_TERRITORY_COLUMNS}, 0 AS via
        FROM contract_territory ct JOIN territory t ON t.code = ct.territory_code
        WHERE ct.contract_code = ? AND t.kind IN {sql_list(QUARTIER_KINDS)}{_TERRITORY_ORDER}""",
              [contract_code])
    # Numbers even when every quartier lacks them (psycopg gives a column of None).
    for column in ("population", "population_year"):
        df[column] = pd.to_numeric(df[column])
    return df


def predecessors(s, territory_codes) -> pd.DataFrame:
    """The 2015 QPVs each 2024 quartier succeeds (ANCT correspondence): shown as their own
    series, never merged with the quartier's."""
    codes = list(territory_codes)
    if not codes:
        return pd.DataFrame(columns=["territory_code", "code", "label", "geography", "status",
                                     "rank"])
    return s.df(f"""
        SELECT l.territory_code, t.code, t.label, t.geography, l.status, l.rank
        FROM territory_link l JOIN territory t ON t.code = l.predecessor_code
        WHERE l.territory_code IN ({', '.join('?' * len(codes))})
        ORDER BY l.territory_code, l.rank, t.code""", codes)


def references_of(s, territory_code: str) -> pd.DataFrame:
    """Reference territories of a quartier (commune, EPCI...), nearest first."""
    return s.df("""
        SELECT t.code, t.label, t.kind, r.rank FROM territory_ref r
        JOIN territory t ON t.code = r.reference_code
        WHERE r.territory_code = ? ORDER BY r.rank""", [territory_code])


def tree(s, contract_code: str) -> pd.DataFrame:
    """Nodes with their depth and path of ancestor codes (for grouping by pillar/priority).

    A contract's tree has a few hundred nodes: the walk from the roots is done here on one
    fetch rather than in a recursive query whose list types differ between engines."""
    nodes = s.df("""
        SELECT code, parent_code, level, category, label, position FROM node
        WHERE contract_code = ? ORDER BY position, code""", [contract_code])
    children: dict = {}
    for row in nodes.itertuples(index=False):
        key = None if pd.isna(row.parent_code) else row.parent_code
        children.setdefault(key, []).append(row)
    out, stack = [], [(row, [row.code]) for row in reversed(children.get(None, []))]
    while stack:  # depth-first, siblings in their printed order
        row, path = stack.pop()
        out.append({**row._asdict(), "depth": len(path), "path": path})
        stack += [(child, [*path, child.code]) for child in reversed(children.get(row.code, []))
                  if child.code not in path]
    columns = [*nodes.columns, "depth", "path"]
    return pd.DataFrame(out, columns=columns) if out else pd.DataFrame(columns=columns)


def indicators(s, contract_code: str) -> pd.DataFrame:
    """Catalogue: metadata, objectives measured, and what data each indicator has."""
    return s.df(f"""
        WITH links AS (
            SELECT indicator_code, string_agg(node_code, ' ; ' ORDER BY node_code) AS objectifs
            FROM indicator_node WHERE contract_code = ? GROUP BY indicator_code
        ), data AS ({stored_counts.INDICATOR_DATA_SQL})
        SELECT i.code, i.label, i.unit, i.polarity, i.type, i.definition, i.source,
               i.frequency, i.parent_code, i.breakdowns, i.note, l.objectifs,
               coalesce(d.has_baseline, false) AS has_baseline,
               coalesce(d.has_target, false) AS has_target, d.last_year,
               coalesce(d.has_demo, false) AS has_demo
        FROM indicator i LEFT JOIN links l ON l.indicator_code = i.code
        LEFT JOIN data d ON d.indicator_code = i.code
        WHERE i.contract_code = ? ORDER BY i.code""", [contract_code] * 3)


def indicator(s, code: str) -> dict | None:
    df = s.df("SELECT * FROM indicator WHERE code = ?", [code])
    return None if df.empty else df.iloc[0].to_dict()


def indicator_labels(s, codes) -> pd.DataFrame:
    """Code, label and unit of the given indicators (any contract: an upload may hold several)."""
    codes = list(codes)
    if not codes:
        return pd.DataFrame(columns=["code", "label", "unit"])
    return s.df(f"SELECT code, label, unit FROM indicator "
                f"WHERE code IN ({', '.join('?' * len(codes))})", codes)


def indicator_objectives(s, code: str) -> pd.DataFrame:
    return s.df("""
        SELECT n.code, n.level, n.label FROM indicator_node x
        JOIN node n ON n.contract_code = x.contract_code AND n.code = x.node_code
        WHERE x.indicator_code = ? ORDER BY n.code""", [code])


def series_status(s, contract_code: str, as_of: int | None = None) -> pd.DataFrame:
    """Status of every series of the contract as of `as_of` (the stored statuses, kept up to
    date by each write: suivi/store/stored_status.py), with labels, the objective it measures
    (first linked node) and the territory."""
    return _described(s, contract_code, as_of)


def projections(s, contract_code: str, as_of: int | None = None,
                territory_codes=None) -> pd.DataFrame:
    """The projection to its target year of every series of the contract as of `as_of` (kept
    up to date by each write with the statuses), among `territory_codes` when given: the
    series key, target_year, suivi.store.projection_sql.STORED_COLUMNS, then the French
    sentence and short text."""
    return describe_projections(stored_status.read_projections(s, contract_code, as_of,
                                                               territory_codes))


def status_overview(s, contract_code: str, as_of: int | None = None,
                    territory_codes=None) -> dict[str, pd.DataFrame]:
    """The contract's statuses (among `territory_codes` when given) as of `as_of`, counted
    by the engine (stored_status.overview), the reasons with their French text: what the
    pages' summaries and the bilan show, without reading the 270 000 series of a national
    contract."""
    out = stored_status.overview(s, contract_code, as_of, territory_codes)
    reasons = out["reason"]
    out["reason"] = reasons.assign(reason_text=reasons["reason"].map(pg.REASONS))
    return out


def _described(s, contract_code: str, as_of: int | None,
               territory_codes=None) -> pd.DataFrame:
    """The stored status rows with the objective measured (first linked node) and the
    territory and indicator labels, joined by the engine: pandas merges of a national
    contract's 270 000 rows took longer than the whole read."""
    sql, params = stored_status.read_sql(contract_code, as_of, territory_codes)
    return s.table_df(f"""
        SELECT q.*, n.node_code, t.label AS territory_label, t.kind AS territory_kind,
               i.label AS indicator_label
        FROM ({sql}) q
        LEFT JOIN (SELECT indicator_code, min(node_code) AS node_code FROM indicator_node
                   WHERE contract_code = ? GROUP BY indicator_code) n
               ON n.indicator_code = q.indicator_code
        LEFT JOIN (SELECT t.code, t.label, t.kind FROM contract_scope ct
                   JOIN territory t ON t.code = ct.territory_code
                   WHERE ct.contract_code = ?) t ON t.code = q.territory_code
        LEFT JOIN (SELECT code, label FROM indicator WHERE contract_code = ?) i
               ON i.code = q.indicator_code""", [*params, *[contract_code] * 3])


def observations(s, indicator_code: str, territory_codes: list[str] | None = None,
                 breakdown: str = "", modality: str = "") -> pd.DataFrame:
    """Current values of one indicator, one row per territory x year x nature."""
    where = "o.indicator_code = ? AND o.breakdown = ? AND o.modality = ?"
    params: list = [indicator_code, breakdown, modality]
    if territory_codes:
        where += f" AND o.territory_code IN ({', '.join('?' * len(territory_codes))})"
        params += list(territory_codes)
    return s.df(f"""
        SELECT o.territory_code, t.label AS territory_label, t.kind AS territory_kind,
               o.year, o.nature, o.value, o.status, o.source, o.wording, o.comment,
               o.created_batch
        FROM observation o LEFT JOIN territory t ON t.code = o.territory_code
        WHERE {where} ORDER BY o.territory_code, o.year, o.nature""", params)


def breakdowns(s, indicator_code: str) -> pd.DataFrame:
    return s.df("""
        SELECT DISTINCT breakdown, modality FROM observation WHERE indicator_code = ?
        ORDER BY breakdown, modality""", [indicator_code])


def values_for(s, contract_code: str, indicator_codes: list[str],
               territory_codes: list[str]) -> pd.DataFrame:
    """Actual values (totals) of several indicators x territories, for comparisons."""
    if not indicator_codes or not territory_codes:
        return pd.DataFrame(columns=["indicator_code", "indicator_label", "unit", "territory_code",
                                     "territory_label", "year", "value", "status"])
    indicators, p_i = in_list("o.indicator_code", indicator_codes)
    territories, p_t = in_list("o.territory_code", territory_codes)
    return s.df(f"""
        SELECT o.indicator_code, i.label AS indicator_label, i.unit, i.polarity,
               o.territory_code, t.label AS territory_label, t.kind AS territory_kind,
               o.year, o.value, o.status, o.source
        FROM observation o JOIN indicator i ON i.code = o.indicator_code
        JOIN territory t ON t.code = o.territory_code
        WHERE i.contract_code = ? AND o.nature = 'realise' AND o.breakdown = ''
          {indicators}{territories}
        ORDER BY o.indicator_code, o.territory_code, o.year""",
                       [contract_code, *p_i, *p_t])


def gaps(s, contract_code: str, quartier: str) -> pd.DataFrame:
    """Per comparable indicator and year: the quartier's value, each reference territory's
    value, the gap d * (Ref - QPV) in points and the ratio QPV / Ref."""
    return s.df(GAPS_SQL, {"c": contract_code, "q": quartier})


GAPS_SQL = """
        WITH q AS (
            SELECT o.indicator_code, o.year, o.value FROM observation o
            JOIN indicator i ON i.code = o.indicator_code
            WHERE i.contract_code = $c AND o.territory_code = $q AND o.nature = 'realise'
              AND o.breakdown = '' AND o.value IS NOT NULL
              AND i.unit IN UNITS
        ), refs AS (
            SELECT r.reference_code, r.rank, t.label FROM territory_ref r
            JOIN territory t ON t.code = r.reference_code WHERE r.territory_code = $q
        )
        SELECT q.indicator_code, i.label AS indicator_label, i.unit, i.polarity, q.year,
               q.value AS qpv_value, refs.reference_code, refs.label AS reference_label,
               refs.rank, o.value AS ref_value,
               GAP_EXPRESSION AS gap,
               CASE WHEN o.value <> 0 THEN q.value / o.value END AS ratio
        FROM q JOIN indicator i ON i.code = q.indicator_code
        JOIN observation o ON o.indicator_code = q.indicator_code AND o.year = q.year
             AND o.nature = 'realise' AND o.breakdown = '' AND o.value IS NOT NULL
        JOIN refs ON refs.reference_code = o.territory_code
        ORDER BY q.indicator_code, refs.rank, q.year""".replace(
    "GAP_EXPRESSION", gap_sql("i.polarity", "o.value", "q.value")).replace(
    "UNITS", sql_list(COMPARABLE_UNITS))


def last_upload(s) -> pd.Timestamp | None:
    rows = s.rows("SELECT max(loaded_at) FROM batch WHERE kind = 'load'")
    return rows[0][0] if rows else None


def has_demo(s, contract_code: str | None = None) -> bool:
    if contract_code is None:
        return bool(s.scalar("SELECT count(*) FROM observation WHERE status = 'demo'"))
    return stored_counts.has_demo(s, contract_code)


def value_history(s, indicator_code: str, territory_code: str | None = None,
                  territory_codes=None) -> pd.DataFrame:
    """Every version of an indicator's values (current or superseded) with its batch, file and
    date: suivi.store.history.value_history, reachable through the page cache (ui.query)."""
    from suivi.store.history import value_history as _value_history

    return _value_history(s, indicator_code, territory_code, territory_codes)


def contract_last_upload(s, contract_code: str) -> dict | None:
    """The latest batch whose rows are current in this contract (values, indicators, tree or
    the contract itself): its date, file and whether it holds demonstration values. A rolled
    back batch no longer counts, since its rows are superseded."""
    # The newest batch of each kind of row, the values' found from the newest down (an
    # index scan that stops at the first on PostgreSQL, where collecting the batch of every
    # value of a national contract took 0.36 s).
    rows = s.df("""
        WITH latest AS (
            SELECT (SELECT o.created_batch FROM observation o
                    WHERE o.indicator_code IN (SELECT code FROM indicator
                                               WHERE contract_code = $c)
                    ORDER BY o.created_batch DESC LIMIT 1) AS id
            UNION ALL SELECT max(created_batch) FROM indicator WHERE contract_code = $c
            UNION ALL SELECT max(created_batch) FROM node WHERE contract_code = $c
            UNION ALL SELECT max(created_batch) FROM contract WHERE code = $c
        )
        SELECT b.id, b.loaded_at, b.file_name, b.user_name, b.is_demo FROM batch b
        WHERE b.id = (SELECT max(id) FROM latest)""", {"c": contract_code})
    return None if rows.empty else rows.iloc[0].to_dict()


def series_status_for(s, contract_code: str, as_of: int | None,
                      territory_codes) -> pd.DataFrame:
    """series_status (same columns) for a few territories only: a quartier's pages need its
    series and its reference territories', not the whole contract."""
    return _described(s, contract_code, as_of, list(dict.fromkeys(territory_codes)))


_TEMPLATE_SQL = """
WITH ind AS (
    SELECT code, label, unit, coalesce(breakdowns, '') AS breakdowns FROM indicator
    WHERE contract_code = $contract AND unit IN {units}
), quartiers AS (
    SELECT t.code, t.label FROM contract_territory ct JOIN territory t ON t.code = ct.territory_code
    WHERE ct.contract_code = $contract AND t.kind IN {kinds}
), seen AS (
    SELECT DISTINCT indicator_code, territory_code, breakdown, modality FROM observation
    WHERE indicator_code IN (SELECT code FROM ind)
), combos AS (
    SELECT ind.code AS indicator_code, q.code AS territory_code, '' AS breakdown, '' AS modality
    FROM ind, quartiers q
    UNION
    SELECT ind.code, q.code, 'sexe', m.modality FROM ind, quartiers q,
        (VALUES ('F'), ('H')) m(modality)
    WHERE lower(ind.breakdowns) LIKE '%sexe%'
    UNION SELECT * FROM seen
), last AS (
    SELECT indicator_code, territory_code, breakdown, modality, value,
           row_number() OVER (PARTITION BY indicator_code, territory_code, breakdown, modality
                              ORDER BY year DESC) AS rk
    FROM observation WHERE nature = 'realise' AND year < CAST($year AS INTEGER)
)
SELECT c.indicator_code AS indicateur, c.territory_code AS territoire,
       CAST($year AS INTEGER) AS annee,
       'realise' AS nature, NULL AS valeur, c.breakdown AS ventilation, c.modality AS modalite,
       NULL AS statut, NULL AS source, NULL AS commentaire,
       ind.label AS indicateur_libelle, t.label AS territoire_libelle, ind.unit AS unite,
       l.value AS valeur_precedente
FROM combos c JOIN ind ON ind.code = c.indicator_code
JOIN territory t ON t.code = c.territory_code
LEFT JOIN last l ON l.rk = 1 AND l.indicator_code = c.indicator_code
    AND l.territory_code = c.territory_code AND l.breakdown = c.breakdown
    AND l.modality = c.modality
ORDER BY {order}
"""


def template_rows(s, contract: str, year: int) -> pd.DataFrame:
    """Every row the yearly template of a contract expects (measurable indicator x quartier,
    by sex where the indicator is broken down so, plus every series already seen), with the
    previous actual as help."""
    order = ", ".join(s.dialect.binary(c) for c in ("c.indicator_code", "c.territory_code",
                                                     "c.breakdown", "c.modality"))
    return s.df(_TEMPLATE_SQL.format(units=sql_list(MEASURABLE_UNITS),
                                     kinds=sql_list(QUARTIER_KINDS), order=order),
                {"contract": contract, "year": int(year)})


# --- Contours (maps) --------------------------------------------------------------------------

CONTOUR_COLUMNS = ["code", "label", "geometry", "synthetic", "source"]


def contours(s, contract_code: str) -> pd.DataFrame:
    """The contours of the quartiers the contract lists (GeoJSON text, simplified on load);
    quartiers without a contour are absent."""
    return s.df(f"""
        SELECT t.code, t.label, g.geometry, g.synthetic, g.source
        FROM contract_territory ct
        JOIN territory t ON t.code = ct.territory_code
        JOIN territory_geometry g ON g.territory_code = t.code
        WHERE ct.contract_code = ? AND t.kind IN {sql_list(QUARTIER_KINDS)}
        ORDER BY t.label, t.code""", [contract_code])


def contour_neighbours(s, territory_code: str, margin: float = 0.02) -> pd.DataFrame:
    """A quartier's contour and those of the quartiers near it (any contract): bounding boxes
    less than `margin` degrees apart (0.02° is about 2 km). `is_self` marks the quartier."""
    return s.df(f"""
        SELECT t.code, t.label, g.geometry, g.synthetic, g.source,
               t.code = me.territory_code AS is_self
        FROM territory_geometry me
        JOIN territory_geometry g
             ON g.lon_min <= me.lon_max + ? AND g.lon_max >= me.lon_min - ?
             AND g.lat_min <= me.lat_max + ? AND g.lat_max >= me.lat_min - ?
        JOIN territory t ON t.code = g.territory_code
        WHERE me.territory_code = ? AND t.kind IN {sql_list(QUARTIER_KINDS)}
        ORDER BY t.code <> me.territory_code, t.label, t.code""",
                [margin, margin, margin, margin, territory_code])
