"""Validation report: every problem located by sheet, Excel row, column and value.

Problems are gathered column-wise as small DataFrames (one per check) rather than one object
per cell, so a file with 200 000 bad cells is reported as fast as a file with one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

COLUMNS = ["gravite", "onglet", "ligne", "colonne", "valeur", "message"]
ERROR = "erreur"
WARNING = "avertissement"


@dataclass
class Report:
    parts: list[pd.DataFrame] = field(default_factory=list)
    info: list[str] = field(default_factory=list)
    # « Fichier « x.xlsx » reconnu : base QPV de l'Insee… ; 3 variable(s) reconnue(s), 2 ignorée(s) »
    headline: str = ""

    def add(self, severity: str, sheet, rows, column, values, messages) -> None:
        """Record problems for many cells at once. Every argument may be a scalar or a Series
        aligned on `rows`: a public file's rows come from several sheets and each value from
        its own source column."""
        frame = pd.DataFrame({"ligne": rows, "valeur": values, "message": messages})
        if frame.empty:
            return
        frame.insert(0, "gravite", severity)
        frame.insert(1, "onglet", sheet)
        frame.insert(3, "colonne", column)
        for col in ("onglet", "colonne"):
            frame[col] = frame[col].astype("string").fillna("").astype(object)
        frame["valeur"] = frame["valeur"].astype("string").fillna("")
        self.parts.append(frame[COLUMNS])

    def error(self, sheet, rows, column, values, messages) -> None:
        self.add(ERROR, sheet, rows, column, values, messages)

    def warning(self, sheet, rows, column, values, messages) -> None:
        self.add(WARNING, sheet, rows, column, values, messages)

    def file_error(self, message: str, sheet: str = "", column: str = "", row=None,
                   value: str = "") -> None:
        self.add(ERROR, sheet, [pd.NA if row is None else row], column, [value], [message])

    @property
    def table(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=COLUMNS)
        out = pd.concat(self.parts, ignore_index=True)
        out["ligne"] = out["ligne"].astype("Int64")
        order = out["gravite"].map({ERROR: 0, WARNING: 1})
        return out.assign(_o=order).sort_values(["_o", "onglet", "ligne"], kind="stable") \
            .drop(columns="_o").reset_index(drop=True)

    @property
    def n_errors(self) -> int:
        return int(sum((p["gravite"] == ERROR).sum() for p in self.parts))

    @property
    def n_warnings(self) -> int:
        return int(sum((p["gravite"] == WARNING).sum() for p in self.parts))

    @property
    def ok(self) -> bool:
        return self.n_errors == 0

    def render(self, limit: int = 200) -> str:
        """Plain-text report for the terminal, in French."""
        lines = [self.headline] if self.headline else []
        table = self.table
        for rec in table.head(limit).itertuples(index=False):
            where = ", ".join(
                p for p in [
                    f"onglet « {rec.onglet} »" if rec.onglet else "",
                    f"ligne {rec.ligne}" if pd.notna(rec.ligne) else "",
                    f"colonne « {rec.colonne} »" if rec.colonne else "",
                    f"valeur « {rec.valeur} »" if rec.valeur else "",
                ] if p
            )
            tag = "ERREUR" if rec.gravite == ERROR else "Avertissement"
            lines.append(f"{tag} : {where + ' : ' if where else ''}{rec.message}")
        if len(table) > limit:
            lines.append(f"… et {len(table) - limit} autres problèmes.")
        lines.extend(self.info)
        lines.append(
            f"{self.n_errors} erreur(s) bloquante(s), {self.n_warnings} avertissement(s)."
        )
        return "\n".join(lines)
