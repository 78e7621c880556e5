"""Public files -> the `valeurs` sheet of the format: source variables mapped to indicators,
Insee/ANCT codes resolved against the register, the contract's territories kept.

A layout (etl/sources/) has turned the file into a long frame that still carries the source
variable (`DISP_MED_A21`) and the raw code (`37003`). Here, once per distinct variable and
per distinct code (never per row), each variable finds its indicator through the catalogue's
`variables_source` (or a mapping given for this load), each code its register code, and the
rows become ordinary values that go through the same validation and load as a workbook's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl import geo
from etl.checks import Known, SheetCheck, closest_code
from etl.mapping import variable_key
from etl.parsing import isin, pair_isin
from etl.readers import Workbook
from etl.report import Report
from etl.sources.base import Options


def _catalogue(known: Known, staged_ind: pd.DataFrame, staged_var: pd.DataFrame | None,
               options: Options) -> pd.DataFrame:
    """(key, indicator_code, contract_code) every variable name may map through: declared
    variables, the indicators' own codes, and the mapping given for this load."""
    indicators = pd.concat([staged_ind[["code", "contract_code"]],
                            known.indicators[["code", "contract_code"]]]) \
        .drop_duplicates("code")
    owner = indicators.set_index("code")["contract_code"]
    declared = known.variables[["variable", "indicator_code", "contract_code"]]
    if staged_var is not None and len(staged_var):
        declared = pd.concat([declared[~declared["indicator_code"].isin(
            staged_var["indicator_code"])], staged_var[declared.columns]])
    own = pd.DataFrame({"variable": indicators["code"].map(variable_key),
                        "indicator_code": indicators["code"],
                        "contract_code": indicators["contract_code"]})
    given = pd.DataFrame({"variable": [variable_key(k) for k in options.mapping],
                          "indicator_code": list(options.mapping.values())})
    given["contract_code"] = given["indicator_code"].map(owner)
    cat = pd.concat([given.dropna(), declared, own]).drop_duplicates()
    if options.contract:
        cat = cat[cat["contract_code"] == options.contract]
    return cat.rename(columns={"variable": "key"})


