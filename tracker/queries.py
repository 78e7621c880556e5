"""Read queries the pages need, in one place: each takes a connection and returns a DataFrame.

Every query is restricted to the selected contract, so a national database with thousands of
series answers as fast as a single contract. Pages never write SQL themselves.
"""

from __future__ import annotations

import pandas as pd

from tracker import progress as pg
from tracker.status_sql import fetch_series_status, gap_sql

QUARTIER_KINDS = ("qpv", "quartier_veille", "quartier_cucs")
COMPARABLE_UNITS = ("percent", "rate", "ratio", "score")


def contracts(con) -> pd.DataFrame:
    return con.sql("SELECT * FROM contract ORDER BY period_start DESC, code").df()


def contract(con, code: str) -> dict | None:
    df = con.execute("SELECT * FROM contract WHERE code = ?", [code]).df()
    return None if df.empty else df.iloc[0].to_dict()


def territories(con, contract_code: str) -> pd.DataFrame:
    """The contract's territories (those it lists, their reference territories from the
    register and the 2015 QPVs its quartiers succeed: `via` 0, 1, 2), quartiers first, then
    from the nearest to the widest level."""
    return con.execute("""
        SELECT t.code, t.label, t.kind, t.geography, t.population, t.population_year, t.source,
               ct.via
        FROM contract_scope ct JOIN territory t ON t.code = ct.territory_code
        WHERE ct.contract_code = ?
        ORDER BY CASE t.kind WHEN 'qpv' THEN 0 WHEN 'quartier_veille' THEN 1
                 WHEN 'quartier_cucs' THEN 2 WHEN 'commune' THEN 3 WHEN 'epci' THEN 4
                 WHEN 'bassin_emploi' THEN 5 WHEN 'aire_urbaine' THEN 6
                 WHEN 'departement' THEN 7 WHEN 'academie' THEN 8 WHEN 'region' THEN 9
                 WHEN 'france' THEN 10 ELSE 11 END, t.label""", [contract_code]).df()


def quartiers(con, contract_code: str) -> pd.DataFrame:
    """The quartiers the contract lists (not the predecessors of a 2024 QPV)."""
    df = territories(con, contract_code)
    return df[df["kind"].isin(QUARTIER_KINDS) & (df["via"] == 0)].reset_index(drop=True)


def predecessors(con, territory_codes) -> pd.DataFrame:
    """The 2015 QPVs each 2024 quartier succeeds (ANCT correspondence): shown as their own
    series, never merged with the quartier's."""
    codes = list(territory_codes)
    if not codes:
        return pd.DataFrame(columns=["territory_code", "code", "label", "geography", "status",
                                     "rank"])
    return con.execute(f"""
        SELECT l.territory_code, t.code, t.label, t.geography, l.status, l.rank
        FROM territory_link l JOIN territory t ON t.code = l.predecessor_code
        WHERE l.territory_code IN ({', '.join('?' * len(codes))})
        ORDER BY l.territory_code, l.rank, t.code""", codes).df()


def references_of(con, territory_code: str) -> pd.DataFrame:
    """Reference territories of a quartier (commune, EPCI...), nearest first."""
    return con.execute("""
        SELECT t.code, t.label, t.kind, r.rank FROM territory_ref r
        JOIN territory t ON t.code = r.reference_code
        WHERE r.territory_code = ? ORDER BY r.rank""", [territory_code]).df()


def tree(con, contract_code: str) -> pd.DataFrame:
    """Nodes with their depth and path of ancestor codes (for grouping by pillar/priority)."""
    return con.execute("""
        WITH RECURSIVE walk AS (
            SELECT code, parent_code, level, category, label, position, 1 AS depth,
                   [code] AS path
            FROM node WHERE contract_code = $c AND parent_code IS NULL
            UNION ALL
            SELECT n.code, n.parent_code, n.level, n.category, n.label, n.position,
                   w.depth + 1, list_append(w.path, n.code)
            FROM node n JOIN walk w ON n.parent_code = w.code
            WHERE n.contract_code = $c
        )
        SELECT * FROM walk ORDER BY path""", {"c": contract_code}).df()


