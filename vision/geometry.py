"""Vectorised, NaN-aware body geometry on BlazePose landmarks.

Every function accepts landmark arrays with any leading shape ``(..., 33, D)``:

* ``D == 2`` — pixel ``xy`` in **image coordinates**: x to the right, **y down**.
  "Up" is therefore ``(0, -1)``.
* ``D == 3`` — MediaPipe **world landmarks**: metres, origin between the hips, x to the
  image right, **y down**, z along the camera axis with *smaller (negative) z closer to
  the camera* (MediaPipe Pose docs: "the smaller the value the closer the landmark is
  to the camera").  "Up" is ``(0, -1, 0)``; the horizontal plane is x–z.

Results have the leading shape ``...`` and are ``float64``.  A NaN coordinate (for
example one masked by :func:`mask_low_visibility`) or a zero-length segment gives NaN,
never an exception or a warning.  Angles are in **degrees**.

Angles are *data* (:class:`AngleDef`, :data:`STANDARD_ANGLES`), in the spirit of
Pose2Sim/Sports2D: keypoints, a kind, an offset and a sign; computed with
``atan2(|cross|, dot)``, which stays accurate near 0° and 180° where ``arccos`` does not.

This module holds the primitives (points, angles, inclinations, lengths, visibility
masking) and the angle table.  Camera view, facing and knee valgus live in
:mod:`vision.view`; their public names are re-exported here for existing callers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from vision.landmarks import NUM_LANDMARKS, Landmark

log = logging.getLogger(__name__)

L = Landmark

#: A point on the body: one landmark, or the midpoint of two (``(LEFT_HIP, RIGHT_HIP)``).
Point = Landmark | tuple[Landmark, Landmark]

_EPS = 1e-9

SHOULDERS: tuple[Landmark, Landmark] = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
HIPS: tuple[Landmark, Landmark] = (L.LEFT_HIP, L.RIGHT_HIP)
EARS: tuple[Landmark, Landmark] = (L.LEFT_EAR, L.RIGHT_EAR)


class GeometryError(ValueError):
    """Landmark arrays or angle definitions that this module cannot work with."""


# --------------------------------------------------------------------------- basics
def _as_pts(pts: ArrayLike, name: str = "pts") -> np.ndarray:
    a = np.asarray(pts, dtype=np.float64)
    if a.ndim < 2 or a.shape[-2] != NUM_LANDMARKS or a.shape[-1] not in (2, 3):
        raise GeometryError(f"geometry: {name} must have shape (..., 33, 2) or (..., 33, 3), got {a.shape}")
    return a


def _point(pts: np.ndarray, p: Point) -> np.ndarray:
    if isinstance(p, tuple):
        if len(p) != 2:
            raise GeometryError(f"geometry: a midpoint needs exactly two landmarks, got {p!r}")
        return 0.5 * (pts[..., int(p[0]), :] + pts[..., int(p[1]), :])
    return pts[..., int(p), :]


def _norm(v: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(v * v, axis=-1))


def _nan_if_short(angle: np.ndarray, *lengths: np.ndarray) -> np.ndarray:
    bad = np.zeros(angle.shape, dtype=bool)
    for n in lengths:
        bad |= ~(n > _EPS)  # also catches NaN lengths
    return np.where(bad, np.nan, angle)


def _unsigned_angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between vectors along the last axis, degrees in [0, 180] (NaN for zero length)."""
    dot = np.sum(u * v, axis=-1)
    if u.shape[-1] == 2:
        cross = np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    else:
        cross = _norm(np.cross(u, v))
    ang = np.degrees(np.arctan2(cross, dot))
    return _nan_if_short(ang, _norm(u), _norm(v))


def midpoint(pts: ArrayLike, a: Landmark, b: Landmark) -> np.ndarray:
    """Midpoint of landmarks ``a`` and ``b``, shape ``(..., D)`` in the units of ``pts``."""
    return _point(_as_pts(pts), (a, b))


def distance(pts: ArrayLike, a: Point, b: Point) -> np.ndarray:
    """Euclidean distance between two points, shape ``(...)`` in the units of ``pts``."""
    p = _as_pts(pts)
    return _norm(_point(p, b) - _point(p, a))


# --------------------------------------------------------------------------- angles
def joint_angle(pts: ArrayLike, a: Point, b: Point, c: Point) -> np.ndarray:
    """Included angle at vertex ``b`` between ``b→a`` and ``b→c``, degrees in [0, 180].

    180 = straight limb (e.g. extended knee), 90 = right angle, 0 = fully folded.
    Works on 2D pixels and 3D world landmarks.  NaN if any point is NaN or either
    segment has zero length.
    """
    p = _as_pts(pts)
    vb = _point(p, b)
    return _unsigned_angle(_point(p, a) - vb, _point(p, c) - vb)


