"""French formatting of numbers, percents and dates: `1 234,5`, `12,5 %`, `22/11/2026`.

The one place where a number becomes text for a user (pages, charts, reports, messages).
"""

from __future__ import annotations

import math
from datetime import date, datetime

NBSP = "\u202f"  # narrow no-break space, the French thousands separator

UNIT_SUFFIX = {"percent": " %", "eur": " €", "rate": " %"}


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or \
        (hasattr(value, "__class__") and value.__class__.__name__ == "NAType")


def number(value, decimals: int | None = None, trim: bool = False) -> str:
    """1234.5 -> '1 234,5' (narrow no-break space, decimal comma, typographic minus).

    decimals=None picks a precision for display (0 for whole numbers, else 1 or 2) and drops
    trailing zeros; with `decimals` the precision is fixed, unless `trim` drops trailing zeros.
    """
    if is_missing(value):
        return "–"
    value = float(value)
    if decimals is None:
        decimals = 0 if value == int(value) else (1 if abs(value) >= 100 else 2)
        trim = True
    text = f"{value:,.{decimals}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace(",", NBSP).replace(".", ",").replace("-", "\u2212")


def percent(value, decimals: int = 1) -> str:
    """12.5 -> '12,5 %' (the value is already in percent)."""
    if is_missing(value):
        return "–"
    return f"{number(value, decimals)}{NBSP}%"


def share(value, decimals: int = 1) -> str:
    """0.125 -> '12,5 %' (a ratio shown as percent, trailing zeros dropped)."""
    if is_missing(value):
        return "–"
    return f"{number(float(value) * 100, decimals, trim=True)}{NBSP}%"


def with_unit(value, unit: str | None) -> str:
    if is_missing(value):
        return "–"
    if unit in ("percent", "rate"):
        return percent(value)
    if unit == "eur":
        return f"{number(value)}{NBSP}€"
    return number(value)


def date_fr(value) -> str:
    if is_missing(value):
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


UNIT_AXIS = {"count": "nombre", "percent": "%", "rate": "%", "ratio": "ratio",
             "score": "score", "eur": "€"}


def unit_label(unit: str | None) -> str:
    return UNIT_AXIS.get(unit or "", unit or "")


def size_text(n_bytes: float) -> str:
    """1 572 864 -> '1,5 Mo' (French, one decimal below 10 Mo)."""
    mb = n_bytes / (1024 * 1024)
    return f"{number(mb, 1 if mb < 10 else 0, trim=True)} Mo"
