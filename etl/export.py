"""Writing a table to a file staff open: CSV as French Excel opens it, or xlsx."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from suivi.core.exports import neutralise_formulas


def write_table(df: pd.DataFrame, out: str | Path, sheet: str = "valeurs") -> Path:
    """CSV (UTF-8 with BOM, `;`, decimal comma: what French Excel opens) or xlsx."""
    out = Path(out)
    safe = neutralise_formulas(df)
    if out.suffix.lower() == ".xlsx":
        with pd.ExcelWriter(out, engine="openpyxl") as xw:
            safe.to_excel(xw, sheet_name=sheet, index=False)
    elif out.suffix.lower() == ".csv":
        safe.to_csv(out, index=False, sep=";", decimal=",", encoding="utf-8-sig")
    else:
        raise ValueError(f"Extension « {out.suffix} » non prise en charge : utilisez .csv ou .xlsx.")
    return out
