"""Tests for vision.geometry: known geometric cases, conventions, shapes and NaN handling.

View, facing and valgus tests are in test_view.py; it reuses the body factories below.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from vision import geometry as g
from vision.geometry import AngleDef, GeometryError
from vision.landmarks import NUM_LANDMARKS, Landmark

L = Landmark


# --------------------------------------------------------------------------- factories
def skeleton(dim: int = 2, **points: tuple[float, ...]) -> np.ndarray:
    """A (33, dim) array, NaN except the named landmarks (``left_knee=(x, y)``)."""
    pts = np.full((NUM_LANDMARKS, dim), np.nan)
    for name, xy in points.items():
        pts[Landmark.parse(name)] = xy
    return pts


def three(a, b, c, dim=2):
    """Skeleton with hip=a, knee=b, ankle=c on the left leg."""
    return skeleton(dim, left_hip=a, left_knee=b, left_ankle=c)


#: A standing body in metres, facing the camera (−z), y down, origin between the hips.
#: The person's left is at +x (it appears on the image right when they face the camera).
_BODY = {
    L.NOSE: (0.0, -0.60, -0.10),
    L.LEFT_EAR: (0.08, -0.58, 0.0),
    L.RIGHT_EAR: (-0.08, -0.58, 0.0),
    L.LEFT_SHOULDER: (0.1625, -0.50, 0.0),  # shoulder width 0.65 torso lengths, as measured
    L.RIGHT_SHOULDER: (-0.1625, -0.50, 0.0),  # on real front views
    L.LEFT_ELBOW: (0.22, -0.22, 0.0),
    L.RIGHT_ELBOW: (-0.22, -0.22, 0.0),
    L.LEFT_WRIST: (0.22, 0.02, 0.0),
    L.RIGHT_WRIST: (-0.22, 0.02, 0.0),
    L.LEFT_HIP: (0.12, 0.0, 0.0),
    L.RIGHT_HIP: (-0.12, 0.0, 0.0),
    L.LEFT_KNEE: (0.12, 0.45, 0.0),
    L.RIGHT_KNEE: (-0.12, 0.45, 0.0),
    L.LEFT_ANKLE: (0.12, 0.90, 0.0),
    L.RIGHT_ANKLE: (-0.12, 0.90, 0.0),
    L.LEFT_HEEL: (0.12, 0.95, 0.05),
    L.RIGHT_HEEL: (-0.12, 0.95, 0.05),
    L.LEFT_FOOT_INDEX: (0.12, 0.97, -0.15),
    L.RIGHT_FOOT_INDEX: (-0.12, 0.97, -0.15),
}


def body_world(yaw_deg: float = 0.0, shoulder_twist_deg: float = 0.0) -> np.ndarray:
    """(33, 3) world landmarks of the standing body turned by ``yaw_deg`` about the vertical.

    Rotation R_y(θ): x' = x cosθ + z sinθ, z' = −x sinθ + z cosθ.  yaw=+90 brings the left
    side towards the camera (left z < right z) and makes the person face −x.
    """
    w = np.full((NUM_LANDMARKS, 3), np.nan)
    for lm, p in _BODY.items():
        w[lm] = p
    upper = [L.LEFT_SHOULDER, L.RIGHT_SHOULDER]

    def rot(p: np.ndarray, deg: float) -> np.ndarray:
        t = math.radians(deg)
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        return np.stack([x * math.cos(t) + z * math.sin(t), y, -x * math.sin(t) + z * math.cos(t)], -1)

    w[upper] = rot(w[upper], shoulder_twist_deg)
    return rot(w, yaw_deg)


def body_image(yaw_deg: float = 0.0, scale: float = 200.0, centre=(320.0, 240.0)):
    """Orthographic image of :func:`body_world`: (xy (33, 2) px, z (33,) px, visibility (33,))."""
    w = body_world(yaw_deg)
    xy = w[:, :2] * scale + np.asarray(centre)
    z = w[:, 2] * scale
    vis = np.ones(NUM_LANDMARKS)
    if abs(yaw_deg) >= 60:  # the far side is occluded
        far = "RIGHT" if yaw_deg > 0 else "LEFT"
        for lm in Landmark:
            if lm.name.startswith(far):
                vis[lm] = 0.3
    return xy, z, vis


# --------------------------------------------------------------------------- joint angles
@pytest.mark.parametrize(
    ("a", "b", "c", "expected"),
    [
        ((0, 0), (0, 10), (10, 10), 90.0),  # right angle
        ((0, 0), (0, 10), (0, 20), 180.0),  # straight
        ((0, 0), (0, 10), (0, 0), 0.0),  # folded back onto itself
        ((0, 0), (0, 10), (5, 5), 45.0),
        ((0, 0), (0, 10), (-10, 20), 135.0),
        ((3, 4), (0, 0), (-4, 3), 90.0),  # non-axis-aligned right angle
        ((1e6, 0), (0, 0), (0, 1e-3), 90.0),  # very different lengths
    ],
)
def test_joint_angle_2d_known_cases(a, b, c, expected):
    got = g.joint_angle(three(a, b, c), L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE)
    assert got.shape == ()
    assert got == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("a", "c", "expected"),
    [
        ((1, 0, 0), (0, 0, 1), 90.0),
        ((1, 0, 0), (0, 1, 0), 90.0),
        ((1, 0, 0), (1, 0, 1), 45.0),
        ((0, 0, 2), (0, 0, -3), 180.0),
        ((1, 1, 1), (1, 1, 1), 0.0),
        ((1, 0, 0), (1, 1, math.sqrt(2)), 60.0),
    ],
)
def test_joint_angle_3d_known_cases(a, c, expected):
    pts = three(a, (0, 0, 0), c, dim=3)
    assert g.joint_angle(pts, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE) == pytest.approx(expected, abs=1e-9)


def test_joint_angle_is_symmetric_and_rotation_invariant():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(50, NUM_LANDMARKS, 2)) * 100
    a1 = g.joint_angle(pts, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE)
    a2 = g.joint_angle(pts, L.LEFT_ANKLE, L.LEFT_KNEE, L.LEFT_HIP)
    t = 0.7
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    a3 = g.joint_angle(pts @ rot.T + 5, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE)
    np.testing.assert_allclose(a1, a2, atol=1e-9)
    np.testing.assert_allclose(a1, a3, atol=1e-7)
    assert np.all((a1 >= 0) & (a1 <= 180))


@pytest.mark.parametrize("dim", [2, 3])
def test_batch_shapes_match_per_frame_loop(dim):
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(4, 3, NUM_LANDMARKS, dim)).astype(np.float32)  # (T, P, 33, D)
    got = g.joint_angle(pts, L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST)
    assert got.shape == (4, 3)
    for t in range(4):
        for p in range(3):
            want = g.joint_angle(pts[t, p], L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST)
            assert got[t, p] == pytest.approx(float(want), abs=1e-9)
    assert g.inclination(pts, L.LEFT_HIP, L.LEFT_SHOULDER).shape == (4, 3)
    assert g.torso_length(pts).shape == (4, 3)
    assert g.midpoint(pts, L.LEFT_HIP, L.RIGHT_HIP).shape == (4, 3, dim)
    angles = g.compute_angles(pts)
    assert all(v.shape == (4, 3) for v in angles.values())


def test_nan_propagates_only_to_angles_using_the_point():
    xy, _, _ = body_image()
    batch = np.stack([xy, xy, xy])
    batch[1, L.LEFT_KNEE] = np.nan
    batch[2, L.LEFT_ANKLE, 0] = np.nan  # a single NaN coordinate is enough
    knee = g.joint_angle(batch, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE)
    assert np.isfinite(knee[0]) and np.isnan(knee[1]) and np.isnan(knee[2])
    right = g.joint_angle(batch, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)
    assert np.all(np.isfinite(right))


@pytest.mark.parametrize(
    ("a", "b", "c"),
    [((0, 0), (0, 0), (1, 1)), ((1, 1), (0, 0), (0, 0)), ((0, 0), (0, 0), (0, 0))],
)
def test_zero_length_segment_gives_nan_without_warning(a, b, c, recwarn):
    assert np.isnan(g.joint_angle(three(a, b, c), L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE))
    assert not recwarn.list


def test_bad_shape_raises_named_error():
    with pytest.raises(GeometryError, match=r"\(\.\.\., 33, 2\)"):
        g.joint_angle(np.zeros((17, 2)), L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE)
    with pytest.raises(GeometryError):
        g.torso_length(np.zeros((33, 4)))


# --------------------------------------------------------------------------- signed angle
@pytest.mark.parametrize(
    ("u", "v", "expected"),
    [
        ((1, 0), (0, 1), 90.0),  # +x to +y: clockwise on a y-down screen
        ((1, 0), (0, -1), -90.0),
        ((1, 0), (1, 1), 45.0),
        ((1, 0), (1, 0), 0.0),
        ((1, 0), (-1, 0), 180.0),  # the boundary maps to +180, never −180
        ((1, 0), (-1, -1e-300), 180.0),  # atan2 gives −180 here
        ((0, 1), (1, 0), -90.0),
        ((2, 2), (-3, 3), 90.0),
    ],
)
def test_signed_angle_conventions(u, v, expected):
    assert g.signed_angle_2d(u, v) == pytest.approx(expected, abs=1e-9)


def test_signed_angle_antisymmetric_broadcast_and_nan():
    rng = np.random.default_rng(2)
    u = rng.normal(size=(10, 2))
    v = rng.normal(size=(10, 2))
    np.testing.assert_allclose(g.signed_angle_2d(u, v), -g.signed_angle_2d(v, u), atol=1e-9)
    assert g.signed_angle_2d(u, (1.0, 0.0)).shape == (10,)
    assert np.isnan(g.signed_angle_2d((0, 0), (1, 0)))
    assert np.isnan(g.signed_angle_2d((np.nan, 0), (1, 0)))
    with pytest.raises(GeometryError):
        g.signed_angle_2d((1, 0, 0), (0, 1, 0))


# --------------------------------------------------------------------------- inclination
@pytest.mark.parametrize(
    ("top", "expected_vertical", "expected_horizontal"),
    [
        ((100, 0), 0.0, 90.0),  # b straight above a (smaller y = up)
        ((100, 200), 180.0, 90.0),  # straight below
        ((200, 100), 90.0, 0.0),  # level, to the right
        ((0, 100), 90.0, 0.0),  # level, to the left
        ((200, 0), 45.0, 45.0),  # up and to the right at 45°
        ((0, 0), 45.0, 45.0),  # up and to the left: unsigned
        ((200, 200), 135.0, 45.0),
    ],
)
def test_inclination_y_down(top, expected_vertical, expected_horizontal):
    pts = skeleton(left_hip=(100, 100), left_shoulder=top)
    assert g.inclination(pts, L.LEFT_HIP, L.LEFT_SHOULDER) == pytest.approx(expected_vertical)
    got = g.inclination(pts, L.LEFT_HIP, L.LEFT_SHOULDER, reference="horizontal")
    assert got == pytest.approx(expected_horizontal)


def test_inclination_3d_world_up_is_minus_y():
    up = skeleton(3, left_hip=(0, 0, 0), left_shoulder=(0, -0.5, 0))
    forward = skeleton(3, left_hip=(0, 0, 0), left_shoulder=(0, -0.5, -0.5))
    assert g.inclination(up, L.LEFT_HIP, L.LEFT_SHOULDER) == pytest.approx(0.0)
    assert g.inclination(forward, L.LEFT_HIP, L.LEFT_SHOULDER) == pytest.approx(45.0)
    with pytest.raises(GeometryError):
        g.inclination(up, L.LEFT_HIP, L.LEFT_SHOULDER, reference="diagonal")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("top", "forward", "expected"),
    [
        ((100, 0), 1, 0.0),
        ((200, 0), 1, 45.0),  # leaning towards +x while facing +x: forward lean
        ((200, 0), -1, -45.0),  # same pose, facing −x: leaning back
        ((0, 0), -1, 45.0),
        ((200, 100), 1, 90.0),  # trunk horizontal, bent fully forward
        ((100, 200), 1, 180.0),
        ((100, 200), -1, 180.0),  # atan2(−0, −1) = −180 is reported as +180
        ((100, 0), np.nan, np.nan),
    ],
)
def test_signed_inclination_relative_to_facing(top, forward, expected):
    pts = skeleton(left_hip=(100, 100), left_shoulder=top)
    got = g.signed_inclination(pts, L.LEFT_HIP, L.LEFT_SHOULDER, forward)
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected)


def test_signed_inclination_rejects_world_coordinates():
    with pytest.raises(GeometryError):
        g.signed_inclination(body_world(), L.LEFT_HIP, L.LEFT_SHOULDER, 1)


# --------------------------------------------------------------------------- lengths
def test_midpoint_torso_leg_and_normalised_distance():
    xy, _, _ = body_image(scale=100.0, centre=(0.0, 0.0))
    np.testing.assert_allclose(g.midpoint(xy, L.LEFT_HIP, L.RIGHT_HIP), [0.0, 0.0], atol=1e-9)
    assert g.torso_length(xy) == pytest.approx(50.0)
    assert g.leg_length(xy, "left") == pytest.approx(90.0)
    assert g.leg_length(xy, "right") == pytest.approx(90.0)
    # shoulder width 32.5 px / torso 50 px
    assert g.normalised_distance(xy, L.LEFT_SHOULDER, L.RIGHT_SHOULDER) == pytest.approx(0.65)
    assert g.normalised_distance(xy, L.LEFT_SHOULDER, L.RIGHT_SHOULDER, by="leg") == pytest.approx(32.5 / 90)
    # scale invariance
    assert g.normalised_distance(xy * 3, L.LEFT_ANKLE, L.RIGHT_ANKLE) == pytest.approx(24 / 50)


def test_leg_scale_uses_the_available_leg_and_zero_torso_is_nan():
    xy, _, _ = body_image(scale=100.0, centre=(0.0, 0.0))
    xy[L.RIGHT_KNEE] = np.nan
    assert g.normalised_distance(xy, L.LEFT_HIP, L.RIGHT_HIP, by="leg") == pytest.approx(24 / 90)
    flat = skeleton(left_shoulder=(0, 0), right_shoulder=(0, 0), left_hip=(0, 0), right_hip=(0, 0))
    assert np.isnan(g.normalised_distance(flat, L.LEFT_HIP, L.RIGHT_SHOULDER))
    with pytest.raises(GeometryError):
        g.leg_length(xy, "middle")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- visibility
@pytest.mark.parametrize("lead", [(2,), (5, 2)])
def test_mask_low_visibility_batches(lead):
    rng = np.random.default_rng(3)
    xy = rng.normal(size=(*lead, NUM_LANDMARKS, 2)).astype(np.float32)
    vis = rng.uniform(size=(*lead, NUM_LANDMARKS)).astype(np.float32)
    vis[..., 0] = np.nan
    out = g.mask_low_visibility(xy, vis, threshold=0.5)
    low = ~(vis >= 0.5)
    assert out.shape == xy.shape and out.dtype == np.float32
    assert np.all(np.isnan(out[low]))
    np.testing.assert_array_equal(out[~low], xy[~low])
    assert not np.isnan(xy).any(), "input must not be modified"


def test_mask_low_visibility_shape_mismatch():
    with pytest.raises(GeometryError, match="visibility"):
        g.mask_low_visibility(np.zeros((2, 33, 2)), np.zeros((3, 33)))


# --------------------------------------------------------------------------- angle table
def test_standard_angles_on_standing_body():
    xy, _, _ = body_image()
    a = g.compute_angles(xy)
    assert {"left_knee", "right_knee", "left_hip", "right_hip", "left_elbow", "right_elbow",
            "left_shoulder", "right_shoulder", "left_ankle", "right_ankle", "trunk", "neck",
            "left_thigh", "right_thigh", "left_shank", "right_shank"} <= set(a)
    for k in ("left_knee", "right_knee"):
        assert a[k] == pytest.approx(180.0)
    # the shoulders are wider than the hips: 180 − atan(0.0425 / 0.5) at the hip
    assert a["left_hip"] == pytest.approx(180 - math.degrees(math.atan(0.0425 / 0.5)))
    for k in ("trunk", "left_thigh", "right_shank"):
        assert a[k] == pytest.approx(0.0)
    world = g.compute_angles(body_world())
    assert world["left_knee"] == pytest.approx(180.0)


def test_compute_angles_offset_sign_visibility_and_midpoints():
    pts = three((0, 0), (0, 10), (10, 10))
    flex = AngleDef("knee_flexion", (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE), offset=180, sign=-1)
    seg = AngleDef("hip_line", ((L.LEFT_HIP, L.LEFT_ANKLE), L.LEFT_KNEE), kind="segment")
    out = g.compute_angles(pts, [flex, seg])
    assert out["knee_flexion"] == pytest.approx(90.0)
    # midpoint (5, 5) → knee (0, 10): down-left at 45° from straight down
    assert out["hip_line"] == pytest.approx(135.0)
    vis = np.ones(NUM_LANDMARKS)
    vis[L.LEFT_ANKLE] = 0.2
    masked = g.compute_angles(pts, [flex], visibility=vis)
    assert np.isnan(masked["knee_flexion"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "x", "landmarks": (L.LEFT_HIP, L.LEFT_KNEE)},  # joint needs 3
        {"name": "x", "landmarks": (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE), "kind": "segment"},
        {"name": "x", "landmarks": (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE), "kind": "twist"},
        {"name": "x", "landmarks": (L.LEFT_HIP, L.LEFT_KNEE, 7)},
        {"name": "x", "landmarks": (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE), "sign": 2},
    ],
)
def test_angle_def_validation(kwargs):
    with pytest.raises(GeometryError, match="'x'"):
        AngleDef(**kwargs)


def test_duplicate_angle_names_rejected():
    d = g.STANDARD_ANGLES[0]
    with pytest.raises(GeometryError, match="duplicate"):
        g.compute_angles(np.zeros((33, 2)), [d, d])


# --------------------------------------------------------------------------- twist
@pytest.mark.parametrize("twist", [-40.0, -10.0, 0.0, 15.0, 30.0, 60.0])
@pytest.mark.parametrize("yaw", [0.0, 35.0, 90.0])
def test_line_rotation_world_measures_shoulder_twist(twist, yaw):
    w = body_world(yaw, shoulder_twist_deg=twist)
    got = g.line_rotation(w, (L.LEFT_SHOULDER, L.RIGHT_SHOULDER), (L.LEFT_HIP, L.RIGHT_HIP))
    # R_y(+θ) is clockwise seen from above; positive means counter-clockwise
    assert got == pytest.approx(-twist, abs=1e-9)


def test_line_rotation_2d_is_in_image_plane():
    pts = skeleton(left_shoulder=(100, 0), right_shoulder=(0, 0), left_hip=(100, 100), right_hip=(0, 100))
    line = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    ref = (L.LEFT_HIP, L.RIGHT_HIP)
    assert g.line_rotation(pts, line, ref) == pytest.approx(0.0)
    pts[L.RIGHT_SHOULDER] = (100 - 100 * math.cos(math.radians(20)), 100 * math.sin(math.radians(20)))
    # right shoulder dropped (y grows): the line turned anticlockwise on screen → negative
    assert g.line_rotation(pts, line, ref) == pytest.approx(-20.0)
