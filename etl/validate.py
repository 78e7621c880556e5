"""Validation: every cell of a workbook checked column-wise before anything is written.

`validate(workbook, s)` returns a Report (all problems, located) and a `Staged` set of
canonical tables ready for suivi/store/load.py. Checks work on whole columns with pandas masks; the
only Python loops run over sheets, columns or the distinct unknown codes, never over rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.check_contours import contours_sheet
from etl.check_territories import links_sheet, territory_sheet
from etl.checks import YEAR_MAX, YEAR_MIN, Known, SheetCheck, Staged, single_contract
from etl.mapping import split_list, variable_key
from etl.parsing import (
    as_text,
    dense_ids,
    first_appearance,
    isin,
    map_categories,
    map_unique,
    map_values,
    pair_isin,
    parse_numbers,
    radix_ids,
    repeats,
)
from etl.readers import Workbook
from etl.report import Report
from etl.sources.base import TOKENS_TEXT
from suivi.core import fmt, memory
from suivi.core.vocab import ALIASES, LABELS, NO_VALUE_STATUSES, fold
from suivi.store import validation

FAR_FACTOR = 2.0  # warn when a value is more than double or less than half the previous year's


def _contract_sheet(wb, report, staged, known):
    chk = SheetCheck("contrat", wb.sheets["contrat"], report)
    if not chk.require_columns():
        return pd.Series([], dtype="string")
    code = chk.required("code")
    chk.duplicates(["code"], "Code de contrat")
    frame = pd.DataFrame({
        "code": code, "name": chk.required("nom"),
        "period_start": chk.year("periode_debut", required=True),
        "period_end": chk.year("periode_fin", required=True),
        "baseline_year": chk.year("annee_reference"),
        "target_year": chk.year("annee_cible"),
        "generation": chk.text("generation"), "levels": chk.text("niveaux"),
        "threshold_on_track": chk.number("seuil_bonne_voie"),
        "threshold_acceleration": chk.number("seuil_acceleration"),
        "source": chk.text("source"),
    })
    inverted = frame["period_start"] > frame["period_end"]
    chk.error(inverted, "periode_fin", chk.text("periode_fin"),
              "La fin de période précède son début : vérifiez les deux années.")
    staged.tables["contract"] = frame
    return code.dropna()


def _tree_sheet(wb, report, staged, known, contracts):
    chk = SheetCheck("arborescence", wb.sheets["arborescence"], report)
    if not chk.require_columns():
        return pd.DataFrame(columns=["contract_code", "code"])
    contract = single_contract(contracts, chk, known)
    code = chk.required("code")
    frame = pd.DataFrame({
        "contract_code": contract, "code": code, "parent_code": chk.text("parent"),
        "level": chk.required("niveau"), "category": chk.vocab("categorie", "category"),
        "label": chk.required("libelle"),
        "position": chk.number("ordre").round().astype("Int64"),
        "source": chk.text("source"),
    })
    chk.df["_contract"] = contract
    chk.duplicates(["_contract", "code"], "Code de nœud")
    keys = pd.concat([frame[["contract_code", "code"]], known.nodes[["contract_code", "code"]]])
    known_pairs = set(zip(keys["contract_code"], keys["code"]))
    parent_key = pd.Series(list(zip(frame["contract_code"], frame["parent_code"])),
                           index=frame.index)
    bad_parent = frame["parent_code"].notna() & ~parent_key.isin(known_pairs)
    chk.error(bad_parent, "parent", frame["parent_code"],
              "Parent inconnu dans ce contrat : le code parent doit figurer dans la colonne "
              "« code » de l'onglet « arborescence ».")
    if frame["position"].isna().all():
        frame["position"] = frame.groupby("parent_code", dropna=False).cumcount() + 1
    staged.tables["node"] = frame
    return frame[["contract_code", "code"]]


def _indicator_sheet(wb, report, staged, known, contracts, nodes):
    chk = SheetCheck("indicateurs", wb.sheets["indicateurs"], report)
    if not chk.require_columns():
        return pd.DataFrame(columns=["code", "contract_code", "unit", "polarity"])
    contract = single_contract(contracts, chk, known)
    code = chk.required("code")
    chk.duplicates(["code"], "Code d'indicateur")
    frame = pd.DataFrame({
        "code": code, "contract_code": contract, "label": chk.required("libelle"),
        "unit": chk.vocab("unite", "unit"), "polarity": chk.vocab("polarite", "polarity"),
        "type": chk.vocab("type", "type"), "definition": chk.text("definition"),
        "source": chk.text("source"), "frequency": chk.text("frequence"),
        "parent_code": chk.text("parent"), "breakdowns": chk.text("ventilations"),
        "note": chk.text("note"),
    })
    owner = frame["code"].map(known.indicators.set_index("code")["contract_code"])
    moved = owner.notna() & frame["contract_code"].notna() & (owner != frame["contract_code"])
    chk.error(moved, "code", frame["code"],
              "Ce code d'indicateur appartient déjà au contrat « " + owner.astype("string")
              + " » : un indicateur ne change pas de contrat. Donnez un autre code ou "
              "corrigez le contrat.")
    all_codes = set(code.dropna()) | set(known.indicators["code"])
    chk.known("parent", frame["parent_code"], all_codes, "d'indicateur parent",
              "l'onglet « indicateurs »")
    links = pd.DataFrame({"indicator_code": code, "contract_code": contract,
                          "node_code": chk.text("objectifs").str.split(";"),
                          "_row": chk.df["_row"]}).explode("node_code")
    links["node_code"] = links["node_code"].astype("string").str.strip()
    links = links[links["node_code"].notna() & (links["node_code"] != "")]
    node_pairs = set(zip(nodes["contract_code"], nodes["code"])) | set(
        zip(known.nodes["contract_code"], known.nodes["code"]))
    ok = pd.Series(list(zip(links["contract_code"], links["node_code"])), index=links.index,
                   dtype=object).isin(node_pairs)
    bad = links[~ok]
    if len(bad):
        report.error("indicateurs", bad["_row"], "objectifs", bad["node_code"],
                     "Objectif inconnu dans ce contrat : citez des codes de l'onglet "
                     "« arborescence », séparés par « ; ».")
    staged.tables["indicator"] = frame
    staged.tables["indicator_node"] = links[["indicator_code", "node_code", "contract_code"]] \
        .drop_duplicates().reset_index(drop=True)
    names = chk.text("variables_source")
    if names.notna().any():
        pairs = pd.DataFrame({"indicator_code": code, "contract_code": contract,
                              "label": names.map(split_list), "_row": chk.df["_row"],
                              "_sheet": "indicateurs"}).explode("label")
        _stage_variables(pairs[pairs["label"].notna()], report, staged, known, "variables_source")
    return frame[["code", "contract_code", "unit", "polarity"]]


def _stage_variables(pairs: pd.DataFrame, report: Report, staged: Staged, known: Known,
                     column: str) -> None:
    """indicator_variable rows from (indicator_code, contract_code, label) pairs. A variable
    means one indicator per contract: declaring it for a second one is an error."""
    pairs = pairs.assign(variable=pairs["label"].map(variable_key))
    pairs = pairs[pairs["variable"] != ""]
    mine = pd.concat([
        known.variables[~known.variables["indicator_code"].isin(pairs["indicator_code"])],
        pairs[["indicator_code", "contract_code", "variable", "label"]]])
    per_key = mine.drop_duplicates(["contract_code", "variable", "indicator_code"])
    clash = per_key.duplicated(["contract_code", "variable"], keep=False)
    owners = per_key[clash].groupby(["contract_code", "variable"])["indicator_code"] \
        .agg(lambda s: " et ".join(sorted(s)))
    bad = pairs.merge(owners.rename("owners").reset_index(), on=["contract_code", "variable"])
    bad = bad[bad["_row"].notna()]
    if len(bad):
        report.error(bad["_sheet"], bad["_row"], column, bad["label"],
                     "Variable source déclarée pour plusieurs indicateurs du même contrat ("
                     + bad["owners"] + ") : une colonne d'un fichier public ne peut remplir "
                     "qu'un indicateur. Retirez-la de l'un d'eux.")
    staged.tables["indicator_variable"] = pairs.drop_duplicates(
        ["indicator_code", "variable"])[["indicator_code", "variable", "contract_code", "label"]] \
        .reset_index(drop=True)


def _mapping_sheet(wb, report, staged, known, contracts, indicators) -> None:
    """`correspondances`: source variables mapped to indicators one by one (the Import page's
    manual mapping, `--correspondance`). Adds to what each indicator already declares."""
    chk = SheetCheck("correspondances", wb.sheets["correspondances"], report)
    if not chk.require_columns():
        return
    code = chk.required("indicateur")
    all_ind = pd.concat([indicators, known.indicators[indicators.columns]]) \
        .drop_duplicates("code").set_index("code")
    chk.known("indicateur", code, set(all_ind.index), "d'indicateur", "l'onglet « indicateurs »")
    label = chk.required("variable")
    pairs = pd.DataFrame({"indicator_code": code, "contract_code": code.map(
        all_ind["contract_code"]), "label": label, "_row": chk.df["_row"],
        "_sheet": "correspondances"}).dropna(subset=["indicator_code", "label", "contract_code"])
    # The indicators' existing variables stay: a mapping adds, it does not replace.
    keep = known.variables[known.variables["indicator_code"].isin(pairs["indicator_code"])]
    pairs = pd.concat([keep[["indicator_code", "contract_code", "label"]].assign(
        _row=pd.NA, _sheet=""), pairs], ignore_index=True)
    _stage_variables(pairs, report, staged, known, "variable")


def wide_to_long(df: pd.DataFrame) -> pd.DataFrame:
    """One column per year -> one row per (row, year); `_col` keeps the source column."""
    year_cols = [c for c in df.columns if str(c).isdigit() and len(str(c)) == 4]
    if "annee" in df.columns or not year_cols:
        return df
    ids = [c for c in df.columns if c not in year_cols]
    long = df.melt(id_vars=ids, value_vars=year_cols, var_name="annee", value_name="valeur")
    long["_col"] = long["annee"]
    if "nature" not in long.columns:
        long["nature"] = "realise"
    return long.sort_values(["_row", "annee"], kind="stable").reset_index(drop=True)


CHUNK_ROWS = 500_000  # row-local checks run per chunk: bounded memory on national files
CATEGORY_COLUMNS = ("indicator_code", "territory_code", "nature", "breakdown", "modality",
                    "status", "source", "wording", "comment", "_col", "_sheet",
                    "_src_territoire", "_src_annee")
# Where a staged value came from, for messages after the row-local checks (see _at).
LOCATION = ["_row", "_col", "_sheet", "_src_territoire", "_src_annee"]
TOKENS_HINT = {True: " Mentions reconnues à la place d'un nombre : " + TOKENS_TEXT + ".",
               False: ""}


def _value_rows(df, report, staged, all_ind, territories, known, public: bool):
    """Row-local checks of a chunk of the valeurs sheet -> its staged rows (compact)."""
    chk = SheetCheck("valeurs", df, report)
    ind = chk.required("indicateur")
    ter, replaced = known.resolve(chk.required("territoire"))
    if replaced.any():
        staged.aliased_rows += int(replaced.sum())
    chk.known("indicateur", ind, set(all_ind.index), "d'indicateur",
              "l'onglet « indicateurs »")
    chk.known("territoire", ter, territories, "de territoire", "l'onglet « territoires »")
    year = chk.year("annee", required=True)
    nature = chk.vocab("nature", "nature")
    status_raw = chk.vocab("statut", "status", required=False)
    value_col = "valeur"
    # Cells that are not plain numbers: only they can be "nd"/"secret" markers or bad text.
    textual = pd.to_numeric(df[value_col], errors="coerce").isna() & df[value_col].notna()
    raw_value = pd.Series(pd.NA, index=df.index, dtype="string")
    if textual.any():  # a national file has none: no marker to look for
        raw_value[textual] = as_text(df.loc[textual, value_col])
        marker = map_unique(raw_value, lambda v: ALIASES["status"].get(fold(v))
                            if isinstance(v, str) else None)
        marker = marker.where(marker.isin(NO_VALUE_STATUSES))
        value, bad = parse_numbers(df[value_col].where(marker.isna()))
    else:
        marker = pd.Series(None, index=df.index, dtype=object)
        value, bad = parse_numbers(df[value_col])
    wide = "_col" in df.columns
    columns = df["_col"] if wide else _same(value_col, df.index)
    chk.error(bad, "valeur", raw_value,
              "Nombre illisible : écrivez un nombre comme 12,5 ou 1 234 (sans texte), ou "
              "laissez la cellule vide si la valeur manque." + TOKENS_HINT[public])
    status = status_raw.fillna(marker)
    value_given = value.notna()
    wording = chk.text("formulation")
    empty = ~value_given & status.isna() & wording.isna()
    staged.skipped_rows += int(empty.sum())
    status = status.fillna("valide")
    conflict = value_given & status.isin(NO_VALUE_STATUSES)
    chk.error(conflict, "statut", lambda: status.map(LABELS["status"]),
              "Statut sans valeur (non disponible, secret statistique) alors qu'une valeur est "
              "donnée : videz la cellule « valeur » ou changez le statut.")
    frame = pd.DataFrame({
        "indicator_code": ind, "territory_code": ter, "year": year, "nature": nature,
        "breakdown": chk.text("ventilation").fillna(""),
        "modality": chk.text("modalite").fillna(""),
        "value": value, "status": status, "wording": wording,
        "source": chk.text("source"), "comment": chk.text("commentaire"),
        "_row": df["_row"], "_col": columns,
        "_sheet": df["_sheet"] if "_sheet" in df.columns else _same("valeurs", df.index),
        "_src_territoire": df["_src_territoire"] if "_src_territoire" in df.columns
        else _same("territoire", df.index),
        "_src_annee": df["_src_annee"] if "_src_annee" in df.columns
        else (columns if wide else _same("annee", df.index)),
    })[~empty]
    # Codes repeat across millions of rows: categories keep one copy of each distinct text.
    return frame.astype({c: "category" for c in CATEGORY_COLUMNS})


def _same(text: str, index: pd.Index) -> pd.Series:
    """One text on every row, as a category (no array of one string per row to factorize)."""
    return pd.Series(pd.Categorical.from_codes(np.zeros(len(index), dtype=np.int8),
                                               categories=[text]), index=index)


def _concat_chunks(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate chunk frames keeping their categorical columns categorical."""
    if len(frames) == 1:
        return frames[0]
    from pandas.api.types import union_categoricals

    out = {}
    for col in list(frames[0].columns):
        # Each column leaves its chunks as it is joined: the chunks and the whole frame are
        # never held at once (a national file's peak memory was here).
        parts = [f.pop(col) for f in frames]
        if col in CATEGORY_COLUMNS:
            cats = [p.astype("category") for p in parts]
            if len({c.cat.categories.dtype for c in cats}) > 1:  # object in one, text in another
                cats = [pd.Categorical.from_codes(c.cat.codes, c.cat.categories.astype(object))
                        for c in cats]
            out[col] = pd.Series(union_categoricals(cats))
        else:
            out[col] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(out)


