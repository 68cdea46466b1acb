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

from exercises import points as fp
from exercises.definition import ExerciseDef, MetricDef
from exercises.points import Point, Pts, ScaleMemory, lm_ids, mirror_point, resolve_point
from vision import geometry as g
from vision.landmarks import Landmark

__all__ = ["MetricComputer", "resolve_point"]

_UNSET = object()

log = logging.getLogger(__name__)

#: Visibility below which a landmark is ignored for metrics (MediaPipe extrapolates
#: out-of-frame points plausibly, so this is deliberately low; setup guidance is stricter).
METRIC_MIN_VISIBILITY = 0.0

#: A ground point (ankles) this visible is measured; below it, its remembered position is used.
GROUND_MIN_VISIBILITY = 0.5
GROUND_MEMORY_S = 10.0
#: Start values of ``drop`` metrics: this percentile of the recent values (robust to outliers),
#: once there are this many over this long; before that (a person just found, a low frame rate)
#: the median, which a few glitched frames while the pose model locks on cannot move.
BASELINE_PERCENTILE = 75.0
BASELINE_MIN_SAMPLES = 8
BASELINE_MIN_SPAN_S = 0.4

class MetricComputer:
    """Per-person evaluator of all metrics of one exercise (keeps scale and rate history)."""

    def __init__(self, ex: ExerciseDef) -> None:
        self.ex = ex
        self.scales = ScaleMemory()
        self._order = _topological(ex.metrics)
        self._rate_hist: dict[str, deque[tuple[float, float]]] = {}
        self._resolved = {m.name: tuple(resolve_point(p) for p in m.points) for m in ex.metrics.values()}
        #: the start pose, for the start values of ``drop`` metrics (not conditions on start values)
        self._pose_conds = tuple(c for c in ex.start.conditions
                                 if c.metric in ex.metrics and ex.metrics[c.metric].type != "drop")
        self._last_vals: dict[str, float] = {}
        self._vals_now: dict[str, float] = {}
        self._pose_ok: object = _UNSET
        #: the point tuples to measure: as declared and/or mirrored to the other side of the body
        self._variants = {n: _sided(pts, ex.metrics[n].sides) for n, pts in self._resolved.items()}
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
        self._last_vals = {}

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
            lists = {k: v.tolist() for k, v in spaces.items()}
            vis = np.asarray(visibility, dtype=np.float64).tolist()
            self.scales.update(t_s, lists)
        out: dict[str, float] = {}
        self._vals_now, self._pose_ok = out, _UNSET
        for name in self._order:
            m = self.ex.metrics[name]
            if base is not None and m.type not in ("combine", "ratio", "rate", "drop"):
                out[name] = float(base.get(name, math.nan))
                continue
            if m.type in ("combine", "ratio", "rate", "drop"):
                v = self._derived(m, out, t_s)
                out[name] = abs(v) if m.absolute and m.type != "rate" else v
            else:
                v = self._measure(m, spaces, lists, vis)
                if m.valid is not None and not m.valid[0] <= v <= m.valid[1]:
                    v = math.nan
                out[name] = v
        self._last_vals = out
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

    def _in_start_pose(self) -> bool | None:
        """Whether this frame shows the start pose (None: cannot tell).  Judged on the values
        measured so far in this frame, else the last frame's; conditions on start values are skipped."""
        if self._pose_ok is _UNSET:
            vals = self._last_vals | self._vals_now
            verdict: bool | None = True
            for c in self._pose_conds:
                r = c.holds(vals.get(c.metric, math.nan))
                if r is False:
                    verdict = False
                    break
                if r is None:
                    verdict = None
            self._pose_ok = verdict
        return self._pose_ok  # type: ignore[return-value]

    def _drop(self, m: MetricDef, t_s: float, x: float) -> float:
        """Distance below (``down``) or above (``up``) the start value.

        The start value is a high percentile of the last ``window_s`` seconds (robust to outliers),
        held while a rep is in progress; with ``decay_per_s`` it may only sink that fast towards
        the signal, so a slow movement outside a rep cannot drag it along.  Until the start pose was
        first held, only frames in the start pose count (on all fours for a bird-dog: getting down
        to the floor is not where a bird-dog starts, and must not delay its first rep).
        """
        sign = 1.0 if m.direction == "down" else -1.0
        if not self.frozen:
            h = self._base_hist.setdefault(m.name, deque())
            if math.isfinite(x) and (self.calibrated or self._in_start_pose() is not False):
                h.append((t_s, sign * x))
            while h and h[0][0] < t_s - m.window_s:
                h.popleft()
            if h:
                enough = len(h) >= BASELINE_MIN_SAMPLES and h[-1][0] - h[0][0] >= BASELINE_MIN_SPAN_S
                target = fp.percentile([v for _, v in h], BASELINE_PERCENTILE if enough else 50.0)
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

    def _measure(self, m: MetricDef, spaces: Mapping[str, np.ndarray], lists: Mapping[str, Pts],
                 visibility: list[float]) -> float:
        pts = self._resolved[m.name]
        if m.type == "height" and m.space in ("auto", "image"):
            return self._height(m, pts, spaces, lists, visibility)
        if m.type == "valgus":
            side = m.sides if m.sides in ("left", "right") else "max"
            if m.sides == "near" and "world" in lists:  # the leg nearer the camera (front leg of a lunge)
                zl, zr = lists["world"][int(Landmark.LEFT_ANKLE)][2], lists["world"][int(Landmark.RIGHT_ANKLE)][2]
                if math.isfinite(zl) and math.isfinite(zr):
                    side = "left" if zl < zr else "right"
            return float(g.knee_valgus(spaces["image"], side))  # type: ignore[arg-type]
        space = m.space
        if space == "auto":
            space = "world" if "world" in spaces else "image"
        if space not in spaces:
            return math.nan
        p, P = spaces[space], lists[space]
        variants = self._variants[m.name]
        vals = [self._one(m, p, P, v, space) for v in variants]
        if len(vals) == 1:
            return vals[0]
        if m.sides == "front":  # the side whose last point is further forward (the front leg of a lunge)
            fwd = fp.facing(P, space)
            if fwd is None:
                return math.nan
            ahead = [fp.dot(fp.pt(P, v[-1]), fwd) for v in variants]
            fin = [k for k, x in enumerate(ahead) if math.isfinite(x)]
            return vals[max(fin, key=lambda k: ahead[k])] if fin else math.nan
        if m.sides == "near":
            vis = [_nanmean([visibility[i] for q in v for i in lm_ids(q)]) for v in variants]
            key = [math.inf if math.isnan(x) else x for x in vis]  # as numpy's argsort: NaN sorts last
            for k in sorted(range(len(vals)), key=lambda k: (key[k], k), reverse=True):
                if math.isfinite(vals[k]):
                    return vals[k]
            return math.nan
        fin = [v for v in vals if math.isfinite(v)]
        if not fin:
            return math.nan
        if m.sides == "mean":
            return sum(fin) / len(fin)
        return float(min(fin) if m.sides == "min" else max(fin))

    def _height(self, m: MetricDef, pts: tuple[Point, ...], spaces: Mapping[str, np.ndarray],
                lists: Mapping[str, Pts], visibility: list[float]) -> float:
        """Height above a ground point that may momentarily vanish (feet out of view or misdetected).

        While the ground point is well visible its height is measured directly (world space when
        available) and its image position remembered; when it is not, the remembered image
        position stands in (feet stay planted in these exercises) for up to ``GROUND_MEMORY_S``.
        """
        ground_ids = lm_ids(pts[1])
        t = self._now
        space = "world" if m.space == "auto" and "world" in spaces else "image"
        if min(visibility[i] for i in ground_ids) >= GROUND_MIN_VISIBILITY:
            gy = fp.pt(lists["image"], pts[1])[1]
            if math.isfinite(gy):
                self._ground[m.name] = (t, gy)
            return self._one(m, spaces[space], lists[space], pts, space)
        mem = self._ground.get(m.name)
        scale = self.scales.get("image", m.scale)
        if mem is None or t - mem[0] > GROUND_MEMORY_S or not scale > 0:
            return self._one(m, spaces[space], lists[space], pts, space)
        return (mem[1] - fp.pt(lists["image"], pts[0])[1]) / scale

    def _one(self, m: MetricDef, p: np.ndarray, P: Pts, pts: tuple[Point, ...], space: str) -> float:
        t = m.type
        if t == "angle":
            a = fp.joint_angle(P, *pts)
            return 180.0 - a if m.flexion else a
        if t == "inclination":
            return fp.inclination(P, pts[0], pts[1])
        if t == "rotation":
            if m.axis == "trunk":
                return _axial_rotation(p, pts)
            return abs(float(g.line_rotation(p, (pts[0], pts[1]), (pts[2], pts[3]))))
        scale = 1.0 if m.scale == "none" else self.scales.get(space, m.scale)
        if not (scale > 0):
            return math.nan
        a = fp.pt(P, pts[0])
        b = fp.pt(P, pts[1])
        if t == "height":
            return (b[1] - a[1]) / scale
        if t == "distance":
            d = fp.sub(b, a)
            if m.axis == "vertical":
                v = abs(d[1])
            elif m.axis == "horizontal":
                v = math.hypot(d[0], d[2]) if space == "world" else abs(d[0])
            else:
                v = fp.norm(d)
            return v / scale
        if t == "forward":
            fwd = fp.facing(P, space)
            return math.nan if fwd is None else fp.dot(fp.sub(a, b), fwd) / scale
        if t == "line_offset":
            d = fp.sub(fp.pt(P, pts[2]), a)
            dd = fp.dot(d, d)
            if not dd > 0:
                return math.nan
            ba = fp.sub(b, a)
            k = fp.dot(ba, d) / dd
            off = [x - k * y for x, y in zip(ba, d, strict=True)]
            return -math.copysign(fp.norm(off), off[1]) / math.sqrt(dd)
        raise ValueError(f"metric {m.name!r}: unsupported type {t!r}")


