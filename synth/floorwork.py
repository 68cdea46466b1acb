"""Exercises on the floor: push-up, plank, side plank, bird-dog, glute bridge, dead bug, superman.

The person's frame has the head towards ``+z``.  Poses are built with joint angles
from the pelvis and then *settled*: the root pitch (or roll, for the side plank) is
solved so that both supports touch the floor (forearms and toes, hands and knees…),
and the body is dropped onto it.  Hands that bear weight are placed by IK on fixed
floor points so they do not slide.
"""

from __future__ import annotations

import numpy as np

from synth.body import BodyShape, Limb, Pose, build_pose, frame_yz, rot_x, rot_y, rot_z, settle
from synth.motion import State, reach

PRONE = rot_x(90)
SUPINE = rot_x(90) @ rot_y(180)
RIGHT_SIDE_DOWN = rot_x(90) @ rot_y(90)
ORIGIN = np.zeros(3)


def _flat_hand(sign: float, fingers: np.ndarray) -> np.ndarray:
    """Hand frame lying palm-down with the fingers along ``fingers`` (sign +1 left, -1 right hand)."""
    y = -np.asarray(fingers, float)
    return frame_yz(y, np.cross(y, [0.0, sign, 0.0]) * -1.0)


def _breath(t: float, amp: float = 1.0) -> float:
    return amp * float(np.sin(2 * np.pi * t / 3.7))


def _anchor(pose: Pose, name: str, xz: tuple[float, float] = (0.0, 0.0)) -> Pose:
    """Shift horizontally so that point ``name`` sits at ``xz``."""
    p = pose[name]
    return pose.translate(np.array([xz[0] - p[0], 0.0, xz[1] - p[2]]))


def _toe_anchor(pose: Pose) -> Pose:
    mid = (pose["l_toe"] + pose["r_toe"]) / 2
    return pose.translate(np.array([-mid[0], 0.0, -mid[2]]))


# --------------------------------------------------------------------------- push-up
def push_up(S: BodyShape, st: State, opts: dict) -> Pose:
    """Push-up on the hands and toes; ``s`` 0 = arms straight (top), 1 = chest near the floor.

    The hands rest a little wider than the shoulders and under the upper chest, so the
    elbows bend to about 60° (included angle) at the bottom.
    """
    u = reach(st, opts)
    k = S.height / 1.75
    hand_y, out, back = 0.028 * k, 0.12 * k, 0.08 * k
    reach_len = S.arm * 0.995  # elbows ~168° at the top
    nominal = State(0.0, "rest", 0.0, 0, 0, 1)
    th0, d0 = _push_solve(S, nominal, hand_y + reach_len)
    top = _push_build(S, nominal, th0).translate(d0)
    hands = [np.array([top[f"{sd}_shoulder"][0] + sg * out, hand_y, top[f"{sd}_shoulder"][2] - back])
             for sd, sg in (("l", 1.0), ("r", -1.0))]
    h_top = hand_y + float(np.sqrt(reach_len ** 2 - out ** 2 - back ** 2))
    for _ in range(2):  # lower shoulders sit further forward: refine the arms-straight height
        th, d = _push_solve(S, nominal, h_top)
        sh = _push_build(S, nominal, th).translate(d)["l_shoulder"]
        horiz = float(np.hypot(sh[0] - hands[0][0], sh[2] - hands[0][2]))
        h_top = hand_y + float(np.sqrt(max(reach_len ** 2 - horiz ** 2, 0.01)))
    h_bottom = S.r("chest_z") + 0.1 * k  # chest about a hand's breadth above the floor
    theta, delta = _push_solve(S, st, h_top + (h_bottom - h_top) * u)
    arms = tuple(Limb(target=h - delta, pole=np.array([sg * 0.8, 0.1, -1.0]), end_rot=_flat_hand(sg, [0, 0, 1.0]))
                 for h, sg in zip(hands, (1.0, -1.0), strict=True))
    return _push_build(S, st, theta, arms).translate(delta)  # type: ignore[arg-type]


def _push_build(S: BodyShape, st: State, theta: float, arms: tuple[Limb, Limb] | None = None) -> Pose:
    sag, pike, hd = st.level("hips_sagging"), st.level("hips_piking"), st.level("head_drop")
    hip = 30 * pike - 14 * sag
    return build_pose(S, ORIGIN, rot_x(theta), spine_flex=(-12 * sag + 6 * pike, 0.0), neck_flex=-16 + 60 * hd,
                      legs=(Limb(flex=hip, abd=3), Limb(flex=hip, abd=3)),
                      arms=arms or (Limb(flex=90), Limb(flex=90)))


