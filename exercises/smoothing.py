"""Smoothing of metric series: causal low-pass for live use, zero-phase for offline analysis.

Only *measured* metrics are smoothed; derived ones (combine, ratio, rate) are recomputed
from the smoothed values.  Offline smoothing never crosses a discontinuity or a long gap.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from vision.filters import OneEuroFilter

if TYPE_CHECKING:
    from exercises.definition import ExerciseDef
    from exercises.person import Observation

log = logging.getLogger(__name__)

#: Low-pass cutoff (Hz) for metric series; human exercise movement lives well below it.
CUTOFF_HZ = 3.0
#: Zero-phase smoothing filters twice (forward and back), so it can use a higher cutoff for the same noise.
OFFLINE_CUTOFF_HZ = 5.0
#: Samples further apart than this split an offline series.
MAX_GAP_S = 0.7


class CausalSmoother:
    """First-order causal low-pass over a dict of metric values (One-Euro with beta=0)."""

    def __init__(self, cutoff_hz: float = CUTOFF_HZ) -> None:
        self.cutoff_hz = cutoff_hz
        self._keys: tuple[str, ...] | None = None
        self._f = OneEuroFilter(min_cutoff=cutoff_hz, beta=0.0, reset_after_s=MAX_GAP_S)

    def reset(self) -> None:
        self._f.reset()
        self._keys = None

    def __call__(self, t: float, vals: Mapping[str, float]) -> dict[str, float]:
        keys = tuple(vals)
        if keys != self._keys:
            self._f.reset()
            self._keys = keys
        last = self._f.last_t
        if last is not None and t <= last:
            return dict(vals)
        x = np.array([vals[k] for k in keys], dtype=np.float64)
        y = self._f(x, t)
        return {k: float(v) for k, v in zip(keys, y, strict=True)}


def _segments(obs: Sequence[Observation]) -> list[tuple[int, int]]:
    out, start = [], 0
    for i in range(1, len(obs)):
        if obs[i].discontinuity or obs[i].t - obs[i - 1].t > MAX_GAP_S:
            out.append((start, i))
            start = i
    if obs:
        out.append((start, len(obs)))
    return out


def zero_phase(t: np.ndarray, x: np.ndarray, cutoff_hz: float = OFFLINE_CUTOFF_HZ) -> np.ndarray:
    """Zero-phase Butterworth low-pass of one series (NaN kept where the input is NaN)."""
    ok = np.isfinite(x)
    if ok.sum() < 8 or len(t) < 8:
        return x.copy()
    dt = float(np.median(np.diff(t)))
    if not dt > 0:
        return x.copy()
    fs = 1.0 / dt
    wn = min(0.99, cutoff_hz / (fs / 2.0))
    from scipy import signal  # imported lazily: scipy.signal costs ~2 s at import

    filled = np.interp(t, t[ok], x[ok])
    b, a = signal.butter(2, wn)
    y = signal.filtfilt(b, a, filled, padlen=min(3 * max(len(a), len(b)), len(filled) - 1))
    return np.where(ok, y, np.nan)


def smooth_series(obs: Sequence[Observation], ex: ExerciseDef) -> None:
    """Smooth the measured metrics of one person's observations in place (offline)."""
    measured = [n for n, m in ex.metrics.items() if m.type not in ("combine", "ratio", "rate", "drop")]
    for a, b in _segments(obs):
        seg = obs[a:b]
        t = np.array([o.t for o in seg])
        for n in measured:
            x = np.array([o.vals.get(n, math.nan) for o in seg], dtype=np.float64)
            y = zero_phase(t, x)
            for o, v in zip(seg, y, strict=True):
                o.vals[n] = float(v)