def _sided(pts: tuple[Point, ...], sides: str) -> list[tuple[Point, ...]]:
    """The declared points and/or their mirror image, as a metric's ``sides`` asks."""
    if any(not isinstance(q, tuple) for q in pts) and sides not in ("left", "none"):
        mirrored = tuple(mirror_point(q) for q in pts)
        return [mirrored] if sides == "right" else [pts, mirrored]
    return [pts]


def _nanmean(xs: list[float]) -> float:
    fin = [x for x in xs if not math.isnan(x)]
    return sum(fin) / len(fin) if fin else math.nan


def _axial_rotation(p: np.ndarray, pts: tuple[Point, ...]) -> float:
    """|Angle| between two lines seen along the trunk axis (hips -> shoulders): the axial twist of
    the shoulders against the hips, also when bent forward.  3D (world) landmarks only."""
    if p.shape[-1] != 3:
        return math.nan
    P = p.tolist()
    axis = fp.sub(fp.pt(P, g.SHOULDERS), fp.pt(P, g.HIPS))
    n = fp.norm(axis)
    if not n > 0:
        return math.nan
    axis = [x / n for x in axis]
    u = fp.sub(fp.pt(P, pts[1]), fp.pt(P, pts[0]))
    v = fp.sub(fp.pt(P, pts[3]), fp.pt(P, pts[2]))
    ku, kv = fp.dot(u, axis), fp.dot(v, axis)
    u = [x - ku * y for x, y in zip(u, axis, strict=True)]
    v = [x - kv * y for x, y in zip(v, axis, strict=True)]
    nu, nv = fp.norm(u), fp.norm(v)
    if not (nu > 0 and nv > 0):
        return math.nan
    return math.degrees(math.acos(max(-1.0, min(1.0, fp.dot(u, v) / (nu * nv)))))


def _slope(h: deque[tuple[float, float]], t_s: float, window_s: float) -> float:
    pts = [(t, x) for t, x in h if t >= t_s - window_s]
    if len(pts) < 3:
        return math.nan
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mx = sum(x for _, x in pts) / n
    den = sum((t - mt) * (t - mt) for t, _ in pts)
    return sum((t - mt) * (x - mx) for t, x in pts) / den if den > 0 else math.nan


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
