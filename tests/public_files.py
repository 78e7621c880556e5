"""Public files as observatories download them, written by the tests themselves (openpyxl and
plain bytes), following the layouts of docs/sources-publiques.md. Codes of QPV and figures are
made up for the tests; communes, EPCI and départements are the register's."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

# Three 2024 QPV of Indre-et-Loire (test codes): two in Tours, one in Amboise.
ANCT_2024 = [
    ["code_qp", "lib_qp", "insee_reg", "lib_reg", "insee_dep", "lib_dep", "insee_com", "lib_com",
     "siren_epci", "lib_epci"],
    ["QN03701M", "Sanitas (test)", "24", "Centre-Val de Loire", "37", "Indre-et-Loire", "37261",
     "Tours", "243700754", "Tours Métropole Val de Loire"],
    ["QN03702M", "Rives du Cher (test)", "24", "Centre-Val de Loire", "37", "Indre-et-Loire",
     "37261", "Tours", "243700754", "Tours Métropole Val de Loire"],
    ["QN03703M", "Verrerie (test)", "24", "Centre-Val de Loire", "37", "Indre-et-Loire", "37003",
     "Amboise", "200043065", "CC du Val d'Amboise"],
]
ANCT_2015 = [
    ["CODE_QP", "NOM_QP", "COMMUNE_QP"],
    ["QP037001", "Sanitas 2015 (test)", "Tours"],
    ["QP037002", "Rives du Cher 2015 (test)", "Tours, Saint-Pierre-des-Corps"],
]
PASSAGE = [
    ["QP2024", "Label_QP2024", "Statut", "QP2015_1", "Label_QP2015_1", "QP2015_2",
     "Label_QP2015_2", "QP2015_3", "Label_QP2015_3"],
    ["QN03701M", "Sanitas (test)", "Modifié", "QP037001", "Sanitas 2015 (test)", "", "", "", ""],
    ["QN03702M", "Rives du Cher (test)", "Modifié", "QP037002", "Rives du Cher 2015 (test)", "",
     "", "", ""],
]

CONTRACT = "TOURS-TEST-2024"


def contract_workbook(path: Path, variables: dict[str, str] | None = None) -> Path:
    """A 2024 contract whose `territoires` sheet lists QPV codes only, and whose indicators
    declare the source variables of the Insee base and of the statistiques locales."""
    variables = variables if variables is not None else {
        "TT-REV": "DISP_MED", "TT-PAUV": "TP60", "TT-POP": "POP_MUN",
        "TT-CHOM": "Taux de chômage des 15-64 ans",
    }
    indicators = [
        ["code", "libelle", "unite", "polarite", "type", "objectifs", "variables_source"],
        ["TT-REV", "Revenu disponible médian par UC", "euros", "hausse", "contexte", "1",
         variables.get("TT-REV")],
        ["TT-PAUV", "Taux de pauvreté au seuil de 60 %", "pourcentage", "baisse", "impact", "1",
         variables.get("TT-PAUV")],
        ["TT-POP", "Population municipale", "nombre", "neutre", "contexte", "1",
         variables.get("TT-POP")],
        ["TT-CHOM", "Taux de chômage des 15-64 ans", "pourcentage", "baisse", "impact", "1",
         variables.get("TT-CHOM")],
    ]
    return write_xlsx(path, {
        "contrat": [["code", "nom", "periode_debut", "periode_fin", "annee_reference",
                     "annee_cible", "generation"],
                    [CONTRACT, "Contrat de ville de test 2024-2030", 2024, 2030, 2021, 2030,
                     "2024-2030"]],
        "territoires": [["code"], ["QN03701M"], ["QN03702M"]],
        "arborescence": [["code", "niveau", "categorie", "libelle"],
                         ["1", "enjeu", "objectif", "Réduire la pauvreté"]],
        "indicateurs": indicators,
    })


def insee_qpv_rows() -> dict[str, list[list]]:
    """Sheets of an Insee QPV base: title rows, a quartiers sheet, a communes sheet."""
    titles = [["Revenus, pauvreté et niveau de vie en 2021 – quartiers prioritaires"],
              ["Source : Insee-DGFiP-Cnaf-Cnav-CCMSA, Fichier localisé social et fiscal"],
              []]
    header = ["CODGEO", "LIBGEO", "DISP_MED_A21", "TP60_A21", "POP_MUN", "LIB_COM"]
    quartiers = titles + [header,
                          ["QN03701M", "Sanitas (test)", 13250, 42.1, 9800, "Tours"],
                          ["QN03702M", "Rives du Cher (test)", 14020.5, "s", 5200, "Tours"],
                          ["QN03703M", "Verrerie (test)", 15100, 30.2, 1100, "Amboise"],
                          ["00", "Ensemble des quartiers prioritaires", 14100, 38.0, 16100, ""]]
    communes = titles + [header, ["37261", "Tours", 21890, 19.8, 136463, "Tours"],
                         ["37003", "Amboise", 22100, 12.4, 12937, "Amboise"]]
    epci = titles + [header, ["243700754", "Tours Métropole", 23010, 14.9, "nd", ""]]
    return {"Données quartier": quartiers, "Communes": communes, "EPCI": epci,
            "Documentation": [["Variable", "Libellé"], ["DISP_MED", "Revenu médian"]]}


def insee_qpv_xlsx(path: Path, sheets: dict[str, list[list]] | None = None) -> Path:
    return write_xlsx(path, sheets or insee_qpv_rows())


STATLOC = [
    ["Statistiques locales – Emploi"],
    ["Source : Insee, RP 2021 exploitation principale"],
    ["Code", "Libellé", "Taux de chômage des 15-64 ans 2021", "Part des cadres 2021"],
    ["37261", "Tours", "16,8", "18,2"],
    ["243700754", "Tours Métropole Val de Loire", "13,1", "N/A - secret statistique"],
    ["37", "Indre-et-Loire", "11,4", "14,0"],
]


def statloc_csv(path: Path, rows: list[list] | None = None, encoding="utf-8-sig") -> Path:
    return write_text(path, rows or STATLOC, encoding=encoding)


ODT = [
    ["Observatoire des territoires – extraction"],
    ["Maille : QPV"],
    ["codgeo", "libgeo", "an", "sexe", "tx_chom_1564"],
    ["QN03701M", "Sanitas (test)", "2021", "F", "31,5"],
    ["QN03701M", "Sanitas (test)", "2021", "H", "35,2"],
    ["QN03701M", "Sanitas (test)", "2021", "T", "33,4"],
    ["QN03701M", "Sanitas (test)", "2022", "T", "32,0"],
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


def write_text(path: Path, rows: list[list], sep: str = ";", encoding: str = "utf-8-sig") -> Path:
    text = "\r\n".join(sep.join("" if v is None else str(v) for v in row) for row in rows)
    Path(path).write_bytes(text.encode(encoding))
    return Path(path)
