"""Kinematic body model: proportions, forward/inverse kinematics and the 33 landmarks.

World frame (metres): ``y`` up, floor at ``y = 0``.  A body frame has ``x`` to the
person's **left**, ``y`` up (towards the head) and ``z`` forward (the belly side);
rotation matrices hold a frame's axes as columns.

A :class:`Pose` is built by :func:`build_pose` from a pelvis position and rotation,
spine and neck angles, and one :class:`Limb` spec per arm and leg (joint angles, or a
target for two-bone IK).  Every point is placed by adding ``length * unit vector`` to
its parent, so segment lengths are exactly constant whatever the motion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vision.landmarks import NUM_LANDMARKS, Landmark

Vec = np.ndarray
Mat = np.ndarray


def rot_x(deg: float) -> Mat:
    """Rotation about x (for an up-pointing segment, positive tips it forward)."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], float)


def rot_y(deg: float) -> Mat:
    """Rotation about y (positive turns forward ``z`` towards the left ``x``)."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], float)


def rot_z(deg: float) -> Mat:
    """Rotation about z (positive turns up ``y`` towards the right, ``-x``)."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], float)


def unit(v: Vec) -> Vec:
    """``v`` scaled to length 1 (unchanged if zero)."""
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-12 else v


def rotate_about(v: Vec, axis: Vec, deg: float) -> Vec:
    """Rodrigues rotation of ``v`` about ``axis``."""
    k = unit(axis)
    a = np.radians(deg)
    return v * np.cos(a) + np.cross(k, v) * np.sin(a) + k * np.dot(k, v) * (1 - np.cos(a))


@dataclass(frozen=True)
class BodyShape:
    """Segment lengths and radii of one person, from height and build (0 slim … 1 heavy)."""

    height: float = 1.75
    build: float = 0.4
    leg_ratio: float = 1.0  # ±4 % variation of leg length relative to the trunk
    sex: str = "f"  # "f" or "m": shoulder/hip width and chest shape

    def __post_init__(self) -> None:
        if not 1.2 <= self.height <= 2.2:
            raise ValueError(f"BodyShape.height must be 1.2..2.2 m, got {self.height}")
        if not 0.0 <= self.build <= 1.0:
            raise ValueError(f"BodyShape.build must be 0..1, got {self.build}")

    # lengths, as fractions of height (adult averages), scaled by the options
    def _h(self, frac: float) -> float:
        return frac * self.height

    @property
    def ankle_h(self) -> float:
        return self._h(0.039)

    @property
    def shank(self) -> float:
        return self._h(0.246) * self.leg_ratio

    @property
    def thigh(self) -> float:
        return self._h(0.245) * self.leg_ratio

    @property
    def foot_fwd(self) -> float:
        """Ankle to toe tip, horizontally."""
        return self._h(0.118)

    @property
    def heel_back(self) -> float:
        return self._h(0.032)

    @property
    def hip_half(self) -> float:
        return self._h(0.052 if self.sex == "m" else 0.056) * (1 + 0.12 * self.build)

    @property
    def lumbar(self) -> float:
        return self._h(0.14) * (2 - self.leg_ratio)

    @property
    def thoracic(self) -> float:
        return self._h(0.16) * (2 - self.leg_ratio)

    @property
    def neck(self) -> float:
        return self._h(0.095)

    @property
    def shoulder_half(self) -> float:
        return self._h(0.106 if self.sex == "m" else 0.097) * (1 + 0.08 * self.build)

    @property
    def shoulder_drop(self) -> float:
        return self._h(0.018)

    @property
    def upper_arm(self) -> float:
        return self._h(0.186)

    @property
    def forearm(self) -> float:
        return self._h(0.146)

    @property
    def hand(self) -> float:
        return self._h(0.09)

    @property
    def arm(self) -> float:
        return self.upper_arm + self.forearm

    @property
    def standing_hip_y(self) -> float:
        return self.ankle_h + self.shank + self.thigh

    def r(self, part: str) -> float:
        """Radius (m) of a body part; builds widen soft tissue more than bone ends."""
        base = {
            "thigh": 0.050, "knee": 0.031, "shank": 0.033, "ankle": 0.022, "upper_arm": 0.028,
            "elbow": 0.022, "forearm": 0.024, "wrist": 0.017, "neck": 0.030, "head_x": 0.046,
            "head_y": 0.066, "head_z": 0.056, "waist_x": 0.078, "waist_z": 0.060, "chest_x": 0.088,
            "chest_z": 0.064, "pelvis_x": 0.094, "pelvis_z": 0.065, "foot": 0.022, "hand": 0.016,
        }[part]
        soft = {"thigh", "shank", "upper_arm", "forearm", "waist_x", "waist_z", "chest_z", "pelvis_x",
                "pelvis_z", "chest_x", "neck"}
        grow = 0.75 + 0.65 * self.build if part in soft else 0.92 + 0.16 * self.build
        if self.sex == "m" and part in {"chest_x", "upper_arm", "neck"}:
            grow *= 1.08
        if self.sex == "f" and part in {"pelvis_x", "thigh"}:
            grow *= 1.06
        return base * self.height * grow


