"""The one frozen frame type that flows through every stage.

A :class:`Frame` is one video frame plus the people found in it.  Stages never
mutate a frame; they return a new one with :meth:`Frame.replace` (or the helpers
below), so a frame handed to the UI thread can never change under it.

Per-person arrays are stacked on a leading axis ``P`` (people in this frame):

=============  ==============  =========  ==========================================
field          shape           dtype      meaning
=============  ==============  =========  ==========================================
``xy``         ``(P, 33, 2)``  float32    pixel coordinates in the full image
``z``          ``(P, 33)``     float32    MediaPipe relative depth, in pixels (x scale)
``visibility`` ``(P, 33)``     float32    0..1 likelihood the point is visible
``world``      ``(P, 33, 3)``  float32    metric landmarks, origin between the hips
``track_id``   ``(P,)``        int64      stable person id, ``-1`` before tracking
``score``      ``(P,)``        float32    pose quality 0..1 (mean torso visibility)
=============  ==============  =========  ==========================================

Low-confidence coordinates may be NaN; every consumer must be NaN-aware.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vision.landmarks import NUM_LANDMARKS, Landmark

_EMPTY_IMAGE = np.zeros((0, 0, 3), dtype=np.uint8)


def _check(name: str, arr: Any, shape: tuple[int | None, ...], dtype: type) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, a.shape, strict=False)):
        want = "(" + ", ".join("P" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"Frame.{name} must have shape {want}, got {a.shape}")
    return np.ascontiguousarray(a, dtype=dtype)


@dataclass(frozen=True, eq=False)
class Frame:
    """One frame of video and the people found in it (immutable)."""

    index: int
    t_ms: int
    image: np.ndarray = field(default_factory=lambda: _EMPTY_IMAGE, repr=False)
    width: int = 0
    height: int = 0
    xy: np.ndarray = field(default_factory=lambda: np.zeros((0, NUM_LANDMARKS, 2), np.float32))
    z: np.ndarray = field(default_factory=lambda: np.zeros((0, NUM_LANDMARKS), np.float32))
    visibility: np.ndarray = field(default_factory=lambda: np.zeros((0, NUM_LANDMARKS), np.float32))
    world: np.ndarray = field(default_factory=lambda: np.zeros((0, NUM_LANDMARKS, 3), np.float32))
    track_id: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    score: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))

    def __post_init__(self) -> None:
        if self.index < 0:
            raise ValueError(f"Frame.index must be >= 0, got {self.index}")
        img = np.asarray(self.image)
        if img.size and (img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8):
            raise ValueError(f"Frame.image must be an HxWx3 uint8 BGR array, got {img.shape} {img.dtype}")
        set_ = object.__setattr__
        if img.size and not (self.width and self.height):
            set_(self, "height", int(img.shape[0]))
            set_(self, "width", int(img.shape[1]))
        set_(self, "xy", _check("xy", self.xy, (None, NUM_LANDMARKS, 2), np.float32))
        p = self.xy.shape[0]
        set_(self, "z", _check("z", self.z, (p, NUM_LANDMARKS), np.float32))
        set_(self, "visibility", _check("visibility", self.visibility, (p, NUM_LANDMARKS), np.float32))
        set_(self, "world", _check("world", self.world, (p, NUM_LANDMARKS, 3), np.float32))
        set_(self, "track_id", _check("track_id", self.track_id, (p,), np.int64))
        set_(self, "score", _check("score", self.score, (p,), np.float32))
        for arr in (self.xy, self.z, self.visibility, self.world, self.track_id, self.score):
            arr.flags.writeable = False

    # ------------------------------------------------------------------ helpers
    @property
    def num_people(self) -> int:
        return int(self.xy.shape[0])

    @property
    def t_s(self) -> float:
        return self.t_ms / 1000.0

    def replace(self, **changes: Any) -> Frame:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def with_people(
        self,
        xy: np.ndarray,
        z: np.ndarray,
        visibility: np.ndarray,
        world: np.ndarray,
        track_id: np.ndarray | None = None,
        score: np.ndarray | None = None,
    ) -> Frame:
        """A copy carrying these people (track ids default to -1)."""
        p = np.asarray(xy).shape[0]
        if track_id is None:
            track_id = np.full((p,), -1, np.int64)
        if score is None:
            score = pose_score(np.asarray(visibility, np.float32))
        return self.replace(xy=xy, z=z, visibility=visibility, world=world, track_id=track_id, score=score)

    def select(self, keep: np.ndarray | list[int]) -> Frame:
        """A copy with only the people at these row indices (or boolean mask)."""
        k = np.asarray(keep)
        if k.dtype != np.bool_:
            k = k.astype(np.int64)  # an empty list would otherwise become a float array
        return self.replace(
            xy=self.xy[k], z=self.z[k], visibility=self.visibility[k], world=self.world[k],
            track_id=self.track_id[k], score=self.score[k],
        )

    def without_image(self) -> Frame:
        """A copy that drops the pixels (for storing long runs of frames)."""
        return self.replace(image=_EMPTY_IMAGE)

    def person(self, track_id: int) -> int | None:
        """Row index of the person with this track id, or None."""
        rows = np.flatnonzero(self.track_id == track_id)
        return int(rows[0]) if rows.size else None

    def bbox(self, row: int, min_visibility: float = 0.3) -> np.ndarray:
        """``(x0, y0, x1, y1)`` around the visible landmarks of one person (NaN if none)."""
        pts = self.xy[row][self.visibility[row] >= min_visibility]
        pts = pts[np.isfinite(pts).all(axis=1)]
        if not len(pts):
            return np.full(4, np.nan, np.float32)
        return np.concatenate([pts.min(axis=0), pts.max(axis=0)]).astype(np.float32)


_TORSO = [Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER, Landmark.LEFT_HIP, Landmark.RIGHT_HIP]


def pose_score(visibility: np.ndarray) -> np.ndarray:
    """Pose quality per person: mean visibility of shoulders and hips, shape (P,)."""
    if visibility.shape[0] == 0:
        return np.zeros((0,), np.float32)
    return np.nan_to_num(visibility[:, _TORSO]).mean(axis=1).astype(np.float32)