def map_public_values(wb: Workbook, known: Known, report: Report, staged, options: Options,
                      staged_ind: pd.DataFrame) -> pd.DataFrame | None:
    """The long frame of a public file as a `valeurs` sheet (canonical columns, located)."""
    df = wb.sheets["valeurs"]
    meta = wb.meta
    chk = SheetCheck("valeurs", df, report)
    variables = pd.DataFrame({"variable": df["variable"].cat.categories})
    variables["key"] = variables["variable"].map(variable_key)
    cat = _catalogue(known, staged_ind, staged.tables.get("indicator_variable"), options)
    matched = variables.merge(cat, on="key", how="left")
    mapped = matched.dropna(subset=["indicator_code"])
    header = df.drop_duplicates("variable")[["variable", "_sheet", "_header_row"]]

    # One column, one indicator per contract.
    clash = mapped[mapped.duplicated(["variable", "contract_code"], keep=False)]
    if len(clash):
        which = clash.groupby(["variable", "contract_code"])["indicator_code"] \
            .agg(lambda s: " et ".join(sorted(s))).reset_index().merge(header, on="variable")
        report.error(which["_sheet"], which["_header_row"], which["variable"],
                     which["variable"],
                     "Cette colonne correspond à plusieurs indicateurs du contrat « "
                     + which["contract_code"] + " » (" + which["indicator_code"] + ") : "
                     "corrigez « variables_source » dans l'onglet « indicateurs » pour "
                     "qu'elle n'en désigne qu'un.")
        mapped = mapped.drop_duplicates(["variable", "contract_code"])
    unmapped = sorted(set(variables["variable"]) - set(mapped["variable"]))
    contracts = sorted(mapped["contract_code"].dropna().unique())
    announce = wb.announcement or f"Fichier « {wb.name} » reconnu : {meta.get('title', wb.layout)}"
    report.headline = (f"{announce} ; {len(set(mapped['variable']))} variable(s) reconnue(s), "
                       f"{len(unmapped)} ignorée(s)"
                       + (f" ({', '.join(unmapped[:15])}{' …' if len(unmapped) > 15 else ''})"
                          if unmapped else "") + ".")
    wb.meta["unmapped"] = unmapped
    wb.meta["contracts"] = contracts
    if meta.get("aggregates"):
        where = ", ".join(f"{'onglet « ' + s + ' », ' if s else ''}ligne {r}"
                          for s, r in meta["aggregates"][:5])
        report.info.append(f"{len(meta['aggregates'])} ligne(s) d'agrégat (« Ensemble des "
                           f"quartiers… », code 00) ignorée(s) : {where}.")
    if mapped.empty:
        report.file_error(
            "Aucune colonne du fichier ne correspond à un indicateur"
            + (f" du contrat « {options.contract} »" if options.contract else "")
            + " : déclarez les noms de variables dans la colonne « variables_source » de "
            "l'onglet « indicateurs » (p. ex. DISP_MED), associez les colonnes à la main sur "
            "la page Import, ou donnez une table de correspondance (--correspondance).")
        return None

    # Codes: the kind of the sheet or the shape of the code, then the register's aliases.
    codes = df[["territoire_source", "code_kind"]].drop_duplicates()
    codes["territoire"] = known.resolve(geo.register_codes(
        codes["territoire_source"].astype("string"), codes["code_kind"].astype("string")))[0]
    rows = df.merge(mapped[["variable", "indicator_code", "contract_code"]], on="variable")
    rows = rows.merge(codes, on=["territoire_source", "code_kind"], how="left")
    rows.index = pd.RangeIndex(len(rows))
    rows["territoire"] = rows["territoire"].astype("category")
    chk = SheetCheck("valeurs", rows, report)
    raw_code = rows["territoire_source"]
    shapeless = rows["territoire"].isna() & raw_code.notna()
    chk.error(shapeless, "territoire", raw_code,
              "Code de territoire illisible : ni un code de commune (5 caractères), ni un "
              "numéro SIREN d'EPCI (9 chiffres), ni un code de département ou de QPV.")
    unknown = rows["territoire"].notna() & ~isin(rows["territoire"], known.territories)
    if unknown.any():
        message = pd.Series("", index=rows.index, dtype=object)
        message[unknown] = ("Code absent du référentiel territorial (ni commune, ni EPCI, ni "
                            "département, ni QPV chargé) : vérifiez-le, ou chargez d'abord la "
                            "liste des QPV de l'ANCT." + closest_code(
                                rows["territoire"][unknown], known.territories))
        chk.error(unknown, "territoire", raw_code, message)

    # The contract's territories: its own, their references, their predecessors (judged once
    # per distinct contract and territory).
    scope = set(zip(known.scope["contract_code"], known.scope["territory_code"]))
    inside = pair_isin(rows["contract_code"], rows["territoire"], scope)
    outside = ~inside & isin(rows["territoire"], known.territories).to_numpy()
    outside = pd.Series(outside, index=rows.index)
    if outside.any():
        if meta.get("scope_rule") == "skip":
            n_terr = rows.loc[outside, "territoire"].nunique()
            report.info.append(f"{int(outside.sum())} valeur(s) de {n_terr} territoire(s) hors "
                               f"du contrat ({', '.join(contracts)}) ignorée(s) : la base "
                               "couvre toute la France, seuls les territoires du contrat et "
                               "leurs territoires de référence sont chargés.")
            rows = rows[~outside | unknown]
        else:
            message = pd.Series("", index=rows.index, dtype=object)
            for contract, part in rows[outside].groupby("contract_code"):
                own = set(known.scope.loc[known.scope["contract_code"] == contract,
                                          "territory_code"])
                message[part.index] = (f"Territoire hors du contrat « {contract} » : ce n'est "
                                       "ni un de ses territoires ni un de leurs territoires de "
                                       "référence." + closest_code(part["territoire"], own))
            chk.error(outside, "territoire", raw_code, message)

    no_year = rows["annee"].isna()
    if no_year.any():
        cols = rows[no_year].drop_duplicates("variable")
        report.error(cols["_sheet"], cols["_header_row"], cols["variable"], cols["variable"],
                     "Année introuvable pour cette colonne : son nom ne porte pas d'année "
                     "(comme DISP_MED_A21), ni le nom du fichier (DEMO_2020.xlsx), ni les lignes "
                     "de titre. Indiquez l'année au chargement (--annee ou champ « Année » de "
                     "la page Import).")
    # One text per (file part, column): the value's source down to its column.
    source = _source_with_column(rows["source"], rows["_col"])
    return pd.DataFrame({
        "indicateur": rows["indicator_code"], "territoire": rows["territoire"],
        "annee": rows["annee"], "nature": "realise", "valeur": rows["valeur"],
        "statut": rows["statut"], "ventilation": rows["ventilation"],
        "modalite": rows["modalite"], "formulation": None,
        "source": source, "commentaire": rows["commentaire"],
        "_row": rows["_row"].to_numpy(), "_sheet": rows["_sheet"], "_col": rows["_col"],
        "_src_territoire": rows["_src_territoire"], "_src_annee": rows["_col"],
    }).reset_index(drop=True) if len(rows) else pd.DataFrame(
        columns=["indicateur", "territoire", "annee", "nature", "valeur", "statut", "_row"])


def _source_with_column(source: pd.Series, column: pd.Series) -> pd.Categorical:
    """« Insee, base QPV – f.xlsx, onglet « X », colonne DISP_MED_A21 », built once per
    distinct (source, column) pair."""
    sc, su = pd.factorize(source.astype(object))
    cc, cu = pd.factorize(column.astype(object))
    key = sc.astype(np.int64) * len(cu) + cc
    uniq, inverse = np.unique(key, return_inverse=True)
    labels = [f"{su[k // len(cu)]}, colonne {cu[k % len(cu)]}" for k in uniq]
    return pd.Categorical.from_codes(inverse, categories=pd.Index(labels, dtype=object))
