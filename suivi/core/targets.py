"""Targets written in words: resolve « diviser par deux », « +10 % »… to a value.

Contracts rarely give a plain number for their « situation visée ». The loader keeps the
original wording for display and calls `resolve_target` to turn it into a value computed from
the baseline (docs/methode-suivi.md, « Cibles qui ne sont pas un simple nombre »). The caller reports
`kind == 'unknown'` wordings instead of guessing.

Kinds:
- 'absolute'  a plain number, « 8 structures », « atteindre 12,5 % »  -> value
- 'relative'  relative to the baseline B: « doubler », « +10 % », « -5 points »  -> value
              (None when B is missing) and `factor` (C = factor x B) or `delta` (C = B + delta)
- 'gap'       « réduire de moitié l'écart avec la commune »: the target is on the gap to the
              reference territory, g = d x (Ref - QPV); `factor` is the share of the baseline
              gap to reach (0.5), the value needs the reference series so it is None
- 'direction' « augmenter », « maintenir », « diminuer »: no value; `direction` is
              'up', 'stable' or 'down' and the series gets a trend
- 'unknown'   anything else

Matching ignores case and accents. French numbers are read: « 12,5 », « 1 200 ». A year
(« en 2022 », « d'ici 2030 ») goes to `year`, a horizon (« en 3 ans ») to `horizon_years`.
A percentage with a sign or a verb (« +10 % », « augmenter de 10 % ») is relative to B, even for
an indicator in percent: « 10 points » is the way to write an absolute change of a rate.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from suivi.core.progress import POINT_UNITS, fr_number, is_missing


@dataclass(frozen=True)
class Resolution:
    """A target wording resolved against the baseline, with a French explanation."""

    kind: str
    value: float | None
    explanation: str
    wording: str
    factor: float | None = None
    delta: float | None = None
    direction: str | None = None
    year: int | None = None
    horizon_years: int | None = None


# Words for small numbers and fractions that contracts use.
_NUMBER_WORDS = {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "dix": 10}
_MULTIPLY = {"doubler": 2, "tripler": 3, "quadrupler": 4}
_FRACTIONS = {"moitie": 1 / 2, "tiers": 1 / 3, "quart": 1 / 4}
_FRACTION_NAMES = {"moitie": "de moitié", "tiers": "d'un tiers", "quart": "d'un quart"}

_UP = r"(?:augment\w*|hausse|accroitre|accroissement|progress\w*|developp\w*|gagner|" \
      r"ameliorer|amelioration|relever|renforcer|\+)"
_DOWN = r"(?:baiss\w*|diminu\w*|redui\w*|reduction|abaisser|perdre|limiter|-)"
_STABLE = r"(?:mainten\w*|stabilis\w*|conserver|preserver)"

_NUM = r"(\d{1,3}(?:[ ]\d{3})+(?:,\d+)?|\d+(?:[.,]\d+)?)"
_NUM_RE = re.compile(_NUM)
_YEAR_RE = re.compile(r"\b(?:en|d'ici|d'ici a|a l'horizon|a l'horizon de|pour|horizon)\s+"
                      r"((?:19|20)\d{2})\b")
_HORIZON_RE = re.compile(r"\b(?:en|d'ici|sous|dans)\s+(\d+|" + "|".join(_NUMBER_WORDS)
                         + r")\s+ans?\b")


def _normalise(text: str) -> str:
    """Lower case, no accents, straight apostrophes, plain single spaces, '−' as '-'."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("’", "'").replace("−", "-").replace("–", "-")
    text = re.sub(r"[\s\u00a0\u202f]+", " ", text)
    return text.strip()


def _number(token: str) -> float:
    """'12,5' -> 12.5, '1 200' -> 1200.0, 'deux' -> 2.0."""
    if token in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[token])
    return float(token.replace(" ", "").replace(",", "."))


def _sign(before: str) -> int | None:
    """+1 / -1 from the verb or sign just before a quantity, None when there is none."""
    if re.search(_DOWN + r"\s*(?:de\s+)?$", before) or re.search(r"-\s*$", before):
        return -1
    if re.search(_UP + r"\s*(?:de\s+)?$", before) or re.search(r"\+\s*$", before):
        return 1
    return None


def resolve_target(wording: str, baseline: float | None, unit: str) -> Resolution:
    """Resolve a target wording against the baseline value B (see the module docstring)."""
    original = wording or ""
    text = _normalise(original)
    B = None if is_missing(baseline) else float(baseline)

    year = horizon = None
    if m := _YEAR_RE.search(text):
        year = int(m.group(1))
        text = (text[:m.start()] + text[m.end():]).strip()
    if m := _HORIZON_RE.search(text):
        horizon = int(_number(m.group(1)))
        text = (text[:m.start()] + text[m.end():]).strip()
    extra = dict(wording=original, year=year, horizon_years=horizon)

    if not text:
        return Resolution("unknown", None, "Formulation de cible vide.", **extra)
    if "ecart" in text:
        return _gap(text, extra)
    if res := _relative(text, B, unit, extra):
        return res
    if res := _absolute(text, extra):
        return res
    if res := _direction(text, extra):
        return res
    return Resolution("unknown", None,
                      f"Formulation de cible non reconnue : « {original} ».", **extra)


