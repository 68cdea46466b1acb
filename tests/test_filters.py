"""Tests for vision.filters: causal One-Euro filter, per-person bank, offline smoothing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vision.filters import (
    FilterError,
    OneEuroFilter,
    OneEuroParams,
    PersonFilterBank,
    smooth_offline,
)
from vision.frame import Frame
from vision.landmarks import NUM_LANDMARKS, Landmark

L = Landmark


# --------------------------------------------------------------------------- factories
def run(f: OneEuroFilter, t: np.ndarray, x: np.ndarray, **kw) -> np.ndarray:
    """Feed samples ``x[i]`` at ``t[i]`` through ``f``; stacked outputs."""
    return np.stack([f(x[i], t[i], **kw) for i in range(len(t))])


def noisy_constant(n=300, fps=30.0, level=100.0, sd=2.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fps
    return t, level + rng.normal(0, sd, size=n)


def person_frame(index: int, t_s: float, people: dict[int, np.ndarray]) -> Frame:
    """A Frame with one person per track id; ``people[tid]`` is the (33, 2) xy."""
    tids = list(people)
    xy = np.stack([people[k] for k in tids]).astype(np.float32) if tids else np.zeros((0, 33, 2))
    p = len(tids)
    world = np.zeros((p, NUM_LANDMARKS, 3), np.float32)
    world[:, :, :2] = xy / 500.0  # metric copy of the same pose
    return Frame(index=index, t_ms=round(t_s * 1000)).with_people(
        xy=xy,
        z=np.zeros((p, NUM_LANDMARKS), np.float32),
        visibility=np.ones((p, NUM_LANDMARKS), np.float32),
        world=world,
        track_id=np.array(tids, np.int64),
    )


def standing_xy(cx=300.0) -> np.ndarray:
    xy = np.zeros((NUM_LANDMARKS, 2))
    xy[:, 0] = cx
    xy[:, 1] = np.linspace(50, 450, NUM_LANDMARKS)
    xy[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER], 1] = 100
    xy[[L.LEFT_HIP, L.RIGHT_HIP], 1] = 200
    xy[L.LEFT_SHOULDER, 0] += 40
    xy[L.RIGHT_SHOULDER, 0] -= 40
    return xy


# --------------------------------------------------------------------------- One-Euro
def test_one_euro_reduces_jitter_on_noisy_constant():
    t, x = noisy_constant()
    y = run(OneEuroFilter(), t, x)
    assert np.var(y[30:]) < 0.2 * np.var(x[30:])
    assert abs(np.mean(y[30:]) - 100.0) < 0.5  # unbiased


@pytest.mark.parametrize("shape", [(), (5,), (NUM_LANDMARKS, 2), (2, NUM_LANDMARKS, 3)])
def test_one_euro_any_shape_and_dtype(shape):
    f = OneEuroFilter()
    rng = np.random.default_rng(1)
    for i in range(5):
        x = rng.normal(size=shape).astype(np.float32)
        y = f(x, i / 30)
        assert y.shape == shape and y.dtype == np.float32
        if i == 0:
            np.testing.assert_array_equal(y, x)  # first sample passes through


def test_one_euro_follows_step_with_bounded_lag_and_no_overshoot():
    fps = 30.0
    t = np.arange(90) / fps
    x = np.where(t >= 1.0, 200.0, 100.0)
    y_adaptive = run(OneEuroFilter(min_cutoff=1.0, beta=0.007), t, x)
    y_plain = run(OneEuroFilter(min_cutoff=1.0, beta=0.0), t, x)
    after = t >= 1.0

    def settle_time(y):
        idx = np.flatnonzero(after & (y >= 195.0))
        return t[idx[0]] - 1.0

    assert np.all(y_adaptive <= 200.0 + 1e-9)
    np.testing.assert_allclose(y_adaptive[~after], 100.0)
    assert settle_time(y_adaptive) <= 0.4
    # speed raises the cutoff: the adaptive filter catches up faster than a fixed low-pass
    assert settle_time(y_adaptive) < settle_time(y_plain)


def test_one_euro_is_causal():
    t, x = noisy_constant(n=100)
    x2 = x.copy()
    x2[60:] += np.linspace(0, 300, 40)  # change only the future
    y1 = run(OneEuroFilter(), t, x)
    y2 = run(OneEuroFilter(), t, x2)
    np.testing.assert_array_equal(y1[:60], y2[:60])
    assert not np.allclose(y1[60:], y2[60:])


def test_one_euro_nan_gives_nan_and_does_not_poison_state():
    t, x = noisy_constant(n=60)
    xg = np.stack([x, x], axis=1)
    xg[20:23, 0] = np.nan  # short gap in element 0 only
    y = run(OneEuroFilter(), t, xg)
    ref = run(OneEuroFilter(), t, x)
    assert np.all(np.isnan(y[20:23, 0]))
    assert np.all(np.isfinite(y[23:, 0]))
    np.testing.assert_allclose(y[:, 1], ref)  # the other element is unaffected
    np.testing.assert_allclose(y[:20, 0], ref[:20])
    assert abs(y[23, 0] - 100.0) < 5.0  # continues from its state, not from a NaN or reset
    assert y[23, 0] != x[23]


def test_one_euro_restarts_after_long_gap():
    f = OneEuroFilter(reset_after_s=0.5)
    for i in range(30):
        f(np.array([100.0]), i / 30)
    assert f(np.array([np.nan]), 1.0)[0] != f(np.array([np.nan]), 1.1)[0]  # NaN != NaN: both NaN
    short = OneEuroFilter(reset_after_s=0.5)
    for i in range(30):
        short(np.array([100.0]), i / 30)
    # 0.3 s after the last valid sample: smoothed towards the old value
    assert short(np.array([300.0]), 29 / 30 + 0.3)[0] < 300.0
    # 2 s after the last valid sample: the new value passes through unchanged
    assert f(np.array([300.0]), 29 / 30 + 2.0)[0] == 300.0


def test_one_euro_variable_dt_uses_elapsed_time():
    """A fixed low-pass step response depends on elapsed seconds, not on the frame count."""
    rng = np.random.default_rng(3)
    t_at = 0.3
    results = []
    for t in (
        np.arange(0, 1.0, 1 / 30),
        np.arange(0, 1.0, 1 / 120),
        np.cumsum(rng.uniform(1 / 120, 1 / 20, size=100)),
    ):
        x = np.where(t >= 0.5, 1.0, 0.0)
        y = run(OneEuroFilter(min_cutoff=1.0, beta=0.0), t, x)
        results.append(np.interp(0.5 + t_at, t, y))
    expected = 1 - math.exp(-t_at * 2 * math.pi * 1.0)
    assert max(results) - min(results) < 0.06
    for r in results:
        assert r == pytest.approx(expected, abs=0.06)


def test_one_euro_scale_makes_beta_unit_free():
    t = np.arange(60) / 30
    x = np.where(t > 1, 1.0, 0.0) + np.random.default_rng(4).normal(0, 0.01, 60)
    metres = run(OneEuroFilter(beta=1.0), t, x, scale=0.5)
    pixels = run(OneEuroFilter(beta=1.0), t, x * 400, scale=0.5 * 400)
    np.testing.assert_allclose(pixels, metres * 400, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("calls", "match"),
    [
        ([((1.0,), 0.1), ((1.0,), 0.1)], "increase"),
        ([((1.0,), 0.2), ((1.0,), 0.1)], "increase"),
        ([((1.0,), 0.1), ((1.0, 2.0), 0.2)], "shape"),
        ([((1.0,), float("nan"))], "finite"),
    ],
)
def test_one_euro_rejects_bad_input(calls, match):
    f = OneEuroFilter()
    with pytest.raises(FilterError, match=match):
        for x, t in calls:
            f(np.array(x), t)


@pytest.mark.parametrize("kw", [{"min_cutoff": 0}, {"beta": -1}, {"d_cutoff": 0}, {"reset_after_s": 0}])
def test_one_euro_rejects_bad_parameters(kw):
    with pytest.raises(FilterError):
        OneEuroFilter(**kw)


# --------------------------------------------------------------------------- bank
def test_bank_smooths_each_track_independently_and_leaves_untracked_alone():
    bank = PersonFilterBank()
    rng = np.random.default_rng(5)
    a, b = standing_xy(200), standing_xy(500)
    raw_a, out_a, out_b = [], [], []
    for i in range(60):
        people = {7: a + rng.normal(0, 2, a.shape), 3: b + rng.normal(0, 2, b.shape), -1: b}
        if i % 2:  # row order changes from frame to frame
            people = dict(reversed(list(people.items())))
        fr = person_frame(i, i / 30, people)
        out = bank.apply(fr)
        assert out is not fr and out.num_people == 3
        np.testing.assert_array_equal(out.xy[fr.person(-1)], fr.xy[fr.person(-1)])
        raw_a.append(fr.xy[fr.person(7)])
        out_a.append(out.xy[out.person(7)])
        out_b.append(out.xy[out.person(3)])
    raw_a, out_a, out_b = np.array(raw_a), np.array(out_a), np.array(out_b)
    assert np.var(out_a[20:], axis=0).mean() < 0.3 * np.var(raw_a[20:], axis=0).mean()
    assert np.abs(out_a[20:] - a).max() < 5 and np.abs(out_b[20:] - b).max() < 5  # no mixing
    assert bank.track_ids == [3, 7]


def test_bank_does_not_mutate_the_input_frame():
    bank = PersonFilterBank()
    fr0 = person_frame(0, 0.0, {1: standing_xy()})
    bank.apply(fr0)
    fr1 = person_frame(1, 1 / 30, {1: standing_xy() + 10})
    before = fr1.xy.copy()
    out = bank.apply(fr1)
    np.testing.assert_array_equal(fr1.xy, before)
    assert not np.allclose(out.xy, fr1.xy)  # smoothed towards the previous frame
    assert out.world.shape == fr1.world.shape and np.all(np.isfinite(out.world))


def test_bank_forgets_stale_tracks():
    bank = PersonFilterBank(forget_after_s=2.0)
    bank.apply(person_frame(0, 0.0, {1: standing_xy(), 2: standing_xy(400)}))
    assert bank.track_ids == [1, 2]
    bank.apply(person_frame(1, 1.5, {1: standing_xy()}))
    assert bank.track_ids == [1, 2]
    bank.apply(person_frame(2, 2.5, {1: standing_xy()}))
    assert bank.track_ids == [1]
    bank.apply(person_frame(3, 10.0, {}))  # nobody in view for a while
    assert len(bank) == 0


def test_bank_memory_stays_flat_over_hours():
    bank = PersonFilterBank(forget_after_s=2.0)
    xy = standing_xy()
    sizes = []
    # an hour at 1 Hz, a brand-new track id every 3 s (tracker churn)
    for i in range(3600):
        t = float(i)
        bank.apply(person_frame(i, t, {i // 3: xy}))
        sizes.append(len(bank))
    assert max(sizes) <= 2


def test_bank_new_track_starts_unsmoothed_and_time_reset():
    bank = PersonFilterBank()
    for i in range(10):
        bank.apply(person_frame(i, i / 30, {1: standing_xy()}))
    moved = standing_xy() + 50
    out = bank.apply(person_frame(10, 10 / 30, {2: moved}))
    np.testing.assert_allclose(out.xy[0], moved, atol=1e-3)
    # the source restarted (looped video): no exception, state reset
    out = bank.apply(person_frame(0, 0.0, {1: moved}))
    np.testing.assert_allclose(out.xy[0], moved, atol=1e-3)


def test_bank_generic_channel():
    bank = PersonFilterBank(OneEuroParams(min_cutoff=1.0, beta=0.0))
    y0 = bank.filter(4, 0.0, np.array([90.0]), channel="knee")
    y1 = bank.filter(4, 1 / 30, np.array([100.0]), channel="knee")
    assert y0[0] == 90.0 and 90.0 < y1[0] < 100.0


# --------------------------------------------------------------------------- offline
def sine(t, f=1.0, amp=1.0):
    return amp * np.sin(2 * math.pi * f * t)


@pytest.mark.parametrize("method", ["butterworth", "savgol"])
def test_smooth_offline_zero_phase_peak_stays_put(method):
    fps = 30.0
    t = np.arange(0, 4, 1 / fps)
    clean = sine(t, 0.5)
    noisy = clean + np.random.default_rng(6).normal(0, 0.05, t.size)
    y = smooth_offline(t, noisy, cutoff_hz=3.0, method=method, window_s=0.3)
    inner = slice(15, -15)
    assert np.abs(y - clean)[inner].max() < 0.08
    assert np.std((y - clean)[inner]) < 0.5 * np.std((noisy - clean)[inner])
    # peaks at t = 0.5 s and 2.5 s stay where they are
    for peak_t in (0.5, 2.5):
        win = np.abs(t - peak_t) < 0.4
        assert t[win][np.argmax(y[win])] == pytest.approx(peak_t, abs=1.01 / fps)
    # cross-correlation lag of the smoothed vs clean signal is zero
    lags = np.arange(-5, 6)
    corr = [np.dot(np.roll(y, k)[inner], clean[inner]) for k in lags]
    assert lags[int(np.argmax(corr))] == 0


def test_smooth_offline_cutoff_is_combined_minus_3db():
    t = np.arange(0, 20, 1 / 60)
    y_cut = smooth_offline(t, sine(t, 4.0), cutoff_hz=4.0, outlier_z=None)
    y_low = smooth_offline(t, sine(t, 0.5), cutoff_hz=4.0, outlier_z=None)
    y_high = smooth_offline(t, sine(t, 15.0), cutoff_hz=4.0, outlier_z=None)
    mid = slice(120, -120)
    assert np.abs(y_cut[mid]).max() == pytest.approx(1 / math.sqrt(2), abs=0.03)
    assert np.abs(y_low[mid]).max() > 0.98
    assert np.abs(y_high[mid]).max() < 0.05


def test_smooth_offline_removes_spike():
    t = np.arange(0, 3, 1 / 30)
    clean = 100 + 20 * sine(t, 0.5)
    x = clean.copy()
    x[45] += 80.0  # one-frame detection glitch
    x[60:62] -= 60.0  # two-frame glitch
    y = smooth_offline(t, x, cutoff_hz=4.0)
    assert np.abs(y - clean)[5:-5].max() < 1.0
    y_no_rejection = smooth_offline(t, x, cutoff_hz=4.0, outlier_z=None)
    assert np.abs(y_no_rejection - clean).max() > 5.0  # the spike smears without rejection


def test_smooth_offline_keeps_a_genuine_fast_movement():
    """A real quick change (several frames long) is not an outlier and keeps its size."""
    t = np.arange(0, 3, 1 / 30)
    x = np.where(t >= 1.5, 150.0, 100.0)
    y = smooth_offline(t, x, cutoff_hz=6.0)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y[:35], 100.0, atol=0.5)
    np.testing.assert_allclose(y[-35:], 150.0, atol=0.5)
    i = int(np.searchsorted(t, 1.5))
    # zero phase: the response is antisymmetric about the edge, which stays between i-1 and i
    assert y[i - 1] + y[i] == pytest.approx(250.0, abs=1.0)
    assert y[i - 1] < 125 < y[i]


def test_smooth_offline_fills_short_gaps_and_keeps_long_gaps():
    t = np.arange(0, 4, 1 / 30)
    clean = 50 + 10 * sine(t, 0.5)
    x = clean.copy()
    x[:3] = np.nan  # leading
    x[30:34] = np.nan  # 4 missing samples: 0.167 s between valid neighbours
    x[60:75] = np.nan  # 0.53 s
    x[-2:] = np.nan  # trailing
    y = smooth_offline(t, x, cutoff_hz=4.0, max_gap_s=0.25)
    assert np.all(np.isfinite(y[30:34]))
    assert np.abs(y[30:34] - clean[30:34]).max() < 0.5
    assert np.all(np.isnan(y[60:75]))
    assert np.all(np.isnan(y[:3])) and np.all(np.isnan(y[-2:]))
    assert np.all(np.isfinite(y[3:30])) and np.all(np.isfinite(y[75:-2]))


def test_smooth_offline_columnwise_shapes_and_independent_gaps():
    t = np.arange(0, 2, 1 / 30)
    base = standing_xy()
    x = np.repeat(base[None], t.size, axis=0).astype(np.float32)  # (T, 33, 2)
    x[:, L.LEFT_WRIST, 1] += (40 * sine(t, 1.0)).astype(np.float32)
    x[10:40, L.NOSE] = np.nan  # long gap in one landmark only
    y = smooth_offline(t, x, cutoff_hz=6.0)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.all(np.isnan(y[10:40, L.NOSE]))
    mask = np.ones(NUM_LANDMARKS, bool)
    mask[L.NOSE] = False
    assert np.all(np.isfinite(y[:, mask]))
    np.testing.assert_allclose(y[:, L.LEFT_HIP], x[:, L.LEFT_HIP], atol=1e-3)  # constants unchanged
    y4 = smooth_offline(t, x[:, None], cutoff_hz=6.0)  # (T, P, 33, 2)
    np.testing.assert_allclose(y4[:, 0], y, equal_nan=True)


def test_smooth_offline_handles_dropped_frames():
    rng = np.random.default_rng(7)
    t = np.sort(rng.choice(np.arange(0, 4, 1 / 30), size=100, replace=False))  # ~17% dropped
    clean = sine(t, 0.5)
    y = smooth_offline(t, clean + rng.normal(0, 0.03, t.size), cutoff_hz=3.0, max_gap_s=0.3)
    assert np.all(np.isfinite(y))
    assert np.abs(y - clean)[5:-5].max() < 0.08


@pytest.mark.parametrize(
    ("t", "v", "match"),
    [
        (np.array([0.0, 0.1, 0.1]), np.zeros(3), "increasing"),
        (np.array([0.0, 0.2, 0.1]), np.zeros(3), "increasing"),
        (np.arange(4.0), np.zeros(3), "T"),
    ],
)
def test_smooth_offline_rejects_bad_time(t, v, match):
    with pytest.raises(FilterError, match=match):
        smooth_offline(t, v)


def test_smooth_offline_short_inputs():
    assert smooth_offline(np.array([0.0]), np.array([3.0]))[0] == 3.0
    y = smooth_offline(np.arange(3) / 30, np.array([1.0, np.nan, 3.0]))
    np.testing.assert_allclose(y, [1.0, 2.0, 3.0])
