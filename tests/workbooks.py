"""Small real xlsx/csv files written with openpyxl for the ETL tests."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

CONTRACT = [
    ["code", "nom", "periode_debut", "periode_fin", "annee_reference", "annee_cible", "niveaux"],
    ["TEST-2015", "Contrat de test", 2015, 2022, 2019, 2022, "pilier > priorité"],
]
TERRITORIES = [
    ["code", "libelle", "type", "geographie", "population", "references"],
    ["T-COM", "Commune test", "commune", None, 20000, None],
    ["T-QPV1", "Quartier Un", "qpv", "qpv2015", 1500, "T-COM"],
    ["T-QPV2", "Quartier Deux", "qpv", "qpv2015", 900, "T-COM"],
]
TREE = [
    ["code", "parent", "niveau", "categorie", "libelle"],
    ["P1", None, "pilier", "objectif", "Emploi"],
    ["1", "P1", "priorité", "objectif", "Accès à l'emploi"],
    ["1.a", "1", "action", "action", "Forum emploi"],
]
INDICATORS = [
    ["code", "libelle", "unite", "polarite", "type", "objectifs", "ventilations"],
    ["IND-DE", "Demandeurs d'emploi", "nombre", "baisse", "résultat", "1", "sexe"],
    ["IND-TX", "Taux d'emploi", "pourcentage", "hausse", "impact", "1", None],
    ["IND-FORUM", "Forums organisés", "count", "higher_better", "réalisation", "1.a", None],
]
VALUES = [
    ["indicateur", "territoire", "annee", "nature", "valeur", "statut", "source"],
    ["IND-TX", "T-QPV1", 2019, "reference", "40,5", None, "INSEE"],
    ["IND-TX", "T-QPV1", 2022, "cible", 50, None, "Contrat"],
    ["IND-TX", "T-QPV1", 2020, "realise", "42 %", None, "INSEE"],
    ["IND-TX", "T-COM", 2020, "realise", 61.2, None, "INSEE"],
    ["IND-DE", "T-QPV1", 2019, "reference", "1 234", None, "France Travail"],
    ["IND-DE", "T-QPV1", 2020, "realise", "1\u00a0200", "provisoire", "France Travail"],
    ["IND-FORUM", "T-QPV2", 2020, "realise", None, "non_disponible", "Opérateur"],
]


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return Path(path)


def full_workbook(path: Path, values: list[list] | None = None) -> Path:
    return write_xlsx(path, {"contrat": CONTRACT, "territoires": TERRITORIES,
                             "arborescence": TREE, "indicateurs": INDICATORS,
                             "valeurs": values if values is not None else VALUES})


def write_csv(path: Path, rows: list[list], sep: str = ";", encoding: str = "utf-8") -> Path:
    text = "\n".join(sep.join("" if v is None else str(v) for v in row) for row in rows)
    Path(path).write_bytes(text.encode(encoding))
    return Path(path)
