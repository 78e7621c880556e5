"""Long-form export of every current observation, with labels, for CSV or xlsx."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

EXPORT_SQL = """
SELECT i.contract_code AS contrat, o.indicator_code AS indicateur, i.label AS indicateur_libelle,
       o.territory_code AS territoire, t.label AS territoire_libelle, o.year AS annee,
       o.nature, o.breakdown AS ventilation, o.modality AS modalite, o.value AS valeur,
       o.status AS statut, o.source, o.wording AS formulation, o.comment AS commentaire,
       o.created_batch AS lot
FROM observation o
JOIN indicator i ON i.code = o.indicator_code
LEFT JOIN territory t ON t.code = o.territory_code
WHERE ? IS NULL OR i.contract_code = ?
ORDER BY contrat, indicateur, territoire, annee, nature, ventilation, modalite
"""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula (CSV/xlsx injection)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            s = out[col].astype("string")
            risky = s.str.startswith(FORMULA_START).fillna(False)
            if risky.any():
                out[col] = s.mask(risky, "'" + s)
    return out


def export_frame(con, contract: str | None = None) -> pd.DataFrame:
    return con.execute(EXPORT_SQL, [contract, contract]).df()


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
