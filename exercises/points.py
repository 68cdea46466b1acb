"""Points and body scales for the metric computer, on one person's landmarks as plain floats.

The engine measures a handful of angles, heights and distances per person per frame.  On a
single ``(33, D)`` skeleton, numpy's per-call overhead dominates such work, so this module
does the same geometry as :mod:`vision.geometry` (same conventions: y down, degrees, NaN in
→ NaN out, NaN for a zero-length segment) on Python lists: ``P = xy.tolist()``.

Also here: the names of points (landmarks or virtual midpoints such as ``mid_hip``) and
:class:`ScaleMemory`, the per-person memory of body lengths used to normalise.
"""

from __future__ import annotations

import logging
import math
import operator
from collections import deque
from collections.abc import Mapping, Sequence

from exercises.definition import VIRTUAL_POINTS
from vision import geometry as g
from vision.landmarks import Landmark, mirror

log = logging.getLogger(__name__)

Point = Landmark | tuple[Landmark, Landmark]
#: One skeleton as nested lists: ``P[i]`` is ``[x, y]`` or ``[x, y, z]`` of landmark ``i``.
Pts = Sequence[Sequence[float]]

#: Segments shorter than this are degenerate (no direction): angles on them are NaN.
EPS = 1e-9

_HEELS = (Landmark.LEFT_HEEL, Landmark.RIGHT_HEEL)
_FEET = (Landmark.LEFT_FOOT_INDEX, Landmark.RIGHT_FOOT_INDEX)

SCALE_SEGMENTS: dict[str, tuple[tuple[Point, Point], ...]] = {
    "leg": ((Landmark.LEFT_HIP, Landmark.LEFT_KNEE), (Landmark.LEFT_KNEE, Landmark.LEFT_ANKLE)),
    "arm": ((Landmark.LEFT_SHOULDER, Landmark.LEFT_ELBOW), (Landmark.LEFT_ELBOW, Landmark.LEFT_WRIST)),
    "torso": ((g.SHOULDERS, g.HIPS),),
}


def resolve_point(name: str) -> Point:
    """A landmark (``"left_knee"``) or a virtual midpoint (``"mid_hip"``)."""
    n = name.lower()
    if n in VIRTUAL_POINTS:
        return VIRTUAL_POINTS[n]
    return Landmark.parse(n)


def mirror_point(p: Point) -> Point:
    """The same point on the other side of the body (midpoints are their own mirror)."""
    return p if isinstance(p, tuple) else mirror(p)


_MIRRORED_SEGMENTS = {k: tuple((mirror_point(a), mirror_point(b)) for a, b in v)
                      for k, v in SCALE_SEGMENTS.items()}


def lm_ids(p: Point) -> tuple[int, ...]:
    """Landmark indices a point is made of."""
    return tuple(int(q) for q in p) if isinstance(p, tuple) else (int(p),)


# ---------------------------------------------------------------------- float geometry
def pt(P: Pts, p: Point) -> list[float]:
    """Coordinates of a point (a midpoint is the mean of its two landmarks)."""
    if isinstance(p, tuple):
        return [0.5 * (a + b) for a, b in zip(P[p[0]], P[p[1]], strict=True)]
    return list(P[p])


def sub(a: Sequence[float], b: Sequence[float]) -> list[float]:
    return list(map(operator.sub, a, b))


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(map(operator.mul, a, b))


def norm(v: Sequence[float]) -> float:
    return math.hypot(*v)


def angle_between(u: Sequence[float], v: Sequence[float]) -> float:
    """Angle between two vectors, degrees in [0, 180]; NaN if either is NaN or degenerate."""
    if not (norm(u) > EPS and norm(v) > EPS):
        return math.nan
    if len(u) == 2:
        cross = abs(u[0] * v[1] - u[1] * v[0])
    else:
        cross = norm((u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]))
    return math.degrees(math.atan2(cross, dot(u, v)))


def joint_angle(P: Pts, a: Point, b: Point, c: Point) -> float:
    """Included angle at ``b`` (180 = straight), as :func:`vision.geometry.joint_angle`."""
    vb = pt(P, b)
    return angle_between(sub(pt(P, a), vb), sub(pt(P, c), vb))


def inclination(P: Pts, a: Point, b: Point) -> float:
    """Angle of ``a→b`` to the vertical (0 = ``b`` above ``a``), as :func:`vision.geometry.inclination`."""
    d = sub(pt(P, b), pt(P, a))
    up = [0.0, -1.0] if len(d) == 2 else [0.0, -1.0, 0.0]
    return angle_between(d, up)


def distance(P: Pts, a: Point, b: Point) -> float:
    return norm(sub(pt(P, b), pt(P, a)))


def facing(P: Pts, space: str) -> list[float] | None:
    """Unit horizontal direction the feet point (mean heel → toe), or None."""
    d = sub(pt(P, _FEET), pt(P, _HEELS))
    d = [d[0], 0.0, d[2]] if space == "world" else [d[0], 0.0]
    n = norm(d)
    return [x / n for x in d] if n > 0 else None


def raw_scale(P: Pts, kind: str) -> float:
    """A body length in the units of ``P`` (mean of both sides for limbs), NaN if unknown."""
    segs = SCALE_SEGMENTS[kind]
    if kind == "torso":
        return sum(distance(P, a, b) for a, b in segs)
    left = sum(distance(P, a, b) for a, b in segs)
    right = sum(distance(P, a, b) for a, b in _MIRRORED_SEGMENTS[kind])
    vals = [v for v in (left, right) if math.isfinite(v) and v > 0]
    return sum(vals) / len(vals) if vals else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """``numpy.percentile(values, q)`` (linear interpolation) of a short list of finite floats."""
    a = sorted(values)
    if not a:
        return math.nan
    x = q / 100.0 * (len(a) - 1)
    lo = math.floor(x)
    hi = min(lo + 1, len(a) - 1)
    return a[lo] + (a[hi] - a[lo]) * (x - lo)


class ScaleMemory:
    """Robust per-person body scales over a sliding time window.

    World lengths: median (the model's metric skeleton is stable but noisy).  Image lengths:
    a high percentile, because projection only ever shortens a segment.
    """

    def __init__(self, window_s: float = 4.0) -> None:
        self.window_s = window_s
        self._hist: dict[tuple[str, str], deque[tuple[float, float]]] = {}
        self._cache: dict[tuple[str, str], float] = {}

    def reset(self) -> None:
        """Forget all history (after a cut)."""
        self._hist.clear()
        self._cache.clear()

    def update(self, t_s: float, pts: Mapping[str, Pts]) -> None:
        """Record this frame's lengths for each space (``"world"``, ``"image"``)."""
        self._cache.clear()
        for space, p in pts.items():
            for kind in SCALE_SEGMENTS:
                v = raw_scale(p, kind)
                h = self._hist.setdefault((space, kind), deque())
                if math.isfinite(v) and v > 0:
                    h.append((t_s, v))
                while h and h[0][0] < t_s - self.window_s:
                    h.popleft()

    def get(self, space: str, kind: str) -> float:
        """The remembered scale, NaN when none was seen recently."""
        key = (space, kind)
        if key not in self._cache:
            h = self._hist.get(key)
            if not h:
                return math.nan
            self._cache[key] = percentile([v for _, v in h], 50.0 if space == "world" else 90.0)
        return self._cache[key]
