"""Validation: every cell of a workbook checked column-wise before anything is written.

`validate(workbook, con)` returns a Report (all problems, located) and a `Staged` set of
canonical tables ready for etl/load.py. Checks work on whole columns with pandas masks; the
only Python loops run over sheets, columns or the distinct unknown codes, never over rows.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import pandas as pd

from etl.parsing import as_text, map_unique, parse_numbers, parse_years
from etl.readers import Workbook
from etl.report import Report
from etl.vocab import ALIASES, LABELS, NO_VALUE_STATUSES, fold
from tracker import fmt

YEAR_MIN, YEAR_MAX = 1990, 2050
FAR_FACTOR = 2.0  # warn when a value is more than double or less than half the previous year's

SHEET_COLUMNS = {
    "contrat": (["code", "nom", "periode_debut", "periode_fin"],
                ["annee_reference", "annee_cible", "generation", "niveaux",
                 "seuil_bonne_voie", "seuil_acceleration", "source"]),
    "territoires": (["code", "libelle", "type"],
                    ["geographie", "population", "annee_population", "references", "source",
                     "contrat"]),
    "arborescence": (["code", "niveau", "categorie", "libelle"],
                     ["parent", "ordre", "source", "contrat"]),
    "indicateurs": (["code", "libelle", "unite", "polarite", "type"],
                    ["objectifs", "parent", "ventilations", "definition", "source", "frequence",
                     "note", "contrat"]),
    "valeurs": (["indicateur", "territoire", "annee", "nature", "valeur"],
                ["ventilation", "modalite", "statut", "formulation", "source", "commentaire"]),
}
# Columns the template adds to help staff (labels, unit, last value): read, never loaded.
HELP_COLUMNS = ("indicateur_libelle", "territoire_libelle", "unite", "valeur_precedente")
VOCAB_NAMES = {"unit": "unité", "polarity": "polarité", "type": "type", "nature": "nature",
               "status": "statut", "kind": "type de territoire", "geography": "géographie",
               "category": "catégorie"}


@dataclass
class Staged:
    """Canonical rows per entity (see etl/schema.py), ready to load."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    skipped_rows: int = 0

    @property
    def n_observations(self) -> int:
        obs = self.tables.get("observation")
        return 0 if obs is None else len(obs)


@dataclass
class Known:
    """What the database already holds, for code checks and warnings."""

    contracts: pd.DataFrame
    territories: set
    indicators: pd.DataFrame
    nodes: pd.DataFrame
    contract_territories: pd.DataFrame = None

    @classmethod
    def from_db(cls, con) -> Known:
        if con is None:
            empty = pd.DataFrame
            return cls(empty(columns=["code", "period_start", "period_end"]), set(),
                       empty(columns=["code", "contract_code", "unit", "polarity"]),
                       empty(columns=["contract_code", "code"]),
                       empty(columns=["contract_code", "territory_code"]))
        return cls(
            con.sql("SELECT code, period_start, period_end FROM contract").df(),
            set(con.sql("SELECT code FROM territory").df()["code"]),
            con.sql("SELECT code, contract_code, unit, polarity FROM indicator").df(),
            con.sql("SELECT contract_code, code FROM node").df(),
            con.sql("SELECT contract_code, territory_code FROM contract_territory").df(),
        )


def closest(unknown: pd.Series, known: list[str]) -> pd.Series:
    """Suggestion text per unknown code (looked up once per distinct code)."""
    hints = {}
    for code in unknown.dropna().unique()[:500]:
        match = difflib.get_close_matches(str(code), known, n=1, cutoff=0.6)
        hints[code] = f" Code connu le plus proche : « {match[0]} »." if match else ""
    return unknown.map(hints).fillna("")


