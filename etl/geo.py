"""Territory codes: the register's forms and the Insee/ANCT forms public files use.

The register (data/referentiel/, tools/build_register.py) names territories `COM-37003`,
`EPCI-243700754`, `DEP-37`, `REG-24`, `FR`; QPV codes stay bare (`QN03701M` for 2024,
`QP037001` for 2015). Public files write the Insee/ANCT code alone (`37003`, `243700754`,
`37`), so the kind comes from the sheet (« Communes », « EPCI ») or from the code's shape. A
département and a région both have two digits: a bare two-digit code is a département unless
the sheet says région. Pure functions on whole columns: no I/O, no row loop.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

PREFIXES = {"commune": "COM-", "arrondissement_municipal": "COM-", "epci": "EPCI-",
            "departement": "DEP-", "region": "REG-"}
# Kinds a public file's sheet or column may announce; "auto" = decide by the code's shape.
KINDS = ("qpv", "commune", "epci", "departement", "region", "france", "auto")

QPV_2015 = re.compile(r"^QP[0-9][0-9AB][0-9]{4}$")
QPV_ANY = r"^Q[NP][0-9A-Z]{6}$"
OFFICIAL = r"^(COM-[0-9][0-9AB][0-9]{3}|EPCI-[0-9]{9}|DEP-[0-9][0-9AB][0-9]?|REG-[0-9]{2,3}|FR" \
           r"|Q[NP][0-9A-Z]{6})$"
FRANCE_WORDS = {"FR", "FRANCE", "FRANCE ENTIERE", "FRA", "FE"}


def is_official(codes: pd.Series) -> pd.Series:
    """Codes of the register or the ANCT lists (as opposed to a contract's local codes)."""
    return codes.astype("string").str.fullmatch(OFFICIAL).fillna(False).astype(bool)


def is_qpv(codes: pd.Series) -> pd.Series:
    return codes.astype("string").str.fullmatch(QPV_ANY).fillna(False).astype(bool)


def geography_of_qpv(codes: pd.Series) -> pd.Series:
    """qpv2024 for `QN…`, qpv2015 for `QP…`: the generation is part of the code."""
    text = codes.astype("string")
    generation = np.select([text.str.startswith("QN").fillna(False).to_numpy(bool),
                            text.str.startswith("QP").fillna(False).to_numpy(bool)],
                           ["qpv2024", "qpv2015"], default=None)
    return pd.Series(generation, index=codes.index, dtype=object)


def department_of_qpv2015(code: str) -> str | None:
    """`QP037001` -> `37`, `QP02A001` -> `2A`, `QP971001` -> `971`."""
    if not QPV_2015.match(code):
        return None
    dep = code[2:5]
    return dep if dep.startswith("97") else dep[1:] if dep.startswith("0") else dep


def register_codes(raw: pd.Series, kind: pd.Series | str = "auto") -> pd.Series:
    """Insee/ANCT codes -> register codes, column-wise; <NA> where the shape fits no kind.

    A code already in the register's form is kept. Spreadsheets drop leading zeros
    (`1001` for the commune `01001`, `1` for the département `01`): they are restored where the
    kind is known or the length leaves no doubt.
    """
    text = raw.astype("string").str.strip().str.upper()
    text = text.str.replace(r"\.0+$", "", regex=True)
    kind = pd.Series(kind, index=raw.index, dtype="string") if isinstance(kind, str) \
        else kind.astype("string")
    out = pd.Series(pd.NA, index=raw.index, dtype="string")

    prefixed = text.str.fullmatch(OFFICIAL).fillna(False)
    out = out.mask(prefixed, text)
    france = text.isin(FRANCE_WORDS) & (kind.isin(["france", "auto"]) | kind.isna())
    out = out.mask(france & ~prefixed, "FR")

    digits = text.str.fullmatch(r"[0-9][0-9AB][0-9]*").fillna(False) & ~prefixed
    n = text.str.len()
    auto = kind.isna() | (kind == "auto")

    def put(mask, value):
        nonlocal out
        out = out.mask(mask & out.isna(), value)

    put(digits & (kind == "epci") & n.between(8, 9), "EPCI-" + text.str.zfill(9))
    put(digits & (kind == "commune") & n.between(4, 5), "COM-" + text.str.zfill(5))
    put(digits & (kind == "departement") & n.between(1, 3),
        "DEP-" + text.str.zfill(2))
    put(digits & (kind == "region") & n.between(1, 3), "REG-" + text.str.zfill(2))
    put(digits & auto & (n == 9), "EPCI-" + text)
    put(digits & auto & (n == 5), "COM-" + text)
    put(digits & auto & (n == 4) & text.str.fullmatch(r"[0-9]{4}").fillna(False),
        "COM-0" + text)
    put(digits & auto & n.between(2, 3), "DEP-" + text)
    put(digits & auto & (n == 1), "DEP-0" + text)
    qpv = text.str.fullmatch(QPV_ANY).fillna(False) & (kind.isin(["qpv", "auto"]) | kind.isna())
    put(qpv, text)
    return out


def kind_of_sheet(name: str) -> str:
    """What a data sheet of an Insee file holds, from its name (« Données communes »)."""
    from suivi.core.vocab import fold

    key = fold(name)
    words = set(re.split(r"[^a-z0-9]+", key))
    for part, kind in (("epci", "epci"), ("interco", "epci"), ("commun", "commune"),
                       ("depart", "departement"), ("region", "region"), ("france", "france"),
                       ("quartier", "qpv")):
        if part in key:
            return kind
    return "qpv" if words & {"qp", "qpv"} else "auto"
