"""3D skeleton poses for the synthetic-motion generator (see ``tests/synthetic_motion.py``).

Body-local coordinates in metres: X = the person's left, Y = up, Z = the way the person
faces (standing) or the way the head points (lying).  The floor is ``y = 0``.  Every pose
function takes ``s`` (0 = start position ... 1 = far point of the rep, as in ``synth/``) and
``f``, the intensity 0..1 of each injected fault, and returns the 33 BlazePose landmarks
``(33, 3)``.  Segment lengths are those of a 1.75 m adult.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from vision.landmarks import NUM_LANDMARKS, Landmark

L = Landmark
SHANK, THIGH, TRUNK, NECK, UPPER_ARM, FOREARM = 0.43, 0.43, 0.50, 0.22, 0.30, 0.27
ARM = UPPER_ARM + FOREARM
HIP_W, SHOULDER_W, ANKLE_H = 0.095, 0.19, 0.08
X, Y, Z = np.eye(3)

Faults = Mapping[str, float]


#: Landmark index by name (an enum lookup per landmark per frame is measurably slow in the tests).
_IDX = {name: int(lm) for name, lm in L.__members__.items()}


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.cross`` of two 3-vectors, without its generic-axis overhead (same arithmetic)."""
    a0, a1, a2 = float(a[0]), float(a[1]), float(a[2])
    b0, b1, b2 = float(b[0]), float(b[1]), float(b[2])
    return np.array([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0])


def _v(x: float, y: float, z: float) -> np.ndarray:
    return np.array([x, y, z], dtype=np.float64)