def indicators(con, contract_code: str) -> pd.DataFrame:
    """Catalogue: metadata, objectives measured, and what data each indicator has."""
    return con.execute("""
        WITH links AS (
            SELECT indicator_code, string_agg(node_code, ' ; ' ORDER BY node_code) AS objectifs
            FROM indicator_node WHERE contract_code = $c GROUP BY indicator_code
        ), data AS (
            SELECT o.indicator_code,
                   bool_or(nature = 'reference' AND value IS NOT NULL) AS has_baseline,
                   bool_or(nature = 'cible' AND value IS NOT NULL) AS has_target,
                   max(year) FILTER (WHERE nature = 'realise' AND value IS NOT NULL) AS last_year,
                   count(*) FILTER (WHERE nature = 'realise') AS n_actuals,
                   bool_or(status = 'demo') AS has_demo
            FROM observation o JOIN indicator i ON i.code = o.indicator_code
            WHERE i.contract_code = $c GROUP BY o.indicator_code
        )
        SELECT i.code, i.label, i.unit, i.polarity, i.type, i.definition, i.source,
               i.frequency, i.parent_code, i.breakdowns, i.note, l.objectifs,
               coalesce(d.has_baseline, false) AS has_baseline,
               coalesce(d.has_target, false) AS has_target, d.last_year,
               coalesce(d.n_actuals, 0) AS n_actuals, coalesce(d.has_demo, false) AS has_demo
        FROM indicator i LEFT JOIN links l ON l.indicator_code = i.code
        LEFT JOIN data d ON d.indicator_code = i.code
        WHERE i.contract_code = $c ORDER BY i.code""", {"c": contract_code}).df()


def indicator(con, code: str) -> dict | None:
    df = con.execute("SELECT * FROM indicator WHERE code = ?", [code]).df()
    return None if df.empty else df.iloc[0].to_dict()


def indicator_objectives(con, code: str) -> pd.DataFrame:
    return con.execute("""
        SELECT n.code, n.level, n.label FROM indicator_node x
        JOIN node n ON n.contract_code = x.contract_code AND n.code = x.node_code
        WHERE x.indicator_code = ? ORDER BY n.code""", [code]).df()


def series_status(con, contract_code: str, as_of: int | None = None) -> pd.DataFrame:
    """Status of every series of the contract (SQL form of progress.assess), with labels,
    the objective it measures (first linked node) and the territory."""
    st = fetch_series_status(con, contract_code, as_of=as_of)
    if st.empty:
        return st
    return _describe_series(con, contract_code, st)


def _describe_series(con, contract_code: str, st: pd.DataFrame,
                     territory_codes: list | None = None) -> pd.DataFrame:
    """Add to status rows the objective measured, the territory and indicator labels and
    whether the series holds demonstration values (restricted to `territory_codes`)."""
    links = con.execute("""
        SELECT indicator_code, min(node_code) AS node_code FROM indicator_node
        WHERE contract_code = ? GROUP BY indicator_code""", [contract_code]).df()
    terr = territories(con, contract_code)[["code", "label", "kind"]].rename(
        columns={"code": "territory_code", "label": "territory_label", "kind": "territory_kind"})
    ind = con.execute("SELECT code AS indicator_code, label AS indicator_label FROM indicator "
                      "WHERE contract_code = ?", [contract_code]).df()
    where, params = "i.contract_code = ?", [contract_code]
    if territory_codes is not None:
        where += f" AND o.territory_code IN ({', '.join('?' * len(territory_codes)) or 'NULL'})"
        params += list(territory_codes)
    demo = con.execute(f"""
        SELECT indicator_code, territory_code, breakdown, modality, bool_or(status = 'demo') AS demo
        FROM observation o JOIN indicator i ON i.code = o.indicator_code
        WHERE {where} GROUP BY ALL""", params).df()
    return st.merge(links, on="indicator_code", how="left") \
        .merge(terr, on="territory_code", how="left") \
        .merge(ind, on="indicator_code", how="left") \
        .merge(demo, on=["indicator_code", "territory_code", "breakdown", "modality"], how="left")


