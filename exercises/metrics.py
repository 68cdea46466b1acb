"""Compute an exercise's declared metrics for one person in one frame.

Metrics are data (:class:`exercises.definition.MetricDef`); this module turns them into
numbers with :mod:`vision.geometry`.  ``space = "auto"`` prefers MediaPipe world landmarks
(metres, view-independent up to the model's depth estimate) and falls back to image pixels.
Body scales (leg, torso, arm length) are remembered per person over the last seconds so a
momentarily foreshortened segment does not change the normalisation.

Everything is NaN-aware: a metric whose points are missing is NaN, never an exception.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping

import numpy as np

from exercises.definition import VIRTUAL_POINTS, ExerciseDef, MetricDef
from vision import geometry as g
from vision.landmarks import Landmark, mirror

log = logging.getLogger(__name__)

Point = Landmark | tuple[Landmark, Landmark]

#: Visibility below which a landmark is ignored for metrics (MediaPipe extrapolates
#: out-of-frame points plausibly, so this is deliberately low; setup guidance is stricter).
METRIC_MIN_VISIBILITY = 0.0

#: A ground point (ankles) this visible is measured; below it, its remembered position is used.
GROUND_MIN_VISIBILITY = 0.5
GROUND_MEMORY_S = 10.0
#: Start values of ``drop`` metrics: this percentile of the recent values (robust to outliers).
BASELINE_PERCENTILE = 75.0

_SCALE_SEGMENTS: dict[str, tuple[tuple[Point, Point], ...]] = {
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


def _mirror_point(p: Point) -> Point:
    return p if isinstance(p, tuple) else mirror(p)


_HEELS = (Landmark.LEFT_HEEL, Landmark.RIGHT_HEEL)
_FEET = (Landmark.LEFT_FOOT_INDEX, Landmark.RIGHT_FOOT_INDEX)


def _pt(pts: np.ndarray, p: Point) -> np.ndarray:
    if isinstance(p, tuple):
        return 0.5 * (pts[int(p[0])] + pts[int(p[1])])
    return pts[int(p)]


def _facing(p: np.ndarray, space: str) -> np.ndarray | None:
    """Unit horizontal direction the feet point (mean heel -> toe), or None."""
    d = _pt(p, _FEET) - _pt(p, _HEELS)
    d = np.array([d[0], 0.0, d[2]]) if space == "world" else np.array([d[0], 0.0])
    n = float(np.linalg.norm(d))
    return d / n if n > 0 else None


def _lm_ids(p: Point) -> tuple[int, ...]:
    return tuple(int(q) for q in p) if isinstance(p, tuple) else (int(p),)


def _segments_length(pts: np.ndarray, segs: tuple[tuple[Point, Point], ...]) -> float:
    return float(sum(g.distance(pts, a, b) for a, b in segs))


def raw_scale(pts: np.ndarray, kind: str) -> float:
    """A body length in the units of ``pts`` (mean of both sides for limbs), NaN if unknown."""
    segs = _SCALE_SEGMENTS[kind]
    if kind == "torso":
        return _segments_length(pts, segs)
    left = _segments_length(pts, segs)
    right = _segments_length(pts, tuple((_mirror_point(a), _mirror_point(b)) for a, b in segs))
    vals = [v for v in (left, right) if math.isfinite(v) and v > 0]
    return float(np.mean(vals)) if vals else math.nan


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

    def update(self, t_s: float, pts: Mapping[str, np.ndarray]) -> None:
        """Record this frame's lengths for each space (``"world"``, ``"image"``)."""
        self._cache.clear()
        for space, p in pts.items():
            for kind in _SCALE_SEGMENTS:
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
            vals = np.fromiter((v for _, v in h), float)
            self._cache[key] = float(np.median(vals) if space == "world" else np.percentile(vals, 90))
        return self._cache[key]