def _values_sheet(wb, report, staged, known, territories, indicators, s, options,
                  consume=False):
    public = bool(wb.meta.get("public"))
    if public:
        from etl.public import map_public_values

        df = map_public_values(wb, known, report, staged, options, indicators)
        if df is None:
            return
    else:
        df = wide_to_long(wb.sheets["valeurs"])
        if not SheetCheck("valeurs", df, report).require_columns():
            return
    all_ind = pd.concat([indicators, known.indicators[indicators.columns]]) \
        .drop_duplicates("code").set_index("code")
    all_territories = territories | known.territories
    chunks = [_value_rows(df.iloc[start:start + CHUNK_ROWS], report, staged, all_ind,
                          all_territories, known, public)
              for start in range(0, max(len(df), 1), CHUNK_ROWS)]
    if consume:  # the raw cells are not needed any more: their memory goes before the join
        wb.sheets.pop("valeurs", None)
        del df
    frame = _concat_chunks(chunks)
    del chunks
    memory.give_back(len(frame))  # the chunks' and the raw cells' pages
    if staged.aliased_rows:
        report.info.append(f"{staged.aliased_rows} valeur(s) citent un ancien code de territoire "
                           "(p. ex. AMB-COM) : elles sont rattachées au code officiel.")
    _territories_of_contract(frame, report, all_ind, known, staged)
    _resolve_targets(frame, report, s)
    keys = ["indicator_code", "territory_code", "year", "nature", "breakdown", "modality"]
    frame = _drop_duplicates(frame, keys, report)
    _value_warnings(frame, report, all_ind, known)
    # Apart, once the warnings' columns of one object per row (100 MB for a national file)
    # are gone, and handed back: with them, this check held the national init's peak.
    memory.give_back(len(frame))
    _far_from_previous(frame, report, s)
    staged.tables["observation"] = frame.drop(columns=LOCATION).reset_index(drop=True)
    staged.tables["observation"].attrs["unique_keys"] = True  # see store.load._stage


