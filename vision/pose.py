"""Pose estimation: the only module that imports mediapipe.

MediaPipe's detector sees the whole picture at 224×224, so a person who fills a
fifth of a wide frame, as in a therapist's group shot, is often missed, and its
multi-pose output order is not stable.  :class:`PoseEstimator` therefore works
in two layers:

* **Finding people** (the finder): every ``detect_every_s`` seconds, and soon
  after someone was lost, a MediaPipe landmarker in IMAGE mode looks at the whole
  frame and at a few tiles of a tile pyramid (:func:`vision.people.search_tiles`),
  taken in turn, so that small and background people are seen large enough while
  a search never costs more than a few model calls.  Candidates that are a person
  already followed, or a part of one, are dropped; a new candidate must be seen
  again on a square crop around it before it is followed, which rejects the
  partial "people" a tile sometimes reports.
* **Following each person** (:class:`_Follower`): every person found gets a
  landmarker of their own in VIDEO mode, fed a square crop around their last
  position.  In the crop the person is large, and VIDEO mode lets MediaPipe
  track the region from frame to frame.  A follower whose person vanishes for
  ``lost_after_s`` is closed; two followers that lock onto the same person are
  merged.

A MediaPipe call releases the GIL and uses about one core, so the followers'
calls, and the finder's, run concurrently on ``PoseConfig.workers`` threads; the
result does not depend on the number of workers.

Each follower's id is written into ``Frame.track_id``; :mod:`vision.tracking`
turns those into ids that stay stable through crossings and short dropouts.
All native MediaPipe objects and the worker threads are closed deterministically
by :meth:`PoseEstimator.close` or the context manager.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ logging quiet
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import mediapipe as mp
from mediapipe.tasks.python import BaseOptions
from mediapipe.tasks.python import vision as mpv

from vision.frame import Frame, pose_score
from vision.landmarks import NUM_LANDMARKS
from vision.model import resolve_model
from vision.people import Box, Candidate, Region, iou, is_part_of, search_tiles, square_around, square_crop

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class PoseConfig:
    """Tuning of person finding and following (defaults measured on the samples)."""

    max_people: int = 4
    detect_every_s: float = 0.5
    #: a lost person triggers an early search, but searches are at least this far apart
    min_detect_interval_s: float = 0.1
    lost_after_s: float = 0.4
    #: searches look around a lost person's last place for this long
    lost_memory_s: float = 2.0
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    #: a candidate pose needs this many of the BODY landmarks visible
    min_visible_body: int = 6
    visibility_threshold: float = 0.5
    #: crop side as a multiple of the person's larger bbox side
    crop_scale: float = 1.7
    #: smallest tile side in the finder's tile pyramid (pixels)
    tile_size: int = 160
    tile_overlap: float = 0.3
    #: tiles per search while someone is followed, taken in turn (all of them while nobody is)
    tiles_per_search: int = 4
    #: a followed pose may move at most this fraction of the person's size between frames
    max_jump: float = 0.5
    #: a follower that finds nobody on its crop, and a candidate not seen again on its crop, get
    #: a second look on a crop this much larger than the person (a person lying on the floor is
    #: found at some crops and not at others)
    retry_scale: float = 2.5
    #: landmarkers run per follower crop (2 lets a follower ignore a second person in its crop)
    follower_poses: int = 1
    #: threads running MediaPipe calls concurrently (each call uses about one core)
    workers: int = 2


def _to_pose(result: object, k: int, x0: float, y0: float, side_w: float, side_h: float) -> Candidate:
    lms = result.pose_landmarks[k]  # type: ignore[attr-defined]
    wlms = result.pose_world_landmarks[k]  # type: ignore[attr-defined]
    arr = np.array([(q.x, q.y, q.z, q.visibility or 0.0) for q in lms], np.float32)
    xy = np.stack([arr[:, 0] * side_w + x0, arr[:, 1] * side_h + y0], axis=1)
    world = np.array([(q.x, q.y, q.z) for q in wlms], np.float32)
    return Candidate(xy=xy, z=arr[:, 2] * side_w, vis=arr[:, 3], world=world)


def _poses(result: object, x0: float, y0: float, side_w: float, side_h: float) -> list[Candidate]:
    n = len(result.pose_landmarks)  # type: ignore[attr-defined]
    return [_to_pose(result, k, x0, y0, side_w, side_h) for k in range(n)]


_QUIET_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence LiteRT's C++ chatter on fd 2 (model load, first inference, close).

    MediaPipe's native code prints INFO/WARNING lines straight to the stderr file
    descriptor, bypassing Python logging and ``GLOG_minloglevel``.  Set
    ``FORMCHECK_NATIVE_LOGS=1`` to see them.
    """
    if os.environ.get("FORMCHECK_NATIVE_LOGS") == "1":
        yield
        return
    with _QUIET_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no real fd 2 (e.g. some embedded interpreters)
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


