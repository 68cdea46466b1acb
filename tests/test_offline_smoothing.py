"""Zero-phase offline smoothing of recorded landmarks, per person."""

from __future__ import annotations

import numpy as np

from exercises.offline import add_smoothed
from exercises.pipeline import ANGLE_NAMES, Recorder
from tests.factories import frame_with, standing_xy


def _recording(n: int = 90, noise: float = 4.0, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    rec = Recorder()
    for i in range(n):
        a = standing_xy(300 + 2 * i, 650, 400) + rng.normal(0, noise, (33, 2)).astype(np.float32)
        b = standing_xy(900, 650, 380) + rng.normal(0, noise, (33, 2)).astype(np.float32)
        f = frame_with(i, round(i * 1000 / 30), [a, b], sources=[7, 9])
        rec.add(f)
    return rec.arrays()


def test_smoothing_reduces_jitter_without_mixing_people() -> None:
    arrays = add_smoothed(_recording())
    assert arrays["xy_smooth"].shape == arrays["xy"].shape
    assert arrays["angles_smooth"].shape == (len(arrays["xy"]), len(ANGLE_NAMES))
    for tid, true_x in ((7, None), (9, 900.0)):
        m = arrays["track_id"] == tid
        raw, sm = arrays["xy"][m, 0, 0], arrays["xy_smooth"][m, 0, 0]
        trend = np.polyval(np.polyfit(np.arange(m.sum()), raw, 1), np.arange(m.sum()))
        assert np.std(sm - trend) < 0.7 * np.std(raw - trend)  # 6 Hz cutoff of 15 Hz Nyquist
        if true_x is not None:
            # person 9 stands still at x=900; person 7 walking past must not pull them along
            assert abs(float(np.median(sm)) - true_x) < 2.0


def test_low_visibility_points_are_not_invented_over_long_gaps() -> None:
    arrays = _recording()
    vis = arrays["visibility"].copy()
    m = np.flatnonzero(arrays["track_id"] == 9)
    vis[m[20:60], 25] = 0.1  # left knee hidden for 40 frames (1.3 s)
    arrays["visibility"] = vis
    out = add_smoothed(arrays)
    assert np.isnan(out["xy_smooth"][m[30:50], 25]).all()
    assert np.isfinite(out["xy_smooth"][m[2:15], 25]).all()


def test_empty_recording() -> None:
    out = add_smoothed(Recorder().arrays())
    assert out["xy_smooth"].shape == (0, 33, 2)