def _drop_duplicates(frame: pd.DataFrame, keys: list[str], report: Report) -> pd.DataFrame:
    """Rows repeating another's keys: an error where their values differ, else a warning;
    the first of each is kept (drop_duplicates' keep="first"). Most files have none: a sort
    of the rows' keys (`radix_ids`) says so without numbering them, and the frame is kept,
    not copied (200 MB for a national file)."""
    ids = radix_ids(frame, keys, limit=2**62)
    if not repeats(ids):
        return frame
    ids = dense_ids(ids)
    complete = frame[keys].notna().all(axis=1)
    dup = pd.Series(np.bincount(ids)[ids] > 1, index=frame.index) & complete
    if dup.any():
        d = frame[dup]
        n_values = d.groupby(keys, dropna=False, observed=True)["value"].transform(
            lambda s: s.astype("string").fillna("∅").nunique())
        differ = n_values > 1
        report.error(**_at(d, differ, "valeur"), values=d["value"][differ], messages=
                     "Même indicateur, territoire, année, nature et ventilation sur plusieurs "
                     "lignes (ou colonnes) avec des valeurs différentes : gardez la bonne.")
        report.warning(**_at(d, ~differ, "valeur"), values=d["value"][~differ],
                       messages="Ligne en double (même valeur) : elle ne sera chargée qu'une "
                       "fois.")
    first = first_appearance(ids)
    return frame if first.all() else frame[first]


