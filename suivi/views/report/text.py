"""How the report words a value, a gap, a status or a projection (French, suivi/core/fmt.py).

Kept apart from the document layout so that the tests and any later format (a PDF, an
OpenDocument file) word things the same way.
"""

from __future__ import annotations

from suivi.core import fmt
from suivi.core import progress as pg
from suivi.core import projection as pj


def value_text(value, unit, year=None, demo: bool = False) -> str:
    """« 47,5 % (2022, démo) »: the value, its year and the demonstration mark."""
    if fmt.is_missing(value):
        return "–"
    text = fmt.with_unit(value, unit)
    extra = [str(int(year))] if not fmt.is_missing(year) else []
    if demo:
        extra.append("démo")
    return f"{text} ({', '.join(extra)})" if extra else text


def gap_text(gap, unit, polarity) -> str:
    """The gap d × (Ref − QPV) in words: « en retard de 11,7 pt », « en avance de 2 pt »;
    a neutral indicator has an absolute difference, « écart de 3 pt »."""
    if fmt.is_missing(gap):
        return "–"
    points = " pt" if unit in ("percent", "rate") else ""
    size = f"{fmt.number(abs(gap), 1, trim=True)}{points}"
    if pg.polarity_sign(polarity) is None:
        return f"écart de {size}"
    if abs(gap) <= pg.TOLERANCE:
        return "aucun écart"
    return f"en retard de {size}" if gap > 0 else f"en avance de {size}"


def status_text(code) -> str:
    info = pg.STATUS_BY_CODE.get(code)
    return f"{info.icon} {info.label}" if info else "–"


def expected_cell(row: dict, unit) -> str:
    """Value expected at the target year from the SQL projection columns (as
    Projection.expected_text), or '–' when there is nothing to say."""
    if row.get("projection") in (None, "not_projectable", "achieved") \
            or fmt.is_missing(row.get("expected")) \
            or fmt.is_missing(row.get("last_year")) \
            or row["target_year"] <= row["last_year"]:
        return "–"
    half = row.get("half_band")
    band = None if fmt.is_missing(half) else (row["expected"] - half, row["expected"] + half)
    return pj.expected_text(row["expected"], band, int(row["target_year"]), unit)
