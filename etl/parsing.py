"""Column-wise parsing of cell values: French numbers, years, codes, empty cells.

The one place where a cell's text becomes a number. Every function takes a whole column and
returns the parsed column plus a mask of the cells that could not be read, so validation can
report each of them without a per-row Python loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

# Spaces used as thousands separators: normal, no-break, narrow no-break, thin. Written as
# the characters themselves, and digits as [0-9] below: `\s`, `\d` or a `\u` escape make
# pandas run the regex in Python, once per cell, instead of in Arrow's RE2.
_SPACES = "[ \t\n\r\x0b\x0c\u00a0\u202f\u2009]"


def as_text(col: pd.Series) -> pd.Series:
    """Cell contents as trimmed strings, with empty cells as <NA>.

    Numbers read from xlsx arrive as floats: 2019.0 becomes '2019', not '2019.0'. Everything
    runs in Arrow's string kernels, never one Python call per cell. A categorical column (codes
    repeated over a national file) is trimmed once per category and stays categorical, with
    "" among its categories so that `.fillna("")` works as on text. A categorical column of
    mostly distinct values (the register's codes and names) becomes plain text: string
    methods on a categorical run in Python, once per row.
    """
    if col.dtype == object and len(col) and col.isna().all():
        # An optional column the sheet lacks (filled with None): 60 ms per 500 000 rows to
        # convert cell by cell, for nothing.
        return pd.Series(pd.array(pa.nulls(len(col), pa.large_string()), dtype="string"),
                         index=col.index)
    if isinstance(col.dtype, pd.CategoricalDtype) and len(col.cat.categories) * 2 > len(col):
        col = col.astype("string")
    if isinstance(col.dtype, pd.CategoricalDtype):
        text = as_text(pd.Series(col.cat.categories, dtype=object))
        inverse, categories = pd.factorize(text, use_na_sentinel=True)
        categories = pd.Index(categories, dtype=object)
        if "" not in categories:
            categories = categories.append(pd.Index([""], dtype=object))
        codes = col.cat.codes.to_numpy()
        mapped = np.where(codes >= 0, np.append(inverse, -1)[codes], -1)
        return pd.Series(pd.Categorical.from_codes(mapped, categories=categories),
                         index=col.index)
    out = col.astype("string").str.strip()
    whole = out.str.fullmatch(r"[+-]?[0-9]+\.0+").fillna(False)
    if whole.any():
        out = out.mask(whole, out.str.replace(r"\.0+$", "", regex=True))
    return out.mask(out.isin(["", "nan", "NaN", "None", "<NA>"]))


def map_unique(values: pd.Series, func) -> pd.Series:
    """Apply a Python function once per distinct value (codes repeat a lot), not per row."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([func(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index)


def distinct(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each row's position among the distinct values (-1 for missing), and those values: a
    categorical column already holds them."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), values.cat.categories
    return pd.factorize(values, use_na_sentinel=True)


def radix_ids(frame: pd.DataFrame, columns: list[str], limit: int = 2**31) -> np.ndarray:
    """One integer per row, equal for rows equal on `columns` (a missing cell equal to a
    missing cell, as pandas' duplicated() has it): the columns' codes combined in a mixed
    radix, renumbered densely only when the product would pass `limit`. Not dense: to sort
    and compare rows (a national file's checks), where numbering them (`key_ids`) took a
    hash table of 3 million keys, 100-200 MB at the peak of the national init."""
    ids, size = np.zeros(len(frame), dtype=np.int64), 1
    for col in columns:  # in place: each temporary is 24 MB for a national file
        codes, uniques = distinct(frame[col])
        radix = len(uniques) + 1
        if size * radix > limit:
            ids, size = _dense(ids)
        ids *= radix
        ids += codes
        ids += 1
        del codes
        size *= radix
    return ids


def key_ids(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """`radix_ids` numbered 0, 1, 2... in order of first appearance: no tuple, no hash of
    text per row."""
    return dense_ids(radix_ids(frame, columns))


def dense_ids(ids: np.ndarray) -> np.ndarray:
    """Integer keys renumbered 0, 1, 2... in order of first appearance."""
    return _dense(ids)[0]


def repeats(ids: np.ndarray) -> bool:
    """Whether any key appears twice: a sort, no hash table (usually, none does)."""
    ordered = np.sort(ids)
    return bool((ordered[1:] == ordered[:-1]).any())


def first_appearance(ids: np.ndarray) -> np.ndarray:
    """The rows that are the first of their `key_ids` (drop_duplicates' keep="first"): ids
    are numbered in order of first appearance, so a first is above every id before it."""
    return ids > np.concatenate([[-1], np.maximum.accumulate(ids)[:-1]])


def _dense(ids: np.ndarray) -> tuple[np.ndarray, int]:
    codes, kept = pd.factorize(ids)
    return codes.astype(np.int64, copy=False), len(kept)


def map_values(values: pd.Series, mapping: pd.Series) -> pd.Series:
    """`values.map(mapping)` looked up once per distinct value: on Arrow strings pandas
    casts the result back element by element, seconds on a national file."""
    positions, uniques = distinct(values)
    looked_up = pd.Series(uniques, dtype=object).map(mapping)
    if looked_up.empty:
        return pd.Series(pd.NA, index=values.index, dtype=object)
    out = looked_up.take(np.maximum(positions, 0)).where(positions >= 0)
    return out.set_axis(values.index)


def map_categories(values: pd.Series, mapping: pd.Series) -> pd.Series:
    """`values.map(mapping)` as a categorical, looked up once per distinct value: no array
    of one object per row (24 MB, and its hashing, for a national file's 3 million rows)."""
    positions, uniques = distinct(values)
    codes, mapped = pd.factorize(pd.Series(uniques, dtype=object).map(mapping),
                                 use_na_sentinel=True)
    return pd.Series(pd.Categorical.from_codes(np.append(codes, -1)[positions],
                                               categories=pd.Index(mapped, dtype=object)),
                     index=values.index)


def isin(values: pd.Series, codes: set) -> pd.Series:
    """`values.isin(codes)` for a large set (the register's 36 000 codes): pandas walks the
    whole set in Python on every call for Arrow strings. Here a few distinct values are
    looked up in the set one by one; many are matched against a hash table of the set, in C."""
    positions, uniques = distinct(values)
    if len(uniques) * 8 < len(codes):
        hit = np.fromiter((u in codes for u in uniques.tolist()), dtype=bool,
                          count=len(uniques))
    else:
        hit = pd.Index(uniques, dtype=object).isin(list(codes))
    return pd.Series(np.append(hit, False)[positions], index=values.index)


def pair_isin(left: pd.Series, right: pd.Series, pairs: set) -> np.ndarray:
    """Whether each (left, right) row is in `pairs` (a missing side never is), judged once
    per distinct pair (`key_ids`): no tuple is built per row."""
    both = pd.DataFrame({"left": left.reset_index(drop=True),
                         "right": right.reset_index(drop=True)})
    ids = key_ids(both, ["left", "right"])
    firsts = both.iloc[np.flatnonzero(first_appearance(ids))]  # one row per id, in id order
    hit = np.fromiter((not (pd.isna(a) or pd.isna(b)) and (a, b) in pairs
                       for a, b in zip(firsts["left"], firsts["right"])),
                      dtype=bool, count=len(firsts))
    return hit[ids]


def parse_numbers(col: pd.Series) -> tuple[pd.Series, pd.Series]:
    """French or English numbers -> float. Returns (values, bad) where bad marks unreadable text.

    Accepted: 12,5  12.5  12,5 %  1 234  1 234,5  -3  +2  1.234,5 (dotted thousands).
    Empty cells are missing (NaN), never 0. Cells that are already numbers (or plain digits)
    convert in one vectorised pass; only the remaining text goes through the French rules.
    """
    values = pd.to_numeric(col, errors="coerce").astype("float64")
    rest = values.isna() & col.notna()
    bad = pd.Series(False, index=col.index)
    if rest.any():
        text = as_text(col[rest])
        t = text.str.replace(_SPACES, "", regex=True).str.rstrip("%").str.replace("\u2212", "-")
        # 1.234,5 -> 1234.5: with a decimal comma, dots can only be thousands separators.
        comma = t.str.contains(",", regex=False).fillna(False)
        t = t.mask(comma, t.str.replace(".", "", regex=False)).str.replace(",", ".", regex=False)
        parsed = pd.to_numeric(t, errors="coerce").astype("float64")
        values[rest] = parsed
        bad[rest] = (text.notna() & parsed.isna()).fillna(False).astype(bool)
    infinite = values.notna() & ~np.isfinite(values)  # "inf" is text, not a figure
    if infinite.any():
        values[infinite] = np.nan
        bad |= infinite
    return values, bad


def parse_years(col: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole years as Int64; bad marks text or fractional numbers."""
    values, bad = parse_numbers(col)
    fractional = values.notna() & (values != np.floor(values))
    years = values.where(~fractional).round().astype("Int64")
    return years, (bad | fractional)


def percent_sign(col: pd.Series) -> pd.Series:
    """Cells written with a % sign (a hint that a count column holds a percent)."""
    return as_text(col).str.endswith("%").fillna(False).astype(bool)
