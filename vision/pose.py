"""Pose estimation: the only module that imports mediapipe.

MediaPipe's detector sees the whole picture at 224×224, so a person who fills a
fifth of a wide frame, as in a therapist's group shot, is often missed, and its
multi-pose output order is not stable.  :class:`PoseEstimator` therefore works
in two layers:

* **Finding people** (:class:`_Finder`): every ``detect_every_s`` seconds, and
  at once whenever someone was lost, a MediaPipe landmarker in IMAGE mode looks
  at the whole frame and at overlapping tiles, so that small and background
  people are seen large enough.  Candidates that overlap a person already
  followed are dropped; poses with too few confident landmarks are rejected.
* **Following each person** (:class:`_Follower`): every person found gets a
  landmarker of their own in VIDEO mode, fed a square crop around their last
  position.  In the crop the person is large, and VIDEO mode lets MediaPipe
  track the region from frame to frame.  A follower whose person vanishes for
  ``lost_after_s`` is closed; two followers that lock onto the same person are
  merged.

Each follower's id is written into ``Frame.track_id``; :mod:`vision.tracking`
turns those into ids that stay stable through crossings and short dropouts.
All native MediaPipe objects are closed deterministically by :meth:`close` or
the context manager.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ logging quiet
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import mediapipe as mp
from mediapipe.tasks.python import BaseOptions
from mediapipe.tasks.python import vision as mpv

from vision.frame import Frame, pose_score
from vision.landmarks import BODY, NUM_LANDMARKS, mirror
from vision.model import resolve_model

log = logging.getLogger(__name__)

Box = np.ndarray  # (4,) float32: x0, y0, x1, y1
_BODY_IDX = np.array(BODY, np.int64)
_BODY_MIRROR = np.array([mirror(lm) for lm in BODY], np.int64)


@dataclass(frozen=True)
class PoseConfig:
    """Tuning of person finding and following (defaults measured on the samples)."""

    max_people: int = 4
    detect_every_s: float = 0.5
    #: a lost person triggers an early search, but searches are at least this far apart
    min_detect_interval_s: float = 0.1
    lost_after_s: float = 0.4
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    #: a candidate pose needs this many of the BODY landmarks visible
    min_visible_body: int = 6
    visibility_threshold: float = 0.5
    #: crop side as a multiple of the person's larger bbox side
    crop_scale: float = 1.7
    #: smallest tile side in the finder's tile pyramid (pixels)
    tile_size: int = 320
    tile_overlap: float = 0.3
    #: the small-tile level of the pyramid is covered over this many detection passes
    small_tile_passes: int = 3
    #: a followed pose may move at most this fraction of the person's size between frames
    max_jump: float = 0.5
    #: landmarkers run per follower crop (2 lets a follower ignore a second person in its crop)
    follower_poses: int = 1


@dataclass
class _Pose:
    xy: np.ndarray  # (33, 2)
    z: np.ndarray  # (33,)
    vis: np.ndarray  # (33,)
    world: np.ndarray  # (33, 3)

    def box(self, thr: float) -> Box:
        ok = (self.vis >= thr) & np.isfinite(self.xy).all(axis=1)
        pts = self.xy[ok] if ok.sum() >= 3 else self.xy
        return np.r_[pts.min(axis=0), pts.max(axis=0)].astype(np.float32)

    def visible_body(self, thr: float) -> int:
        return int((self.vis[list(BODY)] >= thr).sum())

    def distance(self, other: _Pose, thr: float) -> float:
        """Median distance of the body landmarks visible in both, over this pose's size."""
        b = self.box(thr)
        size = max(float(b[2] - b[0]), float(b[3] - b[1]), 1.0)
        best = np.inf
        # MediaPipe sometimes swaps left and right (side views): compare both ways.
        for idx_other in (_BODY_IDX, _BODY_MIRROR):
            ok = (self.vis[_BODY_IDX] >= thr) & (other.vis[idx_other] >= thr)
            if ok.sum() >= 4:
                d = np.linalg.norm(self.xy[_BODY_IDX][ok] - other.xy[idx_other][ok], axis=1)
                best = min(best, float(np.median(d)) / size)
        if not np.isfinite(best) and _iou(b, other.box(thr)) > 0.7:
            return 0.0
        return best

    def same_person(self, other: _Pose, thr: float, tol: float = 0.15) -> bool:
        """True if both poses put the body's landmarks in the same places.

        Boxes are not enough: a patient standing in front of another overlaps them
        almost entirely, yet their joints lie in different places.
        """
        return self.distance(other, thr) < tol


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / area) if area > 0 else 0.0