def signed_angle_2d(u: ArrayLike, v: ArrayLike) -> np.ndarray:
    """Signed angle from 2D vector ``u`` to ``v``, degrees in (−180, 180].

    Computed as ``atan2(u×v, u·v)`` with ``u×v = ux·vy − uy·vx``.  In a maths frame
    (y up) positive is counter-clockwise; **in image coordinates (y down) positive is
    clockwise on screen**.  NaN if either vector is NaN or has zero length.
    Shapes ``(..., 2)`` broadcast against each other.
    """
    uu = np.asarray(u, dtype=np.float64)
    vv = np.asarray(v, dtype=np.float64)
    if uu.shape[-1:] != (2,) or vv.shape[-1:] != (2,):
        raise GeometryError(f"geometry: signed_angle_2d needs (..., 2) vectors, got {uu.shape}, {vv.shape}")
    cross = uu[..., 0] * vv[..., 1] - uu[..., 1] * vv[..., 0]
    dot = uu[..., 0] * vv[..., 0] + uu[..., 1] * vv[..., 1]
    ang = np.degrees(np.arctan2(cross, dot))
    ang = np.where(ang <= -180.0, 180.0, ang)  # atan2(-0, -1) = -180 → +180
    return _nan_if_short(ang, _norm(uu), _norm(vv))


#: Name used in docs/architecture.md.
signed_angle = signed_angle_2d


def _up(dim: int) -> np.ndarray:
    up = np.zeros(dim)
    up[1] = -1.0  # y is down in both image and MediaPipe world coordinates
    return up


def inclination(
    pts: ArrayLike, a: Point, b: Point, *, reference: Literal["vertical", "horizontal"] = "vertical"
) -> np.ndarray:
    """Angle of the segment ``a→b`` to the vertical (or horizontal), degrees.

    ``reference="vertical"``: in [0, 180]; 0 = ``b`` straight above ``a``, 90 = level,
    180 = ``b`` straight below ``a``.  Up is −y (image and world coordinates are y-down).
    ``reference="horizontal"``: in [0, 90]; 0 = level, 90 = vertical (either way).
    Unsigned: a forward and a backward lean of the same size give the same value;
    see :func:`signed_inclination`.
    """
    p = _as_pts(pts)
    d = _point(p, b) - _point(p, a)
    ang = _unsigned_angle(d, np.broadcast_to(_up(p.shape[-1]), d.shape))
    if reference == "vertical":
        return ang
    if reference == "horizontal":
        return np.abs(90.0 - ang)
    raise GeometryError(f"geometry: reference must be 'vertical' or 'horizontal', got {reference!r}")


def signed_inclination(pts: ArrayLike, a: Point, b: Point, forward: ArrayLike) -> np.ndarray:
    """Signed lean of segment ``a→b`` from the vertical in the image plane, degrees (−180, 180].

    ``forward`` is the image-x direction the person faces: ``+1`` (towards +x, right),
    ``-1`` (towards −x) or NaN, broadcastable to the leading shape (see
    :func:`~vision.view.facing_direction`).  Positive = ``b`` is ahead of ``a`` (a forward lean, e.g.
    trunk ``hip-mid → shoulder-mid`` bending over), negative = leaning back.  2D only:
    for a side view the image plane is the sagittal plane.
    """
    p = _as_pts(pts)
    if p.shape[-1] != 2:
        raise GeometryError("geometry: signed_inclination needs 2D image coordinates (..., 33, 2)")
    d = _point(p, b) - _point(p, a)
    f = np.sign(np.asarray(forward, dtype=np.float64))
    ang = np.degrees(np.arctan2(d[..., 0] * f, -d[..., 1]))
    ang = np.where(ang <= -180.0, 180.0, ang)
    ang = np.where(f == 0, np.nan, ang)
    return _nan_if_short(ang, _norm(d))


