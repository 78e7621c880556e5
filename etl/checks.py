"""What every sheet's validation shares: the staged rows, what the database already holds,
and the column-wise checks bound to one sheet (`SheetCheck`), which locate every problem in
the source file (sheet, row, column) whatever the layout the rows came from."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import pandas as pd

from etl.parsing import as_text, isin, map_unique, parse_numbers, parse_years
from etl.report import Report
from suivi.core.vocab import ALIASES, fold
from suivi.store import validation

YEAR_MIN, YEAR_MAX = 1990, 2050

SHEET_COLUMNS = {
    "contrat": (["code", "nom", "periode_debut", "periode_fin"],
                ["annee_reference", "annee_cible", "generation", "niveaux",
                 "seuil_bonne_voie", "seuil_acceleration", "source"]),
    # Only `code` for a territory the register (or the ANCT's list) already holds: its label,
    # population and references come from there.
    "territoires": (["code"],
                    ["libelle", "type", "geographie", "population", "annee_population",
                     "references", "anciens_codes", "source", "contrat", "communes",
                     "departement"]),
    "arborescence": (["code", "niveau", "categorie", "libelle"],
                     ["parent", "ordre", "source", "contrat"]),
    "indicateurs": (["code", "libelle", "unite", "polarite", "type"],
                    ["objectifs", "parent", "ventilations", "definition", "source", "frequence",
                     "note", "contrat", "variables_source"]),
    "correspondances": (["indicateur", "variable"], ["contrat"]),
    "liens_qpv": (["territoire", "predecesseur"], ["statut", "rang"]),
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
    """Canonical rows per entity (see suivi/store/schema.py), ready to load."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    skipped_rows: int = 0
    aliased_rows: int = 0

    @property
    def n_observations(self) -> int:
        obs = self.tables.get("observation")
        return 0 if obs is None else len(obs)


def _empty(*columns) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))


