"""vision.people: search tiles, square crops and telling candidates apart (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.factories import standing_xy
from vision.people import Candidate, search_tiles, square_crop


def _candidate(xy: np.ndarray) -> Candidate:
    return Candidate(xy=xy.astype(np.float32), z=np.zeros(33, np.float32), vis=np.ones(33, np.float32),
                     world=np.zeros((33, 3), np.float32))


@pytest.mark.parametrize(("h", "w", "min_side", "levels"), [
    (720, 1280, 160, {720, 360}),  # wide: squares of the short side and of half of it
    (480, 640, 160, {480, 240}),  # 4:3
    (360, 480, 320, {360}),  # half the short side is below the minimum: level 1 only
    (600, 700, 320, set()),  # nearly square and small: the whole frame is enough
    (1920, 1080, 160, {1080, 540}),  # portrait phone video
])
def test_search_tiles_cover_the_frame_at_each_level(h: int, w: int, min_side: int, levels: set[int]) -> None:
    tiles = search_tiles(h, w, min_side, 0.3)
    assert {min(x1 - x0, y1 - y0) for x0, y0, x1, y1 in tiles} == levels
    for side in levels:
        covered = np.zeros((h, w), bool)
        for x0, y0, x1, y1 in tiles:
            if min(x1 - x0, y1 - y0) == side:
                covered[y0:y1, x0:x1] = True
        assert covered.all(), f"level {side} leaves part of the frame unsearched"


def test_square_crop_pads_at_the_border_and_keeps_coordinates() -> None:
    img = np.arange(100 * 200 * 3, dtype=np.uint32).reshape(100, 200, 3).astype(np.uint8)
    crop, x0, y0, side = square_crop(img, np.array([150, 20, 210, 80], np.float32), 1.5)
    assert crop.shape == (side, side, 3) and side == 96  # 60 px box * 1.5, at least 96
    assert x0 + side > 200  # runs past the right edge ...
    assert not crop[:, -1].any()  # ... which is padded with black
    inside = (int(-x0 + 160), int(-y0 + 50))
    assert (crop[inside[1], inside[0]] == img[50, 160]).all()


def test_same_person_is_mirror_invariant_but_tells_neighbours_apart() -> None:
    a = _candidate(standing_xy(400, 600, 300))
    swapped = standing_xy(400, 600, 300)[[0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19,
                                          22, 21, 24, 23, 26, 25, 28, 27, 30, 29, 32, 31]]
    assert a.same_person(_candidate(swapped), 0.5)  # MediaPipe swapped left and right
    assert not a.same_person(_candidate(standing_xy(520, 600, 300)), 0.5)  # someone beside them
