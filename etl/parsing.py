"""Column-wise parsing of cell values: French numbers, years, codes, empty cells.

The one place where a cell's text becomes a number. Every function takes a whole column and
returns the parsed column plus a mask of the cells that could not be read, so validation can
report each of them without a per-row Python loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Spaces used as thousands separators: normal, no-break, narrow no-break, thin.
_SPACES = r"[\s\u00a0\u202f\u2009]"


def as_text(col: pd.Series) -> pd.Series:
    """Cell contents as trimmed strings, with empty cells as <NA>.

    Numbers read from xlsx arrive as floats: 2019.0 becomes '2019', not '2019.0'.
    """
    s = col.astype("object")
    is_float = s.map(lambda v: isinstance(v, float)) if len(s) else s.astype(bool)
    if is_float.any():
        floats = s[is_float].astype(float)
        integral = np.isfinite(floats) & (floats == np.floor(floats))
        formatted = floats.astype(str)
        formatted[integral] = floats[integral].astype("int64").astype(str)
        s = s.copy()
        s[is_float] = formatted
    out = s.astype("string").str.strip()
    return out.mask(out.isin(["", "nan", "NaN", "None", "<NA>"]))


def parse_numbers(col: pd.Series) -> tuple[pd.Series, pd.Series]:
    """French or English numbers -> float. Returns (values, bad) where bad marks unreadable text.

    Accepted: 12,5  12.5  12,5 %  1 234  1 234,5  -3  +2  1.234,5 (dotted thousands).
    Empty cells are missing (NaN), never 0.
    """
    text = as_text(col)
    numeric = pd.to_numeric(col.where(col.map(lambda v: isinstance(v, (int, float)))
                                      if len(col) else col), errors="coerce")
    t = text.str.replace(_SPACES, "", regex=True).str.rstrip("%").str.replace("\u2212", "-")
    # 1.234,5 -> 1234,5 (a dot followed by 3 digits, then a comma, is a thousands separator)
    t = t.str.replace(r"\.(?=\d{3}(?:,|$))(?=.*,)", "", regex=True)
    t = t.str.replace(",", ".", regex=False)
    parsed = pd.to_numeric(t, errors="coerce")
    values = numeric.where(numeric.notna(), parsed).astype("float64")
    bad = text.notna() & values.isna()
    return values, bad.fillna(False).astype(bool)


def parse_years(col: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole years as Int64; bad marks text or fractional numbers."""
    values, bad = parse_numbers(col)
    fractional = values.notna() & (values != np.floor(values))
    years = values.where(~fractional).round().astype("Int64")
    return years, (bad | fractional)


def percent_sign(col: pd.Series) -> pd.Series:
    """Cells written with a % sign (a hint that a count column holds a percent)."""
    return as_text(col).str.endswith("%").fillna(False).astype(bool)
