"""Offline refinement of a finished recording: zero-phase smoothing per person.

Live views can only filter with past frames (One-Euro, in the pipeline).  Once a
whole video has been analysed, each person's landmark and angle series can be
smoothed with past *and* future frames, without lag, with outliers rejected and
short gaps bridged (:func:`vision.filters.smooth_offline`).  The result is added
to the saved landmark arrays as ``xy_smooth`` and ``angles_smooth``; the causal
``xy`` and ``angles`` (what the annotated video shows) stay as recorded.
"""

from __future__ import annotations

import logging

import numpy as np

from vision.filters import smooth_offline
from vision.geometry import compute_angles

log = logging.getLogger(__name__)


def add_smoothed(arrays: dict[str, np.ndarray], *, cutoff_hz: float = 6.0) -> dict[str, np.ndarray]:
    """Return ``arrays`` (the pipeline recorder's long format) plus ``xy_smooth`` and ``angles_smooth``.

    Low-visibility landmarks (< 0.5) are treated as missing before smoothing, so they
    neither pull the curve nor get invented beyond ``max_gap_s``.
    """
    from exercises.pipeline import ANGLE_NAMES

    out = dict(arrays)
    xy = arrays["xy"].astype(np.float32)
    smooth = np.full_like(xy, np.nan)
    masked = np.where((arrays["visibility"] >= 0.5)[..., None], xy, np.nan)
    t = arrays["t_ms"].astype(np.float64) / 1000.0
    for tid in np.unique(arrays["track_id"]):
        rows = np.flatnonzero(arrays["track_id"] == tid)
        order = rows[np.argsort(t[rows], kind="stable")]
        ts = t[order]
        keep = np.concatenate([[True], np.diff(ts) > 0])  # one sample per time stamp
        order, ts = order[keep], ts[keep]
        if len(order) < 3:
            smooth[order] = masked[order]
            continue
        smooth[order] = smooth_offline(ts, masked[order], cutoff_hz=cutoff_hz)
    out["xy_smooth"] = smooth
    if len(smooth):
        angles = compute_angles(smooth)
        out["angles_smooth"] = np.stack([angles[n] for n in ANGLE_NAMES], axis=1).astype(np.float32)
    else:
        out["angles_smooth"] = np.zeros((0, len(ANGLE_NAMES)), np.float32)
    log.debug("smoothed %d rows of %d people offline", len(smooth), len(np.unique(arrays["track_id"])))
    return out
