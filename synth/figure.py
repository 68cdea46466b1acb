"""Turn a :class:`~synth.body.Pose` and an :class:`Appearance` into render primitives.

The figure is about thirty parts: elliptic capsules for pelvis, abdomen, chest and
shoulders, capsules for the limbs (two per thigh and shank for a taper), ellipsoids
for the head, nose, ears and hands, flattened capsules for shoes.  The face is
painted on the head (eyes with iris, brows, lips) and hair is painted on the scalp,
with extra volume for long hair, a ponytail or a bun.  Colours are given in sRGB
0..1 and converted to linear light here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from synth.body import Pose, rot_x
from synth.render import Parts

HAIR_STYLES = ("bald", "short", "long", "ponytail", "bun")
SHIRT_STYLES = ("tshirt", "long", "tank")
BOTTOM_STYLES = ("shorts", "pants")


def lin(srgb: tuple[float, float, float] | np.ndarray) -> np.ndarray:
    """sRGB (0..1) to linear RGB."""
    return np.asarray(srgb, float) ** 2.2


@dataclass(frozen=True)
class Appearance:
    """Colours (sRGB 0..1) and clothing of one person."""

    skin: tuple[float, float, float] = (0.80, 0.62, 0.50)
    hair: tuple[float, float, float] = (0.20, 0.13, 0.08)
    hair_style: str = "short"
    eyes: tuple[float, float, float] = (0.25, 0.16, 0.10)
    shirt: tuple[float, float, float] = (0.15, 0.35, 0.65)
    shirt_style: str = "tshirt"
    bottom: tuple[float, float, float] = (0.12, 0.12, 0.14)
    bottom_style: str = "shorts"
    shoes: tuple[float, float, float] = (0.90, 0.90, 0.92)
    socks: tuple[float, float, float] = (0.95, 0.95, 0.95)

    def __post_init__(self) -> None:
        for name, allowed in (("hair_style", HAIR_STYLES), ("shirt_style", SHIRT_STYLES),
                              ("bottom_style", BOTTOM_STYLES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"Appearance.{name} must be one of {allowed}, got {getattr(self, name)!r}")

    def to_json(self) -> dict:
        """Plain-data description for the ground truth."""
        return {k: (list(np.round(v, 3)) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def _head_painter(app: Appearance):
    skin, hair, iris = lin(app.skin), lin(app.hair), lin(app.eyes)
    white, pupil = lin((0.93, 0.93, 0.90)), lin((0.03, 0.03, 0.03))
    brow = lin(np.asarray(app.hair) * 0.6 + 0.02) if app.hair_style != "bald" else lin(np.asarray(app.skin) * 0.45)
    lips = lin(np.asarray(app.skin) * np.array([0.78, 0.5, 0.5]))
    has_hair = app.hair_style != "bald"

    def paint(p: np.ndarray, row: dict) -> np.ndarray:
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        col = np.broadcast_to(skin, p.shape).copy()
        front = z > 0.35
        for sx in (1.0, -1.0):
            ex, ey = 0.41 * sx, 0.09
            col[front & (((x - ex) / 0.17) ** 2 + ((y - ey) / 0.075) ** 2 < 1)] = white
            col[front & (((x - ex) / 0.07) ** 2 + ((y - ey) / 0.07) ** 2 < 1)] = iris
            col[front & (((x - ex) / 0.03) ** 2 + ((y - ey) / 0.03) ** 2 < 1)] = pupil
            col[front & (((x - ex * 1.05) / 0.2) ** 2 + ((y - ey - 0.17) / 0.045) ** 2 < 1)] = brow
        col[front & ((x / 0.22) ** 2 + ((y + 0.5) / 0.06) ** 2 < 1)] = lips
        if has_hair:
            col[y > -0.12 + 0.85 * z] = hair
        return col

    return paint


def _shoe_painter(app: Appearance):
    upper, sole = lin(app.shoes), lin(np.asarray(app.shoes) * 0.25 + 0.05)

    def paint(p: np.ndarray, row: dict) -> np.ndarray:
        return np.where((p[:, 2] < -0.5)[:, None], sole, upper)

    return paint


def _cardboard(p: np.ndarray, row: dict) -> np.ndarray:
    base, tape, label = lin((0.66, 0.48, 0.30)), lin((0.80, 0.68, 0.50)), lin((0.92, 0.92, 0.9))
    col = np.broadcast_to(base, p.shape).copy()
    a = np.abs(p)
    edge = (np.sort(a, axis=1)[:, 1] > 0.93)
    col[edge] *= 0.7
    col[(a[:, 0] < 0.14) & ((p[:, 1] > 0.97) | ((a[:, 2] > 0.97) & (p[:, 1] > 0.55)))] = tape
    col[(a[:, 2] > 0.97) & (np.abs(p[:, 0] - 0.45) < 0.25) & (np.abs(p[:, 1] + 0.2) < 0.2)] = label
    return col


def add_box(parts: Parts, center: np.ndarray, frame: np.ndarray, half: tuple[float, float, float]) -> None:
    """A cardboard box with tape and a label."""
    parts.box(center, frame, half, lin((0.66, 0.48, 0.30)), paint=_cardboard)


def figure_parts(pose: Pose, app: Appearance, owner: int = 0) -> Parts:
    """All primitives of one person in ``pose`` wearing ``app``."""
    S, P, F = pose.shape, pose.points, pose.frames
    H = S.height
    skin, shirt, bottom = lin(app.skin), lin(app.shirt), lin(app.bottom)
    socks = lin(app.socks)
    parts = Parts()

    def cap(a, b, r, c, **kw):
        parts.capsule(a, b, r, c, owner=owner, **kw)

    prot, lrot, trot, hrot = F["pelvis"], F["lumbar"], F["thorax"], F["head"]
    # trunk
    parts.ellipsoid(P["pelvis"] + prot @ np.array([0, 0.014 * H, -0.008 * H]), prot,
                    (S.r("pelvis_x"), 0.062 * H, S.r("pelvis_z")), bottom, owner=owner)
    cap(P["pelvis"] + prot[:, 1] * 0.035 * H, P["spine"], (S.r("waist_x"), S.r("waist_z")),
        shirt, zhint=lrot[:, 2], cap=0.045 * H)
    cap(P["spine"], P["neck"] - trot[:, 1] * 0.06 * H, (S.r("chest_x"), S.r("chest_z")), shirt,
        zhint=trot[:, 2], cap=0.035 * H)
    cap(P["l_shoulder"], P["r_shoulder"], (0.024 * H, 0.045 * H * (0.9 + 0.2 * S.build)), shirt,
        zhint=trot[:, 2], cap=0.03 * H)
    shoulder_col = skin if app.shirt_style == "tank" else shirt
    # neck, head, face
    cap(P["neck"] - trot[:, 1] * 0.015 * H, P["head"] - hrot[:, 1] * 0.035 * H, S.r("neck"), skin)
    parts.ellipsoid(P["head"], hrot, (S.r("head_x"), S.r("head_y"), S.r("head_z")), skin,
                    paint=_head_painter(app), owner=owner)
    # jaw and chin: without them an ellipsoid head reads as tilted back in profile
    parts.ellipsoid(P["head"] + hrot @ np.array([0.0, -0.036, 0.018]) * H, hrot @ rot_x(-25),
                    (0.034 * H, 0.030 * H, 0.036 * H), skin, owner=owner)
    lms = pose.landmarks()
    nose = lms[0] - hrot[:, 2] * 0.008 * H
    parts.ellipsoid(nose, hrot @ rot_x(-20), (0.0075 * H, 0.013 * H, 0.009 * H), skin, owner=owner)
    for ear in (lms[7], lms[8]):
        parts.ellipsoid(ear, hrot, (0.006 * H, 0.016 * H, 0.010 * H), skin * 0.95, owner=owner)
    hair = lin(app.hair)
    hc = P["head"]
    if app.hair_style == "long":
        cap(hc + hrot @ np.array([0, 0.02, -0.03]) * H, hc + hrot @ np.array([0, -0.12, -0.05]) * H,
            (0.042 * H, 0.025 * H), hair, zhint=hrot[:, 2], cap=0.03 * H)
    elif app.hair_style == "ponytail":
        cap(hc + hrot @ np.array([0, 0.02, -0.062]) * H, hc + hrot @ np.array([0, -0.07, -0.085]) * H,
            0.013 * H, hair)
    elif app.hair_style == "bun":
        parts.ellipsoid(hc + hrot @ np.array([0, 0.05, -0.05]) * H, hrot, (0.024 * H,) * 3, hair, owner=owner)
    # arms
    sleeve = {"tshirt": 0.45, "long": 2.0, "tank": -1.0}[app.shirt_style]
    for s in ("l", "r"):
        sh, el, wr = P[f"{s}_shoulder"], P[f"{s}_elbow"], P[f"{s}_wrist"]
        parts.ellipsoid(sh, trot, (S.r("upper_arm") * 1.35,) * 3, shoulder_col, owner=owner)
        parts.cone(sh, el, S.r("upper_arm") * 1.05, S.r("elbow") * 1.05, shirt, color2=skin, split=sleeve,
                   owner=owner)
        parts.cone(el, wr, S.r("forearm") * 1.05, S.r("wrist"), shirt if sleeve > 1 else skin, color2=skin,
                   split=0.92 if sleeve > 1 else 2.0, owner=owner)
        hr = F[f"{s}_hand"]
        parts.ellipsoid(wr + hr[:, 1] * -0.04 * H, hr, (0.012 * H, 0.042 * H, 0.025 * H), skin, owner=owner)
        thumb = lms[21] if s == "l" else lms[22]
        cap(wr + hr @ np.array([0, -0.012, 0.016]) * H, thumb, 0.0075 * H, skin)
    # legs
    pants = app.bottom_style == "pants"
    leg_skin = bottom if pants else skin
    for s in ("l", "r"):
        hip, kn, an = P[f"{s}_hip"], P[f"{s}_knee"], P[f"{s}_ankle"]
        parts.cone(hip, kn, S.r("thigh"), S.r("knee") * 1.25, bottom, color2=leg_skin, split=0.42, owner=owner)
        calf = kn + 0.33 * (an - kn)
        parts.cone(kn, calf, S.r("knee") * 1.15, S.r("shank") * 1.05, leg_skin, owner=owner)
        parts.cone(calf, an, S.r("shank") * 1.05, S.r("ankle") * 1.2, leg_skin,
                   color2=leg_skin if pants else socks, split=0.82, owner=owner)
        fr = F[f"{s}_foot"]
        a = an + fr @ np.array([0, -0.5 * S.ankle_h, -S.heel_back + 0.022 * H])
        b = an + fr @ np.array([0, -0.5 * S.ankle_h, S.foot_fwd - 0.022 * H])
        cap(a, b, (0.026 * H, 0.020 * H), lin(app.shoes), zhint=fr[:, 1], cap=0.022 * H,
            paint=_shoe_painter(app))
    for center, frame, half in pose.props.values():
        add_box(parts, center, frame, half)
    return parts
