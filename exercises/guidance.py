"""Setup guidance: is the view right, is the whole body visible, is the person too far or too close?

All checks are per person and per frame; the engine debounces them (a problem must persist
before it is spoken).  The camera view is a majority over the last second of
:func:`vision.geometry.view_of`, so one odd frame does not flip it.
"""

from __future__ import annotations

import functools
import logging
import math
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from exercises.definition import ExerciseDef
from exercises.metrics import resolve_point
from vision import geometry as g

log = logging.getLogger(__name__)

#: Margin (fraction of the frame) within which a point counts as touching the image edge.
EDGE_MARGIN = 0.01


@dataclass
class ViewTracker:
    """Per-frame view, smoothed: a new view is adopted once it has ``switch_share`` of the last
    ``window_s`` seconds (a twist of the shoulders during one rep does not flip it)."""

    window_s: float = 2.0
    switch_share: float = 0.6
    _hist: deque[tuple[float, str]] = field(default_factory=deque)
    _current: str | None = None

    def update(self, t: float, xy: np.ndarray, z: np.ndarray | None, vis: np.ndarray,
               world: np.ndarray | None = None) -> str | None:
        """Add one frame's view (world landmarks are the more reliable source) and return the majority."""
        v = g.view_of(xy, z, vis, world=world)
        if v is not None:
            self._hist.append((t, str(v)))
        while self._hist and self._hist[0][0] < t - self.window_s:
            self._hist.popleft()
        return self.current

    @property
    def current(self) -> str | None:
        if not self._hist:
            return self._current
        view, n = Counter(v for _, v in self._hist).most_common(1)[0]
        if self._current is None or n >= self.switch_share * len(self._hist):
            self._current = view
        return self._current

    def reset(self) -> None:
        self._hist.clear()
        self._current = None


def required_ids(ex: ExerciseDef) -> list[int]:
    """Landmark indices that must be visible for this exercise."""
    return list(_required_ids(tuple(ex.required_landmarks)))


@functools.lru_cache(maxsize=64)
def _required_ids(names: tuple[str, ...]) -> tuple[int, ...]:
    out: list[int] = []
    for n in names:
        p = resolve_point(n)
        out.extend(int(q) for q in (p if isinstance(p, tuple) else (p,)))
    return tuple(sorted(set(out)))


def setup_problems(
    ex: ExerciseDef, xy: np.ndarray, vis: np.ndarray, width: int, height: int, view: str | None
) -> list[str]:
    """Setup message keys for one person in one frame, most important first."""
    out: list[str] = []
    ids = _required_ids(tuple(ex.required_landmarks))
    pts = np.asarray(xy, dtype=np.float64).tolist()  # plain floats: numpy is slow on 33 points
    v = [0.0 if math.isnan(x) else x for x in np.asarray(vis, dtype=np.float64).tolist()]
    if ids and width > 0 and height > 0:
        seen = sum(1 for i in ids if 0 <= pts[i][0] <= width and 0 <= pts[i][1] <= height
                   and v[i] >= ex.setup.min_visibility)  # NaN coordinates fail the comparisons
        if seen / len(ids) < 0.8:
            out.append("setup.full_body")
    if (ex.view == "side" and view == "front") or (ex.view == "front" and view == "side"):
        out.append(f"setup.view_{ex.view}")
    ok = [(x, y) for (x, y), vi in zip(pts, v, strict=True) if math.isfinite(x) and math.isfinite(y) and vi >= 0.3]
    if len(ok) >= 4 and width > 0 and height > 0:
        xs, ys = [x for x, _ in ok], [y for _, y in ok]
        ext = max((max(ys) - min(ys)) / height, (max(xs) - min(xs)) / width)
        touches = (min(ys) <= EDGE_MARGIN * height) and (max(ys) >= (1 - EDGE_MARGIN) * height)
        if ext > ex.setup.max_body_height or touches:
            out.append("setup.too_close")
        elif ext < ex.setup.min_body_height:
            out.append("setup.too_far")
    return out
