"""Colour arithmetic for the status palette: WCAG contrast, the text colour to print on a
coloured bar, and what a colour-blind reader sees (Machado, Oliveira & Fernandes 2009,
severity 1.0) compared in CIELAB.

The palette itself lives in suivi/core/progress.py (STATUSES); tests/test_palette.py checks it
with these functions: every status colour reaches 3:1 against the white page (WCAG 1.4.11,
graphical objects), the number printed on it reaches 4.5:1, and every two statuses stay apart
(ΔE*ab >= MIN_DELTA_E) for normal vision, deuteranopia and protanopia.
"""

from __future__ import annotations

import math

WHITE, BLACK = "#ffffff", "#000000"
MIN_GRAPHIC_CONTRAST = 3.0   # WCAG 2.1 SC 1.4.11 (non-text contrast)
MIN_TEXT_CONTRAST = 4.5      # WCAG 2.1 SC 1.4.3 (text contrast, AA)
MIN_DELTA_E = 12.0           # CIE76 distance between two statuses, in every vision below

# Machado et al. 2009 simulation matrices (severity 1.0), applied to linear sRGB.
CVD_MATRICES = {
    "normale": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "deutéranopie": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413),
                     (-0.011820, 0.042940, 0.968881)),
    "protanopie": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216),
                   (-0.003882, -0.048116, 1.051998)),
}


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def linear_rgb(hex_colour: str) -> tuple[float, float, float]:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return tuple(_linear(int(h[i:i + 2], 16)) for i in (0, 2, 4))


def luminance(hex_colour: str) -> float:
    r, g, b = linear_rgb(hex_colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio between two colours (1 to 21)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_on(background: str) -> str:
    """Black or white, whichever reads better on `background`."""
    return BLACK if contrast(background, BLACK) >= contrast(background, WHITE) else WHITE


def _lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    r, g, b = (min(1.0, max(0.0, v)) for v in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def seen_as(hex_colour: str, vision: str) -> tuple[float, float, float]:
    """CIELAB coordinates of the colour as seen with `vision` (a key of CVD_MATRICES)."""
    m = CVD_MATRICES[vision]
    rgb = linear_rgb(hex_colour)
    return _lab(tuple(sum(m[i][j] * rgb[j] for j in range(3)) for i in range(3)))


def delta_e(a: str, b: str, vision: str = "normale") -> float:
    """CIE76 colour difference between two colours as seen with `vision`."""
    return math.dist(seen_as(a, vision), seen_as(b, vision))