@dataclass(frozen=True)
class Limb:
    """How one arm or leg is placed.

    Angle mode (degrees): ``flex`` swings the limb forward (hip/shoulder flexion),
    ``abd`` out to the side, ``bend`` flexes the knee/elbow, ``end`` pitches the foot
    or hand (plantar flexion / wrist flexion, positive = toes/fingers down).
    IK mode: ``target`` is the ankle/wrist in world coordinates and ``pole`` the
    direction the knee/elbow should point.  In both modes ``end_rot`` optionally fixes
    the foot/hand frame in world axes (foot: x left, y up, z toes; hand: ``-y`` along
    the fingers, ``z`` the thumb side).
    """

    flex: float = 0.0
    abd: float = 0.0
    bend: float = 0.0
    end: float = 0.0
    target: Vec | None = None
    pole: Vec | None = None
    end_rot: Mat | None = None


@dataclass
class Pose:
    """World positions of the model's joints plus the frames of its rigid parts."""

    points: dict[str, Vec] = field(default_factory=dict)
    frames: dict[str, Mat] = field(default_factory=dict)
    shape: BodyShape = field(default_factory=BodyShape)
    #: rigid props carried or nearby, ``name -> (centre, frame, half extents)``
    props: dict[str, tuple[Vec, Mat, tuple[float, float, float]]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Vec:
        return self.points[name]

    def translate(self, d: Vec) -> Pose:
        """The same pose moved by ``d`` (frames unchanged)."""
        props = {k: (c + d, f, h) for k, (c, f, h) in self.props.items()}
        return Pose({k: v + d for k, v in self.points.items()}, dict(self.frames), self.shape, props)

    def transformed(self, rot: Mat, offset: Vec) -> Pose:
        """The pose turned by ``rot`` about the origin, then moved by ``offset``."""
        return Pose({k: rot @ v + offset for k, v in self.points.items()},
                    {k: rot @ f for k, f in self.frames.items()}, self.shape,
                    {k: (rot @ c + offset, rot @ f, h) for k, (c, f, h) in self.props.items()})

    def spine_flexion(self) -> float:
        """Thorax pitch against the pelvis in the sagittal plane, degrees (+ = flexion)."""
        p, t = self.frames["pelvis"], self.frames["thorax"]
        y = t[:, 1]
        return float(np.degrees(np.arctan2(np.dot(y, p[:, 2]), np.dot(y, p[:, 1]))))

    def landmarks(self) -> np.ndarray:
        """The 33 BlazePose landmarks, shape ``(33, 3)``, in Landmark order."""
        return landmarks_of(self)


def two_bone_ik(root: Vec, target: Vec, l1: float, l2: float, pole: Vec) -> tuple[Vec, Vec]:
    """Middle joint and (possibly clamped) end for a two-bone chain bending towards ``pole``."""
    d_vec = target - root
    dist = float(np.linalg.norm(d_vec))
    u = unit(d_vec) if dist > 1e-9 else np.array([0.0, -1.0, 0.0])
    dist = float(np.clip(dist, abs(l1 - l2) + 1e-6, l1 + l2 - 1e-6))
    a = (l1 * l1 - l2 * l2 + dist * dist) / (2 * dist)
    h = np.sqrt(max(l1 * l1 - a * a, 0.0))
    v = pole - np.dot(pole, u) * u
    if np.linalg.norm(v) < 1e-9:
        v = np.cross(u, [1.0, 0.0, 0.0])
    v = unit(v)
    mid = root + a * u + h * v
    end = mid + l2 * unit(root + dist * u - mid)
    return mid, end


def frame_yz(y_axis: Vec, z_hint: Vec) -> Mat:
    """Right-handed frame (columns x, y, z) with ``y`` exact and ``z`` as near ``z_hint`` as possible."""
    y = unit(np.asarray(y_axis, float))
    z = np.asarray(z_hint, float) - np.dot(z_hint, y) * y
    if np.linalg.norm(z) < 1e-9:
        z = np.cross([1.0, 0.0, 0.0], y) if abs(y[0]) < 0.9 else np.cross([0.0, 0.0, 1.0], y)
    z = unit(z)
    return np.column_stack([np.cross(y, z), y, z])


def build_pose(
    shape: BodyShape,
    pelvis: Vec,
    pelvis_rot: Mat,
    *,
    spine_flex: tuple[float, float] = (0.0, 0.0),
    spine_twist: float = 0.0,
    spine_side: float = 0.0,
    neck_flex: float = 0.0,
    neck_turn: float = 0.0,
    legs: tuple[Limb, Limb] = (Limb(), Limb()),
    arms: tuple[Limb, Limb] = (Limb(), Limb()),
) -> Pose:
    """Place every joint from the pelvis outwards.

    ``spine_flex`` is (lumbar, thoracic) flexion in degrees (negative = extension),
    ``spine_twist`` the axial rotation of the thorax to the left, ``spine_side`` a bend
    to the right.  ``legs``/``arms`` are (left, right).
    """
    pelvis = np.asarray(pelvis, float)
    P: dict[str, Vec] = {"pelvis": pelvis}
    F: dict[str, Mat] = {"pelvis": pelvis_rot}
    lumbar_rot = pelvis_rot @ rot_y(spine_twist / 2) @ rot_z(spine_side / 2) @ rot_x(spine_flex[0])
    P["spine"] = pelvis + lumbar_rot @ np.array([0.0, shape.lumbar, 0.0])
    thorax_rot = lumbar_rot @ rot_y(spine_twist / 2) @ rot_z(spine_side / 2) @ rot_x(spine_flex[1])
    F["lumbar"], F["thorax"] = lumbar_rot, thorax_rot
    P["neck"] = P["spine"] + thorax_rot @ np.array([0.0, shape.thoracic, 0.0])
    head_rot = thorax_rot @ rot_y(neck_turn) @ rot_x(neck_flex)
    F["head"] = head_rot
    P["head"] = P["neck"] + head_rot @ np.array([0.0, shape.neck, 0.012 * shape.height])
    for i, side in enumerate(("l", "r")):
        sign = 1.0 if side == "l" else -1.0
        # legs
        hip = pelvis + pelvis_rot @ np.array([sign * shape.hip_half, 0.0, 0.0])
        P[f"{side}_hip"] = hip
        leg = legs[i]
        if leg.target is not None:
            pole = leg.pole if leg.pole is not None else pelvis_rot[:, 2]
            knee, ankle = two_bone_ik(hip, np.asarray(leg.target, float), shape.thigh, shape.shank, pole)
            shank_dir = unit(ankle - knee)
            foot_rot = leg.end_rot if leg.end_rot is not None else frame_yz(-shank_dir, pelvis_rot[:, 2])
        else:
            base = pelvis_rot @ rot_z(sign * leg.abd)
            thigh_rot = base @ rot_x(-leg.flex)
            knee = hip + thigh_rot @ np.array([0.0, -shape.thigh, 0.0])
            shank_rot = thigh_rot @ rot_x(leg.bend)
            ankle = knee + shank_rot @ np.array([0.0, -shape.shank, 0.0])
            foot_rot = leg.end_rot if leg.end_rot is not None else shank_rot @ rot_x(leg.end)
        P[f"{side}_knee"], P[f"{side}_ankle"] = knee, ankle
        F[f"{side}_foot"] = foot_rot
        P[f"{side}_heel"] = ankle + foot_rot @ np.array([0.0, -shape.ankle_h * 0.85, -shape.heel_back])
        P[f"{side}_toe"] = ankle + foot_rot @ np.array([0.0, -shape.ankle_h * 0.75, shape.foot_fwd])
        # arms
        sh = P["neck"] + thorax_rot @ np.array([sign * shape.shoulder_half, -shape.shoulder_drop,
                                               -0.008 * shape.height])
        P[f"{side}_shoulder"] = sh
        arm = arms[i]
        if arm.target is not None:
            pole = arm.pole if arm.pole is not None else -thorax_rot[:, 2]
            elbow, wrist = two_bone_ik(sh, np.asarray(arm.target, float), shape.upper_arm, shape.forearm,
                                       pole)
            hand_rot = arm.end_rot if arm.end_rot is not None else frame_yz(elbow - wrist, thorax_rot[:, 2])
        else:
            base = thorax_rot @ rot_z(sign * arm.abd)
            upper_rot = base @ rot_x(-arm.flex)
            elbow = sh + upper_rot @ np.array([0.0, -shape.upper_arm, 0.0])
            fore_rot = upper_rot @ rot_x(-arm.bend)
            wrist = elbow + fore_rot @ np.array([0.0, -shape.forearm, 0.0])
            hand_rot = arm.end_rot if arm.end_rot is not None else fore_rot @ rot_x(arm.end)
        P[f"{side}_elbow"], P[f"{side}_wrist"] = elbow, wrist
        F[f"{side}_hand"] = hand_rot
        # hand frame: -y runs along the fingers, +z is the thumb side, the palm faces the body midline
        P[f"{side}_knuckle"] = wrist + hand_rot @ np.array([0.0, -shape.hand * 0.55, 0.0])
    return Pose(P, F, shape)


# Face and hand landmark offsets in the head/hand frames, as fractions of height.
_FACE = {
    Landmark.NOSE: (0.0, -0.012, 0.068),
    Landmark.LEFT_EYE_INNER: (0.010, 0.006, 0.052),
    Landmark.LEFT_EYE: (0.019, 0.006, 0.050),
    Landmark.LEFT_EYE_OUTER: (0.028, 0.006, 0.046),
    Landmark.LEFT_EAR: (0.045, -0.002, 0.002),
    Landmark.MOUTH_LEFT: (0.012, -0.034, 0.050),
}


def _mirror_x(v: tuple[float, float, float]) -> tuple[float, float, float]:
    return (-v[0], v[1], v[2])


def landmarks_of(pose: Pose) -> np.ndarray:
    """The 33 landmarks of ``pose`` as ``(33, 3)`` world coordinates."""
    P, F, H = pose.points, pose.frames, pose.shape.height
    out = np.zeros((NUM_LANDMARKS, 3))
    head, hrot = P["head"], F["head"]
    for lm, off in _FACE.items():
        out[lm] = head + hrot @ (np.array(off) * H)
        if lm is not Landmark.NOSE:
            mirrored = Landmark[lm.name.replace("LEFT", "RIGHT")]
            out[mirrored] = head + hrot @ (np.array(_mirror_x(off)) * H)
    for side, name in (("l", "LEFT"), ("r", "RIGHT")):
        for part, lm in (("shoulder", "SHOULDER"), ("elbow", "ELBOW"), ("wrist", "WRIST"), ("hip", "HIP"),
                         ("knee", "KNEE"), ("ankle", "ANKLE"), ("heel", "HEEL"), ("toe", "FOOT_INDEX")):
            out[Landmark[f"{name}_{lm}"]] = P[f"{side}_{part}"]
        wrist, hand = P[f"{side}_wrist"], F[f"{side}_hand"]
        sign = 1.0 if side == "l" else -1.0
        out[Landmark[f"{name}_INDEX"]] = wrist + hand @ (np.array([0.0, -0.062, 0.009]) * H)
        out[Landmark[f"{name}_PINKY"]] = wrist + hand @ (np.array([0.0, -0.052, -0.012]) * H)
        out[Landmark[f"{name}_THUMB"]] = wrist + hand @ (np.array([-sign * 0.006, -0.035, 0.018]) * H)
    return out


def lowest(pose: Pose, contacts: list[tuple[str, float]]) -> float:
    """Height of the lowest surface among ``(point name, radius)`` contacts."""
    return min(float(pose[n][1]) - r for n, r in contacts)


def settle(build: Callable[[float], Pose], group_a: list[tuple[str, float]], group_b: list[tuple[str, float]],
           lo: float, hi: float, iters: int = 28) -> tuple[float, Pose]:
    """Find the root angle in ``[lo, hi]`` at which contact groups a and b are equally low.

    Returns the angle and its pose, dropped so the contacts touch the floor (y = 0).
    """
    def diff(x: float) -> float:
        p = build(x)
        return lowest(p, group_a) - lowest(p, group_b)

    f_lo = diff(lo)
    for _ in range(iters):
        mid = (lo + hi) / 2
        f_mid = diff(mid)
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    angle = (lo + hi) / 2
    pose = build(angle)
    return angle, pose.translate(np.array([0.0, -lowest(pose, group_a + group_b), 0.0]))