def _gap_factor(text: str) -> tuple[float | None, str]:
    """Share of the baseline gap to reach, and how the reduction reads in French."""
    for word, share in _FRACTIONS.items():
        if re.search(r"\b(?:de|d'une|d'un|la|une|un)\s+" + word + r"\b", text):
            return 1 - share, f"réduit {_FRACTION_NAMES[word]}"
    if m := re.search(r"diviser?\b.*\bpar\s+(\d+|" + "|".join(_NUMBER_WORDS) + r")\b", text):
        n = _number(m.group(1))
        return 1 / n, f"divisé par {fr_number(n)}"
    if m := re.search(_NUM + r"\s*%", text):
        p = _number(m.group(1))
        return 1 - p / 100, f"réduit de {fr_number(p)} %"
    if re.search(r"\b(?:supprimer|combler|resorber|annuler)\b", text):
        return 0.0, "supprimé"
    return None, ""


def _gap(text: str, extra: dict) -> Resolution:
    factor, how = _gap_factor(text)
    if factor is None:
        if re.search(_DOWN, text):
            return Resolution(
                "gap", None,
                "Cible sur l'écart au territoire de référence, sans valeur : l'écart doit se "
                "réduire (suivi par la tendance de l'écart).",
                direction="down", **extra)
        return Resolution("unknown", None,
                          f"Cible sur l'écart non reconnue : « {extra['wording']} ».", **extra)
    return Resolution(
        "gap", None,
        f"Cible sur l'écart au territoire de référence g = d × (Réf − QPV) : l'écart de "
        f"l'année de référence est {how}, soit une cible de {fr_number(factor)} × l'écart "
        "initial ; la valeur se calcule avec la série du territoire de référence.",
        factor=factor, direction="down", **extra)


def _relative_result(B, factor, delta, how: str, extra: dict) -> Resolution:
    if B is None:
        value = None
        note = " ; situation de référence manquante : valeur non calculable."
    else:
        # Rounded to 9 decimals so that 30 x 1.1 reads 33 and not 33.000000000000004.
        value = round(B * factor if factor is not None else B + delta, 9)
        shown = (f"{fr_number(B)} × {fr_number(factor)}" if factor is not None
                 else f"{fr_number(B)} {'+' if delta >= 0 else '−'} {fr_number(abs(delta))}")
        note = f" : {shown} = {fr_number(value)}."
    rises = factor > 1 if factor is not None else delta > 0
    return Resolution("relative", value, f"Cible relative à la situation de référence, {how}"
                      + note, factor=factor, delta=delta,
                      direction="up" if rises else "down", **extra)


def _relative(text: str, B, unit: str, extra: dict) -> Resolution | None:
    for verb, n in _MULTIPLY.items():
        if re.search(r"\b" + verb + r"\b", text):
            return _relative_result(B, float(n), None, f"valeur multipliée par {n}", extra)
    if m := re.search(r"\bdivis\w*\s+par\s+(\d+(?:[.,]\d+)?|" + "|".join(_NUMBER_WORDS)
                      + r")\b", text):
        n = _number(m.group(1))
        return _relative_result(B, 1 / n, None, f"valeur divisée par {fr_number(n)}", extra)
    for word, share in _FRACTIONS.items():
        if m := re.search(r"\b(?:de|d'une|d'un)\s+(?:la\s+)?" + word + r"\b", text):
            sign = _sign(text[:m.start()].strip() + " ") or -1
            factor = 1 + sign * share
            how = ("réduite " if sign < 0 else "augmentée ") + _FRACTION_NAMES[word]
            return _relative_result(B, factor, None, f"valeur {how}", extra)
    if m := re.search(_NUM + r"\s*%", text):
        sign = _sign(text[:m.start()])
        if sign is not None:
            p = _number(m.group(1))
            note = " (variation relative, pas en points)" if unit in POINT_UNITS else ""
            return _relative_result(B, 1 + sign * p / 100, None,
                                    f"{'+' if sign > 0 else '−'}{fr_number(p)} %{note}", extra)
    if m := re.search(_NUM + r"\s*(?:points?|pts?)\b", text):
        sign = _sign(text[:m.start()])
        if sign is not None:
            p = _number(m.group(1))
            word = "point" if p <= 1 else "points"
            return _relative_result(B, None, sign * p,
                                    f"{'+' if sign > 0 else '−'}{fr_number(p)} {word}", extra)
    return None


def _absolute(text: str, extra: dict) -> Resolution | None:
    """A single number (or « passer de X à Y »), not preceded by a sign or a verb of change."""
    if m := re.search(r"\bde\s+" + _NUM + r".*?\ba\s+" + _NUM, text):
        value = _number(m.group(2))
    else:
        numbers = _NUM_RE.findall(text)
        if len(numbers) != 1:
            return None
        m = _NUM_RE.search(text)
        if _sign(text[:m.start()]) is not None:
            return None
        value = _number(numbers[0])
    return Resolution("absolute", value, f"Valeur cible donnée : {fr_number(value)}.", **extra)


def _direction(text: str, extra: dict) -> Resolution | None:
    if _NUM_RE.search(text):
        return None
    for pattern, direction, how in ((_STABLE, "stable", "maintien"),
                                    (_DOWN, "down", "baisse"), (_UP, "up", "hausse")):
        if re.search(r"(?:^|\s)" + pattern, text):
            return Resolution(
                "direction", None,
                f"Sens seulement ({how}) : pas de valeur cible, la série est suivie par sa "
                "tendance.", direction=direction, **extra)
    return None
