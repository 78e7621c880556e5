"""Demonstration values for the Amboise contract, clearly marked as not real.

Why this exists: the Amboise protocol (Nov. 2019) fixes a baseline year (2019) and a target year
(2022) for its indicators, but neither document gives a single baseline, target or measured
figure. Without numbers the dashboard cannot show a progress status, a trend or a gap to the
commune. `demo_values` fabricates a small, plausible `valeurs` table so that the pages, the
progress method (docs/methode-suivi.md) and the loading and removal of demo batches can be
exercised and shown. Every row carries `statut` = `demo` and a source saying it is generated.

The output is deterministic (seeded with 2019): the same workbook always gives the same table.

What is generated, per measurable indicator (unit count, percent, rate, ratio, score, eur):
- territories: each QPV of the workbook; for levels (percent, rate, ratio, score) also the
  QPVs' reference territories (commune, CCVA, bassin, département), never for raw counts;
- a 2019 `reference` row, a 2022 `cible` row better than the baseline (none for neutral
  indicators, which get no status), and `realise` rows between 2019 and 2023;
- a mix of trajectories so that every status appears. Series that should be "en bonne voie",
  "accélération nécessaire", "progrès limité" or "dégradation" stop in 2021 (later years not
  reported yet: once the 2022 deadline has passed an unmet target is simply "non atteint");
  some series also miss an intermediate year (the row is omitted, never written as 0);
- a few targets written as a relative `formulation` ("diviser par deux", "+10 %", "+30 %"),
  with the value computed from the baseline as the loader would.
Keys that already hold a real value in the workbook's `valeurs` sheet are left out.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

from suivi.core.vocab import ALIASES, fold

DEMO_SOURCE = "Valeur de démonstration générée (non réelle)"
SEED = 2019
BASE_YEAR, TARGET_YEAR = 2019, 2022
COLUMNS = ["indicateur", "territoire", "annee", "nature", "valeur", "ventilation", "modalite",
           "statut", "formulation", "source", "commentaire"]

from suivi.core.vocab import MEASURABLE_UNITS as MEASURABLE  # noqa: E402

LEVELS = {"percent", "rate", "ratio", "score"}  # also shown on the reference territories
SCALE = {"percent": 1.0, "rate": 1.0, "score": 0.1, "ratio": 0.01}  # drawn on a 0-100 scale
DECIMALS = {"percent": 1, "rate": 1, "score": 2, "ratio": 3}

# (label, last reported year, achievement A = (V - B) / (C - B) in that year).
# With a 2019 baseline and a 2022 target, stopping in 2021 gives an elapsed share of 2/3, so
# the pace A / (2/3) is 1.2, 0.78, 0.3 and about -0.5 for the four middle trajectories.
TRAJECTORIES = [
    ("objectif atteint", 2023, 1.2),
    ("en bonne voie", 2021, 0.8),
    ("accélération nécessaire", 2021, 0.52),
    ("progrès limité", 2021, 0.2),
    ("dégradation", 2021, -0.35),
    ("objectif non atteint", 2023, 0.55),
]


def _canon(value, vocab: str) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return ALIASES[vocab].get(fold(value))


def _round(value: float, unit: str) -> float:
    if unit == "count":
        return float(round(value))
    if unit == "eur":
        return float(round(value, -2))
    return round(value, DECIMALS[unit])


class _Generator:
    def __init__(self, territories: pd.DataFrame):
        self.rng = random.Random(SEED)
        self.deck: list[tuple] = []
        qpv = territories[territories["type"].map(lambda t: _canon(t, "kind")) == "qpv"]
        self.qpvs = list(qpv["code"])
        self.population = dict(zip(territories["code"], territories["population"]))
        refs: list[str] = []
        for cell in qpv["references"].dropna():
            refs += [r.strip() for r in str(cell).split(";") if r.strip() and r.strip() not in refs]
        self.refs = refs  # nearest to widest

    def trajectory(self) -> tuple:
        """Draw from a shuffled deck so that every trajectory is used evenly."""
        if not self.deck:
            self.deck = list(TRAJECTORIES)
            self.rng.shuffle(self.deck)
        return self.deck.pop()

    # -- baselines and targets ---------------------------------------------------------------

    def level_baselines(self, d: int) -> dict[str, float]:
        """Département best, then bassin, CCVA, commune, and the QPVs worse still (0-100)."""
        rng = self.rng
        worse = -d if d else 1
        dep = rng.uniform(35, 80) if d > 0 else rng.uniform(8, 50) if d < 0 else \
            rng.uniform(10, 60)
        gap = rng.uniform(4, 10)
        out = {}
        n = len(self.refs)
        for k, code in enumerate(self.refs):
            share = 1 - k / (n - 1) if n > 1 else 1
            out[code] = dep + worse * gap * share
        commune = out[self.refs[0]] if self.refs else dep
        for code in self.qpvs:
            out[code] = commune + worse * rng.uniform(6, 18)
        return {c: min(95.0, max(2.0, v)) for c, v in out.items()}

    def count_baseline(self, territory: str, unit: str) -> float:
        pop = self.population.get(territory)
        pop = 1500.0 if pop is None or pd.isna(pop) else float(pop)
        if unit == "eur":
            return _round(pop * self.rng.uniform(10, 40), "eur")
        return float(max(30, round(pop * self.rng.uniform(0.02, 0.12))))

    def target(self, b: float, d: int, unit: str, is_qpv: bool) -> tuple[float, str | None]:
        """Target better than the baseline; sometimes a relative wording (QPV series only)."""
        rng = self.rng
        if is_qpv and rng.random() < 0.2:
            if d < 0:
                return b / 2, "diviser par deux"
            if unit in LEVELS:
                return b * 1.10, "+10 %"
            return b * 1.30, "+30 %"
        if unit in LEVELS:
            step = rng.uniform(3, 8) if is_qpv else rng.uniform(1, 3)
            return b + d * step * SCALE[unit], None
        return b * (1 + d * rng.uniform(0.25, 0.5)), None

    # -- one series --------------------------------------------------------------------------

    def series(self, ind: pd.Series, unit: str, d: int, territory: str, b: float) -> list[dict]:
        rng = self.rng
        base = {"indicateur": ind["code"], "territoire": territory, "statut": "demo",
                "source": DEMO_SOURCE}
        is_qpv = territory in self.qpvs
        b = _round(b, unit)
        rows = [dict(base, annee=BASE_YEAR, nature="reference", valeur=b,
                     commentaire="Situation de référence de démonstration")]
        if d == 0:
            label = "indicateur neutre : pas de cible ni de statut"
            years = list(range(BASE_YEAR, 2024))
            values = {BASE_YEAR: b}
            for y in years[1:]:
                values[y] = _round(values[y - 1] * (1 + rng.uniform(-0.06, 0.06)), unit)
        else:
            c, wording = self.target(b, d, unit, is_qpv)
            c = round(c, 2) if wording else _round(c, unit)
            rows.append(dict(base, annee=TARGET_YEAR, nature="cible", valeur=c,
                             formulation=wording,
                             commentaire="Cible de démonstration" + (
                                 " exprimée par rapport à la situation de référence"
                                 if wording else "")))
            label, last, final = self.trajectory()
            years = list(range(BASE_YEAR, last + 1))
            values = {}
            for y in years:
                a = final * (y - BASE_YEAR) / (last - BASE_YEAR)
                if BASE_YEAR < y < last:
                    a += rng.uniform(-0.08, 0.08)
                values[y] = _round(b + (c - b) * a, unit)
        middle = years[1:-1]
        if middle and rng.random() < 0.3:
            years.remove(rng.choice(middle))
        for y in years:
            v = values[y]
            if unit in LEVELS:
                v = min(95 * SCALE[unit], max(2 * SCALE[unit], v))
            rows.append(dict(base, annee=y, nature="realise", valeur=v,
                             commentaire=f"Trajectoire de démonstration : {label}"))
        return rows

    def indicator(self, ind: pd.Series) -> list[dict]:
        unit = _canon(ind["unite"], "unit")
        polarity = _canon(ind["polarite"], "polarity")
        d = {"higher_better": 1, "lower_better": -1}.get(polarity, 0)
        rows: list[dict] = []
        if unit in LEVELS:
            baselines = self.level_baselines(d)
            for code in self.qpvs + self.refs:
                rows += self.series(ind, unit, d, code, baselines[code] * SCALE[unit])
        else:
            for code in self.qpvs:
                rows += self.series(ind, unit, d, code, self.count_baseline(code, unit))
        return rows


def demo_values(workbook_path: str | Path) -> pd.DataFrame:
    """Deterministic demonstration `valeurs` table for the Amboise workbook (statut `demo`)."""
    sheets = pd.read_excel(workbook_path, sheet_name=None, engine="calamine")
    indicators = sheets["indicateurs"]
    gen = _Generator(sheets["territoires"])
    rows: list[dict] = []
    for _, ind in indicators.iterrows():
        if _canon(ind["unite"], "unit") in MEASURABLE:
            rows += gen.indicator(ind)
    out = pd.DataFrame(rows).reindex(columns=COLUMNS)
    out["annee"] = out["annee"].astype("int64")
    out["valeur"] = out["valeur"].astype("float64")

    real = sheets.get("valeurs")
    if real is not None and len(real):
        keys = ["indicateur", "territoire", "annee", "nature"]
        taken = set(map(tuple, real[keys].astype(str).to_numpy()))
        mine = out[keys].astype(str).apply(tuple, axis=1)
        out = out[~mine.isin(taken)]
    return out.reset_index(drop=True)


if __name__ == "__main__":
    import sys

    src = sys.argv[1] if len(sys.argv) > 1 else "data/contrats/amboise.xlsx"
    table = demo_values(src)
    if len(sys.argv) > 2:
        table.to_csv(sys.argv[2], index=False)
    print(f"{len(table)} valeurs de démonstration pour {src}")