def _push_solve(S: BodyShape, st: State, shoulder_h: float) -> tuple[float, np.ndarray]:
    """Root pitch putting the shoulders ``shoulder_h`` above the floor with the toes on it, and the shift."""
    def rise(theta: float) -> tuple[float, float, Pose]:
        p = _push_build(S, st, theta)
        toe = min(p["l_toe"][1], p["r_toe"][1]) - 0.012
        return (p["l_shoulder"][1] + p["r_shoulder"][1]) / 2 - toe, toe, p

    lo, hi = 30.0, 100.0
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if rise(mid)[0] > shoulder_h else (lo, mid)
    theta = (lo + hi) / 2
    _, toe, p = rise(theta)
    mid_toe = (p["l_toe"] + p["r_toe"]) / 2
    return theta, np.array([-mid_toe[0], -toe, -mid_toe[2]])


# --------------------------------------------------------------------------- plank and side plank
def plank(S: BodyShape, st: State, opts: dict) -> Pose:
    """Forearm plank hold."""
    sag, pike, hd = st.level("hips_sagging"), st.level("hips_piking"), st.level("head_drop")
    hip = 30 * pike - 14 * sag + _breath(st.t, 0.6)
    spine = (-12 * sag + 6 * pike + _breath(st.t, 0.8), 0.0)

    def build(theta: float) -> Pose:
        return build_pose(S, ORIGIN, rot_x(theta), spine_flex=spine, neck_flex=-14 + 60 * hd,
                          legs=(Limb(flex=hip, abd=3), Limb(flex=hip, abd=3)),
                          arms=(Limb(flex=88, abd=4, bend=92, end=-10), Limb(flex=88, abd=4, bend=92, end=-10)))

    forearms = [("l_elbow", S.r("elbow")), ("r_elbow", S.r("elbow")), ("l_wrist", S.r("wrist")),
                ("r_wrist", S.r("wrist"))]
    toes = [("l_toe", 0.012), ("r_toe", 0.012)]
    _, pose = settle(build, forearms, toes, 50.0, 120.0)
    return _toe_anchor(pose)


def side_plank(S: BodyShape, st: State, opts: dict) -> Pose:
    """Side plank on the right forearm (belly towards ``+x``), left arm raised."""
    sag, pike, tw = st.level("hips_sagging"), st.level("hips_piking"), st.level("twisting")
    legs = (Limb(flex=30 * pike, abd=12 * sag), Limb(flex=30 * pike, abd=-12 * sag))
    arms = (Limb(abd=88, bend=5), Limb(abd=88, bend=90, end=-5))

    def build(tau: float) -> Pose:
        return build_pose(S, ORIGIN, RIGHT_SIDE_DOWN @ rot_z(tau), spine_side=-10 * sag + _breath(st.t, 0.6),
                          spine_flex=(6 * pike, 0.0), spine_twist=25 * tw, neck_flex=-3, legs=legs, arms=arms)

    support = [("r_elbow", S.r("elbow")), ("r_wrist", S.r("wrist"))]
    feet = [("r_ankle", S.r("ankle") * 1.3), ("r_heel", 0.02 * S.height), ("r_toe", 0.02 * S.height)]
    _, pose = settle(build, support, feet, -60.0, 40.0)
    return _toe_anchor(pose)


# --------------------------------------------------------------------------- bird-dog
def bird_dog(S: BodyShape, st: State, opts: dict) -> Pose:
    """On hands and knees, reach one arm forward and the opposite leg back (alternating)."""
    e = reach(st, opts)
    sag, tw, hd = st.level("hips_sagging"), st.level("twisting"), st.level("head_drop")
    arm_side = 0 if st.side > 0 else 1  # left arm with the right leg, then the other pair
    hands = [Limb(flex=88, abd=2, end=-90), Limb(flex=88, abd=2, end=-90)]  # palms flat, fingers forward
    legs = [Limb(flex=90, abd=3, bend=90, end=70), Limb(flex=90, abd=3, bend=90, end=70)]
    hands[arm_side] = Limb(flex=88 + 90 * e, abd=2, bend=4 * e, end=-90 * (1 - e))
    legs[1 - arm_side] = Limb(flex=90 - 92 * e, abd=3, bend=90 - 88 * e, end=70 - 30 * e)
    roll = 18 * tw * e * (1 if arm_side == 1 else -1)  # the lifted leg's hip hikes

    def build(theta: float) -> Pose:
        return build_pose(S, ORIGIN, rot_x(theta) @ rot_y(roll), spine_flex=(-24 * sag, -6 * sag),
                          spine_twist=-0.85 * roll, neck_flex=-16 + 58 * hd, legs=(legs[0], legs[1]),
                          arms=(hands[0], hands[1]))

    support = [("l_wrist", 0.022 * S.height / 1.75), ("r_wrist", 0.022 * S.height / 1.75)]
    knees = [("l_knee", S.r("knee")), ("r_knee", S.r("knee")), ("l_toe", 0.012), ("r_toe", 0.012)]
    _, pose = settle(build, support, knees, 50.0, 130.0)
    return _anchor(pose, "pelvis")


