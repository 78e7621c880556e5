"""Projection to the target year: at the current pace, will the target be met, and when?

Officials ask a simpler question than the status (suivi/core/progress.py): if things go on as they
have since the baseline, what will the value be at the target year, and in which year would the
target be reached? This module answers it once, as pure functions (no I/O, no database, no
pandas); suivi/store/projection_sql.py transcribes the same arithmetic into SQL for whole contracts
and tests/test_projection.py checks that both agree. The method is described for users in
docs/methode-projection.md.

Method (UNESCAP's anticipated-progress method, in its linear form, like the status method):
- points: the actual values (« réalisé ») strictly after the baseline year b, up to the
  evaluation year; every year when the series has no baseline. At least MIN_POINTS are needed.
- weighted least-squares line through the points, with weight w = 1 + (year - first year):
  1 for the first point, 2 a year later, and so on. Recent years count more, as in UNESCAP's
  time-weighted regression; the weights grow by one per year (a gap in the series keeps its
  place), which keeps them explainable in one sentence.
- expected value at the target year T: the line at T.
- reach year: the first whole year from which the line meets the target C, and at least the
  year after the last actual (the last value itself does not meet it). « Pas à ce rythme »
  when the line does not move towards the target, or reaches it only after HORIZON years.
- uncertainty band (3 points or more): line ± BAND_Z standard errors of the fitted line,
  s² = Σ w r² / (n - 2), se(x)² = s² (1 / Σw + (x - x̄)² / Σ w (x_i - x̄)²), where r are the
  residuals and x̄ the weighted mean year. With two points the line goes through both and no
  band is given.

Order of the rules (the first that applies):
1. `not_projectable` when the polarity is neutral or unknown, the target (T, C) is missing,
   or fewer than MIN_POINTS actuals lie after the baseline (reason code + French text);
2. `achieved` when the last actual already meets the target: d * (V - C) >= 0;
3. `never` when the line does not move towards the target (d * slope <= 0) or reaches it more
   than HORIZON years after the last actual;
4. `on_time` when the reach year is T or earlier, `late` when it is after T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from suivi.core import fmt
from suivi.core import progress as pg

#: Actuals after the baseline needed for a projection.
MIN_POINTS = 2
#: Actuals from which an uncertainty band is given (a line through two points has no spread).
BAND_POINTS = 3
#: Half-width of the band in standard errors of the fitted line (about 95 % for a normal law;
#: indicative only with few points).
BAND_Z = 2.0
#: A target reached more than this many years after the last actual counts as « pas à ce rythme ».
HORIZON = 50
#: Years after the last actual the charts draw the projection for, at most.
LINE_YEARS = 10
#: A residual sum of squares below this share of the total is rounding noise (points on a
#: line): it counts as 0, in Python and in SQL alike, whatever the order of the sums.
RSS_FLOOR = 1e-9
#: Reach years are rounded up from year* - REACH_EPSILON, so that a crossing computed as
#: 2026.9999999 in floating point is 2027 in Python and in SQL alike.
REACH_EPSILON = 1e-6

PROJECTION_STATUSES: dict[str, str] = {
    "achieved": "cible déjà atteinte",
    "on_time": "cible atteinte à l'échéance au rythme actuel",
    "late": "cible atteinte après l'échéance au rythme actuel",
    "never": "pas à ce rythme",
    "not_projectable": "projection impossible",
}

PROJECTION_REASONS: dict[str, str] = {
    "neutral_polarity": "Indicateur sans sens d'évolution souhaité : pas de projection.",
    "unknown_polarity": "Polarité de l'indicateur absente ou inconnue : pas de projection.",
    "missing_target": "Pas de situation visée (cible) : pas de projection.",
    "too_few_values": "Projection impossible : il faut au moins deux valeurs réalisées après "
                      "l'année de référence.",
    "wrong_direction": "La tendance ne va pas vers la cible.",
    "beyond_horizon": f"La cible ne serait pas atteinte dans les {HORIZON} ans.",
}


@dataclass(frozen=True)
class Fit:
    """Weighted sums of the fitted points, x = year - first_year, w = 1 + x.

    The projection needs nothing else; the SQL computes the same sums with GROUP BY.
    """

    n: int
    first_year: int
    sw: float
    swx: float
    swy: float
    swxx: float
    swxy: float
    swyy: float

    @property
    def mean_x(self) -> float:
        return self.swx / self.sw

    @property
    def mean_y(self) -> float:
        return self.swy / self.sw

    @property
    def sxx(self) -> float:
        return self.swxx - self.swx * self.swx / self.sw

    @property
    def sxy(self) -> float:
        return self.swxy - self.swx * self.swy / self.sw

    @property
    def syy(self) -> float:
        return self.swyy - self.swy * self.swy / self.sw

    @property
    def slope(self) -> float:
        return self.sxy / self.sxx

    @property
    def variance(self) -> float | None:
        """s² = weighted residual sum of squares / (n - 2); None below BAND_POINTS points."""
        if self.n < BAND_POINTS:
            return None
        rss = self.syy - self.slope * self.sxy
        return (rss if rss > RSS_FLOOR * self.syy else 0.0) / (self.n - 2)

    def value_at(self, year: float) -> float:
        return self.mean_y + self.slope * (year - self.first_year - self.mean_x)

    def band_at(self, year: float) -> tuple[float, float] | None:
        """(low, high) of the fitted line at `year`, or None without a band."""
        s2 = self.variance
        if s2 is None:
            return None
        dx = year - self.first_year - self.mean_x
        half = BAND_Z * math.sqrt(s2 * (1.0 / self.sw + dx * dx / self.sxx))
        centre = self.value_at(year)
        return centre - half, centre + half


def weight(year: int, first_year: int) -> float:
    """Weight of an actual in the fit: 1 for the first year, +1 for each year after it."""
    return 1.0 + (year - first_year)


def fit(points: list[tuple[int, float]]) -> Fit:
    """Weighted sums of year-sorted (year, value) points, at least two distinct years."""
    first = points[0][0]
    sums = [0.0] * 6
    for year, value in points:
        x = float(year - first)
        w = weight(year, first)
        for i, term in enumerate((w, w * x, w * value, w * x * x, w * x * value,
                                  w * value * value)):
            sums[i] += term
    return Fit(len(points), first, *sums)


@dataclass(frozen=True)
class Projection:
    """Where the series is heading at its current pace, with what is needed to explain it."""

    status: str
    reason: str | None
    polarity: str | None
    d: int | None
    target_year: int | None
    target: float | None
    points: tuple[tuple[int, float], ...] = ()
    fit: Fit | None = None
    reach_year: int | None = None

    # --- numbers ---------------------------------------------------------------------------
    @property
    def last_year(self) -> int | None:
        return self.points[-1][0] if self.points else None

    @property
    def last_value(self) -> float | None:
        return self.points[-1][1] if self.points else None

    @property
    def slope(self) -> float | None:
        return self.fit.slope if self.fit else None

    @property
    def expected(self) -> float | None:
        """Value of the line at the target year."""
        if self.fit is None or self.target_year is None:
            return None
        return self.fit.value_at(self.target_year)

    @property
    def band(self) -> tuple[float, float] | None:
        """Uncertainty band at the target year (3 points or more)."""
        if self.fit is None or self.target_year is None:
            return None
        return self.fit.band_at(self.target_year)

    @property
    def weights(self) -> tuple[float, ...]:
        if not self.points:
            return ()
        first = self.points[0][0]
        return tuple(weight(y, first) for y, _ in self.points)

    def line(self, end_year: int | None = None) -> list[tuple[int, float, float | None,
                                                             float | None]]:
        """(year, value, low, high) from the last actual to `end_year` (default: the target
        year, or the reach year when later but at most LINE_YEARS after the last actual, so
        that a far-off year does not flatten the chart), for the charts."""
        if self.fit is None:
            return []
        last = self.last_year
        if end_year is None:
            end_year = max(self.target_year or last, last + 1)
            if self.reach_year is not None:
                end_year = max(end_year, min(self.reach_year, last + LINE_YEARS))
        out = []
        for year in range(last, int(end_year) + 1):
            band = self.fit.band_at(year)
            out.append((year, self.fit.value_at(year), *(band or (None, None))))
        return out

    # --- words -----------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return PROJECTION_STATUSES[self.status]

    @property
    def reason_text(self) -> str | None:
        return PROJECTION_REASONS.get(self.reason) if self.reason else None

    @property
    def sentence(self) -> str:
        """The French sentence shown on the indicator page, in the report and in the bilan."""
        return projection_sentence(self.status, self.reason, self.reach_year, self.target_year,
                                   self.last_year)

    @property
    def short(self) -> str:
        """A few words for a table cell."""
        return projection_short(self.status, self.reach_year, self.target_year)

    def expected_text(self, unit: str | None = None) -> str:
        """« 52,3 % en 2025 (entre 50,1 % et 54,5 %) », or '' when there is nothing to say
        (no projection, target met, or target year not after the last actual)."""
        if self.expected is None or self.status in ("not_projectable", "achieved") \
                or self.target_year <= self.last_year:
            return ""
        return expected_text(self.expected, self.band, self.target_year, unit)

    def explain(self, unit: str | None = None) -> list[str]:
        """French lines for « Détail du calcul »: points, weights, line, outcome."""
        if self.status == "not_projectable":
            return [self.sentence]
        n = pg.fr_number
        pts = " ; ".join(f"{y} → {n(v)} (poids {n(w)})"
                         for (y, v), w in zip(self.points, self.weights))
        lines = [f"Valeurs réalisées après l'année de référence : {pts}"]
        if self.fit is not None:
            lines.append(f"Droite ajustée (moindres carrés pondérés) : pente de "
                         f"{n(self.slope)} par an")
            text = self.expected_text(unit)
            if text:
                lines.append(f"Valeur attendue au rythme actuel : {text}")
        lines.append(self.sentence)
        return lines


def expected_text(expected, band, target_year, unit: str | None = None) -> str:
    """The value expected at the target year, with its band when there is one."""
    text = f"{fmt.with_unit(expected, unit)} en {target_year}"
    if band is not None and not fmt.is_missing(band[0]):
        text += f" (entre {fmt.with_unit(band[0], unit)} et {fmt.with_unit(band[1], unit)})"
    return text


def projection_sentence(status: str, reason: str | None, reach_year, target_year,
                        last_year) -> str:
    """One sentence per outcome; the SQL rows get theirs from here too (no second wording)."""
    if status == "achieved":
        return f"La cible est déjà atteinte (dernière valeur : {int(last_year)})."
    if status in ("on_time", "late"):
        reach, target = int(reach_year), int(target_year)
        head = f"Au rythme actuel, la cible serait atteinte en {reach}"
        if status == "late":
            return f"{head}, après l'échéance de {target}."
        return f"{head}, à l'échéance." if reach == target else \
            f"{head}, avant l'échéance de {target}."
    if status == "never":
        if reason == "beyond_horizon":
            return (f"Au rythme actuel, la cible ne serait pas atteinte avant "
                    f"{int(last_year) + HORIZON} : pas à ce rythme.")
        return "Au rythme actuel, la cible ne serait pas atteinte : pas à ce rythme."
    return PROJECTION_REASONS.get(reason or "", PROJECTION_STATUSES["not_projectable"])


def projection_short(status: str, reach_year, target_year) -> str:
    if status == "achieved":
        return "déjà atteinte"
    if status == "on_time":
        return f"en {int(reach_year)}"
    if status == "late":
        return f"en {int(reach_year)} (après {int(target_year)})"
    if status == "never":
        return "pas à ce rythme"
    return "–"


def _actuals_after(points, baseline_year) -> list[tuple[int, float]]:
    b = None if pg.is_missing(baseline_year) else int(baseline_year)
    actual = pg._actual_points(points)  # sorted, missing dropped, one value a year
    return [(y, v) for y, v in actual.items() if b is None or y > b]


def project(points, polarity, target_year, target, baseline_year=None) -> Projection:
    """Projection of one series from its actuals [(year, value), ...] (already cut at the
    evaluation year) towards its target (target_year, target)."""
    d = pg.polarity_sign(polarity)
    T = None if pg.is_missing(target_year) else int(target_year)
    C = None if pg.is_missing(target) else float(target)
    pts = tuple(_actuals_after(points, baseline_year))
    base = dict(polarity=polarity, d=d, target_year=T, target=C, points=pts)
    if polarity in pg.NEUTRAL_POLARITIES:
        return Projection("not_projectable", "neutral_polarity", **base)
    if d is None:
        return Projection("not_projectable", "unknown_polarity", **base)
    if T is None or C is None:
        return Projection("not_projectable", "missing_target", **base)
    if len(pts) < MIN_POINTS:
        return Projection("not_projectable", "too_few_values", **base)
    f = fit(list(pts))
    base["fit"] = f
    last_year, last_value = pts[-1]
    if d * (last_value - C) >= -pg.TOLERANCE:
        return Projection("achieved", None, **base)
    if d * f.slope <= pg.TOLERANCE:
        return Projection("never", "wrong_direction", **base)
    year_star = f.first_year + f.mean_x + (C - f.mean_y) / f.slope
    reach = max(math.ceil(year_star - REACH_EPSILON), last_year + 1)
    if reach - last_year > HORIZON:
        return Projection("never", "beyond_horizon", **base)
    return Projection("on_time" if reach <= T else "late", None, reach_year=reach, **base)


def method_summary() -> str:
    """One French paragraph on the projection, for the bilan's and the report's method parts
    (docs/methode-projection.md has the worked examples)."""
    return (
        "Projection au rythme actuel (méthode des progrès anticipés de la CESAP des Nations "
        "unies, forme linéaire) : droite ajustée par moindres carrés pondérés sur les valeurs "
        "réalisées postérieures à l'année de référence (au moins deux), le poids d'une année "
        "valant 1 pour la première valeur et augmentant de 1 par année ensuite, pour donner "
        "plus d'importance aux années récentes. La droite donne la valeur attendue à l'année "
        "cible et l'année à partir de laquelle la cible serait atteinte (au plus tôt l'année "
        "suivant la dernière valeur) ; « pas à ce rythme » quand la tendance ne va pas vers la "
        f"cible ou ne l'atteindrait pas dans les {HORIZON} ans. À partir de trois valeurs, une "
        f"marge d'incertitude de ± {fmt.number(BAND_Z)} écarts-types de la droite ajustée est "
        "indiquée (environ 95 % ; indicative avec peu de valeurs). Une projection prolonge le "
        "passé : ce n'est pas une prévision.")