def _rot(axis: np.ndarray, deg: float) -> np.ndarray:
    """Rotation matrix about a unit axis (right-handed)."""
    a = axis / np.linalg.norm(axis)
    t = math.radians(deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(t) * k + (1 - math.cos(t)) * (k @ k)


def _dir(elev_deg: float, toward: np.ndarray, up: np.ndarray = Y) -> np.ndarray:
    """Unit vector ``elev_deg`` from ``up`` towards ``toward``."""
    e = math.radians(elev_deg)
    return math.cos(e) * up + math.sin(e) * toward


def ik(root: np.ndarray, target: np.ndarray, l1: float, l2: float, pole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-bone IK: the middle joint bends towards ``pole``; an out-of-reach target is clamped."""
    d = target - root
    dist = float(np.linalg.norm(d))
    dist_c = min(max(dist, abs(l1 - l2) + 1e-6), l1 + l2 - 1e-6)
    u = d / dist
    end = root + u * dist_c
    a = (l1 * l1 - l2 * l2 + dist_c * dist_c) / (2 * dist_c)
    h = math.sqrt(max(l1 * l1 - a * a, 0.0))
    p = pole - np.dot(pole, u) * u
    p = p / (np.linalg.norm(p) or 1.0)
    return root + u * a + p * h, end


def skeleton(j: Mapping[str, np.ndarray]) -> np.ndarray:
    """All 33 landmarks from key joints: hip_l/r, knee_l/r, ankle_l/r, shoulder_l/r, elbow_l/r,
    wrist_l/r, head (centre), face (unit, where the nose points), head_up (unit); optional
    toe_dir_l/r (unit, heel->toe)."""
    out = np.zeros((NUM_LANDMARKS, 3))
    for side, s in (("l", "LEFT"), ("r", "RIGHT")):
        for part in ("HIP", "KNEE", "ANKLE", "SHOULDER", "ELBOW", "WRIST"):
            out[_IDX[f"{s}_{part}"]] = j[f"{part.lower()}_{side}"]
        toe = j.get(f"toe_dir_{side}", None)
        if toe is None:
            shin = j[f"knee_{side}"] - j[f"ankle_{side}"]
            toe = _cross(j["hip_l"] - j["hip_r"], shin)
            toe = toe / (np.linalg.norm(toe) or 1.0)
        ankle = j[f"ankle_{side}"]
        down = -(j[f"knee_{side}"] - ankle) / (np.linalg.norm(j[f"knee_{side}"] - ankle) or 1.0)
        out[_IDX[f"{s}_HEEL"]] = ankle - 0.05 * toe + 0.05 * down
        out[_IDX[f"{s}_FOOT_INDEX"]] = ankle + 0.15 * toe + 0.06 * down
        wrist, elbow = j[f"wrist_{side}"], j[f"elbow_{side}"]
        hand = (wrist - elbow) / (np.linalg.norm(wrist - elbow) or 1.0)
        out[_IDX[f"{s}_PINKY"]] = wrist + 0.07 * hand
        out[_IDX[f"{s}_INDEX"]] = wrist + 0.08 * hand
        out[_IDX[f"{s}_THUMB"]] = wrist + 0.05 * hand
    head, face, up = j["head"], j["face"], j["head_up"]
    left = _cross(up, face)
    left = left / (np.linalg.norm(left) or 1.0)
    out[L.NOSE] = head + 0.10 * face
    for side, sgn in (("LEFT", 1), ("RIGHT", -1)):
        out[_IDX[f"{side}_EAR"]] = head + sgn * 0.075 * left
        out[_IDX[f"{side}_EYE"]] = head + 0.08 * face + 0.035 * up + sgn * 0.03 * left
        out[_IDX[f"{side}_EYE_INNER"]] = head + 0.085 * face + 0.035 * up + sgn * 0.015 * left
        out[_IDX[f"{side}_EYE_OUTER"]] = head + 0.075 * face + 0.035 * up + sgn * 0.045 * left
        out[_IDX[f"MOUTH_{side}"]] = head + 0.085 * face - 0.04 * up + sgn * 0.025 * left
    return out


def _torso(pelvis: np.ndarray, trunk_dir: np.ndarray, fwd: np.ndarray, f: Faults, *, curl_deg: float = 0.0,
           twist_deg: float = 0.0, roll_deg: float = 0.0, neck_deg: float = 0.0) -> dict[str, np.ndarray]:
    """Hips, shoulders and head.  ``curl`` bends the upper half of the trunk further forward
    (rounded back); ``neck`` flexes the head towards ``fwd``; ``twist`` turns the shoulders."""
    left = _cross(trunk_dir, fwd)
    left = left / np.linalg.norm(left)
    pel_left = _rot(_cross(left, Y), roll_deg) @ left  # one hip higher than the other
    j = {"hip_l": pelvis + HIP_W * pel_left, "hip_r": pelvis - HIP_W * pel_left}
    mid = pelvis + 0.5 * TRUNK * trunk_dir
    upper = _rot(left, curl_deg) @ trunk_dir
    sh = mid + 0.5 * TRUNK * upper
    sh_left = _rot(upper, twist_deg) @ left
    j["shoulder_l"], j["shoulder_r"] = sh + SHOULDER_W * sh_left, sh - SHOULDER_W * sh_left
    neck_dir = _rot(sh_left, curl_deg * 1.2 + neck_deg) @ upper
    j["head"] = sh + NECK * neck_dir
    face = _cross(sh_left, neck_dir)
    j["face"], j["head_up"] = face / np.linalg.norm(face), neck_dir
    return j


def _arms_hanging(j: dict[str, np.ndarray], fwd: np.ndarray, forward_deg: float = 0.0) -> None:
    """Straight arms hanging from the shoulders (``forward_deg`` swings them forward)."""
    d = _dir(180.0 - forward_deg, fwd) if forward_deg else -Y
    for s in ("l", "r"):
        j[f"elbow_{s}"] = j[f"shoulder_{s}"] + UPPER_ARM * d
        j[f"wrist_{s}"] = j[f"elbow_{s}"] + FOREARM * d


def _legs_planted(knee_flex: float, shank_fwd: float, stance: float, valgus: float) -> dict[str, np.ndarray]:
    """Both feet flat at ``x = ±stance``; returns ankles, knees and hips (knees pushed in by ``valgus`` m)."""
    j: dict[str, np.ndarray] = {}
    for s, sgn in (("l", 1), ("r", -1)):
        ankle = _v(sgn * stance, ANKLE_H, 0.0)
        knee = ankle + SHANK * _dir(shank_fwd, Z) - sgn * valgus * X
        hip = knee + THIGH * _dir(-(knee_flex - shank_fwd), Z)
        hip[0] = sgn * HIP_W
        j[f"ankle_{s}"], j[f"knee_{s}"], j[f"hip_{s}"] = ankle, knee, hip
        j[f"toe_dir_{s}"] = Z
    return j


def upright(knee_flex: float, shank_fwd: float, trunk_incl: float, f: Faults, *, stance: float = 0.12,
            valgus: float = 0.0, arm_fwd: float = 0.0, twist: float = 0.0, roll: float = 0.0,
            curl: float = 0.0) -> np.ndarray:
    """A standing-family pose: feet planted, knees/hips flexed, trunk inclined forward."""
    legs = _legs_planted(knee_flex, shank_fwd, stance, valgus)
    pelvis = 0.5 * (legs["hip_l"] + legs["hip_r"])
    j = _torso(pelvis, _dir(trunk_incl, Z), Z, f, curl_deg=curl, twist_deg=twist, roll_deg=roll,
               neck_deg=-0.35 * trunk_incl)
    j.update({k: v for k, v in legs.items() if not k.startswith("hip")})
    _arms_hanging(j, Z, arm_fwd)
    return skeleton(j)


# --------------------------------------------------------------------------- exercises (standing)
def squat(s: float, f: Faults, side: int = 1) -> np.ndarray:
    rom = s * (1.0 - 0.5 * f.get("too_shallow", 0.0))
    knee = 110.0 * rom
    shank = 32.0 * rom + 20.0 * f.get("knee_over_toes", 0.0) * rom
    trunk = 8.0 + 32.0 * rom
    return upright(knee, shank, trunk, f, valgus=0.09 * f.get("knee_valgus", 0.0) * rom, arm_fwd=70.0 * rom,
                   curl=45.0 * f.get("rounded_back", 0.0) * rom)


def floor_lift(s: float, f: Faults, side: int = 1) -> np.ndarray:
    """s = 0 at the box on the floor, 1 standing with it (squat style; ``stoop_lift`` keeps knees straight)."""
    low = 1.0 - s
    stoop = f.get("stoop_lift", 0.0)
    knee = low * (105.0 * (1 - stoop) + 18.0 * stoop)
    shank = low * (30.0 * (1 - stoop) - 12.0 * stoop)
    trunk = low * (48.0 * (1 - stoop) + 88.0 * stoop)
    tw = 28.0 * f.get("twisting", 0.0) * min(1.0, 2.5 * low)
    return upright(knee, shank, trunk, f, stance=0.16, valgus=0.09 * f.get("knee_valgus", 0.0) * low,
                   arm_fwd=40.0 * f.get("load_far", 0.0) * min(1.0, 3.0 * low),
                   twist=tw, roll=0.3 * tw, curl=40.0 * f.get("rounded_back", 0.0) * low)


def hip_hinge(s: float, f: Faults, side: int = 1) -> np.ndarray:
    rom = s * (1.0 - 0.55 * f.get("too_shallow", 0.0))
    return upright(18.0 * rom, -8.0 * rom, 5.0 + 65.0 * rom, f, arm_fwd=45.0 * f.get("load_far", 0.0) * rom,
                   curl=40.0 * f.get("rounded_back", 0.0) * rom)


def standing(s: float, f: Faults, side: int = 1) -> np.ndarray:
    """Standing still; ``s`` swings one arm forward and up (a bystander gesturing)."""
    p = upright(3.0, 1.0, 3.0, {})
    sh = p[L.LEFT_SHOULDER]
    d = _dir(180.0 - 150.0 * s, Z)
    p[L.LEFT_ELBOW] = sh + UPPER_ARM * d
    p[L.LEFT_WRIST] = p[L.LEFT_ELBOW] + FOREARM * d
    for lm in (L.LEFT_PINKY, L.LEFT_INDEX, L.LEFT_THUMB):
        p[lm] = p[L.LEFT_WRIST] + 0.07 * d
    return p


def lunge(s: float, f: Faults, side: int = 1) -> np.ndarray:
    """Split squat, left foot in front (``side = -1``: right foot in front)."""
    rom = s * (1.0 - 0.6 * f.get("too_shallow", 0.0))
    front, back = (("l", 1), ("r", -1)) if side > 0 else (("r", -1), ("l", 1))
    ank_f = _v(front[1] * 0.12, ANKLE_H, 0.38)
    ank_b = _v(back[1] * 0.12, ANKLE_H + 0.06, -0.40)
    top = math.sqrt((THIGH + SHANK) ** 2 - 0.39**2) + ANKLE_H - 0.02
    hip_y = top - 0.32 * rom
    pelvis = _v(0.0, hip_y, -0.02 - 0.06 * rom + 0.25 * f.get("knee_over_toes", 0.0) * rom)
    tw = 28.0 * f.get("twisting", 0.0) * rom
    j = _torso(pelvis, _dir(5.0, Z), Z, f, twist_deg=tw, roll_deg=0.3 * tw)
    fwd_knee = Z - front[1] * 0.45 * f.get("knee_valgus", 0.0) * X
    j[f"knee_{front[0]}"], j[f"ankle_{front[0]}"] = ik(j[f"hip_{front[0]}"], ank_f, THIGH, SHANK, fwd_knee)
    j[f"knee_{back[0]}"], j[f"ankle_{back[0]}"] = ik(j[f"hip_{back[0]}"], ank_b, THIGH, SHANK, Z - 0.3 * Y)
    j[f"toe_dir_{front[0]}"] = j[f"toe_dir_{back[0]}"] = Z
    _arms_hanging(j, Z)
    return skeleton(j)


# --------------------------------------------------------------------------- lying / supported
def _prone_line(sh_h: float, f: Faults, *, sag: float = 0.0, neck: float = 0.0) -> dict[str, np.ndarray]:
    """Toes on the floor at z = 0, body in a line up to shoulders at height ``sh_h``; ``sag`` (m, + down)."""
    ankle_c = _v(0.0, ANKLE_H + 0.02, 0.05)
    body = THIGH + SHANK + TRUNK
    rise = sh_h - ankle_c[1]
    run = math.sqrt(max(body * body - rise * rise, 0.01))
    sh_c = ankle_c + _v(0.0, rise, run)
    axis = (sh_c - ankle_c) / body
    pelvis = ankle_c + (THIGH + SHANK) * axis - sag * Y
    j = _torso(pelvis, (sh_c - pelvis) / np.linalg.norm(sh_c - pelvis), -Y, f, neck_deg=neck)
    for s, sgn in (("l", 1), ("r", -1)):
        ank = ankle_c + _v(sgn * 0.10, 0.0, 0.0)
        j[f"knee_{s}"] = 0.5 * (j[f"hip_{s}"] + ank) - 0.3 * sag * Y
        j[f"ankle_{s}"] = ank
        j[f"toe_dir_{s}"] = -Y * 0.8 - Z * 0.6
    return j


def push_up(s: float, f: Faults, side: int = 1) -> np.ndarray:
    rom = s * (1.0 - 0.55 * f.get("too_shallow", 0.0))
    sh_h = 0.60 - 0.42 * rom
    sag = 0.10 * f.get("hips_sagging", 0.0) - 0.16 * f.get("hips_piking", 0.0)
    j = _prone_line(sh_h, f, sag=sag, neck=45.0 * f.get("head_drop", 0.0))
    for sd, sgn in (("l", 1), ("r", -1)):
        wrist = _v(sgn * 0.24, 0.03, j["shoulder_l"][2] - 0.02)
        j[f"elbow_{sd}"], j[f"wrist_{sd}"] = ik(j[f"shoulder_{sd}"], wrist, UPPER_ARM, FOREARM,
                                                 -Z + sgn * 0.8 * X)
    return skeleton(j)


def plank(s: float, f: Faults, side: int = 1) -> np.ndarray:
    sag = 0.10 * f.get("hips_sagging", 0.0) - 0.16 * f.get("hips_piking", 0.0)
    j = _prone_line(UPPER_ARM + 0.06, f, sag=sag, neck=45.0 * f.get("head_drop", 0.0))
    for sd, sgn in (("l", 1), ("r", -1)):
        j[f"elbow_{sd}"] = _v(sgn * 0.16, 0.05, j["shoulder_l"][2])
        j[f"wrist_{sd}"] = j[f"elbow_{sd}"] + _v(-sgn * 0.05, 0.0, FOREARM - 0.02)
    return skeleton(j)


def side_plank(s: float, f: Faults, side: int = 1) -> np.ndarray:
    """A plank pose turned onto its left side: the chest faces +Z (the camera in a front view)."""
    straight = _prone_line(UPPER_ARM + 0.06, {}, sag=0.0)
    pts = skeleton({**straight, "elbow_l": straight["shoulder_l"] - 0.3 * Y, "wrist_l": straight["shoulder_l"]
                    - 0.3 * Y + 0.27 * Z, "elbow_r": straight["shoulder_r"] - 0.3 * Y,
                    "wrist_r": straight["shoulder_r"] - 0.3 * Y + 0.27 * Z})
    # roll the body 90 degrees about its long axis so its left side is down, then lay its axis along X
    axis_dir = straight["head"] - straight["ankle_l"]
    pts = pts @ _rot(axis_dir, 90.0).T
    pts = pts @ _rot(Y, -90.0).T
    pts -= _v(0.0, pts[:, 1].min(), 0.0)
    sag = 0.10 * f.get("hips_sagging", 0.0) - 0.14 * f.get("hips_piking", 0.0)
    for lm in (L.LEFT_HIP, L.RIGHT_HIP):
        pts[lm, 1] -= sag
    for lm in (L.LEFT_KNEE, L.RIGHT_KNEE):
        pts[lm, 1] -= 0.5 * sag
    tw = 30.0 * f.get("twisting", 0.0)
    if tw:
        axis = pts[L.LEFT_SHOULDER] - pts[L.LEFT_HIP]
        c = 0.5 * (pts[L.LEFT_SHOULDER] + pts[L.RIGHT_SHOULDER])
        R = _rot(axis, tw)
        for lm in (L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST):
            pts[lm] = c + R @ (pts[lm] - c)
    return pts


def glute_bridge(s: float, f: Faults, side: int = 1) -> np.ndarray:
    rom = s * (1.0 - 0.6 * f.get("too_shallow", 0.0))
    sh_c = _v(0.0, 0.10, 0.60)
    theta = 34.0 * rom
    pelvis = sh_c + TRUNK * _v(0.0, math.sin(math.radians(theta)), -math.cos(math.radians(theta)))
    tdir = (sh_c - pelvis) / TRUNK
    roll = 22.0 * f.get("twisting", 0.0) * rom
    j = _torso(pelvis, tdir, Y, f, roll_deg=roll, twist_deg=0.5 * roll)
    for sd, sgn in (("l", 1), ("r", -1)):
        ank = _v(sgn * 0.14, ANKLE_H, -0.32)
        j[f"knee_{sd}"], j[f"ankle_{sd}"] = ik(j[f"hip_{sd}"], ank, THIGH, SHANK, Y + 0.3 * Z)
        j[f"toe_dir_{sd}"] = -Z
        j[f"elbow_{sd}"] = j[f"shoulder_{sd}"] + _v(sgn * 0.05, -0.05, -UPPER_ARM)
        j[f"wrist_{sd}"] = j[f"elbow_{sd}"] + _v(0.0, 0.0, -FOREARM)
    return skeleton(j)


def _reach_pose(arm_deg: float, leg_deg: float, base: dict[str, np.ndarray], arm_side: str, leg_side: str,
                arm_axis: np.ndarray, leg_axis: np.ndarray, arm_rest: np.ndarray, leg_rest: np.ndarray) -> None:
    """Swing one straight arm and one straightening leg from their rest directions by the given angles."""
    sh = base[f"shoulder_{arm_side}"]
    d = _rot(arm_axis, arm_deg) @ arm_rest
    base[f"elbow_{arm_side}"], base[f"wrist_{arm_side}"] = sh + UPPER_ARM * d, sh + ARM * d
    hip = base[f"hip_{leg_side}"]
    thigh = _rot(leg_axis, leg_deg) @ leg_rest
    knee = hip + THIGH * thigh
    base[f"knee_{leg_side}"] = knee
    ext = min(1.0, leg_deg / 80.0)
    shank_rest = base[f"ankle_{leg_side}"] - base[f"knee_{leg_side}"]
    shank_rest = shank_rest / (np.linalg.norm(shank_rest) or 1.0) if np.linalg.norm(shank_rest) else thigh
    shank = (1 - ext) * shank_rest + ext * thigh
    base[f"ankle_{leg_side}"] = knee + SHANK * shank / np.linalg.norm(shank)


def bird_dog(s: float, f: Faults, side: int = 1) -> np.ndarray:
    rom = s * (1.0 - 0.6 * f.get("too_shallow", 0.0))
    pelvis = _v(0.0, 0.50 + ANKLE_H - 0.03, 0.0) - 0.13 * f.get("hips_sagging", 0.0) * rom * Y
    sh_c = _v(0.0, UPPER_ARM + FOREARM + 0.03, TRUNK * 0.98)
    tdir = (sh_c - pelvis) / np.linalg.norm(sh_c - pelvis)
    tw = 22.0 * f.get("twisting", 0.0) * rom
    j = _torso(pelvis, tdir, -Y, f, roll_deg=tw,
               neck_deg=45.0 * f.get("head_drop", 0.0))
    for sd, _sgn in (("l", 1), ("r", -1)):
        j[f"knee_{sd}"] = j[f"hip_{sd}"] - (j[f"hip_{sd}"][1] - 0.05) * Y
        j[f"ankle_{sd}"] = j[f"knee_{sd}"] + _v(0.0, 0.02, -SHANK)
        j[f"elbow_{sd}"] = j[f"shoulder_{sd}"] - UPPER_ARM * Y
        j[f"wrist_{sd}"] = j[f"shoulder_{sd}"] - ARM * Y
        j[f"toe_dir_{sd}"] = -Z
    arm, leg = ("l", "r") if side > 0 else ("r", "l")
    _reach_pose(-88.0 * rom, 88.0 * rom, j, arm, leg, X, X, -Y, -Y)
    sag = 0.13 * f.get("hips_sagging", 0.0) * rom  # the reaching leg stays up while the hips drop
    j[f"knee_{leg}"] = j[f"knee_{leg}"] + 0.5 * sag * Y
    j[f"ankle_{leg}"] = j[f"ankle_{leg}"] + sag * Y
    return skeleton(j)


def dead_bug(s: float, f: Faults, side: int = 1) -> np.ndarray:
    rom = s * (1.0 - 0.6 * f.get("too_shallow", 0.0))
    pelvis = _v(0.0, 0.10, 0.0)
    tw = 20.0 * f.get("twisting", 0.0) * rom
    j = _torso(pelvis, Z, Y, f, roll_deg=tw)
    for sd, _sgn in (("l", 1), ("r", -1)):
        j[f"knee_{sd}"] = j[f"hip_{sd}"] + THIGH * Y
        j[f"ankle_{sd}"] = j[f"knee_{sd}"] - SHANK * Z
        j[f"elbow_{sd}"] = j[f"shoulder_{sd}"] + UPPER_ARM * Y
        j[f"wrist_{sd}"] = j[f"shoulder_{sd}"] + ARM * Y
        j[f"toe_dir_{sd}"] = -Z
    arm, leg = ("l", "r") if side > 0 else ("r", "l")
    _reach_pose(80.0 * rom, -72.0 * rom, j, arm, leg, X, X, Y, Y)
    return skeleton(j)


def superman(s: float, f: Faults, side: int = 1) -> np.ndarray:
    rom = s * (1.0 - 0.6 * f.get("too_shallow", 0.0))
    pelvis = _v(0.0, 0.12, 0.0)
    chest = 14.0 * rom
    j = _torso(pelvis, _dir(90.0 - chest, Z), -Y, f)
    legs = 10.0 * rom
    for sd, _sgn in (("l", 1), ("r", -1)):
        d = -_dir(86.0 + legs, Z)
        j[f"knee_{sd}"] = j[f"hip_{sd}"] + THIGH * d
        j[f"ankle_{sd}"] = j[f"knee_{sd}"] + SHANK * d
        j[f"toe_dir_{sd}"] = -Y
        a = _dir(98.0 - chest - 22.0 * rom, Z)  # arms forward, hands resting on the floor
        j[f"elbow_{sd}"] = j[f"shoulder_{sd}"] + UPPER_ARM * a
        j[f"wrist_{sd}"] = j[f"shoulder_{sd}"] + ARM * a
    return skeleton(j)


POSES: dict[str, Callable[[float, Faults, int], np.ndarray]] = {
    "squat": squat, "floor_lift": floor_lift, "hip_hinge": hip_hinge, "lunge": lunge, "push_up": push_up,
    "plank": plank, "side_plank": side_plank, "bird_dog": bird_dog, "glute_bridge": glute_bridge,
    "dead_bug": dead_bug, "superman": superman, "standing": standing,
}

#: Exercises that alternate sides from rep to rep.
ALTERNATING = {"bird_dog", "dead_bug", "lunge"}