class MetricComputer:
    """Per-person evaluator of all metrics of one exercise (keeps scale and rate history)."""

    def __init__(self, ex: ExerciseDef) -> None:
        self.ex = ex
        self.scales = ScaleMemory()
        self._order = _topological(ex.metrics)
        self._rate_hist: dict[str, deque[tuple[float, float]]] = {}
        self._resolved = {m.name: tuple(resolve_point(p) for p in m.points) for m in ex.metrics.values()}
        self._ground: dict[str, tuple[float, float]] = {}
        self._now = 0.0
        self._base_hist: dict[str, deque[tuple[float, float]]] = {}
        self._baseline: dict[str, float] = {}
        self._base_t: dict[str, float] = {}
        #: Set by the person's state machine while a rep is in progress: start values stay put.
        self.frozen = False
        #: Set once the start pose was held: from then on start values sink only at ``decay_per_s``.
        self.calibrated = False  # metric -> (t, image y of a planted ground point)

    def reset(self) -> None:
        """Forget history (after a discontinuity)."""
        self.scales.reset()
        self._rate_hist.clear()
        self._ground.clear()
        self._base_hist.clear()
        self._baseline.clear()
        self._base_t.clear()

    def reset_rates(self) -> None:
        """Forget the history of time derivatives and start values."""
        self._rate_hist.clear()
        self._base_hist.clear()
        self._baseline.clear()
        self._base_t.clear()

    def baseline(self, name: str) -> float:
        """The calibrated start value behind a ``drop`` metric (NaN if none yet)."""
        return self._baseline.get(name, math.nan)

    # ------------------------------------------------------------------ per frame
    def compute(
        self, t_s: float, xy: np.ndarray, visibility: np.ndarray, world: np.ndarray | None,
        *, base: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        """All metrics for one person: ``xy (33,2)``, ``visibility (33,)``, ``world (33,3)``.

        ``base`` (offline mode) supplies already-computed and smoothed values for the
        non-rate metrics; only ``rate`` metrics are then evaluated here.
        """
        self._now = t_s
        if base is None:
            img = np.array(xy, dtype=np.float64)
            img[~(np.asarray(visibility) >= METRIC_MIN_VISIBILITY)] = np.nan
            wld = None
            if world is not None:
                wld = np.array(world, dtype=np.float64)
                wld[~(np.asarray(visibility) >= METRIC_MIN_VISIBILITY)] = np.nan
                if not np.isfinite(wld).any():
                    wld = None
            spaces = {"image": img} | ({"world": wld} if wld is not None else {})
            self.scales.update(t_s, spaces)
        out: dict[str, float] = {}
        for name in self._order:
            m = self.ex.metrics[name]
            if base is not None and m.type not in ("combine", "ratio", "rate", "drop"):
                out[name] = float(base.get(name, math.nan))
                continue
            if m.type in ("combine", "ratio", "rate", "drop"):
                v = self._derived(m, out, t_s)
                out[name] = abs(v) if m.absolute and m.type != "rate" else v
            else:
                v = self._measure(m, spaces, visibility)
                if m.valid is not None and not m.valid[0] <= v <= m.valid[1]:
                    v = math.nan
                out[name] = v
        return out

    def _derived(self, m: MetricDef, vals: Mapping[str, float], t_s: float) -> float:
        xs = [vals.get(o, math.nan) for o in m.of]
        if m.type == "ratio":
            num, den = xs
            return num / den if abs(den) >= m.min_denominator and math.isfinite(num) else math.nan
        if m.type == "rate":
            return self._rate(m, t_s, xs[0])
        if m.type == "drop":
            return self._drop(m, t_s, xs[0])
        fin = [x for x in xs if math.isfinite(x)]
        if m.op == "diff":
            return xs[0] - xs[1] if len(xs) >= 2 else math.nan
        if not fin:
            return math.nan
        return float({"mean": np.mean, "max": np.max, "min": np.min, "sum": np.sum}[m.op](fin))

    def _drop(self, m: MetricDef, t_s: float, x: float) -> float:
        """Distance below (``down``) or above (``up``) the start value.

        The start value is a high percentile of the last ``window_s`` seconds (robust to outliers),
        held while a rep is in progress; with ``decay_per_s`` it may only sink that fast towards
        the signal, so a slow movement outside a rep cannot drag it along.
        """
        sign = 1.0 if m.direction == "down" else -1.0
        if not self.frozen:
            h = self._base_hist.setdefault(m.name, deque())
            if math.isfinite(x):
                h.append((t_s, sign * x))
            while h and h[0][0] < t_s - m.window_s:
                h.popleft()
            if h:
                target = float(np.percentile([v for _, v in h], BASELINE_PERCENTILE))
                prev = self._baseline.get(m.name)
                last_t = self._base_t.get(m.name)
                if m.decay_per_s and self.calibrated and prev is not None and last_t is not None:
                    target = max(target, sign * prev - m.decay_per_s * max(0.0, t_s - last_t))
                self._baseline[m.name] = sign * target
                self._base_t[m.name] = t_s
        base = self._baseline.get(m.name, math.nan)
        return sign * (base - x) if math.isfinite(x) else math.nan

    def rebase(self, name: str, t_s: float, level: float) -> None:
        """Move a ``drop`` metric's start value so that its current ``level`` reads 0 (the person
        settled into a new resting position, e.g. a split stance)."""
        m = self.ex.metrics.get(name)
        base = self._baseline.get(name)
        if m is None or m.type != "drop" or base is None or not math.isfinite(level):
            return
        sign = 1.0 if m.direction == "down" else -1.0
        new = base - sign * level
        self._baseline[name] = new
        self._base_hist[name] = deque([(t_s, sign * new)])
        self._base_t[name] = t_s

    def _rate(self, m: MetricDef, t_s: float, x: float) -> float:
        """Causal derivative by local linear fits over ``window_s`` (order 2 = slope of slopes)."""
        h = self._rate_hist.setdefault(m.name, deque())
        if math.isfinite(x):
            h.append((t_s, x))
        while h and h[0][0] < t_s - 2.0 * m.window_s:
            h.popleft()
        slope = _slope(h, t_s, m.window_s)
        if m.order == 2:
            key = m.name + "#d1"
            h2 = self._rate_hist.setdefault(key, deque())
            if math.isfinite(slope):
                h2.append((t_s, slope))
            while h2 and h2[0][0] < t_s - 2.0 * m.window_s:
                h2.popleft()
            slope = _slope(h2, t_s, m.window_s)
        return abs(slope) if m.absolute else slope

    def _measure(self, m: MetricDef, spaces: Mapping[str, np.ndarray], visibility: np.ndarray) -> float:
        pts = self._resolved[m.name]
        if m.type == "height" and m.space in ("auto", "image"):
            return self._height(m, pts, spaces, visibility)
        if m.type == "valgus":
            side = m.sides if m.sides in ("left", "right") else "max"
            if m.sides == "near" and "world" in spaces:  # the leg nearer the camera (front leg of a lunge)
                zl, zr = spaces["world"][int(Landmark.LEFT_ANKLE), 2], spaces["world"][int(Landmark.RIGHT_ANKLE), 2]
                if math.isfinite(zl) and math.isfinite(zr):
                    side = "left" if zl < zr else "right"
            return float(g.knee_valgus(spaces["image"], side))  # type: ignore[arg-type]
        space = m.space
        if space == "auto":
            space = "world" if "world" in spaces else "image"
        if space not in spaces:
            return math.nan
        p = spaces[space]
        variants = [pts]
        if any(not isinstance(q, tuple) for q in pts) and m.sides not in ("left", "none"):
            mirrored = tuple(_mirror_point(q) for q in pts)
            variants = [mirrored] if m.sides == "right" else [pts, mirrored]
        vals = [self._one(m, p, v, space) for v in variants]
        if len(vals) == 1:
            return vals[0]
        if m.sides == "front":  # the side whose last point is further forward (the front leg of a lunge)
            fwd = _facing(p, space)
            if fwd is None:
                return math.nan
            ahead = [float(np.dot(_pt(p, v[-1]), fwd)) for v in variants]
            return vals[int(np.nanargmax(ahead))] if np.isfinite(ahead).any() else math.nan
        if m.sides == "near":
            vis = [np.nanmean([visibility[i] for q in v for i in _lm_ids(q)]) for v in variants]
            order = np.argsort(vis)[::-1]
            for k in order:
                if math.isfinite(vals[k]):
                    return vals[k]
            return math.nan
        fin = [v for v in vals if math.isfinite(v)]
        if not fin:
            return math.nan
        return float({"mean": np.mean, "min": np.min, "max": np.max}[m.sides](fin))

    def _height(self, m: MetricDef, pts: tuple[Point, ...], spaces: Mapping[str, np.ndarray],
                visibility: np.ndarray) -> float:
        """Height above a ground point that may momentarily vanish (feet out of view or misdetected).

        While the ground point is well visible its height is measured directly (world space when
        available) and its image position remembered; when it is not, the remembered image
        position stands in (feet stay planted in these exercises) for up to ``GROUND_MEMORY_S``.
        """
        ground_ids = _lm_ids(pts[1])
        t = self._now
        space = "world" if m.space == "auto" and "world" in spaces else "image"
        if min(float(visibility[i]) for i in ground_ids) >= GROUND_MIN_VISIBILITY:
            gy = float(_pt(spaces["image"], pts[1])[1])
            if math.isfinite(gy):
                self._ground[m.name] = (t, gy)
            return self._one(m, spaces[space], pts, space)
        mem = self._ground.get(m.name)
        scale = self.scales.get("image", m.scale)
        if mem is None or t - mem[0] > GROUND_MEMORY_S or not scale > 0:
            return self._one(m, spaces[space], pts, space)
        return (mem[1] - float(_pt(spaces["image"], pts[0])[1])) / scale

    def _one(self, m: MetricDef, p: np.ndarray, pts: tuple[Point, ...], space: str) -> float:
        t = m.type
        if t == "angle":
            a = float(g.joint_angle(p, *pts))
            return 180.0 - a if m.flexion else a
        if t == "inclination":
            return float(g.inclination(p, pts[0], pts[1]))
        if t == "rotation":
            if m.axis == "trunk":
                return _axial_rotation(p, pts)
            return abs(float(g.line_rotation(p, (pts[0], pts[1]), (pts[2], pts[3]))))
        scale = 1.0 if m.scale == "none" else self.scales.get(space, m.scale)
        if not (scale > 0):
            return math.nan
        a = _pt(p, pts[0])
        b = _pt(p, pts[1])
        if t == "height":
            return float(b[1] - a[1]) / scale
        if t == "distance":
            d = b - a
            if m.axis == "vertical":
                v = abs(d[1])
            elif m.axis == "horizontal":
                v = math.hypot(d[0], d[2]) if space == "world" else abs(d[0])
            else:
                v = float(np.linalg.norm(d))
            return float(v) / scale
        if t == "forward":
            fwd = _facing(p, space)
            return math.nan if fwd is None else float(np.dot(a - b, fwd)) / scale
        if t == "line_offset":
            c = _pt(p, pts[2])
            d = c - a
            dd = float(np.dot(d, d))
            if not dd > 0:
                return math.nan
            off = (b - a) - float(np.dot(b - a, d)) / dd * d
            return float(-math.copysign(np.linalg.norm(off), off[1]) / math.sqrt(dd))
        raise ValueError(f"metric {m.name!r}: unsupported type {t!r}")


def _axial_rotation(p: np.ndarray, pts: tuple[Point, ...]) -> float:
    """|Angle| between two lines seen along the trunk axis (hips -> shoulders): the axial twist of
    the shoulders against the hips, also when bent forward.  3D (world) landmarks only."""
    if p.shape[-1] != 3:
        return math.nan
    axis = _pt(p, g.SHOULDERS) - _pt(p, g.HIPS)
    n = float(np.linalg.norm(axis))
    if not n > 0:
        return math.nan
    axis = axis / n
    u = _pt(p, pts[1]) - _pt(p, pts[0])
    v = _pt(p, pts[3]) - _pt(p, pts[2])
    u = u - np.dot(u, axis) * axis
    v = v - np.dot(v, axis) * axis
    nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if not (nu > 0 and nv > 0):
        return math.nan
    return math.degrees(math.acos(max(-1.0, min(1.0, float(np.dot(u, v)) / (nu * nv)))))


def _slope(h: deque[tuple[float, float]], t_s: float, window_s: float) -> float:
    pts = [(t, x) for t, x in h if t >= t_s - window_s]
    if len(pts) < 3:
        return math.nan
    ts = np.array([t for t, _ in pts])
    xs = np.array([x for _, x in pts])
    tc = ts - ts.mean()
    den = float(np.dot(tc, tc))
    return float(np.dot(tc, xs - xs.mean()) / den) if den > 0 else math.nan


def _topological(metrics: Mapping[str, MetricDef]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(n: str) -> None:
        if n in seen:
            return
        seen.add(n)
        for o in metrics[n].of:
            visit(o)
        order.append(n)

    for n in metrics:
        visit(n)
    return order