class _Landmarker:
    """Thin owner of one MediaPipe PoseLandmarker; calls from several threads take turns."""

    def __init__(self, model: Path, mode: str, num_poses: int, cfg: PoseConfig) -> None:
        running = mpv.RunningMode.VIDEO if mode == "video" else mpv.RunningMode.IMAGE
        opts = mpv.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model)),
            running_mode=running,
            num_poses=num_poses,
            min_pose_detection_confidence=cfg.min_detection_confidence,
            min_pose_presence_confidence=cfg.min_detection_confidence,
            min_tracking_confidence=cfg.min_tracking_confidence,
        )
        with _quiet_native_stderr():
            self._lm = mpv.PoseLandmarker.create_from_options(opts)
        self._last_t = -1
        self._warm = False
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray, t_ms: int | None = None) -> object:
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        with self._lock, _quiet_native_stderr() if not self._warm else contextlib.nullcontext():
            self._warm = True
            if t_ms is None:
                return self._lm.detect(image)
            t_ms = max(int(t_ms), self._last_t + 1)
            self._last_t = t_ms
            return self._lm.detect_for_video(image, t_ms)

    def close(self) -> None:
        with _quiet_native_stderr():
            self._lm.close()


@dataclass
class _Follower:
    slot: int
    landmarker: _Landmarker
    box: Box
    last_seen_ms: int
    pose: Candidate | None = None
    hits: int = 0