def _at(frame: pd.DataFrame, mask, column: str) -> dict:
    """Sheet, row and source column of staged values, for report.error/warning(**_at(...))."""
    part = frame[mask]
    src = {"valeur": "_col", "territoire": "_src_territoire", "annee": "_src_annee"}
    return {"sheet": part["_sheet"], "rows": part["_row"],
            "column": part[src[column]] if column in src else column}


def _scope(known: Known, staged: Staged) -> pd.MultiIndex:
    """(contract, territory) pairs a value may use: the database's contract_scope, plus what
    this file adds (its contract's territories and their references)."""
    pairs = [known.scope[["contract_code", "territory_code"]]]
    direct = staged.tables.get("contract_territory")
    if direct is not None and len(direct):
        pairs.append(direct[["contract_code", "territory_code"]])
        refs = pd.concat([staged.tables.get("territory_ref", pd.DataFrame(
            columns=["territory_code", "reference_code"])), known.references_of(
            direct["territory_code"].dropna().unique().tolist())])
        joined = direct.merge(refs, on="territory_code")
        pairs.append(joined[["contract_code", "reference_code"]].rename(
            columns={"reference_code": "territory_code"}))
    return pd.MultiIndex.from_frame(pd.concat(pairs).astype(object).drop_duplicates())


