"""The status of every series, two ways: one SQL query vs `suivi.core.progress.assess` per series.

The Python side is the honest alternative a page would otherwise write, not a straw man: one
query fetches every observation already sorted by series (with polarity and the contract's
thresholds), a single pass cuts the groups on key changes (no pandas groupby per series), and
each group goes through `pick_series_inputs(...).assess(...)`, the reference implementation
the SQL transcribes. Both sides return the status of every series, and the benchmark checks
that they agree on the count of each status.
"""

from __future__ import annotations

from collections import Counter

from suivi.core.progress import Thresholds
from suivi.store.status_sql import SERIES_KEY, fetch_series_status, pick_series_inputs

_KEY = ", ".join(f"o.{k}" for k in SERIES_KEY)


def sql_statuses(s) -> Counter:
    """Every series' status in one query (either engine); returns the count per status."""
    df = fetch_series_status(s)
    return Counter(df["status"].tolist())


def python_statuses(s) -> Counter:
    """Every series' status through `assess`, one Python call per series."""
    rows = s.rows(f"""
        SELECT {_KEY}, o.year, o.nature, o.value, i.polarity,
               c.threshold_on_track, c.threshold_acceleration
        FROM observation o
        JOIN indicator i ON i.code = o.indicator_code
        LEFT JOIN contract c ON c.code = i.contract_code
        ORDER BY {_KEY}""")
    thresholds: dict[tuple, Thresholds] = {}
    counts: Counter = Counter()
    start = 0
    n = len(rows)
    for end in range(1, n + 1):
        if end < n and rows[end][:4] == rows[start][:4]:
            continue
        group = rows[start:end]
        first = group[0]
        th_key = (first[8], first[9])
        if th_key not in thresholds:
            thresholds[th_key] = Thresholds.from_contract(*th_key)
        inputs = pick_series_inputs([(r[4], r[5], r[6]) for r in group])
        counts[inputs.assess(first[7], thresholds[th_key]).status] += 1
        start = end
    return counts