class SheetCheck:
    """Checks shared by all sheets, bound to one sheet's frame and the report."""

    def __init__(self, sheet: str, df: pd.DataFrame, report: Report):
        self.sheet, self.df, self.report = sheet, df, report

    def require_columns(self) -> bool:
        required, optional = SHEET_COLUMNS[self.sheet]
        present = [c for c in self.df.columns if c != "_row"]
        missing = [c for c in required if c not in present]
        for col in missing:
            self.report.file_error(
                f"Colonne obligatoire « {col} » absente de l'onglet « {self.sheet} ». "
                f"Colonnes trouvées : {', '.join(present) or 'aucune'}. "
                "Ajoutez-la en première ligne (voir docs/format-classeur.md).",
                sheet=self.sheet, column=col,
            )
        for col in present:
            if col not in required and col not in optional and col not in HELP_COLUMNS \
                    and not col.startswith("_"):
                self.report.info.append(
                    f"Onglet « {self.sheet} » : colonne « {col} » non reconnue, ignorée."
                )
        for col in optional:
            if col not in self.df.columns:
                self.df[col] = None
        return not missing

    def text(self, col: str) -> pd.Series:
        """The column as trimmed text, computed once per column (checks reuse it)."""
        cache = self.__dict__.setdefault("_text", {})
        if col not in cache:
            cache[col] = as_text(self.df[col])
        return cache[col]

    def error(self, mask, col, values, message) -> None:
        mask = pd.Series(mask, index=self.df.index).fillna(False).astype(bool)
        if mask.any():
            msg = message if isinstance(message, str) else message[mask]
            self.report.error(self.sheet, self.df["_row"][mask], col, values[mask], msg)

    def warn(self, mask, col, values, message) -> None:
        mask = pd.Series(mask, index=self.df.index).fillna(False).astype(bool)
        if mask.any():
            msg = message if isinstance(message, str) else message[mask]
            self.report.warning(self.sheet, self.df["_row"][mask], col, values[mask], msg)

    def required(self, col: str) -> pd.Series:
        values = self.text(col)
        self.error(values.isna(), col, values.fillna(""),
                   f"Cellule obligatoire vide : renseignez la colonne « {col} ».")
        return values

    def vocab(self, col: str, vocab: str, required: bool = True) -> pd.Series:
        raw = self.text(col)
        aliases = ALIASES[vocab]
        code = map_unique(raw, lambda v: aliases.get(fold(v)) if isinstance(v, str) else None)
        allowed = sorted(set(ALIASES[vocab].values()))
        bad = raw.notna() & code.isna()
        self.error(bad, col, raw,
                   f"{VOCAB_NAMES[vocab].capitalize()} inconnu(e). Valeurs possibles : "
                   + ", ".join(allowed) + ".")
        if required:
            self.error(raw.isna(), col, raw.fillna(""),
                       f"Cellule obligatoire vide : indiquez {VOCAB_NAMES[vocab]} "
                       f"({', '.join(allowed)}).")
        return code

    def number(self, col: str) -> pd.Series:
        values, bad = parse_numbers(self.df[col])
        self.error(bad, col, self.text(col),
                   "Nombre illisible : écrivez un nombre comme 12,5 ou 1 234 (sans texte), "
                   "ou laissez la cellule vide si la valeur manque.")
        return values

    def year(self, col: str, required: bool = False) -> pd.Series:
        years, bad = parse_years(self.df[col])
        out_of_range = years.notna() & ((years < YEAR_MIN) | (years > YEAR_MAX))
        missing = years.isna() & ~bad if required else pd.Series(False, index=years.index)
        if (bad | out_of_range | missing).any():  # the text form is only needed for messages
            raw = self.text(col)
            self.error(bad, col, raw,
                       "Année illisible : écrivez l'année sur quatre chiffres, par exemple 2021.")
            self.error(out_of_range, col, raw,
                       f"Année hors de la plage plausible {YEAR_MIN}-{YEAR_MAX} : corrigez "
                       "l'année.")
            self.error(missing, col, raw.fillna(""),
                       "Cellule obligatoire vide : indiquez l'année.")
        return years.where(~out_of_range)

    def known(self, col: str, values: pd.Series, known: set, what: str, where: str) -> pd.Series:
        """Mark codes not in `known`; returns the mask of unknown codes."""
        unknown = values.notna() & ~values.isin(known)
        if unknown.any():
            hints = closest(values[unknown], sorted(known))
            message = pd.Series("", index=values.index)
            message[unknown] = (f"Code {what} inconnu. Vérifiez l'orthographe ou ajoutez-le "
                                f"dans {where}." + hints)
            self.error(unknown, col, values, message)
        return unknown

    def duplicates(self, keys: list[str], what: str) -> pd.Series:
        dup = self.df.duplicated(subset=keys, keep=False) & self.df[keys[0]].notna()
        self.error(dup, keys[0], self.df[keys[0]].astype("string"),
                   f"{what} présent(e) plusieurs fois dans l'onglet : gardez une seule ligne.")
        return dup


