"""Standing exercises: squat, hip hinge, floor lift (box), lunge, and walking across.

Poses are built in the person's own frame (facing ``+z``, left ``+x``, feet around
the origin).  Feet stay fixed on the floor: the leg chain is laid out from the
ankle (shank angle ``a``, thigh angle ``b`` from the vertical), which fixes the
pelvis, and the knees are then placed by two-bone IK, so a valgus fault turns the
knee about the hip–ankle axis without moving hip or foot.
"""

from __future__ import annotations

import functools

import numpy as np

from synth.body import BodyShape, Limb, Pose, build_pose, frame_yz, rot_x, rot_y
from synth.motion import State, ease, reach

UP, FWD = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
TOE_OUT = 10.0


def _sagittal_hip(S: BodyShape, a_deg: float, b_deg: float) -> tuple[float, float]:
    """Hip (height, forward offset) above an ankle for shank/thigh inclinations (degrees)."""
    a, b = np.radians(a_deg), np.radians(b_deg)
    return (S.ankle_h + S.shank * np.cos(a) + S.thigh * np.cos(b), S.shank * np.sin(a) - S.thigh * np.sin(b))


def _stance(S: BodyShape, extra: float = 0.03) -> float:
    return S.hip_half + extra * S.height / 1.75


def _legs(S: BodyShape, x: float, valgus: float = 0.0, z: tuple[float, float] = (0.0, 0.0),
          ankle_y: tuple[float, float] | None = None, feet: tuple[np.ndarray, np.ndarray] | None = None,
          poles: tuple[float, float] = (TOE_OUT, TOE_OUT)) -> tuple[Limb, Limb]:
    """IK legs to fixed ankles; ``valgus`` (deg) turns both knees towards the midline."""
    out = []
    for i, sign in enumerate((1.0, -1.0)):
        ay = S.ankle_h if ankle_y is None else ankle_y[i]
        target = np.array([sign * x, ay, z[i]])
        pole = rot_y(sign * (poles[i] - valgus)) @ FWD
        foot = feet[i] if feet is not None else rot_y(sign * TOE_OUT)
        out.append(Limb(target=target, pole=pole, end_rot=foot))
    return out[0], out[1]


def _arms_fk(flex: float, abd: float = 8.0, bend: float = 10.0) -> tuple[Limb, Limb]:
    return Limb(flex=flex, abd=abd, bend=bend), Limb(flex=flex, abd=abd, bend=bend)


def squat(S: BodyShape, st: State, opts: dict) -> Pose:
    """Bodyweight squat, arms raised forward as a counterweight."""
    u = reach(st, opts)
    kot, rb = st.level("knee_over_toes"), st.level("rounded_back")
    a = u * (30 + 20 * kot)
    b = u * (86 - 14 * kot)
    trunk = u * (40 - 12 * kot)
    hy, hz = _sagittal_hip(S, a, b)
    tilt = trunk * 0.75 - 18 * rb * u
    flex = trunk - tilt
    spine = (flex * 0.55 + 18 * rb * u, flex * 0.45 + 22 * rb * u)
    world_arm = 12 + 78 * ease(st.s)
    total = tilt + spine[0] + spine[1]
    return build_pose(S, np.array([0.0, hy, hz]), rot_x(tilt), spine_flex=spine, neck_flex=-0.55 * total,
                      legs=_legs(S, _stance(S, 0.05), valgus=14 * st.level("knee_valgus") * u),
                      arms=_arms_fk(world_arm + total, abd=6, bend=8))


def hip_hinge(S: BodyShape, st: State, opts: dict) -> Pose:
    """Hip hinge (good-morning / Romanian-deadlift pattern) with soft knees, arms hanging."""
    u = reach(st, opts)
    rb, far = st.level("rounded_back"), st.level("load_far")
    a, b = 4 * u, 20 * u
    hy, hz = _sagittal_hip(S, a, b)
    trunk = 72 * u
    tilt = trunk * 0.88 - 25 * rb * u
    flex = trunk - tilt
    spine = (flex * 0.5 + 20 * rb * u, flex * 0.5 + 25 * rb * u)
    total = tilt + spine[0] + spine[1]
    arm_world = 4 + 32 * far * u
    return build_pose(S, np.array([0.0, hy, hz]), rot_x(tilt), spine_flex=spine, neck_flex=-0.45 * total,
                      legs=_legs(S, _stance(S, 0.03)), arms=_arms_fk(arm_world + total, abd=4, bend=4))


# --------------------------------------------------------------------------- floor lift
BOX_HALF_H, BOX_HALF_D = 0.13, 0.16