def _territories_of_contract(frame, report, all_ind, known, staged) -> None:
    """A value belongs to a territory of its indicator's contract (listed, a reference
    territory of one of them, or the 2015 QPV a 2024 one succeeds): a Blois quartier cannot
    receive an Amboise figure (geographies and contracts are never mixed in one series)."""
    scope = _scope(known, staged)
    # Judged once per distinct (contract, territory) pair: a MultiIndex of the rows built a
    # tuple per row (1 s and 270 MB of a national check).
    contract = map_categories(frame["indicator_code"], all_ind["contract_code"])
    territory = frame["territory_code"]
    listed = set(scope.get_level_values(1))
    checkable = contract.notna() & (isin(territory, known.territories) | isin(territory, listed))
    outside = checkable & ~pair_isin(contract, territory, set(scope))
    if outside.any():
        bad = frame[outside]
        report.error(**_at(frame, outside, "territoire"),
                     values=bad["territory_code"].astype("string"),
                     messages="Territoire hors du contrat « " + contract[outside].astype("string")
                     + " » de cet indicateur : ajoutez-le à l'onglet « territoires » de ce "
                     "contrat, ou corrigez le code du territoire ou de l'indicateur.")


def _resolve_targets(frame: pd.DataFrame, report: Report, s) -> None:
    """Targets written as words ("diviser par deux") get their value from the baseline."""
    todo = frame["wording"].notna() & frame["value"].isna() & (frame["nature"] == "cible")
    if not todo.any():
        return
    from suivi.core.targets import resolve_target

    keys = ["indicator_code", "territory_code", "breakdown", "modality"]
    base = frame[(frame["nature"] == "reference") & frame["value"].notna()]
    if s is not None:
        db_base = validation.baselines(s, frame[todo][keys].astype(object))
        base = pd.concat([db_base, base[keys + ["year", "value"]]])
    base = base.sort_values("year").drop_duplicates(keys, keep="last").set_index(keys)["value"]
    for idx in frame.index[todo]:  # one per worded target: a handful per contract
        row = frame.loc[idx]
        baseline = base.get(tuple(row[k] for k in keys))
        res = resolve_target(row["wording"], None if baseline is None else float(baseline), "")
        if res.value is not None:
            frame.loc[idx, "value"] = res.value
        elif res.kind in ("unknown",):
            report.error("valeurs", [row["_row"]], "formulation", [row["wording"]],
                         "Formulation de cible non comprise : écrivez la valeur visée dans "
                         "« valeur » ou une formulation comme « diviser par deux », « +10 % ».")
        elif res.kind not in ("gap", "direction") and baseline is None:
            report.error("valeurs", [row["_row"]], "formulation", [row["wording"]],
                         "Cible relative sans situation de référence : ajoutez une ligne de "
                         "nature « reference » pour cette série ou donnez la valeur visée.")