def _single_contract(wb_contracts: pd.Series, chk: SheetCheck, known: Known) -> pd.Series:
    """Contract of each row: its `contrat` column, else the workbook's only contract."""
    explicit = chk.text("contrat")
    if len(wb_contracts) == 1:
        return explicit.fillna(wb_contracts.iloc[0])
    missing = explicit.isna()
    chk.error(missing, "contrat", explicit.fillna(""),
              "Contrat non déterminé : ajoutez un onglet « contrat » d'une seule ligne ou une "
              "colonne « contrat » avec le code du contrat.")
    all_codes = set(wb_contracts) | set(known.contracts["code"])
    chk.known("contrat", explicit, all_codes, "de contrat", "l'onglet « contrat »")
    return explicit


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


def _territory_sheet(wb, report, staged, known, contracts):
    chk = SheetCheck("territoires", wb.sheets["territoires"], report)
    if not chk.require_columns():
        return set()
    code = chk.required("code")
    chk.duplicates(["code"], "Code de territoire")
    staged.tables["territory"] = pd.DataFrame({
        "code": code, "label": chk.required("libelle"), "kind": chk.vocab("type", "kind"),
        "geography": chk.vocab("geographie", "geography", required=False),
        "population": chk.number("population"),
        "population_year": chk.year("annee_population"),
        "source": chk.text("source"),
    })
    all_codes = set(code.dropna()) | known.territories
    refs = chk.text("references").str.split(";")
    pairs = pd.DataFrame({"territory_code": code, "ref": refs, "_row": chk.df["_row"]}).explode("ref")
    pairs["reference_code"] = pairs["ref"].astype("string").str.strip()
    pairs = pairs[pairs["reference_code"].notna() & (pairs["reference_code"] != "")]
    pairs["rank"] = pairs.groupby(level=0).cumcount() + 1
    unknown = pairs.loc[~pairs["reference_code"].isin(all_codes)]
    if len(unknown):
        report.error("territoires", unknown["_row"], "references", unknown["reference_code"],
                     "Territoire de référence inconnu : il doit figurer dans l'onglet "
                     "« territoires » ou déjà dans la base." + closest(unknown["reference_code"],
                                                                     sorted(all_codes)))
    staged.tables["territory_ref"] = pairs[["territory_code", "reference_code", "rank"]] \
        .reset_index(drop=True)
    if "contrat" in chk.df.columns and chk.text("contrat").notna().any() or len(contracts) == 1:
        contract = _single_contract(contracts, chk, known)
        staged.tables["contract_territory"] = pd.DataFrame(
            {"contract_code": contract, "territory_code": code}).dropna()
    return set(code.dropna())


def _tree_sheet(wb, report, staged, known, contracts):
    chk = SheetCheck("arborescence", wb.sheets["arborescence"], report)
    if not chk.require_columns():
        return pd.DataFrame(columns=["contract_code", "code"])
    contract = _single_contract(contracts, chk, known)
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
    contract = _single_contract(contracts, chk, known)
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
    return frame[["code", "contract_code", "unit", "polarity"]]


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
                    "status", "source", "wording", "comment", "_col")


