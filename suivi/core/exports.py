"""Tables handed to a spreadsheet: formula-like text neutralised, French CSV and xlsx bytes.

Every file the project writes for people (exports, downloads, the template, the bilan's data,
the Word report's cells) goes through `neutralise_formulas`: text a partner typed as
"=HYPERLINK(...)" must stay text in the staff's spreadsheet (CSV/xlsx injection).
"""

from __future__ import annotations

import io

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix with ' the text cells a spreadsheet would run as a formula."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            s = out[col].astype("string")
            risky = s.str.startswith(FORMULA_START).fillna(False)
            if risky.any():
                out[col] = s.mask(risky, "'" + s)
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV as French Excel opens it: `;`, decimal comma, UTF-8 with BOM; formulas neutralised."""
    text = neutralise_formulas(df).to_csv(index=False, sep=";", decimal=",")
    return text.encode("utf-8-sig")


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """One workbook, one sheet per table (numbers stay numbers); formulas neutralised."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as xw:
        for name, df in sheets.items():
            neutralise_formulas(df).to_excel(xw, sheet_name=name[:31], index=False)
    return buffer.getvalue()