def _value_warnings(frame, report, all_ind, known):
    unit = map_values(frame["indicator_code"], all_ind["unit"])
    over = (unit == "percent") & (frame["value"] > 100)
    report.warning(**_at(frame, over, "valeur"), values=frame["value"][over],
                   messages="Pourcentage supérieur à 100 : vérifiez l'unité ou la valeur.")
    fraction = (unit == "percent") & (frame["value"].abs() > 0) & (frame["value"].abs() <= 1)
    report.warning(**_at(frame, fraction, "valeur"), values=frame["value"][fraction],
                   messages="Pourcentage entre 0 et 1 : une cellule au format % d'Excel "
                   "enregistre 12,5 % sous la forme 0,125. Si c'est le cas, écrivez 12,5.")
    periods = known.contracts.set_index("code")
    # The situation de référence may precede the period (a 2024 contract measured from 2021).
    first = periods[["period_start", "baseline_year"]].min(axis=1)
    contract_of = all_ind["contract_code"]
    start = map_values(frame["indicator_code"], contract_of.map(first))
    end = map_values(frame["indicator_code"], contract_of.map(periods["period_end"]))
    outside = start.notna() & ((frame["year"] < start) | (frame["year"] > end))
    report.warning(**_at(frame, outside, "annee"), values=frame["year"][outside],
                   messages="Année hors de la période du contrat : la valeur sera chargée, "
                   "vérifiez l'année.")