@dataclass
class Known:
    """What the database already holds, for code checks and warnings."""

    contracts: pd.DataFrame
    territories: set
    indicators: pd.DataFrame
    nodes: pd.DataFrame
    contract_territories: pd.DataFrame = None
    aliases: dict = field(default_factory=dict)
    # (contract, territory) pairs a value may belong to: listed, references, predecessors.
    scope: pd.DataFrame = None
    variables: pd.DataFrame = None
    session: object = None

    @classmethod
    def from_db(cls, s) -> Known:
        if s is None:
            return cls(_empty("code", "period_start", "period_end", "baseline_year"), set(),
                       _empty("code", "contract_code", "unit", "polarity"),
                       _empty("contract_code", "code"),
                       _empty("contract_code", "territory_code"), {},
                       _empty("contract_code", "territory_code"),
                       _empty("indicator_code", "contract_code", "variable", "label"))
        return cls(**validation.known_state(s), session=s)

    def resolve(self, codes: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Old or local codes -> current codes (`AMB-COM` -> `COM-37003`); returns the codes
        and the mask of those replaced. A categorical column is mapped once per category."""
        if not self.aliases or codes.empty:
            return codes, pd.Series(False, index=codes.index)
        replaced = isin(codes, self.aliases.keys())
        if not replaced.any():
            return codes, replaced
        aliases = self.aliases
        if isinstance(codes.dtype, pd.CategoricalDtype):
            return codes.map(lambda c: aliases.get(c, c)), replaced
        mapped = map_unique(codes, lambda c: aliases.get(c, c))
        return pd.Series(mapped, index=codes.index, dtype="string"), replaced

    def communes_of_department(self, department: str) -> pd.DataFrame:
        if self.session is None:
            return _empty("code", "label", "kind")
        return validation.communes_of_department(self.session, department)

    def references_of(self, codes: list[str]) -> pd.DataFrame:
        if self.session is None:
            return _empty("territory_code", "reference_code", "rank")
        return validation.references_of(self.session, codes)


def closest(unknown: pd.Series, known: list[str]) -> pd.Series:
    """Suggestion text per unknown code (looked up once per distinct code)."""
    hints = {}
    for code in unknown.dropna().unique()[:500]:
        match = difflib.get_close_matches(str(code), known, n=1, cutoff=0.6)
        hints[code] = f" Code connu le plus proche : « {match[0]} »." if match else ""
    return unknown.map(hints).fillna("")


def closest_code(unknown: pd.Series, known: set) -> pd.Series:
    """`closest` among the known codes that share the unknown code's kind and, for register
    codes, its département (`COM-37…`): a national register has 36 000 codes."""
    hints = {}
    for code in unknown.dropna().unique()[:500]:
        code = str(code)
        prefix = code.split("-")[0] + "-" if "-" in code else code[:2]
        stem = code[:len(prefix) + 2] if prefix in ("COM-", "DEP-") else prefix
        pool = [k for k in known if k.startswith(stem)] or [k for k in known
                                                            if k.startswith(prefix)]
        match = difflib.get_close_matches(code, pool or sorted(known)[:5000], n=1, cutoff=0.6)
        hints[code] = f" Code connu le plus proche : « {match[0]} »." if match else ""
    return unknown.astype(object).map(lambda c: hints.get(str(c), "")).fillna("")


class SheetCheck:
    """Checks shared by all sheets, bound to one sheet's frame and the report.

    A row locates itself: `_row` (spreadsheet row), `_sheet` when it came from a public
    file's sheet, and `_src_<column>` or `_col` for the source column of a canonical one
    (`territoire` is `CODGEO` in an Insee base, `valeur` is `DISP_MED_A21`).
    """

    def __init__(self, sheet: str, df: pd.DataFrame, report: Report):
        self.sheet, self.df, self.report = sheet, df, report

    def where(self, col: str, mask: pd.Series):
        """(sheet, column) of the masked rows, as the source file names them."""
        sheet = self.df["_sheet"][mask] if "_sheet" in self.df.columns else self.sheet
        src = f"_src_{col}"
        if src in self.df.columns:
            column = self.df[src][mask]
        elif col in ("valeur", "indicateur", "annee") and "_col" in self.df.columns:
            column = self.df["_col"][mask]
        else:
            column = col
        return sheet, column

    def require_columns(self) -> bool:
        required, optional = SHEET_COLUMNS[self.sheet]
        present = [c for c in self.df.columns if c != "_row"]
        missing = [c for c in required if c not in present]
        for col in missing:
            self.report.file_error(
                f"Colonne obligatoire « {col} » absente de l'onglet « {self.sheet} ». "
                f"Colonnes trouvées : {', '.join(p for p in present if not p.startswith('_')) or 'aucune'}. "
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

    def _add(self, kind, mask, col, values, message) -> None:
        """`values` may be a function that makes them: called only when a row is reported
        (a national file's rows are almost never wrong, and their text costs)."""
        mask = pd.Series(mask, index=self.df.index).fillna(False).astype(bool)
        if mask.any():
            values = values() if callable(values) else values
            msg = message if isinstance(message, str) else message[mask]
            sheet, column = self.where(col, mask)
            getattr(self.report, kind)(sheet, self.df["_row"][mask], column, values[mask], msg)

    def error(self, mask, col, values, message) -> None:
        self._add("error", mask, col, values, message)

    def warn(self, mask, col, values, message) -> None:
        self._add("warning", mask, col, values, message)

    def required(self, col: str) -> pd.Series:
        values = self.text(col)
        self.error(values.isna(), col, lambda: values.fillna(""),
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
            self.error(raw.isna(), col, lambda: raw.fillna(""),
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
        unknown = values.notna() & ~isin(values, known)
        if unknown.any():
            hints = closest_code(values[unknown], known)
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


def single_contract(wb_contracts: pd.Series, chk: SheetCheck, known: Known) -> pd.Series:
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
