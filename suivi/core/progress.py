"""Progress method: one status per series, computed the same way everywhere.

This module is the single implementation of docs/methode-suivi.md. The pages, the
exports and the SQL layer (suivi/store/status_sql.py) all take their thresholds, labels and rules
from here, so that a status shown anywhere can be explained with the same « Détail du calcul ».

Everything is a pure function of its arguments: no I/O, no database, no pandas.

Notation (for one series: indicator x territory x breakdown):
    b, B  baseline year and value (« situation de référence »)
    T, C  target year and value (« situation visée »)
    t, V  latest actual year and value (« réalisé »), with t > b
    d     +1 when higher is better, -1 when lower is better
    A = (V - B) / (C - B)               achievement
    E = min(1, (t - b) / (T - b))       elapsed share of the period
    P = A / E                           pace

Decisions not spelled out in the design document:
- A value within TOLERANCE (1e-9) of a threshold counts as reaching it, so that a pace of
  0.57 / 0.6, which is 0.9499999... in floating point, is « En bonne voie » as a reader expects.
  The SQL layer applies the same tolerance, with the same arithmetic, so both always agree.
- Two extra `not_assessable` reasons guard cases where the formulas would mislead:
  `target_against_polarity` (the target lies on the wrong side of the baseline for the
  indicator's polarity: A would read a worsening as progress) and
  `target_year_not_after_baseline` (T <= b: E is undefined); `unknown_polarity` covers an
  empty or unknown polarity code.
- A, E and P are kept for every assessed series, also `achieved` ones (A may exceed 1), as
  long as C != B and T > b; they are None for `not_assessable` series.
- Score of `not_achieved`: the same pace mapping as the others, with E = 1, so P = A.
  `not_assessable` has no score (None) and is left out of means.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from suivi.core import fmt

# --- Thresholds: the only place where these numbers are written ------------------------------

#: Pace at or above which a series is « En bonne voie » (Open SDG default).
ON_TRACK = 0.95
#: Pace at or above which progress is « Progrès, accélération nécessaire » (Open SDG default).
ACCELERATION = 0.60
#: Below this pace a series is in « Dégradation ».
DETERIORATION = 0.0
#: Numbers this close to a threshold count as reaching it (floating-point noise, see above).
TOLERANCE = 1e-9

#: Trend thresholds: +0.5 % a year for relative change, +0.1 point a year for rates.
TREND_RELATIVE = 0.005
TREND_POINTS = 0.1

#: Units whose change is measured in points, not as a relative growth rate.
POINT_UNITS = frozenset({"percent", "rate", "pourcentage", "taux"})

#: Polarity codes and their sign d. French codes of the workbook are accepted too.
POLARITY_SIGN = {"higher_better": 1, "hausse": 1, "lower_better": -1, "baisse": -1}
NEUTRAL_POLARITIES = frozenset({"neutral", "neutre"})


@dataclass(frozen=True)
class Thresholds:
    """Pace thresholds; a contract may override them (contract.threshold_* columns)."""

    on_track: float = ON_TRACK
    acceleration: float = ACCELERATION

    def __post_init__(self):
        if not DETERIORATION <= self.acceleration <= self.on_track:
            raise ValueError(
                f"seuils incohérents : il faut 0 <= accélération ({self.acceleration}) "
                f"<= bonne voie ({self.on_track})"
            )

    @classmethod
    def from_contract(cls, on_track=None, acceleration=None) -> Thresholds:
        """Thresholds of a contract row; NULL (None or NaN) means the default."""
        return cls(
            on_track=ON_TRACK if is_missing(on_track) else float(on_track),
            acceleration=ACCELERATION if is_missing(acceleration) else float(acceleration),
        )


DEFAULT_THRESHOLDS = Thresholds()


# --- Statuses ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatusInfo:
    """How a status is shown: the icon makes sure a status is never conveyed by colour alone."""

    code: str
    label: str
    icon: str
    colour: str


#: Statuses from best to worst, then « Non évaluable ». Icons are plain text symbols:
#: ✔ achieved, ↗ on track, ⚠ acceleration needed, → limited, ↘ deterioration,
#: ✘ not achieved, – not assessable.
#: Colours (checked by tests/test_palette.py, see suivi/core/colours.py): each reaches 3:1
#: against the white page, and every two stay apart for deuteranopia and protanopia (green,
#: gold, brown, pink, purple and grey at different lightnesses, after Okabe & Ito).
STATUSES: list[StatusInfo] = [
    StatusInfo("achieved", "Objectif atteint", "✔", "#005C42"),
    StatusInfo("on_track", "En bonne voie", "↗", "#2E9E5B"),
    StatusInfo("acceleration_needed", "Progrès, accélération nécessaire", "⚠", "#B58500"),
    StatusInfo("limited", "Progrès limité", "→", "#9A3D00"),
    StatusInfo("deterioration", "Dégradation", "↘", "#CC79A7"),
    StatusInfo("not_achieved", "Objectif non atteint", "✘", "#5E2A84"),
    StatusInfo("not_assessable", "Non évaluable", "–", "#767676"),
]
STATUS_BY_CODE: dict[str, StatusInfo] = {s.code: s for s in STATUSES}

#: Why a series is not assessable, in the order the rules are checked.
REASONS: dict[str, str] = {
    "neutral_polarity": "Indicateur sans sens d'évolution souhaité (polarité neutre) : "
                        "pas de statut.",
    "unknown_polarity": "Polarité de l'indicateur absente ou inconnue.",
    "missing_baseline": "Situation de référence manquante.",
    "missing_target": "Situation visée (cible) manquante.",
    "missing_value": "Aucune valeur réalisée.",
    "no_actual_after_baseline": "Aucune valeur réalisée après l'année de référence.",
    "flat_target": "La cible est égale à la situation de référence et n'est pas atteinte : "
                   "le rythme ne peut pas être calculé.",
    "target_against_polarity": "La cible va dans le sens contraire de la polarité de "
                               "l'indicateur : vérifier la cible ou la polarité.",
    "target_year_not_after_baseline": "L'année de la cible n'est pas postérieure à l'année "
                                      "de référence.",
}

# --- Headline score (Open SDG mapping) --------------------------------------------------------

#: Score of an achieved series.
SCORE_ACHIEVED = 5.0
#: Piecewise-linear mapping pace P -> score, clipped outside the first and last points.
#: These are Open SDG's fixed points; they do not follow a contract's own thresholds, so that
#: scores stay comparable between contracts.
SCORE: tuple[tuple[float, float], ...] = ((-0.6, -5.0), (0.6, 0.0), (0.95, 2.5), (1.3, 5.0))


# --- Helpers ----------------------------------------------------------------------------------

def is_missing(x) -> bool:
    """None, NaN, pandas NA or anything that is not a number counts as missing (never 0)."""
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _num(x) -> float | None:
    return None if is_missing(x) else float(x)


def _year(x) -> int | None:
    return None if is_missing(x) else int(x)


def polarity_sign(polarity) -> int | None:
    """d = +1 or -1, or None for neutral or unknown polarity."""
    return POLARITY_SIGN.get(polarity) if isinstance(polarity, str) else None


def fr_number(x, decimals: int = 3) -> str:
    """Numbers in calculation details: up to 3 decimals, trailing zeros dropped (suivi/core/fmt.py)."""
    return fmt.number(x, decimals, trim=True)


def fr_percent(x, decimals: int = 1) -> str:
    """A share as a French percentage: 0.5 -> « 50 % »."""
    return fmt.share(x, decimals)


# --- Assessment of one series against its target ---------------------------------------------

@dataclass(frozen=True)
class Assessment:
    """A status with everything needed to explain it (inputs, intermediates, thresholds)."""

    status: str
    reason: str | None
    baseline_year: int | None
    baseline: float | None
    target_year: int | None
    target: float | None
    year: int | None
    value: float | None
    polarity: str | None
    d: int | None = None
    A: float | None = None
    E: float | None = None
    P: float | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def label(self) -> str:
        return STATUS_BY_CODE[self.status].label

    @property
    def icon(self) -> str:
        return STATUS_BY_CODE[self.status].icon

    @property
    def colour(self) -> str:
        return STATUS_BY_CODE[self.status].colour

    @property
    def reason_text(self) -> str | None:
        return REASONS.get(self.reason) if self.reason else None

    @property
    def score(self) -> float | None:
        return series_score(self)

    @property
    def formula(self) -> str:
        """The one formula that decided the status, with the numbers substituted."""
        if self.status == "not_assessable":
            return self.reason_text or ""
        if self.status == "achieved":
            return self._achievement_line()
        if self.status == "not_achieved":
            return self._a_line()
        return self._p_line()

    def _achievement_line(self) -> str:
        gap = self.d * (self.value - self.target)
        verdict = "≥ 0 : cible atteinte" if self.status == "achieved" else "< 0 : cible non atteinte"
        return (f"d × (V − C) = {fr_number(self.d)} × ({fr_number(self.value)} − "
                f"{fr_number(self.target)}) = {fr_number(gap)} {verdict}")

    def _a_line(self) -> str:
        return (f"A = (V − B) / (C − B) = ({fr_number(self.value)} − {fr_number(self.baseline)}) "
                f"/ ({fr_number(self.target)} − {fr_number(self.baseline)}) = "
                f"{fr_number(self.A)} ({fr_percent(self.A)} du chemin parcouru)")

    def _e_line(self) -> str:
        return (f"E = min(1 ; (t − b) / (T − b)) = min(1 ; ({self.year} − {self.baseline_year}) "
                f"/ ({self.target_year} − {self.baseline_year})) = {fr_number(self.E)}")

    def _p_line(self) -> str:
        return f"P = A / E = {fr_number(self.A)} / {fr_number(self.E)} = {fr_number(self.P)}"

    def explain(self) -> list[str]:
        """French lines for the « Détail du calcul » panel."""
        th = self.thresholds
        sense = {1: "plus haut = mieux (d = +1)", -1: "plus bas = mieux (d = −1)"}
        lines = [
            f"Situation de référence (b, B) : {_pair(self.baseline_year, self.baseline)}",
            f"Situation visée (T, C) : {_pair(self.target_year, self.target)}",
            f"Dernier réalisé (t, V) : {_pair(self.year, self.value)}",
            f"Polarité : {sense.get(self.d, self.polarity or 'inconnue')}",
        ]
        if self.status == "not_assessable":
            lines.append(f"Non évaluable : {self.reason_text}")
        else:
            lines.append(f"Cible atteinte ? {self._achievement_line()}")
            if self.A is not None:
                lines.append(self._a_line())
            if self.E is not None:
                lines.append(self._e_line())
            if self.P is not None:
                lines.append(self._p_line())
            if self.status == "not_achieved":
                lines.append(f"Échéance passée (t = {self.year} ≥ T = {self.target_year}) "
                             "et cible non atteinte.")
        lines.append(
            f"Seuils : en bonne voie si P ≥ {fr_number(th.on_track)} ; accélération nécessaire "
            f"si {fr_number(th.acceleration)} ≤ P < {fr_number(th.on_track)} ; progrès limité "
            f"si 0 ≤ P < {fr_number(th.acceleration)} ; dégradation si P < 0."
        )
        lines.append(f"Statut : {self.icon} {self.label}")
        return lines

    def as_dict(self) -> dict:
        """Flat record for exports: inputs, intermediates, thresholds, label and reason."""
        out = asdict(self)
        out.pop("thresholds")
        out.update(label=self.label, icon=self.icon, reason_text=self.reason_text,
                   threshold_on_track=self.thresholds.on_track,
                   threshold_acceleration=self.thresholds.acceleration,
                   score=self.score)
        return out


def _pair(year, value) -> str:
    if year is None and value is None:
        return "—"
    return f"{'—' if year is None else year} → {fr_number(value)}"


def assess(baseline_year, baseline, target_year, target, year, value, polarity,
           thresholds: Thresholds | None = None) -> Assessment:
    """Status of one series, following the rules of docs/methode-suivi.md in their order.

    Missing inputs (None, NaN) never count as 0: they make the series not assessable.
    """
    th = thresholds or DEFAULT_THRESHOLDS
    b, B = _year(baseline_year), _num(baseline)
    T, C = _year(target_year), _num(target)
    t, V = _year(year), _num(value)
    d = polarity_sign(polarity)
    base = dict(baseline_year=b, baseline=B, target_year=T, target=C, year=t, value=V,
                polarity=polarity, d=d, thresholds=th)

    reason = _not_assessable_reason(b, B, T, C, t, V, polarity, d)
    if reason:
        return Assessment(status="not_assessable", reason=reason, **base)

    A = (V - B) / (C - B) if C != B else None
    E = min((t - b) / (T - b), 1.0) if T > b else None
    P = A / E if A is not None and E is not None else None
    base.update(A=A, E=E, P=P)
    if d * (V - C) >= -TOLERANCE:
        return Assessment(status="achieved", reason=None, **base)
    # Not achieved from here on: a flat or backward target, or T <= b, leaves P undefined.
    if C == B:
        return _unassessable("flat_target", base)
    if d * (C - B) < 0:
        return _unassessable("target_against_polarity", base)
    if T <= b:
        return _unassessable("target_year_not_after_baseline", base)
    if t >= T:
        return Assessment(status="not_achieved", reason=None, **base)
    return Assessment(status=pace_status(P, th), reason=None, **base)


def _not_assessable_reason(b, B, T, C, t, V, polarity, d) -> str | None:
    if polarity in NEUTRAL_POLARITIES:
        return "neutral_polarity"
    if d is None:
        return "unknown_polarity"
    if b is None or B is None:
        return "missing_baseline"
    if T is None or C is None:
        return "missing_target"
    if t is None or V is None:
        return "missing_value"
    if t <= b:
        return "no_actual_after_baseline"
    return None


def _unassessable(reason: str, base: dict) -> Assessment:
    base = {**base, "A": None, "E": None, "P": None}
    return Assessment(status="not_assessable", reason=reason, **base)


def pace_status(P: float, thresholds: Thresholds | None = None) -> str:
    """Status from the pace P, for a target not yet met whose deadline has not passed."""
    th = thresholds or DEFAULT_THRESHOLDS
    if P >= th.on_track - TOLERANCE:
        return "on_track"
    if P >= th.acceleration - TOLERANCE:
        return "acceleration_needed"
    if P >= DETERIORATION - TOLERANCE:
        return "limited"
    return "deterioration"


# --- Score ------------------------------------------------------------------------------------

def pace_score(P: float) -> float:
    """Open SDG score of a pace: linear between the SCORE points, clipped at both ends."""
    if P <= SCORE[0][0]:
        return SCORE[0][1]
    for (p0, s0), (p1, s1) in zip(SCORE, SCORE[1:]):
        if P <= p1:
            return s0 + (s1 - s0) * (P - p0) / (p1 - p0)
    return SCORE[-1][1]


def series_score(assessment: Assessment) -> float | None:
    """Headline score of one series: +5 if achieved, pace mapping otherwise, None if unknown.

    For `not_achieved` the period is over, so E = 1 and the pace is the achievement A.
    """
    if assessment.status == "achieved":
        return SCORE_ACHIEVED
    if assessment.status == "not_assessable":
        return None
    if assessment.status == "not_achieved":
        return pace_score(assessment.A)
    return pace_score(assessment.P)


# --- Trend of a series without a target -------------------------------------------------------

TREND_STATUSES: list[StatusInfo] = [
    # Trends are never coloured like target statuses: shades of blue and grey only (3:1 against
    # the page at least, checked by tests/test_palette.py).
    StatusInfo("favorable", "Tendance favorable", "⊕", "#2166ac"),
    StatusInfo("stable", "Stable", "=", "#4393C3"),
    StatusInfo("defavorable", "Tendance défavorable", "⊖", "#4d4d4d"),
    StatusInfo("not_assessable", "Tendance non évaluable", "–", "#8C8C8C"),
]
TREND_BY_CODE: dict[str, StatusInfo] = {s.code: s for s in TREND_STATUSES}

TREND_REASONS: dict[str, str] = {
    "neutral_polarity": "Indicateur sans sens d'évolution souhaité (polarité neutre).",
    "unknown_polarity": "Polarité de l'indicateur absente ou inconnue.",
    "too_few_values": "Il faut au moins deux valeurs réalisées d'années différentes.",
    "negative_value": "Valeur négative : une évolution relative n'a pas de sens.",
}


@dataclass(frozen=True)
class Trend:
    """Direction of a series between its first and last actual values.

    `kind` is 'points' (change in points a year, for percent and rate units) or 'relative'
    (compound annual growth). `rate` is already multiplied by d: positive is favourable.
    """

    status: str
    reason: str | None
    kind: str
    rate: float | None
    threshold: float
    start_year: int | None = None
    start_value: float | None = None
    end_year: int | None = None
    end_value: float | None = None
    polarity: str | None = None
    d: int | None = None

    @property
    def label(self) -> str:
        return TREND_BY_CODE[self.status].label

    @property
    def icon(self) -> str:
        return TREND_BY_CODE[self.status].icon

    @property
    def reason_text(self) -> str | None:
        return TREND_REASONS.get(self.reason) if self.reason else None

    def explain(self) -> list[str]:
        if self.status == "not_assessable":
            return [f"{self.label} : {self.reason_text}"]
        t0, v0, t, v = self.start_year, self.start_value, self.end_year, self.end_value
        sign = fr_number(self.d)
        if self.kind == "points":
            line = (f"r = d × (V − V0) / (t − t0) = {sign} × ({fr_number(v)} − {fr_number(v0)}) "
                    f"/ ({t} − {t0}) = {fr_number(self.rate)} point par an")
            bound = f"{fr_number(self.threshold)} point par an"
        elif v0 == 0:
            line = (f"Départ à 0 en {t0} : évolution relative infinie, seul le sens compte "
                    f"(V = {fr_number(v)} en {t}).")
            bound = fr_percent(self.threshold)
        else:
            line = (f"r = d × ((V / V0)^(1 / (t − t0)) − 1) = {sign} × (({fr_number(v)} / "
                    f"{fr_number(v0)})^(1 / ({t} − {t0})) − 1) = {fr_percent(self.rate, 2)} par an")
            bound = f"{fr_percent(self.threshold)} par an"
        return [line, f"Seuil : ± {bound}", f"{self.icon} {self.label}"]


def _actual_points(points) -> dict[int, float]:
    """Non-missing points by year; a later duplicate of a year replaces the earlier one."""
    out: dict[int, float] = {}
    for year, value in points:
        if not is_missing(year) and not is_missing(value):
            out[int(year)] = float(value)
    return dict(sorted(out.items()))


def _ends(actual: dict[int, float]):
    """First and last (year, value) of a year-sorted dict."""
    items = list(actual.items())
    return items[0], items[-1]


def _classify(rate: float, threshold: float) -> str:
    if rate > threshold + TOLERANCE:
        return "favorable"
    if rate < -threshold - TOLERANCE:
        return "defavorable"
    return "stable"


def trend(points, unit, polarity) -> Trend:
    """Trend from the first to the last actual value (at least two distinct years).

    Percent and rate units change in points a year; other units by compound annual growth.
    A relative change needs positive values: from V0 = 0 any rise or fall is beyond ±0.5 % a
    year, so only its sign counts (rate None); a negative value makes it not assessable.
    """
    kind = "points" if unit in POINT_UNITS else "relative"
    threshold = TREND_POINTS if kind == "points" else TREND_RELATIVE
    d = polarity_sign(polarity)
    base = dict(kind=kind, threshold=threshold, polarity=polarity, d=d)
    if polarity in NEUTRAL_POLARITIES or d is None:
        reason = "neutral_polarity" if polarity in NEUTRAL_POLARITIES else "unknown_polarity"
        return Trend(status="not_assessable", reason=reason, rate=None, **base)
    actual = _actual_points(points)
    if len(actual) < 2:
        return Trend(status="not_assessable", reason="too_few_values", rate=None, **base)
    (t0, v0), (t, v) = _ends(actual)
    base.update(start_year=t0, start_value=v0, end_year=t, end_value=v)
    if kind == "points":
        rate = d * (v - v0) / (t - t0)
        return Trend(status=_classify(rate, threshold), reason=None, rate=rate, **base)
    if v0 < 0 or v < 0:
        return Trend(status="not_assessable", reason="negative_value", rate=None, **base)
    if v0 == 0:
        status = _classify(d * (v - v0), 0.0)
        return Trend(status=status, reason=None, rate=None, **base)
    rate = d * ((v / v0) ** (1 / (t - t0)) - 1)
    return Trend(status=_classify(rate, threshold), reason=None, rate=rate, **base)


# --- Gap to the reference territory -----------------------------------------------------------

@dataclass(frozen=True)
class Gap:
    """QPV against its reference territory for one year.

    gap = d * (Ref - QPV): positive when the quartier lags behind; for a neutral (or unknown)
    polarity, where lagging has no meaning, the absolute difference |Ref - QPV|. This is the
    one gap rule: gap_values (whole columns) and store.status_sql.gap_sql (SQL) say the same.
    difference = QPV - Ref always; ratio = QPV / Ref.
    """

    qpv: float | None
    ref: float | None
    polarity: str | None
    difference: float | None
    gap: float | None
    ratio: float | None

    @property
    def lags(self) -> bool | None:
        """True when the quartier is behind its reference territory (no meaning, None, for a
        neutral indicator)."""
        if self.gap is None or polarity_sign(self.polarity) is None:
            return None
        return self.gap > TOLERANCE


def gap(qpv_value, ref_value, polarity) -> Gap:
    q, r = _num(qpv_value), _num(ref_value)
    d = polarity_sign(polarity)
    both = q is not None and r is not None
    return Gap(
        qpv=q, ref=r, polarity=polarity,
        difference=q - r if both else None,
        gap=(d * (r - q) if d is not None else abs(r - q)) if both else None,
        ratio=q / r if both and r != 0 else None,
    )


def gap_values(qpv, ref, polarity):
    """`gap` on whole columns (pandas Series): d * (Ref - QPV), |Ref - QPV| when neutral."""
    d = polarity.map(POLARITY_SIGN).astype("Float64")
    diff = ref.astype("Float64") - qpv.astype("Float64")
    return (d * diff).fillna(diff.abs()).where(diff.notna())


GAP_TRENDS: dict[str, str] = {
    "reduces": "l'écart se réduit",
    "stable": "l'écart est stable",
    "widens": "l'écart se creuse",
    "not_assessable": "évolution de l'écart non évaluable",
}


@dataclass(frozen=True)
class GapTrend:
    """Change of the gap g = d * (Ref - QPV) a year, between its first and last years.

    The gap is a lower-is-better series, so `slope` < 0 means the quartier catches up. When the
    quartier is already ahead (`quartier_ahead`), a falling gap means it gets further ahead: the
    page may word it so; the status stays on the signed gap.
    """

    status: str
    slope: float | None
    start_year: int | None = None
    start_gap: float | None = None
    end_year: int | None = None
    end_gap: float | None = None

    @property
    def label(self) -> str:
        return GAP_TRENDS[self.status]

    @property
    def quartier_ahead(self) -> bool | None:
        return None if self.end_gap is None else self.end_gap < -TOLERANCE


def gap_trend(series) -> GapTrend:
    """Trend of a gap series [(year, gap), ...]: ±0.1 point (or unit) a year, like rates."""
    actual = _actual_points(series)
    if len(actual) < 2:
        return GapTrend(status="not_assessable", slope=None)
    (t0, g0), (t, g) = _ends(actual)
    slope = (g - g0) / (t - t0)
    if slope > TREND_POINTS + TOLERANCE:
        status = "widens"
    elif slope < -TREND_POINTS - TOLERANCE:
        status = "reduces"
    else:
        status = "stable"
    return GapTrend(status=status, slope=slope, start_year=t0, start_gap=g0, end_year=t, end_gap=g)


def method_summary(thresholds: Thresholds | None = None) -> str:
    """One-paragraph French summary of the method with the thresholds actually in force
    (a contract may set its own), for the pages' captions."""
    th = thresholds or DEFAULT_THRESHOLDS
    on, acc = fmt.number(th.on_track), fmt.number(th.acceleration)
    return (
        "Statut de chaque série : avancement A = (V − B) / (C − B) entre la situation de "
        "référence B et la situation visée C, comparé à la part du temps écoulé E ; rythme "
        f"P = A / E. En bonne voie si P ≥ {on}, accélération nécessaire si {acc} ≤ P < {on}, "
        f"progrès limité si 0 ≤ P < {acc}, dégradation si P < 0 ; objectif atteint dès que la "
        "cible l'est, non atteint si l'échéance est passée. Les valeurs postérieures à l'année "
        "choisie sont ignorées.")


# --- Projection to the target year ------------------------------------------------------------

def project(points, polarity, target_year, target, baseline_year=None):
    """At the current pace, when would the target be reached? The method lives next door, in
    suivi/core/projection.py (imported lazily: it builds on this module's polarity and tolerance
    rules); see that module and docs/methode-projection.md."""
    from suivi.core.projection import project as _project

    return _project(points, polarity, target_year, target, baseline_year)


# --- Recent data ------------------------------------------------------------------------------

#: An actual is « recent » when it is at most this many years older than the evaluation year
#: (the year itself and the two before it): the catalogue's ✔ and what each page says is missing.
RECENT_YEARS = 3


def recent_since(year: int | None) -> int | None:
    """First year whose actuals count as recent for the evaluation year `year`."""
    return None if year is None else int(year) - RECENT_YEARS + 1