def _lift_posture(S: BodyShape, u: float, st: State) -> tuple[float, float, float, float, tuple[float, float]]:
    """(shank, thigh, pelvis tilt, arm angle, spine flex) at lift depth ``u`` (0 standing … 1 deep)."""
    stoop, rb, far = st.level("stoop_lift"), st.level("rounded_back"), st.level("load_far")
    a = u * (32 * (1 - stoop) + 4 * stoop)
    b = u * (90 * (1 - stoop) + 20 * stoop)
    trunk = u * (46 * (1 - stoop) + 88 * stoop + 10 * far)
    tilt = trunk * (0.8 - 0.2 * stoop) - 20 * rb * u
    flex = trunk - tilt
    spine = (flex * 0.5 + 20 * rb * u, flex * 0.5 + 25 * rb * u)
    return a, b, tilt, 3 + 30 * far, spine


def _lift_frame(S: BodyShape, u: float, st: State, twist: float,
                targets: tuple[np.ndarray, np.ndarray] | None = None) -> Pose:
    """Lift posture at depth ``u``; arms hang to the box unless wrist ``targets`` are given."""
    a, b, tilt, arm_world, spine = _lift_posture(S, u, st)
    hy, hz = _sagittal_hip(S, a, b)
    pelvis_rot = rot_y(0.3 * twist) @ rot_x(tilt)
    bare = build_pose(S, np.array([0.0, hy, hz]), pelvis_rot, spine_flex=spine, spine_twist=0.7 * twist)
    arms = [_hang(bare, side, arm_world, S) for side in ("l", "r")]
    if targets is not None:
        arms = [Limb(target=t, pole=a.pole, end_rot=a.end_rot) for t, a in zip(targets, arms, strict=True)]
    total = tilt + spine[0] + spine[1]
    return build_pose(
        S, np.array([0.0, hy, hz]), pelvis_rot, spine_flex=spine, spine_twist=0.7 * twist,
        neck_flex=-0.5 * total, legs=_legs(S, _stance(S, 0.07), valgus=22 * st.level("knee_valgus") * u,
                                           poles=(TOE_OUT + 12, TOE_OUT + 12)),
        arms=(arms[0], arms[1]))


def _hang(bare: Pose, side: str, arm_world: float, S: BodyShape) -> Limb:
    """An almost straight arm hanging ``arm_world`` degrees forward of vertical, palms to the box."""
    sh = bare[f"{side}_shoulder"]
    d = rot_x(-arm_world) @ np.array([0.0, -1.0, 0.0])
    target = sh + d * S.arm * 0.97
    sign = 1.0 if side == "l" else -1.0
    hand = frame_yz(-d, np.array([-sign, 0.0, 0.3]))
    return Limb(target=target, pole=np.array([sign * 0.4, 0.3, -1.0]), end_rot=hand)


def _lift_depth(S: BodyShape, st: State) -> float:
    """Depth ``u`` at which the hanging hands reach the box's grip height (cached per fault mix)."""
    levels = tuple(st.level(c) for c in ("stoop_lift", "rounded_back", "load_far", "knee_valgus"))
    return _lift_depth_at(S, levels)


@functools.lru_cache(maxsize=256)
def _lift_depth_at(S: BodyShape, levels: tuple[float, float, float, float]) -> float:
    st = State(0.0, "rest", 0.0, 0, 0, 1, dict(zip(("stoop_lift", "rounded_back", "load_far", "knee_valgus"),
                                                     levels, strict=True)))
    lo, hi = 0.0, 1.4
    for _ in range(30):
        mid = (lo + hi) / 2
        p = _lift_frame(S, mid, st, 0.0)
        grip = (p["l_wrist"][1] + p["r_wrist"][1]) / 2
        lo, hi = (mid, hi) if grip > BOX_HALF_H else (lo, mid)
    return (lo + hi) / 2


def floor_lift(S: BodyShape, st: State, opts: dict) -> Pose:
    """Box lift: floor → standing → floor with the box held between the hands.

    ``st.s`` is 0 with the box on the floor and 1 standing upright holding it; during
    set-up (``st.setup`` 0 → 1) the person bends from standing, empty-handed, to the box.
    """
    u_floor = _lift_depth(S, st)
    twist = 28 * st.level("twisting") * float(np.sin(np.pi / 2 * np.clip(st.s, 0, 1)))
    if st.phase in ("setup", "finish"):
        grip_pose = _lift_frame(S, u_floor, st, 0.0)
        pose = _lift_frame(S, u_floor * st.setup, st, 0.0)
        if st.setup < 0.999:  # hands travel from hanging at the sides to the box
            k = float(ease(st.setup))
            free = [pose[f"{sd}_shoulder"] + np.array([sg * 0.05, -S.arm * 0.97, 0.02])
                    for sd, sg in (("l", 1.0), ("r", -1.0))]
            targets = [(1 - k) * f + k * grip_pose[f"{sd}_wrist"] for f, sd in zip(free, "lr", strict=True)]
            pose = _lift_frame(S, u_floor * st.setup, st, 0.0, (targets[0], targets[1]))
        pose.props["box"] = _box_at(grip_pose, S)
        return pose
    pose = _lift_frame(S, u_floor * (1 - float(np.clip(st.s, 0, 1.05))), st, twist)
    pose.props["box"] = _box_at(pose, S)
    return pose


