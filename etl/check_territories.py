"""Territories, their old codes and their links between generations of the priority geography.

The register (communes, EPCI, départements, régions, France) and the ANCT's lists of QPV
define official territories; a contract's `territoires` sheet then only cites them (a QPV code
alone is enough: label, population and references come from the register). Old and local
codes (`AMB-COM`) are aliases of the official ones, so that earlier files still load.
"""

from __future__ import annotations

import difflib

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl import geo
from etl.checks import Known, SheetCheck, closest_code, single_contract
from etl.parsing import isin
from suivi.core.vocab import fold


def _split(text: pd.Series, sep: str = ";") -> pd.Series:
    return text.str.split(sep).map(lambda items: [i.strip() for i in items if i.strip()]
                                   if isinstance(items, list) else [])


def _explode(frame: pd.DataFrame, columns: list[str], sep: str = ";") -> pd.DataFrame:
    """One row per item of the `sep`-separated cells of `columns` (lists of the same length
    on a row), items trimmed, empty ones dropped. Split in Arrow's kernels: pandas' split
    builds a Python list per row (the register's 36 000 reference cells)."""
    items = {}
    for c in columns:
        text = pa.array(frame[c].astype("string").array)
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        lists = pc.split_pattern(text, sep)
        items[c] = pc.utf8_trim_whitespace(pc.list_flatten(lists))
        if c == columns[0]:
            parents = pc.list_parent_indices(lists).to_numpy()
    out = frame.iloc[parents].copy()
    for c in columns:
        out[c] = pd.Series(items[c].to_numpy(zero_copy_only=False), index=out.index,
                           dtype="string")
    return out[out[columns[0]].notna() & (out[columns[0]] != "")]


def territory_sheet(wb, report, staged, known: Known, contracts: pd.Series) -> set:
    chk = SheetCheck("territoires", wb.sheets["territoires"], report)
    if not chk.require_columns():
        return set()
    df = chk.df
    raw = chk.required("code").str.upper().where(~_is_local(chk.text("code")),
                                                 chk.text("code"))
    code, replaced = known.resolve(raw)
    code = code.astype("string")
    if replaced.any():
        pairs = sorted(set(zip(raw[replaced], code[replaced])))
        report.info.append(f"{len(pairs)} ancien(s) code(s) de territoire remplacé(s) par le "
                           "code officiel : " + ", ".join(f"{a} → {b}" for a, b in pairs[:10])
                           + (" …" if len(pairs) > 10 else "") + ".")
    dup = code.duplicated(keep=False) & code.notna()
    chk.error(dup, "code", code.fillna(""),
              "Code de territoire présent plusieurs fois dans l'onglet : gardez une seule ligne.")

    label = chk.text("libelle")
    kind = chk.vocab("type", "kind", required=False)
    has_contract = (chk.text("contrat").notna().any() or len(contracts) == 1)
    exists = isin(code, known.territories)
    official = geo.is_official(code)
    # A territory already known is cited, not redefined, when the register owns it (official
    # code, in a contract's sheet) or when the row gives no label.
    cite = exists & ((official & has_contract) | label.isna())
    new = ~cite & code.notna()
    if (cite & official & label.notna()).any():
        report.info.append(
            f"{int((cite & official).sum())} territoire(s) du référentiel cité(s) : libellé, "
            "type, population et territoires de référence viennent du référentiel ; les "
            "autres colonnes de ces lignes sont ignorées.")
    unknown = new & label.isna()
    if unknown.any():
        hints = closest_code(code[unknown], known.territories)
        message = pd.Series("", index=df.index, dtype=object)
        message[unknown] = ("Territoire inconnu : ce code n'est ni dans le référentiel ni dans "
                            "la base. Pour un quartier prioritaire, chargez d'abord la liste des "
                            "QPV de l'ANCT ; pour un territoire propre au contrat, donnez son "
                            "libellé et son type." + hints[unknown])
        chk.error(unknown, "code", code.fillna(""), message)
    chk.error(new & label.notna() & kind.isna() & chk.text("type").isna(), "type",
              chk.text("type").fillna(""),
              "Cellule obligatoire vide : indiquez le type du territoire (qpv, commune, epci…).")
    geography = chk.vocab("geographie", "geography", required=False)
    geography = geography.fillna(geo.geography_of_qpv(code))
    staged.tables["territory"] = pd.DataFrame({
        "code": code, "label": label, "kind": kind, "geography": geography,
        "population": chk.number("population"),
        "population_year": chk.year("annee_population"), "source": chk.text("source"),
    })[new].reset_index(drop=True)
    staged.tables["territory"].attrs["unique_keys"] = True  # duplicated codes are errors

    in_sheet = set(code.dropna().tolist())
    _aliases(chk, code, known, in_sheet, report, staged)
    refs = _reference_pairs(chk, code, new, known, in_sheet, report)
    refs.attrs["unique_keys"] = True  # pairs deduplicated by _reference_pairs
    staged.tables["territory_ref"] = refs
    if has_contract:
        contract = single_contract(contracts, chk, known)
        staged.tables["contract_territory"] = pd.DataFrame(
            {"contract_code": contract, "territory_code": code}).dropna()
    return in_sheet