def status_counts(statuses: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """Series per status for each group (rows) in the fixed status order (columns)."""
    order = [s.code for s in pg.STATUSES]
    if statuses.empty:
        return pd.DataFrame(columns=order)
    table = statuses.pivot_table(index=by, columns="status", values="indicator_code",
                                 aggfunc="count", fill_value=0)
    return table.reindex(columns=order, fill_value=0)


def roll_up(statuses: pd.DataFrame, nodes: pd.DataFrame, depth: int) -> pd.DataFrame:
    """Attach to each series the ancestor node at `depth` (1 = pillar, 2 = priority...)."""
    if statuses.empty or nodes.empty:
        return statuses.assign(group_code=pd.NA, group_label=pd.NA)
    ancestor = {row.code: (row.path[depth - 1] if len(row.path) >= depth else None)
                for row in nodes.itertuples()}
    labels = dict(zip(nodes["code"], nodes["label"]))
    group = statuses["node_code"].map(ancestor)
    return statuses.assign(group_code=group, group_label=group.map(labels))


def observations(con, indicator_code: str, territory_codes: list[str] | None = None,
                 breakdown: str = "", modality: str = "") -> pd.DataFrame:
    """Current values of one indicator, one row per territory x year x nature."""
    where = "o.indicator_code = ? AND o.breakdown = ? AND o.modality = ?"
    params: list = [indicator_code, breakdown, modality]
    if territory_codes:
        where += f" AND o.territory_code IN ({', '.join('?' * len(territory_codes))})"
        params += list(territory_codes)
    return con.execute(f"""
        SELECT o.territory_code, t.label AS territory_label, t.kind AS territory_kind,
               o.year, o.nature, o.value, o.status, o.source, o.wording, o.comment,
               o.created_batch
        FROM observation o LEFT JOIN territory t ON t.code = o.territory_code
        WHERE {where} ORDER BY o.territory_code, o.year, o.nature""", params).df()


def breakdowns(con, indicator_code: str) -> pd.DataFrame:
    return con.execute("""
        SELECT DISTINCT breakdown, modality FROM observation WHERE indicator_code = ?
        ORDER BY breakdown, modality""", [indicator_code]).df()


def values_for(con, contract_code: str, indicator_codes: list[str],
               territory_codes: list[str]) -> pd.DataFrame:
    """Actual values (totals) of several indicators x territories, for comparisons."""
    if not indicator_codes or not territory_codes:
        return pd.DataFrame(columns=["indicator_code", "indicator_label", "unit", "territory_code",
                                     "territory_label", "year", "value", "status"])
    ph_i = ", ".join("?" * len(indicator_codes))
    ph_t = ", ".join("?" * len(territory_codes))
    return con.execute(f"""
        SELECT o.indicator_code, i.label AS indicator_label, i.unit, i.polarity,
               o.territory_code, t.label AS territory_label, t.kind AS territory_kind,
               o.year, o.value, o.status, o.source
        FROM observation o JOIN indicator i ON i.code = o.indicator_code
        JOIN territory t ON t.code = o.territory_code
        WHERE i.contract_code = ? AND o.nature = 'realise' AND o.breakdown = ''
          AND o.indicator_code IN ({ph_i}) AND o.territory_code IN ({ph_t})
        ORDER BY o.indicator_code, o.territory_code, o.year""",
                       [contract_code, *indicator_codes, *territory_codes]).df()


def gaps(con, contract_code: str, quartier: str) -> pd.DataFrame:
    """Per comparable indicator and year: the quartier's value, each reference territory's
    value, the gap d * (Ref - QPV) in points and the ratio QPV / Ref."""
    return con.execute(GAPS_SQL, {"c": contract_code, "q": quartier}).df()


GAPS_SQL = """
        WITH q AS (
            SELECT o.indicator_code, o.year, o.value FROM observation o
            JOIN indicator i ON i.code = o.indicator_code
            WHERE i.contract_code = $c AND o.territory_code = $q AND o.nature = 'realise'
              AND o.breakdown = '' AND o.value IS NOT NULL
              AND i.unit IN ('percent', 'rate', 'ratio', 'score')
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
    "GAP_EXPRESSION", gap_sql("i.polarity", "o.value", "q.value"))


def last_upload(con) -> pd.Timestamp | None:
    rows = con.sql("SELECT max(loaded_at) FROM batch WHERE kind = 'load'").fetchall()
    return rows[0][0] if rows else None


def data_version(con) -> tuple:
    """Changes whenever a batch is loaded, rolled back or demo values removed."""
    return tuple(con.sql("SELECT count(*), coalesce(max(id), 0) FROM batch").fetchall()[0])


def has_demo(con, contract_code: str | None = None) -> bool:
    rows = con.execute("""
        SELECT count(*) FROM observation o JOIN indicator i ON i.code = o.indicator_code
        WHERE o.status = 'demo' AND (? IS NULL OR i.contract_code = ?)""",
                       [contract_code, contract_code]).fetchall()
    return rows[0][0] > 0


def value_history(con, indicator_code: str, territory_code: str | None = None) -> pd.DataFrame:
    """Every version of an indicator's values (current or superseded) with its batch, file and
    date: etl.history.value_history, reachable through the page cache (ui.query)."""
    from etl.history import value_history as _value_history

    return _value_history(con, indicator_code, territory_code)


def contract_last_upload(con, contract_code: str) -> dict | None:
    """The latest batch whose rows are current in this contract (values, indicators, tree or
    the contract itself): its date, file and whether it holds demonstration values. A rolled
    back batch no longer counts, since its rows are superseded."""
    rows = con.execute("""
        WITH ids AS (
            SELECT DISTINCT o.created_batch AS id FROM observation o
            JOIN indicator i ON i.code = o.indicator_code WHERE i.contract_code = $c
            UNION SELECT created_batch FROM indicator WHERE contract_code = $c
            UNION SELECT created_batch FROM node WHERE contract_code = $c
            UNION SELECT created_batch FROM contract WHERE code = $c
        )
        SELECT b.id, b.loaded_at, b.file_name, b.user_name, b.is_demo FROM batch b
        WHERE b.id IN (SELECT id FROM ids) ORDER BY b.id DESC LIMIT 1""",
                       {"c": contract_code}).df()
    return None if rows.empty else rows.iloc[0].to_dict()


def series_status_for(con, contract_code: str, as_of: int | None,
                      territory_codes) -> pd.DataFrame:
    """series_status (same columns) for a few territories only: a quartier's pages need its
    series and its reference territories', not the whole contract. One status query per
    territory, because DuckDB pushes an equality filter below the status SQL but not an IN
    list: about 0,1 s a territory on the national benchmark, against 10 s for the contract."""
    from tracker.status_sql import series_status_sql

    codes = list(dict.fromkeys(territory_codes))
    sql, params = series_status_sql(contract_code, as_of)
    parts = [con.execute(f"SELECT * FROM ({sql}) WHERE territory_code = ?",
                         [*params, code]).df() for code in codes]
    found = [p for p in parts if len(p)]
    st = pd.concat(found, ignore_index=True) if found else \
        con.execute(f"SELECT * FROM ({sql}) WHERE false", params).df()
    return _describe_series(con, contract_code, st, codes)