def _value_rows(df, report, staged, all_ind, territories):
    """Row-local checks of a chunk of the valeurs sheet -> its staged rows (compact)."""
    chk = SheetCheck("valeurs", df, report)
    ind = chk.required("indicateur")
    ter = chk.required("territoire")
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
    raw_value[textual] = as_text(df.loc[textual, value_col])
    marker = map_unique(raw_value, lambda v: ALIASES["status"].get(fold(v))
                        if isinstance(v, str) else None)
    marker = marker.where(marker.isin(NO_VALUE_STATUSES))
    value, bad = parse_numbers(df[value_col].where(marker.isna()))
    wide = "_col" in df.columns
    columns = df["_col"] if wide else pd.Series(value_col, index=df.index)
    if bad.any():
        for col_name, idx in bad[bad].groupby(columns[bad]).groups.items():
            report.error("valeurs", df.loc[idx, "_row"], str(col_name), raw_value[idx],
                         "Nombre illisible : écrivez un nombre comme 12,5 ou 1 234 (sans texte), "
                         "ou laissez la cellule vide si la valeur manque.")
    status = status_raw.fillna(marker)
    value_given = value.notna()
    wording = chk.text("formulation")
    empty = ~value_given & status.isna() & wording.isna()
    staged.skipped_rows += int(empty.sum())
    status = status.fillna("valide")
    conflict = value_given & status.isin(NO_VALUE_STATUSES)
    chk.error(conflict, "statut", status.map(LABELS["status"]),
              "Statut sans valeur (non disponible, secret statistique) alors qu'une valeur est "
              "donnée : videz la cellule « valeur » ou changez le statut.")
    frame = pd.DataFrame({
        "indicator_code": ind, "territory_code": ter, "year": year, "nature": nature,
        "breakdown": chk.text("ventilation").fillna(""),
        "modality": chk.text("modalite").fillna(""),
        "value": value, "status": status, "wording": wording,
        "source": chk.text("source"), "comment": chk.text("commentaire"),
        "_row": df["_row"], "_col": columns,
    })[~empty]
    # Codes repeat across millions of rows: categories keep one copy of each distinct text.
    return frame.astype({c: "category" for c in CATEGORY_COLUMNS})