# --------------------------------------------------------------------------- lying on the back
def _supine_arms(S: BodyShape, neck_z: float, reach: float = 0.5) -> tuple[Limb, Limb]:
    out = []
    for sg in (1.0, -1.0):  # lying on the back the body's left is world -x
        target = np.array([-sg * (S.shoulder_half + 0.09 * S.height / 1.75), 0.025, neck_z - reach * S.height / 1.75])
        out.append(Limb(target=target, pole=np.array([-sg, 0.6, 0.0]), end_rot=_flat_hand(sg, [0, 0, -1.0])))
    return out[0], out[1]


def glute_bridge(S: BodyShape, st: State, opts: dict) -> Pose:
    """Glute bridge: shoulders and feet on the floor, hips rise until shoulder–hip–knee is straight."""
    u = reach(st, opts)
    roll = 12 * st.level("twisting") * u
    neck = np.array([0.0, S.r("chest_z") * 0.95, 0.35 * S.height / 1.75])
    top_phi = 22.0  # trunk angle at the top, where shoulder, hip and knee line up

    def root(phi: float) -> Pose:
        return build_pose(S, ORIGIN, SUPINE @ rot_x(-phi) @ rot_y(roll))

    def pelvis_for(phi: float) -> np.ndarray:
        return neck - root(phi)["neck"]

    p_top = pelvis_for(top_phi)
    knee_top = p_top + S.thigh * (p_top - neck) / np.linalg.norm(p_top - neck)
    rise = knee_top[1] - S.ankle_h
    ankle_z = knee_top[2] - np.sqrt(max(S.shank ** 2 - rise ** 2, 0.0)) * 0.97  # knee bent ~90°
    feet = frame_yz(np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0]))
    legs = tuple(Limb(target=np.array([-sg * (S.hip_half + 0.02), S.ankle_h, ankle_z]),
                      pole=np.array([-sg * 0.15, 1.0, 0.0]), end_rot=feet) for sg in (1.0, -1.0))
    phi = top_phi * u
    pelvis = pelvis_for(phi)
    arms = _supine_arms(S, neck[2])
    return build_pose(S, pelvis, SUPINE @ rot_x(-phi) @ rot_y(roll), neck_flex=6 + 8 * u,
                      legs=legs, arms=arms)  # type: ignore[arg-type]


def dead_bug(S: BodyShape, st: State, opts: dict) -> Pose:
    """Dead bug: on the back in table-top, lower one arm overhead and the opposite leg (alternating)."""
    e = reach(st, opts)
    arm_side = 0 if st.side > 0 else 1
    roll = 10 * st.level("twisting") * e * (1 if arm_side == 0 else -1)
    arms = [Limb(flex=90, abd=4, bend=3), Limb(flex=90, abd=4, bend=3)]
    legs = [Limb(flex=88, abd=4, bend=88), Limb(flex=88, abd=4, bend=88)]
    arms[arm_side] = Limb(flex=90 + 78 * e, abd=4, bend=3)
    legs[1 - arm_side] = Limb(flex=88 - 68 * e, abd=4, bend=88 - 84 * e, end=10 * e)
    pelvis = np.array([0.0, S.r("pelvis_z") * 0.95, 0.0])
    return build_pose(S, pelvis, SUPINE @ rot_y(roll), neck_flex=8, legs=(legs[0], legs[1]),
                      arms=(arms[0], arms[1]))


def superman(S: BodyShape, st: State, opts: dict) -> Pose:
    """Superman: face down, arms overhead; lift chest, arms and legs off the floor."""
    u = reach(st, opts)
    pelvis = np.array([0.0, max(S.r("pelvis_z"), S.r("chest_z")) * 0.95, 0.0])
    arms = (Limb(flex=168 + 16 * u, abd=14, bend=6), Limb(flex=168 + 16 * u, abd=14, bend=6))
    legs = (Limb(flex=-16 * u, abd=5, end=45), Limb(flex=-16 * u, abd=5, end=45))
    return build_pose(S, pelvis, PRONE @ rot_x(-2 * u), spine_flex=(-14 * u, -12 * u), neck_flex=-12 - 8 * u,
                      legs=legs, arms=arms)
