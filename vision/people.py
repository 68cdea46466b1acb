"""Pose candidates, boxes, crops and search tiles: the pure-numpy half of :mod:`vision.pose`.

Nothing here calls MediaPipe.  :class:`Candidate` is one person's landmarks in frame
pixels, with the comparisons the finder needs to tell people apart; the functions cut
the square crops a follower looks at and the tiles the finder searches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.landmarks import BODY, mirror

Box = np.ndarray  # (4,) float32: x0, y0, x1, y1
Region = tuple[int, int, int, int]  # x0, y0, x1, y1 in integer pixels
_BODY_IDX = np.array(BODY, np.int64)
_BODY_MIRROR = np.array([mirror(lm) for lm in BODY], np.int64)


@dataclass
class Candidate:
    """One detected person: landmarks in frame pixels (``xy``, ``z``), visibility and world landmarks."""

    xy: np.ndarray  # (33, 2)
    z: np.ndarray  # (33,)
    vis: np.ndarray  # (33,)
    world: np.ndarray  # (33, 3)

    def box(self, thr: float) -> Box:
        """Bounding box of the landmarks with visibility >= ``thr`` (all of them if fewer than 3)."""
        ok = (self.vis >= thr) & np.isfinite(self.xy).all(axis=1)
        pts = self.xy[ok] if ok.sum() >= 3 else self.xy
        return np.r_[pts.min(axis=0), pts.max(axis=0)].astype(np.float32)

    def visible_body(self, thr: float) -> int:
        """How many of the BODY landmarks are visible."""
        return int((self.vis[list(BODY)] >= thr).sum())

    def distance(self, other: Candidate, thr: float) -> float:
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
        if not np.isfinite(best) and iou(b, other.box(thr)) > 0.7:
            return 0.0
        return best

    def same_person(self, other: Candidate, thr: float, tol: float = 0.15) -> bool:
        """True if both poses put the body's landmarks in the same places.

        Boxes are not enough: a patient standing in front of another overlaps them
        almost entirely, yet their joints lie in different places.
        """
        return self.distance(other, thr) < tol


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / area) if area > 0 else 0.0


def is_part_of(small: Box, big: Box) -> bool:
    """A much smaller box lying mostly inside a followed person's box: a partial ghost of them."""
    ix = max(0.0, min(small[2], big[2]) - max(small[0], big[0]))
    iy = max(0.0, min(small[3], big[3]) - max(small[1], big[1]))
    a_small = (small[2] - small[0]) * (small[3] - small[1])
    a_big = (big[2] - big[0]) * (big[3] - big[1])
    return bool(a_small > 0 and ix * iy / a_small > 0.8 and a_small < 0.4 * a_big)


def square_around(box: Box, scale: float, min_side: float = 0.0, max_side: float = np.inf) -> tuple[int, int, int]:
    """Origin and side of the square centred on ``box``, ``scale`` times its larger side (may leave the image)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = float(np.clip(max(box[2] - box[0], box[3] - box[1]) * scale, min_side, max_side))
    return round(cx - side / 2), round(cy - side / 2), round(side)


def square_crop(rgb: np.ndarray, box: Box, scale: float) -> tuple[np.ndarray, float, float, float]:
    """Square crop around ``box`` (zero-padded at the image border) and its origin and side."""
    h, w = rgb.shape[:2]
    x0, y0, s = square_around(box, scale, 96, max(h, w))
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + s), min(h, y0 + s)
    crop = np.zeros((s, s, 3), np.uint8)
    if sx1 > sx0 and sy1 > sy0:
        crop[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
    return crop, float(x0), float(y0), float(s)


def grid(h: int, w: int, side: float, overlap: float) -> list[Region]:
    """Square-ish tiles of about ``side`` pixels covering the image with ``overlap``."""
    def starts(length: int) -> list[int]:
        if length <= side * 1.1:
            return [0]
        n = int(np.ceil((length - side) / (side * (1 - overlap)))) + 1
        return [round(k * (length - side) / (n - 1)) for k in range(n)]

    s = round(side)
    return [(x, y, min(w, x + s), min(h, y + s)) for y in starts(h) for x in starts(w)]


def search_tiles(h: int, w: int, min_side: int, overlap: float) -> list[Region]:
    """A two-level tile pyramid for finding people too small for the whole-frame detector.

    Level 1: squares of the image's short side (only for wide or tall frames; a person a
    third of the frame high is then seen at full detector resolution).  Level 2: squares
    of half the short side, for people in the background, used only while those tiles
    stay at least ``min_side`` pixels.  Level 1 comes first.
    """
    short, long_ = min(h, w), max(h, w)
    out: list[Region] = []
    if long_ > short * 1.3:
        out += grid(h, w, short, overlap)
    if short / 2 >= min_side:
        out += grid(h, w, short / 2, overlap)
    return out
