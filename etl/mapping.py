"""Source variables -> indicators: the names public files give their columns, compared once.

An indicator declares in `variables_source` the names or labels its figures carry in public
files (`DISP_MED`, « Taux de pauvreté »). A file's column matches when both are equal without
case, accents, spaces, underscores or punctuation, and without the year part the name
carries (`DISP_MED_A21`, `disp_med_a17`, `P21_POP`, « Taux de pauvreté 2021 »): the year goes
to the value, the variable stays the same from one year's file to the next.
"""

from __future__ import annotations

import re

import pandas as pd

from suivi.core.vocab import fold

# The year part of a variable name, at its end (`_A21`, `_a2021`, ` 2021`, `(2021)`) or as
# Insee's census prefix (`P21_`, `C19_`).
_SUFFIX = re.compile(r"(?:[\s_.-]+\(?\s*(?:a|an|annee)?\s*((?:19|20)\d{2})\s*\)?"
                     r"|\(\s*((?:19|20)\d{2})\s*\)|[\s_.-]+a(\d{2}))\s*$", re.IGNORECASE)
_PREFIX = re.compile(r"^([PC])(\d{2})_", re.IGNORECASE)


def _century(two: str) -> int:
    yy = int(two)
    return 2000 + yy if yy <= 50 else 1900 + yy


def split_year(name: str) -> tuple[str, int | None]:
    """`DISP_MED_A21` -> (`DISP_MED`, 2021); `POP_MUN` -> (`POP_MUN`, None)."""
    text = str(name).strip()
    m = _SUFFIX.search(text)
    if m and m.start() > 0:
        four = m.group(1) or m.group(2)
        year = int(four) if four else _century(m.group(3))
        return text[:m.start()].strip(), year
    m = _PREFIX.match(text)
    if m:
        return m.group(1) + "_" + text[m.end():], _century(m.group(2))
    return text, None


def variable_key(name: str) -> str:
    """The folded form a variable is compared in (see the module docstring)."""
    stem, _ = split_year(name)
    return re.sub(r"[^a-z0-9]", "", fold(stem))


def split_list(text) -> list[str]:
    """`DISP_MED ; Médiane du revenu` -> two names (the cell of `variables_source`)."""
    if text is None or text is pd.NA or (isinstance(text, float) and text != text):
        return []
    return [part.strip() for part in str(text).split(";") if part.strip()]