def _is_local(codes: pd.Series) -> pd.Series:
    """Codes kept as typed (local codes may be lower case); official ones are upper-cased."""
    upper = codes.str.upper()
    return ~(geo.is_official(upper) | geo.is_qpv(upper)) | codes.isna()


def _aliases(chk: SheetCheck, code, known: Known, in_sheet: set, report, staged) -> None:
    if chk.text("anciens_codes").isna().all():
        return
    pairs = _explode(pd.DataFrame({"code": code, "alias": chk.text("anciens_codes"),
                                   "_row": chk.df["_row"]}), ["alias"])
    taken = isin(pairs["alias"], known.territories) | isin(pairs["alias"], in_sheet)
    report.error("territoires", pairs["_row"][taken], "anciens_codes", pairs["alias"][taken],
                 "Ancien code déjà utilisé par un territoire actuel : un ancien code ne peut "
                 "désigner qu'un territoire qui n'existe plus sous ce code.")
    other = pairs["alias"].map(known.aliases)
    moved = other.notna() & (other != pairs["code"])
    report.error("territoires", pairs["_row"][moved], "anciens_codes", pairs["alias"][moved],
                 "Cet ancien code désigne déjà le territoire « " + other[moved].astype(str)
                 + " » : un ancien code ne désigne qu'un territoire.")
    twice = pairs["alias"].duplicated(keep=False)
    report.error("territoires", pairs["_row"][twice], "anciens_codes", pairs["alias"][twice],
                 "Ancien code cité pour plusieurs territoires de l'onglet.")
    staged.tables["territory_alias"] = pairs[["alias", "code"]].drop_duplicates("alias") \
        .reset_index(drop=True)


def _reference_pairs(chk: SheetCheck, code, new, known: Known, in_sheet: set,
                     report) -> pd.DataFrame:
    """(territory, reference, rank) of the rows that define a territory: the `references`
    cell, after the communes named in `communes` (the 2015 list of QPV)."""
    df = chk.df
    frame = pd.DataFrame({"territory_code": code, "ref": chk.text("references"),
                          "_row": df["_row"]})[new]
    if "_src_references" in df.columns:  # a public list: each reference has its column
        frame["src"] = df.loc[frame.index, "_src_references"]
        pairs = _explode(frame, ["ref", "src"])
    else:
        pairs = _explode(frame, ["ref"]).assign(src="references")
    communes = _commune_refs(chk, code, new, known, report)
    pairs["reference_code"] = known.resolve(pairs["ref"])[0]
    all_codes = in_sheet | known.territories
    unknown = ~isin(pairs["reference_code"], all_codes)
    if unknown.any():
        bad = pairs[unknown]
        sheet = df.loc[bad.index, "_sheet"] if "_sheet" in df.columns else "territoires"
        report.error(sheet, bad["_row"], bad["src"], bad["reference_code"],
                     "Territoire de référence inconnu : il doit figurer dans l'onglet "
                     "« territoires », dans le référentiel ou déjà dans la base."
                     + closest_code(bad["reference_code"], all_codes))
    pairs = pd.concat([communes, pairs[["territory_code", "reference_code"]]])
    pairs = pairs.drop_duplicates(["territory_code", "reference_code"])
    pairs["rank"] = pairs.groupby("territory_code").cumcount() + 1
    return pairs[["territory_code", "reference_code", "rank"]].reset_index(drop=True)