def _far_from_previous(frame, report, s):
    """Warn when a realised value is more than double or less than half the previous year's
    (from the same file first, else from the store).

    Each series gets an integer id (`radix_ids`), so that "the same series, the year before"
    is an integer key: a sort, no join of text keys, and only the columns it
    needs (the locations are read for the rows reported). Done in an in-memory DuckDB on a
    copy of the rows until stop 23: 1.4 s and 190 MB of a national file's check."""
    actual = ((frame["nature"] == "realise") & frame["value"].notna()
              & frame["year"].notna()).to_numpy(dtype=bool)
    rows = np.flatnonzero(actual)
    if not len(rows):
        return
    every = len(rows) == len(frame)  # a national file: no copy of each array by `rows`
    # Years are within YEAR_MIN..YEAR_MAX here (others were refused): one slot per year, and
    # one more below for "the year before" the first. The key is built in place: each
    # temporary array of a national file is 24 MB, and this check held the file's peak.
    key = radix_ids(frame, validation.SERIES, limit=2**56)  # x span: below 2**63
    key = key if every else key[rows]
    key *= YEAR_MAX - YEAR_MIN + 2
    year = frame["year"].to_numpy(dtype=np.int64, na_value=0)
    key += year if every else year[rows]
    del year
    key -= YEAR_MIN - 1
    value = frame["value"].to_numpy(dtype=float, na_value=np.nan)
    value = value if every else value[rows]
    prev = _value_before(key, value)
    del key
    missing = np.flatnonzero(np.isnan(prev))
    if s is not None and len(missing):
        wanted = frame.iloc[rows[missing]][[*validation.SERIES, "year"]] \
            .astype({"year": "int64"})
        stored = validation.previous_actuals(s, wanted)
        if len(stored):
            hit = wanted.astype({c: object for c in validation.SERIES}).assign(
                _pos=missing).merge(stored.astype({c: object for c in validation.SERIES}),
                                    on=[*validation.SERIES, "year"])
            prev[hit["_pos"].to_numpy()] = hit["value_prev"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = value / prev
        far = (np.abs(prev) > 0) & (np.abs(value - prev) > 1) \
            & ((ratio > FAR_FACTOR) | (ratio < 1.0 / FAR_FACTOR))
    shown = frame.iloc[rows[far]]
    report.warning(shown["_sheet"], shown["_row"], shown["_col"], shown["value"],
                   "Valeur très éloignée de celle de l'année précédente ("
                   + pd.Series(prev[far], index=shown.index).map(fmt.number).astype("string")
                   + ") : vérifiez-la.")


def _value_before(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each row, the value of the row whose key is one less (NaN where none). Sorted,
    that row is the one just before: a sort and a shift, no hash table of 3 million keys.
    Keys are unique once duplicates are dropped (else one of the equal rows is taken)."""
    order = np.argsort(keys)
    ordered = keys[order]
    follows = ordered[1:] == ordered[:-1] + 1
    del ordered
    out = np.full(len(keys), np.nan)
    out[order[1:][follows]] = values[order[:-1][follows]]
    return out


def validate(wb: Workbook, s=None, options=None, consume: bool = False
             ) -> tuple[Report, Staged]:
    """Check every sheet of the workbook against itself and the database. With `consume`
    (a load that writes right after, under its lock), the values' raw cells are dropped as
    soon as they are checked: a national file's peak memory held them and the staged rows
    at once."""
    from etl.sources.base import Options

    options = options or Options()
    report, staged = Report(), Staged()
    report.headline = wb.announcement
    for name in wb.ignored:
        report.info.append(f"Onglet « {name} » non reconnu, ignoré.")
    report.info.extend(wb.notes)  # what the safety checks noticed (macros, formulas...)
    known = Known.from_db(s)
    contracts = pd.Series([], dtype="string")
    if "contrat" in wb.sheets:
        contracts = _contract_sheet(wb, report, staged, known)
    if "contract" in staged.tables:
        new = staged.tables["contract"][["code", "period_start", "period_end", "baseline_year"]] \
            .dropna(subset=["code"])
        known.contracts = pd.concat([known.contracts[~known.contracts["code"].isin(new["code"])],
                                     new]).reset_index(drop=True)
    territories = set()
    if "territoires" in wb.sheets:
        territories = territory_sheet(wb, report, staged, known, contracts)
    if "liens_qpv" in wb.sheets:
        links_sheet(wb, report, staged, known, territories)
    if "contours" in wb.sheets:
        contours_sheet(wb, report, staged, known)
    nodes = pd.DataFrame(columns=["contract_code", "code"])
    if "arborescence" in wb.sheets:
        nodes = _tree_sheet(wb, report, staged, known, contracts)
    indicators = pd.DataFrame(columns=["code", "contract_code", "unit", "polarity"])
    if "indicateurs" in wb.sheets:
        indicators = _indicator_sheet(wb, report, staged, known, contracts, nodes)
    indicators = indicators.dropna(subset=["code"])
    if "correspondances" in wb.sheets:
        _mapping_sheet(wb, report, staged, known, contracts, indicators)
    if "valeurs" in wb.sheets:
        _values_sheet(wb, report, staged, known, territories, indicators, s, options,
                      consume)
    return report, staged
