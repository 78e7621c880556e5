"""Pre-filled `valeurs` workbook for one contract and year: what staff fill in each year.

Every row the contract expects (measurable indicator x territory x breakdown) is listed with
empty values; code columns only accept the contract's codes (drop-down lists), so the file
comes back loadable. Help columns (labels, unit, last value) are ignored by the loader.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from etl.checks import HELP_COLUMNS  # noqa: E402  (one list, shared with validation)
from suivi.core.exports import neutralise_formulas
from suivi.core.vocab import LABELS, labelled
from suivi.store import queries

COLUMNS = ["indicateur", "territoire", "annee", "nature", "valeur", "ventilation", "modalite",
           "statut", "source", "commentaire", *HELP_COLUMNS]

README = [
    "Modèle de saisie annuelle – Suivi QPV",
    "",
    "1. Remplissez la colonne « valeur » de l'onglet « valeurs » (nombres : 12,5 ou 1 234 ; "
    "pourcentages : 12,5).",
    "2. Laissez vide une valeur inconnue : une cellule vide n'est jamais lue comme zéro.",
    "3. Valeur indisponible ou couverte par le secret statistique : laissez « valeur » vide et "
    "choisissez le statut « non_disponible » ou « secret_statistique ».",
    "4. Précisez la « source » (INSEE, CAF, France Travail, opérateur…) de chaque valeur.",
    "5. Les colonnes grisées (libellés, unité, valeur précédente) sont une aide : elles ne sont "
    "pas chargées.",
    "6. Contrôlez le fichier (page Import ou « python -m etl check fichier.xlsx ») puis chargez-le.",
    "Les lignes sans valeur ni statut sont ignorées au chargement.",
]


def write_template(s, contract: str, year: int, out: str | Path) -> Path:
    if queries.contract(s, contract) is None:
        raise ValueError(f"Contrat « {contract} » inconnu.")
    rows = queries.template_rows(s, contract, year)
    rows["unite"] = labelled("unit", rows["unite"])  # a help column: in French
    wb = Workbook()
    ws = wb.active
    ws.title = "valeurs"
    ws.append(COLUMNS)
    # Labels come from partners' workbooks: a label starting with "=" must stay text.
    for rec in neutralise_formulas(rows[COLUMNS]).itertuples(index=False):
        ws.append([None if pd.isna(v) else v for v in rec])
    grey = PatternFill("solid", fgColor="DDDDDD")
    for idx, name in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=idx)
        cell.font = Font(bold=True)
        if name in HELP_COLUMNS:
            for r in range(1, len(rows) + 2):
                ws.cell(row=r, column=idx).fill = grey
        ws.column_dimensions[get_column_letter(idx)].width = 40 if "libelle" in name else 16
    ws.freeze_panes = "A2"

    lists = wb.create_sheet("listes")
    ind = queries.indicators(s, contract)["code"].tolist()
    ter = queries.territories(s, contract)["code"].tolist()
    vocab = {"A": ind, "B": ter, "C": list(LABELS["nature"]), "D": list(LABELS["status"])}
    for col, values in vocab.items():
        for i, v in enumerate(values, start=1):
            lists[f"{col}{i}"] = v
    lists.sheet_state = "hidden"
    last = max(len(rows) + 1, 2) + 500
    for target, (col, values) in zip(["A", "B", "D", "H"], vocab.items()):
        dv = DataValidation(type="list", formula1=f"=listes!${col}$1:${col}${max(len(values), 1)}",
                            allow_blank=True, showErrorMessage=True,
                            errorTitle="Code non reconnu",
                            error="Choisissez une valeur de la liste déroulante.")
        dv.add(f"{target}2:{target}{last}")
        ws.add_data_validation(dv)
    years = DataValidation(type="whole", operator="between", formula1="1990", formula2="2050",
                           showErrorMessage=True, error="Année entre 1990 et 2050.")
    years.add(f"C2:C{last}")
    ws.add_data_validation(years)

    readme = wb.create_sheet("LISEZMOI", 0)
    for line in [*README, "", f"Contrat : {contract}", f"Année : {year}",
                 f"Lignes attendues : {len(rows)}"]:
        readme.append([line])
    readme.column_dimensions["A"].width = 120
    wb.active = 1
    out = Path(out)
    wb.save(out)
    return out
