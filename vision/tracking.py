"""Stable person ids across frames, crossings and short dropouts.

:class:`PersonTracker` keeps a small set of tracks and, for every frame, matches
them to the poses found with the Hungarian algorithm
(:func:`scipy.optimize.linear_sum_assignment`).  The cost of a pairing is the
mean distance between the track's predicted landmarks (constant-velocity
prediction) and the pose's landmarks, over landmarks visible in both, divided
by the person's size; pairings above ``max_cost`` are forbidden.  The pose
stage's own follower id, when it is the one the track last had, lowers the cost
and, for a short gap, allows a larger one (``source_max_cost``: the follower saw the
person jump off a box from frame to frame, where the constant-velocity guess fails),
so ids only change hands when the geometry clearly says so.

A new pose becomes a *tentative* track and is reported only once it has been
seen in ``min_hits`` frames within ``confirm_window_s``: a one-off spurious pose
never gets an id.  A track unseen for ``max_age_s`` is forgotten, so memory
stays flat over hours of video.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from vision.frame import Frame
from vision.landmarks import Landmark, mirror

log = logging.getLogger(__name__)

#: index permutation that swaps left and right landmarks
_MIRROR = np.array([mirror(lm) for lm in Landmark], np.int64)
_TORSO = [Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER, Landmark.LEFT_HIP, Landmark.RIGHT_HIP]


@dataclass(frozen=True)
class TrackerConfig:
    """Tracking thresholds; times are in seconds so any frame rate works."""

    max_cost: float = 1.0
    max_age_s: float = 2.0
    min_hits: int = 2
    confirm_window_s: float = 0.5
    min_score: float = 0.4
    visibility_threshold: float = 0.5
    same_source_bonus: float = 0.3
    #: a pose from the follower the track last had, within ``source_gap_s``, may cost up to this:
    #: the pose stage followed that person from frame to frame (a jump, a missed frame)
    source_max_cost: float = 2.5
    source_gap_s: float = 0.3


@dataclass
class _Track:
    track_id: int
    xy: np.ndarray  # (33, 2) last observed
    velocity: np.ndarray  # (2,) px / s of the body centre
    size: float
    last_ms: int
    first_ms: int
    hits: int
    source: int
    confirmed: bool = False

    def predict(self, t_ms: int) -> np.ndarray:
        dt = (t_ms - self.last_ms) / 1000.0
        return self.xy + self.velocity * min(dt, 0.5)


def person_size(xy: np.ndarray, vis: np.ndarray, thr: float) -> float:
    """A scale for one person in pixels: torso diagonal, else the bbox diagonal."""
    ok = (vis >= thr) & np.isfinite(xy).all(axis=1)
    torso = [int(i) for i in _TORSO if ok[i]]
    if len(torso) >= 3:
        pts = xy[torso]
        return float(max(np.linalg.norm(pts.max(0) - pts.min(0)), 1.0))
    pts = xy[ok] if ok.sum() >= 2 else xy[np.isfinite(xy).all(axis=1)]
    if len(pts) < 2:
        return 1.0
    return float(max(np.linalg.norm(pts.max(0) - pts.min(0)) / 2.0, 1.0))


class PersonTracker:
    """Assign stable ``track_id``s; ``update(frame)`` returns a frame with only confirmed people."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._last_t_ms: int | None = None

    @property
    def active_ids(self) -> list[int]:
        """Ids of confirmed tracks still remembered."""
        return [t.track_id for t in self._tracks if t.confirmed]

    def reset(self) -> None:
        """Forget every track (e.g. after a cut the caller detected itself)."""
        self._tracks.clear()
        self._last_t_ms = None

    def _cost(self, track: _Track, pred: np.ndarray, xy: np.ndarray, vis: np.ndarray, source: int) -> float:
        ok = (vis >= self.config.visibility_threshold) & np.isfinite(pred).all(1) & np.isfinite(xy).all(1)
        if ok.sum() < 3:
            return np.inf
        d = np.linalg.norm(pred[ok] - xy[ok], axis=1)
        # MediaPipe sometimes swaps left and right in a side view: that is still the same person.
        ok_m = ok & ok[_MIRROR]
        d_m = np.linalg.norm(pred[_MIRROR][ok_m] - xy[ok_m], axis=1) if ok_m.sum() >= 3 else d
        cost = min(float(np.median(d)), float(np.median(d_m))) / max(track.size, 1.0)
        if source >= 0 and source == track.source:
            cost -= self.config.same_source_bonus
        return cost

    def update(self, frame: Frame) -> Frame:
        """Match the frame's poses to tracks and return it with stable ids (confirmed tracks only)."""
        cfg = self.config
        t = frame.t_ms
        if self._last_t_ms is not None and t < self._last_t_ms:
            log.info("time went backwards (%d -> %d ms): resetting tracks", self._last_t_ms, t)
            self.reset()
        self._last_t_ms = t
        self._tracks = [tr for tr in self._tracks if t - tr.last_ms <= cfg.max_age_s * 1000]
        # Tentative tracks that did not confirm in time are dropped.
        self._tracks = [
            tr for tr in self._tracks if tr.confirmed or t - tr.first_ms <= cfg.confirm_window_s * 1000
        ]

        rows = [i for i in range(frame.num_people) if frame.score[i] >= cfg.min_score]
        n_t, n_d = len(self._tracks), len(rows)
        cost = np.full((n_t, n_d), np.inf)
        limit = np.full((n_t, n_d), cfg.max_cost)
        for a, tr in enumerate(self._tracks):
            pred = tr.predict(t)
            for b, r in enumerate(rows):
                src = int(frame.track_id[r])
                cost[a, b] = min(self._cost(tr, pred, frame.xy[r], frame.visibility[r], src),
                                 self._cost(tr, tr.xy, frame.xy[r], frame.visibility[r], src))
                if src >= 0 and src == tr.source and t - tr.last_ms <= cfg.source_gap_s * 1000:
                    limit[a, b] = max(cfg.max_cost, cfg.source_max_cost)
        # Matching cascade: confirmed tracks choose first; tentative tracks only get what is left,
        # so a fresh duplicate can never steal a person from the id they already have.
        matches: dict[int, _Track] = {}
        for want_confirmed in (True, False):
            ti = [a for a, tr in enumerate(self._tracks) if tr.confirmed == want_confirmed]
            di = [b for b in range(n_d) if b not in matches]
            if not ti or not di:
                continue
            sub, lim = cost[np.ix_(ti, di)], limit[np.ix_(ti, di)]
            ai, bi = linear_sum_assignment(np.where(np.isfinite(sub) & (sub <= lim), sub, 1e6))
            for a, b in zip(ai, bi, strict=True):
                if sub[a, b] <= lim[a, b]:
                    matches[di[b]] = self._tracks[ti[a]]

        out_rows: list[int] = []
        out_ids: list[int] = []
        for b, r in enumerate(rows):
            xy = frame.xy[r]
            vis = frame.visibility[r]
            size = person_size(xy, vis, cfg.visibility_threshold)
            tr = matches.get(b)
            if tr is None:
                tr = _Track(
                    track_id=-1, xy=xy.copy(), velocity=np.zeros(2), size=size,
                    last_ms=t, first_ms=t, hits=1, source=int(frame.track_id[r]),
                )
                self._tracks.append(tr)
            else:
                dt = max((t - tr.last_ms) / 1000.0, 1e-3)
                shift = np.nanmedian(xy - tr.xy, axis=0)
                if np.isfinite(shift).all():
                    # Clamp to a plausible speed (3 body sizes per second): a landmark jump
                    # must not throw the prediction across the picture.
                    v = shift / dt
                    speed = float(np.linalg.norm(v))
                    limit = 3.0 * tr.size
                    if speed > limit:
                        v *= limit / speed
                    tr.velocity = 0.5 * tr.velocity + 0.5 * v
                tr.xy = np.where(np.isfinite(xy), xy, tr.xy)
                tr.size = 0.8 * tr.size + 0.2 * size
                tr.last_ms = t
                tr.hits += 1
                tr.source = int(frame.track_id[r])
            if not tr.confirmed and tr.hits >= cfg.min_hits:
                tr.confirmed = True
                tr.track_id = self._next_id
                self._next_id += 1
                log.debug("t=%d ms: confirmed person %d", t, tr.track_id)
            if tr.confirmed:
                out_rows.append(r)
                out_ids.append(tr.track_id)
        if not out_rows:
            return frame.select(np.zeros(0, np.int64))
        selected = frame.select(np.array(out_rows, np.int64))
        return selected.replace(track_id=np.array(out_ids, np.int64))
