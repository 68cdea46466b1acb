"""Factories for frames and skeletons used across the tests."""

from __future__ import annotations

import numpy as np

from vision.frame import Frame
from vision.landmarks import NUM_LANDMARKS, Landmark

L = Landmark

# A standing person, in units of body height, origin at the feet centre, y down.
_STANDING = {
    L.NOSE: (0.0, -0.93), L.LEFT_EYE_INNER: (0.01, -0.945), L.LEFT_EYE: (0.02, -0.945),
    L.LEFT_EYE_OUTER: (0.03, -0.945), L.RIGHT_EYE_INNER: (-0.01, -0.945), L.RIGHT_EYE: (-0.02, -0.945),
    L.RIGHT_EYE_OUTER: (-0.03, -0.945), L.LEFT_EAR: (0.05, -0.93), L.RIGHT_EAR: (-0.05, -0.93),
    L.MOUTH_LEFT: (0.015, -0.91), L.MOUTH_RIGHT: (-0.015, -0.91),
    L.LEFT_SHOULDER: (0.12, -0.82), L.RIGHT_SHOULDER: (-0.12, -0.82),
    L.LEFT_ELBOW: (0.15, -0.63), L.RIGHT_ELBOW: (-0.15, -0.63),
    L.LEFT_WRIST: (0.16, -0.47), L.RIGHT_WRIST: (-0.16, -0.47),
    L.LEFT_PINKY: (0.165, -0.44), L.RIGHT_PINKY: (-0.165, -0.44),
    L.LEFT_INDEX: (0.16, -0.43), L.RIGHT_INDEX: (-0.16, -0.43),
    L.LEFT_THUMB: (0.15, -0.45), L.RIGHT_THUMB: (-0.15, -0.45),
    L.LEFT_HIP: (0.08, -0.52), L.RIGHT_HIP: (-0.08, -0.52),
    L.LEFT_KNEE: (0.08, -0.28), L.RIGHT_KNEE: (-0.08, -0.28),
    L.LEFT_ANKLE: (0.08, -0.04), L.RIGHT_ANKLE: (-0.08, -0.04),
    L.LEFT_HEEL: (0.08, -0.02), L.RIGHT_HEEL: (-0.08, -0.02),
    L.LEFT_FOOT_INDEX: (0.09, 0.0), L.RIGHT_FOOT_INDEX: (-0.09, 0.0),
}


def standing_xy(cx: float, feet_y: float, height: float) -> np.ndarray:
    """(33, 2) pixel landmarks of a standing person, feet centred at (cx, feet_y)."""
    xy = np.zeros((NUM_LANDMARKS, 2), np.float32)
    for lm, (x, y) in _STANDING.items():
        xy[lm] = (cx + x * height, feet_y + y * height)
    return xy


def frame_with(index: int, t_ms: int, people: list[np.ndarray], sources: list[int] | None = None,
               visibility: float = 0.95) -> Frame:
    """A frame (no image) carrying these people's pixel landmarks."""
    p = len(people)
    xy = np.stack(people) if p else np.zeros((0, NUM_LANDMARKS, 2), np.float32)
    return Frame(index=index, t_ms=t_ms, width=1280, height=720).with_people(
        xy=xy,
        z=np.zeros((p, NUM_LANDMARKS)),
        visibility=np.full((p, NUM_LANDMARKS), visibility),
        world=np.zeros((p, NUM_LANDMARKS, 3)),
        track_id=np.array(sources if sources is not None else list(range(p)), np.int64),
    )