def _concat_chunks(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate chunk frames keeping their categorical columns categorical."""
    if len(frames) == 1:
        return frames[0]
    from pandas.api.types import union_categoricals

    out = {}
    for col in frames[0].columns:
        parts = [f[col] for f in frames]
        if col in CATEGORY_COLUMNS:
            out[col] = pd.Series(union_categoricals([p.astype("category") for p in parts]))
        else:
            out[col] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(out)


def _values_sheet(wb, report, staged, known, territories, indicators, con):
    df = wide_to_long(wb.sheets["valeurs"])
    if not SheetCheck("valeurs", df, report).require_columns():
        return
    all_ind = pd.concat([indicators, known.indicators[indicators.columns]]) \
        .drop_duplicates("code").set_index("code")
    all_territories = territories | known.territories
    frame = _concat_chunks([
        _value_rows(df.iloc[start:start + CHUNK_ROWS], report, staged, all_ind, all_territories)
        for start in range(0, max(len(df), 1), CHUNK_ROWS)])
    _territories_of_contract(frame, report, all_ind, known, staged)
    _resolve_targets(frame, report, con)
    keys = ["indicator_code", "territory_code", "year", "nature", "breakdown", "modality"]
    complete = frame[keys].notna().all(axis=1)
    dup = frame.duplicated(keys, keep=False) & complete
    if dup.any():
        d = frame[dup]
        n_values = d.groupby(keys, dropna=False, observed=True)["value"].transform(
            lambda s: s.astype("string").fillna("∅").nunique())
        differ = n_values > 1
        report.error("valeurs", d["_row"][differ], "valeur", d["value"][differ],
                     "Même indicateur, territoire, année, nature et ventilation sur plusieurs "
                     "lignes avec des valeurs différentes : gardez la bonne ligne.")
        report.warning("valeurs", d["_row"][~differ], "valeur", d["value"][~differ],
                       "Ligne en double (même valeur) : elle ne sera chargée qu'une fois.")
    frame = frame.drop_duplicates(keys)
    _value_warnings(frame, report, all_ind, known, con)
    staged.tables["observation"] = frame.drop(columns=["_row", "_col"]).reset_index(drop=True)


def _territories_of_contract(frame, report, all_ind, known, staged) -> None:
    """A value belongs to a territory of its indicator's contract: a Blois quartier cannot
    receive an Amboise figure (geographies and contracts are never mixed in one series)."""
    links = pd.concat([known.contract_territories,
                       staged.tables.get("contract_territory",
                                         known.contract_territories.iloc[:0])])
    allowed = set(zip(links["contract_code"], links["territory_code"]))
    contract = frame["indicator_code"].astype(object).map(all_ind["contract_code"])
    pairs = pd.Series(list(zip(contract, frame["territory_code"].astype(object))),
                      index=frame.index, dtype=object)
    checkable = contract.notna() & frame["territory_code"].isin(known.territories | set(
        links["territory_code"]))
    outside = checkable & ~pairs.isin(allowed)
    if outside.any():
        bad = frame[outside]
        report.error("valeurs", bad["_row"], "territoire", bad["territory_code"].astype("string"),
                     "Territoire hors du contrat « " + contract[outside].astype("string")
                     + " » de cet indicateur : ajoutez-le à l'onglet « territoires » de ce "
                     "contrat, ou corrigez le code du territoire ou de l'indicateur.")


def _resolve_targets(frame: pd.DataFrame, report: Report, con) -> None:
    """Targets written as words ("diviser par deux") get their value from the baseline."""
    todo = frame["wording"].notna() & frame["value"].isna() & (frame["nature"] == "cible")
    if not todo.any():
        return
    from tracker.targets import resolve_target

    keys = ["indicator_code", "territory_code", "breakdown", "modality"]
    base = frame[(frame["nature"] == "reference") & frame["value"].notna()]
    if con is not None:
        db_base = con.sql("SELECT indicator_code, territory_code, breakdown, modality, year, "
                          "value FROM observation WHERE nature = 'reference' AND value IS NOT NULL").df()
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


def _value_warnings(frame, report, all_ind, known, con):
    unit = frame["indicator_code"].map(all_ind["unit"])
    over = (unit == "percent") & (frame["value"] > 100)
    report.warning("valeurs", frame["_row"][over], "valeur", frame["value"][over],
                   "Pourcentage supérieur à 100 : vérifiez l'unité ou la valeur.")
    fraction = (unit == "percent") & (frame["value"].abs() > 0) & (frame["value"].abs() <= 1)
    report.warning("valeurs", frame["_row"][fraction], "valeur", frame["value"][fraction],
                   "Pourcentage entre 0 et 1 : une cellule au format % d'Excel enregistre "
                   "12,5 % sous la forme 0,125. Si c'est le cas, écrivez 12,5.")
    periods = known.contracts.set_index("code")[["period_start", "period_end"]]
    contract = frame["indicator_code"].map(all_ind["contract_code"])
    start, end = contract.map(periods["period_start"]), contract.map(periods["period_end"])
    outside = start.notna() & ((frame["year"] < start) | (frame["year"] > end))
    report.warning("valeurs", frame["_row"][outside], "annee", frame["year"][outside],
                   "Année hors de la période du contrat : la valeur sera chargée, vérifiez l'année.")
    _far_from_previous(frame, report, con)


FAR_SQL = """
WITH cur AS (SELECT * FROM _cur_values),
prev AS (
    SELECT indicator_code, territory_code, breakdown, modality, year + 1 AS year,
           value AS value_prev, 0 AS pri FROM cur
    {db_part}
),
best AS (SELECT * FROM prev QUALIFY row_number() OVER (
    PARTITION BY indicator_code, territory_code, breakdown, modality, year ORDER BY pri) = 1)
SELECT cur._row, cur._col, cur.value, best.value_prev
FROM cur JOIN best USING (indicator_code, territory_code, breakdown, modality, year)
WHERE abs(best.value_prev) > 0 AND abs(cur.value - best.value_prev) > 1
  AND (cur.value / best.value_prev > {far} OR cur.value / best.value_prev < 1.0 / {far})
ORDER BY cur._row
"""
DB_PREVIOUS = """
    UNION ALL
    SELECT o.indicator_code, o.territory_code, o.breakdown, o.modality, o.year + 1, o.value, 1
    FROM observation o JOIN cur c ON o.indicator_code = c.indicator_code
        AND o.territory_code = c.territory_code AND o.breakdown = c.breakdown
        AND o.modality = c.modality AND o.year = c.year - 1
    WHERE o.nature = 'realise' AND o.value IS NOT NULL
"""


def _far_from_previous(frame, report, con):
    """Warn when a realised value is more than double or less than half the previous year's
    (from the same file first, else from the database). Joined in DuckDB, not in pandas."""
    import duckdb

    cur = frame[(frame["nature"] == "realise") & frame["value"].notna() & frame["year"].notna()]
    if cur.empty:
        return
    cur = cur[["indicator_code", "territory_code", "breakdown", "modality", "year", "value",
               "_row", "_col"]].astype({"year": "int64", "_col": "string"})
    db = con if con is not None else duckdb.connect()
    db.register("_cur_values", cur)
    try:
        sql = FAR_SQL.format(db_part=DB_PREVIOUS if con is not None else "", far=FAR_FACTOR)
        m = db.sql(sql).df()
    finally:
        db.unregister("_cur_values")
    report.warning("valeurs", m["_row"], m["_col"], m["value"],
                   "Valeur très éloignée de celle de l'année précédente ("
                   + m["value_prev"].map(fmt.number).astype("string") + ") : vérifiez-la.")


def validate(wb: Workbook, con=None) -> tuple[Report, Staged]:
    """Check every sheet of the workbook against itself and the database."""
    report, staged = Report(), Staged()
    for name in wb.ignored:
        report.info.append(f"Onglet « {name} » non reconnu, ignoré.")
    report.info.extend(wb.notes)  # what the safety checks noticed (macros, formulas...)
    known = Known.from_db(con)
    contracts = pd.Series([], dtype="string")
    if "contrat" in wb.sheets:
        contracts = _contract_sheet(wb, report, staged, known)
    if "contract" in staged.tables:
        new = staged.tables["contract"][["code", "period_start", "period_end"]].dropna(subset=["code"])
        known.contracts = pd.concat([known.contracts[~known.contracts["code"].isin(new["code"])],
                                     new]).reset_index(drop=True)
    territories = set()
    if "territoires" in wb.sheets:
        territories = _territory_sheet(wb, report, staged, known, contracts)
    nodes = pd.DataFrame(columns=["contract_code", "code"])
    if "arborescence" in wb.sheets:
        nodes = _tree_sheet(wb, report, staged, known, contracts)
    indicators = pd.DataFrame(columns=["code", "contract_code", "unit", "polarity"])
    if "indicateurs" in wb.sheets:
        indicators = _indicator_sheet(wb, report, staged, known, contracts, nodes)
    if "valeurs" in wb.sheets:
        _values_sheet(wb, report, staged, known, territories, indicators.dropna(subset=["code"]), con)
    return report, staged