def line_rotation(
    pts: ArrayLike, line: tuple[Point, Point], reference: tuple[Point, Point]
) -> np.ndarray:
    """Signed rotation of ``line`` (p1→p2) relative to ``reference`` (q1→q2), degrees (−180, 180].

    Twist of the shoulders against the hips:
    ``line_rotation(pts, (LEFT_SHOULDER, RIGHT_SHOULDER), (LEFT_HIP, RIGHT_HIP))``.

    * 3D world landmarks: both lines are projected onto the **horizontal x–z plane**, so
      this is the axial twist.  Positive = counter-clockwise seen from above.
    * 2D pixels: the angle **in the image plane** (positive = clockwise on screen).  In a
      front view this is the lateral tilt of one line against the other, not axial twist
      (axial twist shows up as a change of projected width instead).

    Use ``abs()`` for a magnitude.  NaN if a line has zero length after projection.
    """
    p = _as_pts(pts)
    u = _point(p, reference[1]) - _point(p, reference[0])
    v = _point(p, line[1]) - _point(p, line[0])
    if p.shape[-1] == 3:
        u = u[..., [0, 2]]
        v = v[..., [0, 2]]
    return signed_angle_2d(u, v)


# --------------------------------------------------------------------------- lengths
def torso_length(pts: ArrayLike) -> np.ndarray:
    """Distance from the shoulder midpoint to the hip midpoint, shape ``(...)``."""
    return distance(pts, SHOULDERS, HIPS)


def leg_length(pts: ArrayLike, side: Literal["left", "right"]) -> np.ndarray:
    """Hip–knee plus knee–ankle length of one leg, shape ``(...)``."""
    if side not in ("left", "right"):
        raise GeometryError(f"geometry: side must be 'left' or 'right', got {side!r}")
    s = side.upper()
    hip, knee, ankle = L[f"{s}_HIP"], L[f"{s}_KNEE"], L[f"{s}_ANKLE"]
    p = _as_pts(pts)
    return distance(p, hip, knee) + distance(p, knee, ankle)


def _nanmean2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    s = np.where(np.isnan(x), 0.0, x) + np.where(np.isnan(y), 0.0, y)
    n = (~np.isnan(x)).astype(float) + (~np.isnan(y)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def normalised_distance(
    pts: ArrayLike, a: Point, b: Point, by: Literal["torso", "leg"] = "torso"
) -> np.ndarray:
    """Distance ``a``–``b`` divided by a body length, so it is scale-free.

    ``by="torso"``: :func:`torso_length`; ``by="leg"``: mean of the two
    :func:`leg_length` values that are available.  NaN when the scale is NaN or zero.
    """
    p = _as_pts(pts)
    d = distance(p, a, b)
    if by == "torso":
        scale = torso_length(p)
    elif by == "leg":
        scale = _nanmean2(leg_length(p, "left"), leg_length(p, "right"))
    else:
        raise GeometryError(f"geometry: by must be 'torso' or 'leg', got {by!r}")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > _EPS, d / np.where(scale > _EPS, scale, 1.0), np.nan)


# --------------------------------------------------------------------------- visibility
def mask_low_visibility(xy: ArrayLike, visibility: ArrayLike, threshold: float = 0.5) -> np.ndarray:
    """Copy of ``xy`` (``(..., 33, D)``) with NaN where ``visibility < threshold`` (or NaN).

    ``visibility`` has shape ``(..., 33)`` matching ``xy``'s leading shape, e.g.
    ``(P, 33)`` for one frame or ``(T, P, 33)`` for a run.  Float dtypes are kept.
    """
    a = np.asarray(xy)
    v = np.asarray(visibility, dtype=np.float64)
    if a.ndim < 2 or a.shape[-2] != NUM_LANDMARKS or v.shape != a.shape[:-1]:
        raise GeometryError(
            f"geometry: mask_low_visibility needs xy (..., 33, D) and visibility (..., 33), "
            f"got {a.shape} and {v.shape}"
        )
    out = a.astype(a.dtype if np.issubdtype(a.dtype, np.floating) else np.float64, copy=True)
    out[~(v >= threshold)] = np.nan
    return out


