"""The engine's float geometry (``exercises.points``) must agree with ``vision.geometry``.

The metric computer measures single skeletons with plain Python floats for speed; these
tests pin it to the vectorised reference implementation, NaNs and degenerate segments included.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from exercises import points as fp
from vision import geometry as g
from vision.landmarks import Landmark as L

TRIPLES = [(L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE), (g.SHOULDERS, g.HIPS, (L.LEFT_KNEE, L.RIGHT_KNEE)),
           (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST)]


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9 * max(1.0, abs(b))


@pytest.mark.parametrize("dim", [2, 3])
def test_angles_inclinations_and_distances_match_vision_geometry(dim: int) -> None:
    rng = np.random.default_rng(dim)
    for k in range(200):
        pts = rng.normal(0.0, 100.0, (33, dim))
        if k % 5 == 0:
            pts[rng.integers(0, 33, 4)] = np.nan
        if k % 7 == 0:  # a degenerate (zero-length) segment
            pts[int(L.LEFT_KNEE)] = pts[int(L.LEFT_HIP)]
        P = pts.tolist()
        for a, b, c in TRIPLES:
            assert _same(fp.joint_angle(P, a, b, c), float(g.joint_angle(pts, a, b, c)))
            assert _same(fp.inclination(P, a, b), float(g.inclination(pts, a, b)))
            assert _same(fp.distance(P, a, c), float(g.distance(pts, a, c)))


def test_percentile_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 8, 61, 120):
        xs = rng.normal(size=n).tolist()
        for q in (50.0, 75.0, 90.0):
            assert fp.percentile(xs, q) == pytest.approx(float(np.percentile(xs, q)), abs=1e-12)
    assert math.isnan(fp.percentile([], 50.0))