def _box_at(pose: Pose, S: BodyShape) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """The box between the wrists, level, its label facing forward."""
    lw, rw = pose["l_wrist"], pose["r_wrist"]
    across = lw - rw
    half_w = S.shoulder_half - 0.03 * S.height / 1.75  # a rigid box as wide as the hands hang apart
    centre = (lw + rw) / 2
    frame = frame_yz(UP, np.cross(across, UP))
    return centre, frame, (half_w, BOX_HALF_H, BOX_HALF_D)


# --------------------------------------------------------------------------- lunge
def lunge(S: BodyShape, st: State, opts: dict) -> Pose:
    """Static split-stance lunge; ``opts['side']`` ("left"/"right") is the front leg."""
    front = 0 if opts.get("side", "left") == "left" else 1
    u = reach(st, opts)
    stride = 0.44 * S.height
    x = _stance(S, 0.0)
    pitch = 38 + 14 * u  # back foot on its toes
    back_ankle_y = 0.75 * S.ankle_h * np.cos(np.radians(pitch)) + S.foot_fwd * np.sin(np.radians(pitch)) + 0.01
    zs = [stride / 2 if i == front else -stride / 2 for i in range(2)]
    ys = [S.ankle_h if i == front else back_ankle_y for i in range(2)]
    feet = [rot_y((1 if i == 0 else -1) * 6) if i == front else rot_x(pitch) for i in range(2)]
    fwd_shift = (0.06 + 0.16 * st.level("knee_over_toes")) * u * S.height / 1.75
    pz = -0.02 + fwd_shift
    top = min(y + np.sqrt(max((S.thigh + S.shank) ** 2 * 0.97 - (z - pz) ** 2, 0.0)) for y, z in zip(ys, zs,
                                                                                                      strict=True))
    bottom = _lunge_bottom(S, x, ys, zs, pz, front, feet)
    hy = top + (bottom - top) * u
    valg = [14 * st.level("knee_valgus") * u if i == front else 0.0 for i in range(2)]
    legs = []
    for i, sign in enumerate((1.0, -1.0)):
        pole = rot_y(sign * (TOE_OUT - valg[i])) @ FWD
        legs.append(Limb(target=np.array([sign * x, ys[i], zs[i]]), pole=pole, end_rot=feet[i]))
    twist = 25 * st.level("twisting") * u * (1 if front == 0 else -1)
    return build_pose(S, np.array([0.0, hy, pz]), rot_x(4 * u), spine_flex=(2 * u, 2 * u), spine_twist=twist,
                      neck_flex=-4 * u, legs=(legs[0], legs[1]), arms=_arms_fk(0, abd=12, bend=14))


def _lunge_bottom(S: BodyShape, x: float, ys: list[float], zs: list[float], pz: float, front: int,
                  feet: list[np.ndarray]) -> float:
    """Pelvis height at which the back knee is 0.1 m above the floor."""
    lo, hi = S.ankle_h + 0.2, S.standing_hip_y
    back = 1 - front
    for _ in range(30):
        mid = (lo + hi) / 2
        legs = [Limb(target=np.array([(1 if i == 0 else -1) * x, ys[i], zs[i]]), pole=FWD, end_rot=feet[i])
                for i in range(2)]
        p = build_pose(S, np.array([0.0, mid, pz]), np.eye(3), legs=(legs[0], legs[1]))
        knee_y = p["l_knee" if back == 0 else "r_knee"][1]
        lo, hi = (lo, mid) if knee_y > 0.1 + S.r("knee") else (mid, hi)
    return (lo + hi) / 2


# --------------------------------------------------------------------------- walking (crossing people)
def walk(S: BodyShape, st: State, opts: dict) -> Pose:
    """A simple walk cycle along ``+z`` at ``opts['speed']`` m/s (for people crossing a group scene)."""
    speed = opts.get("speed", 1.1)
    cadence = speed / (0.75 * S.height / 1.75)  # strides per second
    ph = 2 * np.pi * cadence * st.t
    swing = [np.sin(ph), np.sin(ph + np.pi)]
    legs = tuple(Limb(flex=22 * w, bend=8 + 30 * max(0.0, np.sin(ph + k * np.pi + 1.2)), end=-5 * w)
                 for k, w in enumerate(swing))
    arms = tuple(Limb(flex=-18 * w, abd=6, bend=15) for w in swing)
    hy = S.standing_hip_y * 0.985 + 0.012 * np.cos(2 * ph)
    return build_pose(S, np.array([0.0, hy, speed * st.t]), rot_x(3), legs=legs, arms=arms)  # type: ignore[arg-type]