class PoseEstimator:
    """Find and follow every person in a video; ``process(frame)`` returns the frame with people.

    Use as a context manager (or call :meth:`close`) so the native landmarkers and the
    worker threads are freed.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        num_poses: int = 4,
        config: PoseConfig | None = None,
    ) -> None:
        self.model_path = resolve_model(model_path)
        self.config = config or PoseConfig(max_people=num_poses)
        if self.config.max_people != num_poses and config is not None:
            log.debug("PoseConfig.max_people=%d overrides num_poses", self.config.max_people)
        workers = max(1, self.config.workers)
        # One IMAGE-mode finder per worker: a landmarker is never called from two threads at once.
        self._finders = [_Landmarker(self.model_path, "image", min(self.config.max_people, 4), self.config)
                         for _ in range(workers)]
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="pose") if workers > 1 else None
        self._followers: list[_Follower] = []
        self._next_slot = 0
        self._last_detect_ms: int | None = None
        self._tile_cursor = 0
        #: boxes of followers closed because their person vanished, with the time: searched first
        self._losses: list[tuple[Box, int]] = []
        self._closed = False

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free every native landmarker and the worker threads (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for f in self._followers:
            f.landmarker.close()
        self._followers.clear()
        for finder in self._finders:
            finder.close()

    def _map(self, jobs: Sequence[Callable[[], T]]) -> list[T]:
        """Run the jobs on the worker threads; results in the jobs' order."""
        if self._pool is None or len(jobs) < 2:
            return [job() for job in jobs]
        return [fut.result() for fut in [self._pool.submit(job) for job in jobs]]

    # ------------------------------------------------------------------ per frame
    def process(self, frame: Frame) -> Frame:
        """Return ``frame`` carrying the people found in its image."""
        if self._closed:
            raise RuntimeError("PoseEstimator is closed")
        if frame.image.size == 0:
            raise ValueError(f"frame {frame.index} has no image to estimate poses on")
        cfg = self.config
        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        lost = self._follow(rgb, frame.t_ms)
        since = None if self._last_detect_ms is None else frame.t_ms - self._last_detect_ms
        # A search every detect_every_s; sooner when someone was lost, but never more often than
        # min_detect_interval_s, or a flickering follower would search on every frame.
        due = since is None or since >= cfg.detect_every_s * 1000 or (
            lost and since >= cfg.min_detect_interval_s * 1000)
        if due and len(self._followers) < cfg.max_people:
            self._find(rgb, frame.t_ms)
        people = [f for f in self._followers if f.pose is not None and f.last_seen_ms == frame.t_ms]
        if not people:
            return frame.with_people(
                np.zeros((0, NUM_LANDMARKS, 2)), np.zeros((0, NUM_LANDMARKS)),
                np.zeros((0, NUM_LANDMARKS)), np.zeros((0, NUM_LANDMARKS, 3)),
            )
        vis = np.stack([f.pose.vis for f in people])  # type: ignore[union-attr]
        return frame.with_people(
            xy=np.stack([f.pose.xy for f in people]),  # type: ignore[union-attr]
            z=np.stack([f.pose.z for f in people]),  # type: ignore[union-attr]
            visibility=vis,
            world=np.stack([f.pose.world for f in people]),  # type: ignore[union-attr]
            track_id=np.array([f.slot for f in people], np.int64),
            score=pose_score(vis),
        )

    def _follow(self, rgb: np.ndarray, t_ms: int) -> bool:
        """Update every follower from its crop; return True if anyone was lost this frame."""
        cfg = self.config

        def look(i: int, f: _Follower) -> list[Candidate]:
            poses = self._video_look(f, rgb, t_ms)
            if not poses and cfg.retry_scale > cfg.crop_scale:
                poses = self._look_around(rgb, f.box, cfg.retry_scale, self._finders[i % len(self._finders)])
            return poses

        found = self._map([lambda i=i, f=f: look(i, f) for i, f in enumerate(self._followers)])
        lost = False
        min_body = cfg.min_visible_body // 2  # a followed person may be partly occluded
        for f, poses in zip(self._followers, found, strict=True):
            poses = [p for p in poses if p.visible_body(cfg.visibility_threshold) >= min_body]
            if poses and f.pose is not None:
                # The crop may hold someone else too: keep to the person we follow.
                dist = [f.pose.distance(p, cfg.visibility_threshold) for p in poses]
                poses = [poses[int(np.argmin(dist))]] if min(dist) < cfg.max_jump else []
            if poses:
                f.pose = poses[0]
                f.box = f.pose.box(cfg.visibility_threshold)
                f.last_seen_ms = t_ms
                f.hits += 1
            else:
                f.pose = None
                lost = True
        # Drop followers gone too long, and merge followers that latched onto one person.
        keep: list[_Follower] = []
        for f in sorted(self._followers, key=lambda f: (-f.hits, f.slot)):
            stale = t_ms - f.last_seen_ms > cfg.lost_after_s * 1000
            thr = cfg.visibility_threshold
            dup = f.pose is not None and any(k.pose is not None and f.pose.same_person(k.pose, thr) for k in keep)
            if stale or dup:
                log.debug("closing follower %d (%s)", f.slot, "lost" if stale else "duplicate")
                f.landmarker.close()
                lost = True
                if stale:
                    self._losses.append((f.box, t_ms))
            else:
                keep.append(f)
        self._followers = sorted(keep, key=lambda f: f.slot)
        return lost

    def _search_regions(self, h: int, w: int, t_ms: int) -> list[Region]:
        """Where to look: the whole frame; around anyone lost in the last ``lost_memory_s``; tiles.

        Every tile while nobody is followed, else the next ``tiles_per_search`` in turn.
        """
        cfg = self.config
        self._losses = [(b, t) for b, t in self._losses if t_ms - t <= cfg.lost_memory_s * 1000]
        around = []
        for b, _ in self._losses:  # a square twice the person's size, where they were last seen
            x0, y0, side = square_around(b, 2.0)
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
            if x1 - x0 >= 32 and y1 - y0 >= 32:
                around.append((x0, y0, x1, y1))
        tiles = search_tiles(h, w, cfg.tile_size, cfg.tile_overlap)
        if self._followers and len(tiles) > cfg.tiles_per_search:
            k = self._tile_cursor % len(tiles)
            self._tile_cursor += cfg.tiles_per_search
            tiles = [tiles[(k + i) % len(tiles)] for i in range(cfg.tiles_per_search)]
        return [(0, 0, w, h), *around, *tiles]

    def _find(self, rgb: np.ndarray, t_ms: int) -> None:
        """Look for people not yet followed, on the whole frame and on tiles."""
        cfg = self.config
        thr = cfg.visibility_threshold
        self._last_detect_ms = t_ms
        regions = self._search_regions(*rgb.shape[:2], t_ms)
        n = len(self._finders)

        def search(finder: _Landmarker, part: list[Region]) -> list[Candidate]:
            out: list[Candidate] = []
            for x0, y0, x1, y1 in part:
                out += _poses(finder.detect(rgb[y0:y1, x0:x1]), x0, y0, x1 - x0, y1 - y0)
            return out

        jobs = [lambda f=finder, part=regions[i::n]: search(f, part) for i, finder in enumerate(self._finders)]
        candidates = [p for found in self._map(jobs) for p in found if p.visible_body(thr) >= cfg.min_visible_body]
        followed = [f.pose for f in self._followers if f.pose is not None]
        lost_boxes = [f.box for f in self._followers if f.pose is None]

        def area(p: Candidate) -> float:
            b = p.box(thr)
            return float((b[2] - b[0]) * (b[3] - b[1]))

        # Largest first, so a whole person beats a partial view of them from a tile.
        for p in sorted(candidates, key=lambda p: -area(p)):
            if len(self._followers) >= cfg.max_people:
                break
            b = p.box(thr)
            if any(p.same_person(o, thr) or is_part_of(b, o.box(thr)) for o in followed):
                continue
            if any(iou(b, o) > 0.5 for o in lost_boxes):
                continue  # a follower that just lost this person will look here again next frame
            seen = self._confirm(rgb, p)
            followed.append(p)  # confirmed or not, later candidates that are this one are skipped
            if seen is None or any(seen.same_person(o, thr) for o in followed[:-1]):
                # a ghost, or a part of someone followed whose crop shows that whole person
                log.debug("t=%d ms: candidate at %s not confirmed on its crop; ignored", t_ms,
                          np.round(b).astype(int).tolist())
                continue
            f = _Follower(slot=self._next_slot, landmarker=_Landmarker(self.model_path, "video", cfg.follower_poses,
                                                                       cfg),
                          box=b, last_seen_ms=t_ms, pose=seen, hits=1)
            self._next_slot += 1
            self._followers.append(f)
            # Follow at once: a VIDEO-mode landmarker that locks on in this frame tracks the person
            # from the next one, which holds far better than detecting them anew (people lying down).
            own = self._video_look(f, rgb, t_ms)
            own.sort(key=lambda q: p.distance(q, thr))
            if own and p.distance(own[0], thr) < cfg.max_jump:
                f.pose = own[0]
            f.box = f.pose.box(thr)
            log.debug("t=%d ms: new person %d at %s", t_ms, f.slot, np.round(b).astype(int).tolist())

    def _confirm(self, rgb: np.ndarray, p: Candidate) -> Candidate | None:
        """Look again at a square crop around a candidate; the pose seen there, or None.

        A tile sometimes reports a "person" made of a part of one or of background
        clutter; seen on its own crop, larger, such a ghost is not found again.  A real
        person is, and the crop's pose is the better estimate of them.
        """
        cfg = self.config
        thr = cfg.visibility_threshold
        for scale in dict.fromkeys((cfg.crop_scale, cfg.retry_scale)):
            seen = [q for q in self._look_around(rgb, p.box(thr), scale, self._finders[0])
                    if q.visible_body(thr) >= cfg.min_visible_body]
            if seen:
                best = min(seen, key=lambda q: p.distance(q, thr))
                if p.distance(best, thr) < cfg.max_jump:
                    return best
        return None

    def _video_look(self, f: _Follower, rgb: np.ndarray, t_ms: int) -> list[Candidate]:
        """The poses a follower's VIDEO-mode landmarker finds on its square crop around ``f.box``."""
        crop, x0, y0, side = square_crop(rgb, f.box, self.config.crop_scale)
        return _poses(f.landmarker.detect(crop, t_ms), x0, y0, side, side)

    @staticmethod
    def _look_around(rgb: np.ndarray, box: Box, scale: float, finder: _Landmarker) -> list[Candidate]:
        """The poses an IMAGE-mode landmarker finds on a square crop ``scale`` times the box."""
        crop, x0, y0, side = square_crop(rgb, box, scale)
        return _poses(finder.detect(crop), x0, y0, side, side)