def _is_part_of(small: Box, big: Box) -> bool:
    """A much smaller box lying mostly inside a followed person's box: a partial ghost of them."""
    ix = max(0.0, min(small[2], big[2]) - max(small[0], big[0]))
    iy = max(0.0, min(small[3], big[3]) - max(small[1], big[1]))
    a_small = (small[2] - small[0]) * (small[3] - small[1])
    a_big = (big[2] - big[0]) * (big[3] - big[1])
    return bool(a_small > 0 and ix * iy / a_small > 0.8 and a_small < 0.4 * a_big)


def _to_pose(result: object, k: int, x0: float, y0: float, side_w: float, side_h: float) -> _Pose:
    lms = result.pose_landmarks[k]  # type: ignore[attr-defined]
    wlms = result.pose_world_landmarks[k]  # type: ignore[attr-defined]
    arr = np.array([(q.x, q.y, q.z, q.visibility or 0.0) for q in lms], np.float32)
    xy = np.stack([arr[:, 0] * side_w + x0, arr[:, 1] * side_h + y0], axis=1)
    world = np.array([(q.x, q.y, q.z) for q in wlms], np.float32)
    return _Pose(xy=xy, z=arr[:, 2] * side_w, vis=arr[:, 3], world=world)


def _square_crop(rgb: np.ndarray, box: Box, scale: float) -> tuple[np.ndarray, float, float, float]:
    """Square crop around ``box`` (zero-padded at the image border) and its origin and side."""
    h, w = rgb.shape[:2]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = max(box[2] - box[0], box[3] - box[1]) * scale
    side = float(np.clip(side, 96, max(h, w)))
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    s = round(side)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + s), min(h, y0 + s)
    crop = np.zeros((s, s, 3), np.uint8)
    if sx1 > sx0 and sy1 > sy0:
        crop[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
    return crop, float(x0), float(y0), float(s)


def _grid(h: int, w: int, side: float, overlap: float) -> list[tuple[int, int, int, int]]:
    """Square-ish tiles of about ``side`` pixels covering the image with ``overlap``."""
    def starts(length: int) -> list[int]:
        if length <= side * 1.1:
            return [0]
        n = int(np.ceil((length - side) / (side * (1 - overlap)))) + 1
        return [round(k * (length - side) / (n - 1)) for k in range(n)]

    s = round(side)
    return [(x, y, min(w, x + s), min(h, y + s)) for y in starts(h) for x in starts(w)]


def _tiles(h: int, w: int, min_side: int, overlap: float, part: int = 0, parts: int = 1,
           ) -> list[tuple[int, int, int, int]]:
    """A two-level tile pyramid for finding people too small for the whole-frame detector.

    Level 1: squares of the image's short side (a person a third of the frame high is seen
    at full detector resolution).  Level 2: squares of half the short side, for people in
    the background, used only while those tiles stay at least ``min_side`` pixels.  Level 2
    is split into ``parts`` interleaved subsets and only subset ``part`` is returned, so a
    live view never stalls on the whole pyramid at once.
    """
    short, long_ = min(h, w), max(h, w)
    out: list[tuple[int, int, int, int]] = []
    if long_ > short * 1.3:
        out += _grid(h, w, short, overlap)
    if short / 2 >= min_side:
        out += _grid(h, w, short / 2, overlap)[part % parts :: parts]
    return out


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
    """Thin owner of one MediaPipe PoseLandmarker."""

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

    def detect(self, rgb: np.ndarray, t_ms: int | None = None) -> object:
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        quiet = _quiet_native_stderr() if not self._warm else contextlib.nullcontext()
        self._warm = True
        with quiet:
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
    pose: _Pose | None = None
    hits: int = 0
    history: list[int] = field(default_factory=list)


class PoseEstimator:
    """Find and follow every person in a video; ``process(frame)`` returns the frame with people.

    Use as a context manager (or call :meth:`close`) so the native landmarkers are freed.
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
        self._finder = _Landmarker(self.model_path, "image", min(self.config.max_people, 4), self.config)
        self._followers: list[_Follower] = []
        self._next_slot = 0
        self._last_detect_ms: int | None = None
        self._passes = 0
        self._closed = False

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free every native landmarker (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        for f in self._followers:
            f.landmarker.close()
        self._followers.clear()
        self._finder.close()

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
        # min_detect_interval_s, or a flickering follower would run the tile pyramid every frame.
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
        lost = False
        for f in self._followers:
            crop, x0, y0, side = _square_crop(rgb, f.box, cfg.crop_scale)
            res = f.landmarker.detect(crop, t_ms)
            n = len(res.pose_landmarks)  # type: ignore[attr-defined]
            poses = [_to_pose(res, k, x0, y0, side, side) for k in range(n)]
            min_body = cfg.min_visible_body // 2  # a followed person may be partly occluded
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
            else:
                keep.append(f)
        self._followers = sorted(keep, key=lambda f: f.slot)
        return lost

    def _find(self, rgb: np.ndarray, t_ms: int) -> None:
        """Look for people not yet followed, on the whole frame and on tiles."""
        cfg = self.config
        self._last_detect_ms = t_ms
        h, w = rgb.shape[:2]
        candidates: list[_Pose] = []
        # While nobody is followed there is no live view to keep smooth: search everything.
        parts = cfg.small_tile_passes if self._followers else 1
        tiles = _tiles(h, w, cfg.tile_size, cfg.tile_overlap, self._passes, parts)
        self._passes += 1
        for x0, y0, x1, y1 in [(0, 0, w, h), *tiles]:
            res = self._finder.detect(rgb[y0:y1, x0:x1])
            for k in range(len(res.pose_landmarks)):  # type: ignore[attr-defined]
                p = _to_pose(res, k, x0, y0, x1 - x0, y1 - y0)
                if p.visible_body(cfg.visibility_threshold) >= cfg.min_visible_body:
                    candidates.append(p)
        followed = [f.pose for f in self._followers if f.pose is not None]
        lost_boxes = [f.box for f in self._followers if f.pose is None]
        # Largest first, so a whole person beats a partial view of them from a tile.
        def area(p: _Pose) -> float:
            b = p.box(cfg.visibility_threshold)
            return float((b[2] - b[0]) * (b[3] - b[1]))

        candidates.sort(key=lambda p: -area(p))
        for p in candidates:
            b = p.box(cfg.visibility_threshold)
            if any(p.same_person(o, cfg.visibility_threshold) or _is_part_of(b, o.box(cfg.visibility_threshold))
                   for o in followed):
                continue
            if any(_iou(b, o) > 0.5 for o in lost_boxes):
                continue  # a follower that just lost this person will look here again next frame
            if len(self._followers) >= cfg.max_people:
                break
            followed.append(p)
            f = _Follower(
                slot=self._next_slot,
                landmarker=_Landmarker(self.model_path, "video", cfg.follower_poses, cfg),
                box=b,
                last_seen_ms=t_ms,
                pose=None,
            )
            self._next_slot += 1
            self._followers.append(f)
            # Follow at once so the new person appears in this very frame.
            crop, cx0, cy0, side = _square_crop(rgb, b, cfg.crop_scale)
            res = f.landmarker.detect(crop, t_ms)
            found = [_to_pose(res, k, cx0, cy0, side, side) for k in range(len(res.pose_landmarks))]  # type: ignore[attr-defined]
            found.sort(key=lambda q: p.distance(q, cfg.visibility_threshold))
            f.pose = found[0] if found and p.distance(found[0], cfg.visibility_threshold) < cfg.max_jump else p
            f.box = f.pose.box(cfg.visibility_threshold)
            f.hits = 1
            log.debug("t=%d ms: new person %d at %s", t_ms, f.slot, np.round(b).astype(int).tolist())