# --------------------------------------------------------------------------- angle table
@dataclass(frozen=True)
class AngleDef:
    """One named angle as data: ``value = sign * raw + offset`` (degrees).

    * ``kind="joint"``: three points ``(a, b, c)``; raw = :func:`joint_angle` at ``b``
      (180 = straight).  Use ``sign=-1, offset=180`` for a flexion angle (0 = straight).
    * ``kind="segment"``: two points ``(a, b)``; raw = :func:`inclination` of ``a→b`` to
      the vertical (0 = ``b`` straight above ``a``).
    Points may be landmarks or midpoints ``(Landmark, Landmark)``.
    """

    name: str
    landmarks: tuple[Point, ...]
    kind: Literal["joint", "segment"] = "joint"
    offset: float = 0.0
    sign: float = 1.0

    def __post_init__(self) -> None:
        need = {"joint": 3, "segment": 2}.get(self.kind)
        if need is None:
            raise GeometryError(f"geometry: angle {self.name!r}: kind must be 'joint' or 'segment'")
        if len(self.landmarks) != need:
            raise GeometryError(
                f"geometry: angle {self.name!r}: a {self.kind} angle needs {need} points, "
                f"got {len(self.landmarks)}"
            )
        for p in self.landmarks:
            parts = p if isinstance(p, tuple) else (p,)
            if not parts or not all(isinstance(q, Landmark) for q in parts):
                raise GeometryError(f"geometry: angle {self.name!r}: {p!r} is not a Landmark or pair")
        if self.sign not in (1, -1, 1.0, -1.0):
            raise GeometryError(f"geometry: angle {self.name!r}: sign must be +1 or -1, got {self.sign}")

    def compute(self, pts: ArrayLike) -> np.ndarray:
        """This angle for landmarks ``(..., 33, D)``, shape ``(...)``, degrees."""
        if self.kind == "joint":
            raw = joint_angle(pts, *self.landmarks)
        else:
            raw = inclination(pts, *self.landmarks)
        return self.sign * raw + self.offset


def _side_angles(side: str) -> list[AngleDef]:
    s = side.upper()

    def lm(n: str) -> Landmark:
        return L[f"{s}_{n}"]

    return [
        AngleDef(f"{side}_knee", (lm("HIP"), lm("KNEE"), lm("ANKLE"))),
        AngleDef(f"{side}_hip", (lm("SHOULDER"), lm("HIP"), lm("KNEE"))),
        AngleDef(f"{side}_elbow", (lm("SHOULDER"), lm("ELBOW"), lm("WRIST"))),
        AngleDef(f"{side}_shoulder", (lm("HIP"), lm("SHOULDER"), lm("ELBOW"))),
        AngleDef(f"{side}_ankle", (lm("KNEE"), lm("ANKLE"), lm("FOOT_INDEX"))),
        AngleDef(f"{side}_thigh", (lm("KNEE"), lm("HIP")), kind="segment"),
        AngleDef(f"{side}_shank", (lm("ANKLE"), lm("KNEE")), kind="segment"),
    ]


#: The standard angle table (degrees).  Joints are included angles (180 = straight);
#: ``*_thigh``/``*_shank``/``trunk``/``neck`` are inclinations to the vertical
#: (0 = upright, 90 = horizontal).
STANDARD_ANGLES: tuple[AngleDef, ...] = (
    *_side_angles("left"),
    *_side_angles("right"),
    AngleDef("trunk", (HIPS, SHOULDERS), kind="segment"),
    AngleDef("neck", (SHOULDERS, EARS), kind="segment"),
)


def compute_angles(
    pts: ArrayLike,
    defs: Iterable[AngleDef] = STANDARD_ANGLES,
    *,
    visibility: ArrayLike | None = None,
    threshold: float = 0.5,
) -> dict[str, np.ndarray]:
    """Evaluate angle definitions on ``(..., 33, D)`` landmarks → ``{name: (...)}`` degrees.

    With ``visibility`` (``(..., 33)``), landmarks below ``threshold`` are masked first,
    so angles that use them are NaN.
    """
    p = _as_pts(pts)
    if visibility is not None:
        p = mask_low_visibility(p, visibility, threshold)
    out: dict[str, np.ndarray] = {}
    for d in defs:
        if d.name in out:
            raise GeometryError(f"geometry: duplicate angle name {d.name!r}")
        out[d.name] = d.compute(p)
    return out


# --------------------------------------------------------------------------- re-exports
# Camera view, facing and knee valgus moved to vision.view, which imports this module's
# primitives; this import stays last so either module can be imported first.
from vision.view import VIEW_THRESHOLDS as VIEW_THRESHOLDS  # noqa: E402
from vision.view import View as View  # noqa: E402
from vision.view import body_yaw as body_yaw  # noqa: E402
from vision.view import facing_direction as facing_direction  # noqa: E402
from vision.view import facing_score as facing_score  # noqa: E402
from vision.view import facing_side as facing_side  # noqa: E402
from vision.view import knee_ankle_ratio as knee_ankle_ratio  # noqa: E402
from vision.view import knee_valgus as knee_valgus  # noqa: E402
from vision.view import majority as majority  # noqa: E402
from vision.view import rolling_majority as rolling_majority  # noqa: E402
from vision.view import view_of as view_of  # noqa: E402
