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


def number(value, decimals: int | None = None) -> str:
    """1234.5 -> '1 234,5'; decimals=None keeps up to 2 significant decimals, trims zeros."""
    if is_missing(value):
        return "–"
    value = float(value)
    if decimals is None:
        decimals = 0 if value == int(value) else (1 if abs(value) >= 100 else 2)
        text = f"{value:,.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        text = f"{value:,.{decimals}f}"
    return text.replace(",", NBSP).replace(".", ",")


def percent(value, decimals: int = 1) -> str:
    """12.5 -> '12,5 %' (the value is already in percent)."""
    if is_missing(value):
        return "–"
    return f"{number(value, decimals)}{NBSP}%"


def share(value, decimals: int = 0) -> str:
    """0.125 -> '12,5 %' (a ratio shown as percent)."""
    if is_missing(value):
        return "–"
    return percent(float(value) * 100, decimals)


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