def _commune_refs(chk: SheetCheck, code, new, known: Known, report) -> pd.DataFrame:
    """The communes of a 2015 QPV, named in `communes` (« Amboise, Nazelles-Négron »), found
    by name among the communes of its département, then the wider references of the first."""
    names = chk.text("communes")
    rows = new & names.notna()
    out = pd.DataFrame(columns=["territory_code", "reference_code"])
    if not rows.any():
        return out
    df = chk.df
    deps = chk.text("departement").where(rows)
    found = []
    for dep in deps.dropna().unique():  # one query per département of the file
        pool = known.communes_of_department(dep)
        by_name = pool.assign(key=pool["label"].map(fold)).drop_duplicates("key", keep=False)
        lookup = dict(zip(by_name["key"], by_name["code"]))
        part = pd.DataFrame({"territory_code": code, "name": _split(names, ","),
                             "_row": df["_row"]})[rows & (deps == dep)].explode("name")
        part = part[part["name"].notna()]
        part["reference_code"] = part["name"].map(fold).map(lookup)
        bad = part[part["reference_code"].isna()]
        if len(bad):
            labels = pool["label"]
            hint = bad["name"].map(lambda n, labels=labels: _closest_name(n, labels))
            sheet = df.loc[bad.index, "_sheet"] if "_sheet" in df.columns else "territoires"
            column = df.loc[bad.index, "_src_communes"] if "_src_communes" in df.columns \
                else "communes"
            report.error(sheet, bad["_row"], column, bad["name"],
                         f"Commune introuvable dans le département {dep} du référentiel : "
                         "vérifiez son nom (une commune fusionnée depuis porte le nom de la "
                         "commune nouvelle)." + hint)
        found.append(part.dropna(subset=["reference_code"]))
    communes = pd.concat(found) if found else out
    if communes.empty:
        return out
    first = communes.drop_duplicates("territory_code")
    wider = known.references_of(first["reference_code"].unique().tolist())
    wider = first[["territory_code", "reference_code"]].rename(
        columns={"reference_code": "commune"}).merge(
        wider.rename(columns={"territory_code": "commune"}), on="commune")
    return pd.concat([communes[["territory_code", "reference_code"]],
                      wider.sort_values(["territory_code", "rank"])[
                          ["territory_code", "reference_code"]]])


def _closest_name(name: str, labels: pd.Series) -> str:
    folded = dict(zip(labels.map(fold), labels))
    match = difflib.get_close_matches(fold(name), list(folded), n=1, cutoff=0.6)
    return f" Commune la plus proche : « {folded[match[0]]} »." if match else ""


def links_sheet(wb, report, staged, known: Known, in_sheet: set) -> None:
    """`liens_qpv`: a 2024 QPV and the 2015 QPVs it succeeds (the ANCT's correspondence)."""
    chk = SheetCheck("liens_qpv", wb.sheets["liens_qpv"], report)
    if not chk.require_columns():
        return
    territory = known.resolve(chk.required("territoire").str.upper())[0]
    predecessor = known.resolve(chk.required("predecesseur").str.upper())[0]
    all_codes = known.territories | in_sheet
    chk.known("territoire", territory, all_codes, "de quartier",
              "la liste des QPV 2024 (chargez-la avant la table de passage)")
    chk.known("predecesseur", predecessor, all_codes, "de quartier",
              "la liste des QPV 2015 (chargez-la avant la table de passage)")
    inverted = territory.str.startswith("QP").fillna(False) & \
        predecessor.str.startswith("QN").fillna(False)
    chk.error(inverted, "territoire", territory.fillna(""),
              "Générations inversées : le quartier doit être un QPV 2024 (QN…) et son "
              "prédécesseur un QPV 2015 (QP…).")
    rank = chk.number("rang").round().astype("Int64")
    staged.tables["territory_link"] = pd.DataFrame({
        "territory_code": territory, "predecessor_code": predecessor,
        "status": chk.text("statut"), "rank": rank,
    }).dropna(subset=["territory_code", "predecessor_code"]).reset_index(drop=True)
