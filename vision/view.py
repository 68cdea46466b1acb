"""Camera view, facing and knee valgus from BlazePose landmarks (split out of :mod:`vision.geometry`).

Same conventions as :mod:`vision.geometry` (any leading shape ``(..., 33, D)``, image
coordinates y-down, NaN in → NaN out, degrees, :class:`~vision.geometry.GeometryError`
for bad input).  This module holds:

* the camera view: :class:`View`, :func:`body_yaw`, :func:`view_of` (thresholds in
  :data:`VIEW_THRESHOLDS`), and :func:`majority` / :func:`rolling_majority` to steady
  per-frame labels;
* which way a person faces: :func:`facing_score`, :func:`facing_side` (which body side
  is nearer the camera) and :func:`facing_direction` (image-x direction, for
  :func:`~vision.geometry.signed_inclination`);
* frontal-plane knee checks: :func:`knee_valgus` and :func:`knee_ankle_ratio`.

:mod:`vision.geometry` re-exports the public names for code that imports them from there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from vision.landmarks import Landmark

__all__ = [
    "VIEW_THRESHOLDS",
    "View",
    "body_yaw",
    "facing_direction",
    "facing_score",
    "facing_side",
    "knee_ankle_ratio",
    "knee_valgus",
    "majority",
    "rolling_majority",
    "view_of",
]

L = Landmark


# --------------------------------------------------------------------------- view
class View(StrEnum):
    """Camera view of a person: facing the camera (or away), side on, or in between."""

    FRONT = "front"
    SIDE = "side"
    OBLIQUE = "oblique"


_PAIRS: tuple[tuple[Landmark, Landmark], ...] = (
    (L.LEFT_SHOULDER, L.RIGHT_SHOULDER),
    (L.LEFT_HIP, L.RIGHT_HIP),
    (L.LEFT_KNEE, L.RIGHT_KNEE),
)


def _nanmean_last(x: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(x)
    n = ok.sum(axis=-1)
    s = np.where(ok, x, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def _per_point(arr: ArrayLike, p: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(arr, dtype=np.float64)
    if a.shape != p.shape[:-1]:
        raise GeometryError(f"geometry: {name} must have shape {p.shape[:-1]} to match xy, got {a.shape}")
    return a


def _labels(values: np.ndarray, choose: dict[int, object]) -> object:
    """Map a sign array to labels: scalar for 0-d input, object array otherwise."""
    s = np.sign(values)
    if s.ndim == 0:
        return choose.get(int(s)) if np.isfinite(s) else None
    out = np.full(s.shape, None, dtype=object)
    for k, lab in choose.items():
        out[s == k] = lab
    return out


def facing_score(
    xy: ArrayLike, z: ArrayLike | None = None, visibility: ArrayLike | None = None
) -> np.ndarray:
    """How much the body's **left** side is nearer the camera than its right, shape ``(...)``.

    Sum of two cues over shoulders, hips and knees: mean visibility difference
    ``vis_left − vis_right`` (the far side is occluded in a side view) and mean depth
    difference ``(z_right − z_left) / torso_length`` (MediaPipe z: smaller = closer, in
    the pixel scale of x).  Positive → left side faces the camera; NaN if no cue.
    """
    p = _as_pts(xy, "xy")
    cues = []
    li = [int(a) for a, _ in _PAIRS]
    ri = [int(b) for _, b in _PAIRS]
    if visibility is not None:
        v = _per_point(visibility, p, "visibility")
        cues.append(_nanmean_last(v[..., li] - v[..., ri]))
    if z is not None:
        zz = _per_point(z, p, "z")
        torso = torso_length(p)
        with np.errstate(invalid="ignore", divide="ignore"):
            dz = _nanmean_last(zz[..., ri] - zz[..., li]) / np.where(torso > _EPS, torso, np.nan)
        cues.append(np.clip(dz, -1.0, 1.0))
    if not cues:
        raise GeometryError("geometry: facing_score needs z and/or visibility")
    total = np.zeros(np.broadcast_shapes(*(c.shape for c in cues)))
    have = np.zeros(total.shape, dtype=bool)
    for c in cues:
        have |= ~np.isnan(c)
        total = total + np.where(np.isnan(c), 0.0, c)
    return np.where(have, total, np.nan)


def facing_side(
    xy: ArrayLike, z: ArrayLike | None = None, visibility: ArrayLike | None = None
) -> Literal["left", "right"] | np.ndarray | None:
    """Which side of the body faces the camera in a side view: ``"left"`` or ``"right"``.

    Sign of :func:`facing_score`.  For one person (``xy`` of shape ``(33, 2)``) returns a
    ``str`` (or ``None`` when undecidable: no cues or an exact tie); for a batch returns
    an object array of the leading shape holding ``"left"``/``"right"``/``None``.  Use
    :func:`majority` over a window of frames for a stable answer.
    """
    return _labels(facing_score(xy, z, visibility), {1: "left", -1: "right"})  # type: ignore[return-value]


def facing_direction(xy: ArrayLike) -> np.ndarray:
    """Image-x direction the person faces in a side view: ``+1`` (→ +x), ``-1`` or NaN.

    Uses geometry only (so it holds for mirrored video too): the mean of the heel → toe
    (``FOOT_INDEX``) x-offsets of both feet and the ear-midpoint → nose x-offset, in
    pixels.  Meaningless in a front view.  Feed it to :func:`~vision.geometry.signed_inclination`.
    """
    p = _as_pts(xy, "xy")
    if p.shape[-1] != 2:
        raise GeometryError("geometry: facing_direction needs 2D image coordinates (..., 33, 2)")
    feet = np.stack(
        [
            p[..., int(L.LEFT_FOOT_INDEX), 0] - p[..., int(L.LEFT_HEEL), 0],
            p[..., int(L.RIGHT_FOOT_INDEX), 0] - p[..., int(L.RIGHT_HEEL), 0],
        ],
        axis=-1,
    )
    head = p[..., int(L.NOSE), 0] - _point(p, EARS)[..., 0]
    s = _nanmean_last(np.stack([_nanmean_last(feet), head], axis=-1))
    return np.where(s > 0, 1.0, np.where(s < 0, -1.0, np.nan))


#: View thresholds ``(front_max_deg, side_min_deg)`` per yaw source, set on real clips
#: (dev-clips, 23 clips with by-eye view labels, 22 right by clip majority).  MediaPipe
#: world landmarks under-read yaw (a by-eye 45° oblique reads about 35°), so the world
#: side threshold is lower.
VIEW_THRESHOLDS: dict[str, tuple[float, float]] = {"world": (25.0, 42.0), "image": (25.0, 50.0)}


def _yaw_image(p: np.ndarray, frontal_ratio: float) -> np.ndarray:
    width = distance(p, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    torso = torso_length(p)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = width / np.where(torso > _EPS, frontal_ratio * torso, np.nan)
    return np.degrees(np.arccos(np.clip(ratio, 0.0, 1.0)))


def _yaw_world(w: np.ndarray) -> np.ndarray:
    d = w[..., int(L.RIGHT_SHOULDER), :] - w[..., int(L.LEFT_SHOULDER), :]
    ang = np.degrees(np.arctan2(np.abs(d[..., 2]), np.abs(d[..., 0])))
    return _nan_if_short(ang, np.hypot(d[..., 0], d[..., 2]))


def body_yaw(xy: ArrayLike, *, world: ArrayLike | None = None, frontal_ratio: float = 0.65) -> np.ndarray:
    """Estimated yaw of the shoulder line out of the image plane, degrees in [0, 90].

    0 = shoulders parallel to the image (front or back view), 90 = side on.

    * With ``world`` (``(..., 33, 3)`` MediaPipe world landmarks): the angle of the
      shoulder line in the horizontal x–z plane, ``atan2(|Δz|, |Δx|)``.  Most reliable.
    * Otherwise, and per frame where the world estimate is NaN, from the image:
      ``arccos(min(1, shoulder_width / (frontal_ratio · torso_length)))`` where
      ``frontal_ratio`` (0.65, measured on real front views) is the shoulder-width /
      torso-length ratio facing the camera.  Bending towards the camera shortens the
      torso, which only makes a front view look more frontal.
    """
    p = _as_pts(xy, "xy")
    if p.shape[-1] != 2:
        raise GeometryError("geometry: body_yaw needs 2D image coordinates (..., 33, 2)")
    yaw = _yaw_image(p, frontal_ratio)
    if world is not None:
        yw = _yaw_world(_as_pts(world, "world"))
        yaw = np.where(np.isnan(yw), yaw, yw)
    return yaw


def view_of(
    xy: ArrayLike,
    z: ArrayLike | None = None,
    visibility: ArrayLike | None = None,
    *,
    world: ArrayLike | None = None,
    front_max_deg: float | None = None,
    side_min_deg: float | None = None,
) -> View | np.ndarray | None:
    """Classify the camera view per frame from :func:`body_yaw`.

    ``yaw <= front_max_deg`` → ``FRONT``, ``yaw >= side_min_deg`` → ``SIDE``, else
    ``OBLIQUE``; the defaults come from :data:`VIEW_THRESHOLDS` for the source used
    (pass ``world=frame.world`` when you have it: it is the more reliable source).
    ``z`` (MediaPipe image depth) is accepted for call compatibility but not used: on
    real clips it read 40–48° for plain front views.  ``visibility`` (optional) drops
    points below 0.1 (practically absent).  One person → a :class:`View` or ``None``
    (no shoulders); batch → object array of the leading shape.  Take :func:`majority`
    over about a second of frames for a stable answer.
    """
    del z  # documented as unused
    p = _as_pts(xy, "xy")
    w = None if world is None else _as_pts(world, "world")
    if visibility is not None:
        p = mask_low_visibility(p, visibility, 0.1)
        w = None if w is None else mask_low_visibility(w, visibility, 0.1)
    yaw_img = _yaw_image(p, 0.65)
    yaw_w = _yaw_world(w) if w is not None else np.full(yaw_img.shape, np.nan)
    use_w = ~np.isnan(yaw_w)
    yaw = np.where(use_w, yaw_w, yaw_img)
    (fw, sw), (fi, si) = VIEW_THRESHOLDS["world"], VIEW_THRESHOLDS["image"]
    f_max = np.where(use_w, fw, fi) if front_max_deg is None else front_max_deg
    s_min = np.where(use_w, sw, si) if side_min_deg is None else side_min_deg
    code = np.where(yaw <= f_max, 1.0, np.where(yaw >= s_min, -1.0, 0.0))
    code = np.where(np.isnan(yaw), np.nan, code)
    if code.ndim == 0:
        return None if np.isnan(code) else {1: View.FRONT, -1: View.SIDE, 0: View.OBLIQUE}[int(code)]
    out = np.full(code.shape, None, dtype=object)
    out[code == 1] = View.FRONT
    out[code == -1] = View.SIDE
    out[code == 0] = View.OBLIQUE
    return out


def majority(labels: Iterable[object] | np.ndarray) -> object:
    """Most common label, ignoring ``None``; ties go to the label seen first; ``None`` if empty."""
    seq: Sequence[object] = list(np.asarray(labels, dtype=object).ravel()) if isinstance(
        labels, np.ndarray
    ) else list(labels)
    counts = Counter(x for x in seq if x is not None)
    if not counts:
        return None
    best = max(counts.values())
    return next(x for x in seq if x is not None and counts[x] == best)


def rolling_majority(labels: Sequence[object] | np.ndarray, window: int) -> list[object]:
    """Causal majority over the last ``window`` labels at each position (same length)."""
    if window < 1:
        raise GeometryError(f"geometry: window must be >= 1, got {window}")
    seq = list(np.asarray(labels, dtype=object).ravel()) if isinstance(labels, np.ndarray) else list(labels)
    return [majority(seq[max(0, i - window + 1) : i + 1]) for i in range(len(seq))]


# --------------------------------------------------------------------------- knee valgus
def _valgus_side(p: np.ndarray, side: str) -> np.ndarray:
    s, o = side.upper(), ("RIGHT" if side == "left" else "LEFT")
    hip, knee, ankle = (p[..., int(L[f"{s}_{n}"]), :] for n in ("HIP", "KNEE", "ANKLE"))
    medial = p[..., int(L[f"{o}_HIP"]), :] - hip  # towards the body midline
    dev = 180.0 - _unsigned_angle(hip - knee, ankle - knee)
    # knee offset from the hip→ankle line, projected on the medial direction
    axis = ankle - hip
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.sum((knee - hip) * axis, axis=-1) / np.sum(axis * axis, axis=-1)
    off = knee - (hip + t[..., None] * axis)
    sgn = np.sign(np.sum(off * medial, axis=-1))
    return np.where(np.isnan(sgn), np.nan, sgn * dev)


def knee_valgus(xy: ArrayLike, side: Literal["left", "right", "max"] = "max") -> np.ndarray:
    """Frontal-plane knee valgus angle (frontal plane projection angle, FPPA), degrees.

    ``180 − angle(hip, knee, ankle)`` in the image, **positive when the knee lies medial**
    (towards the other hip) **of the hip→ankle line** (valgus, "knees caving in"),
    negative for varus, 0 for a straight leg.  ``side="max"`` returns the larger of the two
    legs (NaN only if both are NaN).  Only meaningful in a :attr:`View.FRONT` view (front
    or back); a flexed knee seen from the side reads as a large angle of either sign.

    Caveat from real front-view squats: at depth the thigh points at the camera and the
    knees track out over the toes, so the FPPA reads strongly *negative* at the bottom
    (−50° to −120°), also for the clip labelled "knees cave in" (about −50° vs −75° to
    −85° for knees-out squats).  Use it at shallow flexion, or relative to the person's
    own rep-to-rep or standing baseline, rather than against a fixed positive threshold.
    See also :func:`knee_ankle_ratio`.
    """
    p = _as_pts(xy, "xy")
    if side in ("left", "right"):
        return _valgus_side(p, side)
    if side != "max":
        raise GeometryError(f"geometry: side must be 'left', 'right' or 'max', got {side!r}")
    return np.fmax(_valgus_side(p, "left"), _valgus_side(p, "right"))


def knee_ankle_ratio(xy: ArrayLike) -> np.ndarray:
    """Knee separation divided by ankle separation (image plane), shape ``(...)``.

    ≈1 when knees track over the feet; falls below 1 as the knees move inward (valgus).
    Front view only.  NaN when the ankles coincide.
    """
    p = _as_pts(xy, "xy")
    knees = distance(p, L.LEFT_KNEE, L.RIGHT_KNEE)
    ankles = distance(p, L.LEFT_ANKLE, L.RIGHT_ANKLE)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ankles > _EPS, knees / np.where(ankles > _EPS, ankles, 1.0), np.nan)


# --------------------------------------------------------------------------- primitives
# vision.geometry re-exports this module's names, so it imports this module at its end.
# Importing geometry's primitives here, after every definition above (they are only used
# inside functions), keeps both import orders working: geometry first or view first.
from vision.geometry import (  # noqa: E402
    _EPS,
    EARS,
    GeometryError,
    _as_pts,
    _nan_if_short,
    _point,
    _unsigned_angle,
    distance,
    mask_low_visibility,
    torso_length,
)
