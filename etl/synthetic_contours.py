"""Synthetic contours: generated shapes for quartiers whose real contours are not at hand (the
national benchmark's 1 400 invented QPVs, the tests). Each feature carries the property
`synthetique: true`, which the loader stores as the `synthetic` flag and the maps label on
screen; they are never the quartiers' real perimeters.

The shapes are irregular polygons of `points` vertices (so that simplification has work to
do), laid on a grid of `spacing` degrees around `centre`, in the order of the codes given.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def synthetic_collection(codes, labels=None, centre=(2.5, 46.6), spacing=0.15,
                         points=64, seed=2024, generation="2024") -> dict:
    """A GeoJSON FeatureCollection with one synthetic polygon per code."""
    codes = [str(c) for c in codes]
    labels = [str(v) for v in labels] if labels is not None else codes
    n = len(codes)
    rng = np.random.default_rng(seed)
    side = max(int(np.ceil(np.sqrt(n))), 1)
    i = np.arange(n)
    # Columns `spacing` apart on the ground: wider in longitude away from the equator.
    cx = centre[0] + (i % side - (side - 1) / 2) * spacing / np.cos(np.radians(centre[1]))
    cy = centre[1] + (i // side - (side - 1) / 2) * spacing * 0.7
    angles = np.linspace(0, 2 * np.pi, points, endpoint=False)
    # A radius per vertex: a smooth wobble plus noise, well inside the cell (no overlaps).
    wobble = 1 + 0.25 * np.sin(angles[None, :] * rng.integers(2, 5, (n, 1))
                               + rng.uniform(0, 6, (n, 1)))
    radius = spacing * 0.3 * wobble * rng.uniform(0.995, 1.005, (n, points))
    xs = cx[:, None] + radius * np.cos(angles)[None, :] / np.cos(np.radians(cy))[:, None]
    ys = cy[:, None] + radius * np.sin(angles)[None, :] * 0.7
    ring = np.stack([xs, ys], axis=2).round(6)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)  # closed: last point = first
    code_key, label_key = ("CODE_QP", "NOM_QP") if generation == "2015" else ("code_qp", "lib_qp")
    features = [{"type": "Feature",
                 "properties": {code_key: code, label_key: label, "synthetique": True},
                 "geometry": {"type": "Polygon", "coordinates": [shape.tolist()]}}
                for code, label, shape in zip(codes, labels, ring)]
    return {"type": "FeatureCollection", "name": "contours_synthetiques",
            "features": features}


def write_synthetic(path: Path, codes, labels=None, **kwargs) -> Path:
    path = Path(path)
    path.write_text(json.dumps(synthetic_collection(codes, labels, **kwargs),
                               ensure_ascii=False), encoding="utf-8")
    return path
