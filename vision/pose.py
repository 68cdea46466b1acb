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

import logging
import os
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
from vision.landmarks import BODY, NUM_LANDMARKS
from vision.model import resolve_model

log = logging.getLogger(__name__)

Box = np.ndarray  # (4,) float32: x0, y0, x1, y1


@dataclass(frozen=True)
class PoseConfig:
    """Tuning of person finding and following (defaults measured on the samples)."""

    max_people: int = 4
    detect_every_s: float = 0.5
    lost_after_s: float = 0.4
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    #: a candidate pose needs this many of the BODY landmarks visible
    min_visible_body: int = 6
    visibility_threshold: float = 0.5
    #: crop side as a multiple of the person's larger bbox side
    crop_scale: float = 1.7
    #: tile grid is chosen so tiles are at most this many pixels on their short side
    tile_size: int = 640
    tile_overlap: float = 0.3


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


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / area) if area > 0 else 0.0


def _overlap_small(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(ix * iy / small) if small > 0 else 0.0


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


def _tiles(h: int, w: int, size: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """Overlapping tiles covering the image; empty if the image is already small."""
    if min(h, w) <= size * 1.2:
        short_tiles = 1
    else:
        short_tiles = int(np.ceil((min(h, w) / size - overlap) / (1 - overlap)))
    long_side = max(h, w)
    tile_side = min(h, w) / (short_tiles - (short_tiles - 1) * overlap) if short_tiles > 1 else min(h, w)
    long_tiles = max(1, int(np.ceil((long_side / tile_side - overlap) / (1 - overlap))))
    if short_tiles == 1 and long_tiles <= 1:
        return []
    rows, cols = (short_tiles, long_tiles) if h <= w else (long_tiles, short_tiles)
    th, tw = h / (rows - (rows - 1) * overlap), w / (cols - (cols - 1) * overlap)
    out = []
    for r in range(rows):
        for c in range(cols):
            y0, x0 = int(r * th * (1 - overlap)), int(c * tw * (1 - overlap))
            out.append((x0, y0, min(w, round(x0 + tw)), min(h, round(y0 + th))))
    return out


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
        self._lm = mpv.PoseLandmarker.create_from_options(opts)
        self._last_t = -1

    def detect(self, rgb: np.ndarray, t_ms: int | None = None) -> object:
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if t_ms is None:
            return self._lm.detect(image)
        t_ms = max(int(t_ms), self._last_t + 1)
        self._last_t = t_ms
        return self._lm.detect_for_video(image, t_ms)

    def close(self) -> None:
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
        due = self._last_detect_ms is None or frame.t_ms - self._last_detect_ms >= cfg.detect_every_s * 1000
        if (lost or due) and len(self._followers) < cfg.max_people:
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
            dup = f.pose is not None and any(
                k.pose is not None and _iou(f.box, k.box) > 0.5 for k in keep
            )
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
        for x0, y0, x1, y1 in [(0, 0, w, h), *_tiles(h, w, cfg.tile_size, cfg.tile_overlap)]:
            res = self._finder.detect(rgb[y0:y1, x0:x1])
            for k in range(len(res.pose_landmarks)):  # type: ignore[attr-defined]
                p = _to_pose(res, k, x0, y0, x1 - x0, y1 - y0)
                if p.visible_body(cfg.visibility_threshold) >= cfg.min_visible_body:
                    candidates.append(p)
        boxes = [f.box for f in self._followers]
        # Largest first, so a whole person beats a partial view of them from a tile.
        def area(p: _Pose) -> float:
            b = p.box(cfg.visibility_threshold)
            return float((b[2] - b[0]) * (b[3] - b[1]))

        candidates.sort(key=lambda p: -area(p))
        for p in candidates:
            b = p.box(cfg.visibility_threshold)
            if any(_overlap_small(b, o) > 0.4 for o in boxes):
                continue
            if len(self._followers) >= cfg.max_people:
                break
            boxes.append(b)
            f = _Follower(
                slot=self._next_slot,
                landmarker=_Landmarker(self.model_path, "video", 1, cfg),
                box=b,
                last_seen_ms=t_ms,
                pose=None,
            )
            self._next_slot += 1
            self._followers.append(f)
            # Follow at once so the new person appears in this very frame.
            crop, cx0, cy0, side = _square_crop(rgb, b, cfg.crop_scale)
            res = f.landmarker.detect(crop, t_ms)
            if res.pose_landmarks:  # type: ignore[attr-defined]
                f.pose = _to_pose(res, 0, cx0, cy0, side, side)
                f.box = f.pose.box(cfg.visibility_threshold)
                f.hits = 1
            else:
                f.pose = p
                f.hits = 1
            log.debug("t=%d ms: new person %d at %s", t_ms, f.slot, np.round(b).astype(int).tolist())
