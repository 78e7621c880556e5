"""The SQL of the gaps of each quartier to its commune: one formula for the stored gaps
(suivi/store/stored_gaps.py) and the query from scratch that defines them
(suivi/store/reports.py, `quartier_gaps`)."""

from __future__ import annotations

from suivi.core.vocab import COMPARABLE_UNITS, QUARTIER_KINDS, sql_list
from suivi.store.status_sql import gap_sql

# The gaps of each quartier (of contract_territory `ct`) to its commune, else its nearest
# reference territory, per comparable indicator and year with both values: the one formula
# of the stored gaps (suivi/store/stored_gaps.py) and of `quartier_gaps`. The labels travel
# with the rows (no join back to the quartiers and indicators after the grouping):
# PostgreSQL misjudges these small sets and joined them by nested loops, which took half of
# its 3 s on a national contract.
_GAP_ROWS_SQL = """
WITH q AS (
    SELECT ct.contract_code, t.code, t.label
    FROM contract_territory ct JOIN territory t ON t.code = ct.territory_code
    WHERE t.kind IN {kinds}{where}
), ranked AS (  -- the commune of each quartier, else its nearest reference territory
    SELECT q.contract_code, r.territory_code AS quartier, q.label AS quartier_label,
           r.reference_code, rt.label AS reference_label,
           row_number() OVER (PARTITION BY q.contract_code, r.territory_code
                              ORDER BY CASE WHEN rt.kind = 'commune' THEN 0 ELSE 1 END,
                                       r.rank) AS rn
    FROM territory_ref r JOIN q ON q.code = r.territory_code
    JOIN territory rt ON rt.code = r.reference_code
), pairs AS (
    SELECT contract_code, quartier, quartier_label, reference_code, reference_label
    FROM ranked WHERE rn = 1
), ind AS (
    SELECT contract_code, code, label, unit, polarity
    FROM indicator WHERE unit IN {units}{ind_where}
), g AS (
    SELECT p.contract_code, p.quartier, p.quartier_label, p.reference_code,
           p.reference_label, o.indicator_code, ind.label AS indicator_label, ind.unit,
           o.year, o.value AS qpv_value, r.value AS ref_value, {gap} AS gap
    FROM pairs p
    JOIN observation o ON o.territory_code = p.quartier
    JOIN ind ON ind.code = o.indicator_code AND ind.contract_code = p.contract_code
    JOIN observation r ON r.territory_code = p.reference_code
     AND r.indicator_code = o.indicator_code AND r.year = o.year
    WHERE o.nature = 'realise' AND o.breakdown = '' AND o.modality = '' AND o.value IS NOT NULL
      AND NOT {o_nan}{years}
      AND r.nature = 'realise' AND r.breakdown = '' AND r.modality = '' AND r.value IS NOT NULL
      AND NOT {r_nan}
)"""


def gap_rows_sql(d, where: str = "", ind_where: str = "", years: str = "") -> str:
    """The CTEs ending in `g`: one row per (contract, quartier, indicator, year) with both
    values, among the quartiers of contract_territory `ct` matching `where`, the indicators
    matching `ind_where` and the actuals of quartiers matching `years` (`o`)."""
    return _GAP_ROWS_SQL.format(
        kinds=sql_list(QUARTIER_KINDS), units=sql_list(COMPARABLE_UNITS), where=where,
        ind_where=ind_where, years=years, gap=gap_sql("ind.polarity", "r.value", "o.value"),
        o_nan=d.is_nan("o.value"), r_nan=d.is_nan("r.value"))
