"""Tests for vision.view: camera view, facing and knee valgus on constructed bodies."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
from test_geometry import body_image, body_world

from vision import geometry as g
from vision import view as v
from vision.geometry import GeometryError
from vision.landmarks import Landmark
from vision.view import View

L = Landmark


# --------------------------------------------------------------------------- valgus
def front_legs(knee_in: float = 0.0) -> np.ndarray:
    """Front view legs; ``knee_in`` moves both knees that many px towards the midline."""
    xy, _, _ = body_image(0.0)
    cx = xy[L.LEFT_HIP, 0] / 2 + xy[L.RIGHT_HIP, 0] / 2
    for k in (L.LEFT_KNEE, L.RIGHT_KNEE):
        xy[k, 0] -= np.sign(xy[k, 0] - cx) * knee_in
    return xy


def test_knee_valgus_increases_as_knees_move_inward():
    shifts = [-10.0, 0.0, 5.0, 10.0, 20.0]
    vals = [float(v.knee_valgus(front_legs(s))) for s in shifts]
    assert vals[1] == pytest.approx(0.0, abs=1e-9)
    assert vals[0] < 0  # knees out = varus
    assert all(b > a for a, b in itertools.pairwise(vals))
    # 20 px in over 90 px thigh and shank: 2·atan(20/90)
    assert vals[-1] == pytest.approx(2 * math.degrees(math.atan(20 / 90)), abs=1e-6)
    ratios = [float(v.knee_ankle_ratio(front_legs(s))) for s in shifts]
    assert all(b < a for a, b in itertools.pairwise(ratios))
    assert ratios[1] == pytest.approx(1.0)


def test_knee_valgus_per_side_and_mirrored_image():
    xy = front_legs(0.0)
    xy[L.LEFT_KNEE, 0] -= 15.0  # only the left knee (image right) caves in
    assert v.knee_valgus(xy, "left") > 5
    assert v.knee_valgus(xy, "right") == pytest.approx(0.0, abs=1e-9)
    assert v.knee_valgus(xy) == pytest.approx(v.knee_valgus(xy, "left"))
    mirrored = xy.copy()
    mirrored[:, 0] = 640 - mirrored[:, 0]
    assert v.knee_valgus(mirrored, "left") == pytest.approx(v.knee_valgus(xy, "left"))
    xy[L.RIGHT_ANKLE] = np.nan
    assert np.isnan(v.knee_valgus(xy, "right")) and np.isfinite(v.knee_valgus(xy))


# --------------------------------------------------------------------------- view
@pytest.mark.parametrize(
    ("yaw", "expected"),
    [(0.0, View.FRONT), (15.0, View.FRONT), (180.0, View.FRONT), (-165.0, View.FRONT),
     (35.0, View.OBLIQUE), (-35.0, View.OBLIQUE), (145.0, View.OBLIQUE),
     (60.0, View.SIDE), (90.0, View.SIDE), (-90.0, View.SIDE), (100.0, View.SIDE)],
)
@pytest.mark.parametrize("source", ["image", "world"])
def test_view_of_constructed_skeletons(yaw, expected, source):
    xy, z, vis = body_image(yaw)
    world = body_world(yaw) if source == "world" else None
    assert v.view_of(xy, z, vis, world=world) is expected
    folded = min(abs(yaw) % 180, 180 - abs(yaw) % 180)
    assert v.body_yaw(xy, world=world) == pytest.approx(folded, abs=1e-6)


@pytest.mark.parametrize(
    ("true_yaw", "image_view", "world_view"),
    [(24.0, View.FRONT, View.FRONT), (30.0, View.OBLIQUE, View.OBLIQUE), (45.0, View.OBLIQUE, View.SIDE),
     (52.0, View.SIDE, View.SIDE)],
)
def test_view_thresholds_depend_on_the_source(true_yaw, image_view, world_view):
    """World landmarks under-read yaw on real clips, so their side threshold is lower."""
    xy, z, vis = body_image(true_yaw)
    assert v.view_of(xy, z, vis) is image_view
    assert v.view_of(xy, z, vis, world=body_world(true_yaw)) is world_view
    assert v.view_of(xy, world=body_world(true_yaw), front_max_deg=30, side_min_deg=60) is (
        View.FRONT if true_yaw <= 30 else View.OBLIQUE)


def test_view_falls_back_to_image_where_world_is_missing():
    xy, _, _ = body_image(90.0)
    w = body_world(90.0)
    w[L.LEFT_SHOULDER] = np.nan
    assert v.view_of(xy, world=w) is View.SIDE
    assert v.body_yaw(xy, world=w) == pytest.approx(90.0)


def test_view_of_batch_and_majority():
    yaws = (0, 0, 90, 0, 35)
    xy = np.stack([body_image(y)[0] for y in yaws])
    world = np.stack([body_world(y) for y in yaws])
    views = v.view_of(xy)
    assert isinstance(views, np.ndarray) and views.shape == (5,)
    assert list(views) == [View.FRONT, View.FRONT, View.SIDE, View.FRONT, View.OBLIQUE]
    xy[4, L.LEFT_HIP] = np.nan  # the image estimate needs the torso length...
    assert v.view_of(xy)[4] is None
    assert v.view_of(xy, world=world)[4] is View.OBLIQUE  # ...the world estimate does not
    vis = np.ones(xy.shape[:-1])
    vis[1, L.RIGHT_SHOULDER] = 0.05  # practically absent
    assert v.view_of(xy, None, vis)[1] is None
    assert v.view_of(xy, None, vis, world=world)[1] is None
    assert v.majority(views) is View.FRONT
    assert v.majority([None, None]) is None
    assert v.majority([View.SIDE, View.FRONT]) is View.SIDE  # tie → first seen
    assert v.rolling_majority([View.SIDE, View.FRONT, View.FRONT, None], 2) == [
        View.SIDE, View.SIDE, View.FRONT, View.FRONT]
    with pytest.raises(GeometryError):
        v.rolling_majority([View.SIDE], 0)


@pytest.mark.parametrize(
    ("yaw", "side", "direction"),
    [(90.0, "left", -1.0), (-90.0, "right", 1.0), (70.0, "left", -1.0), (-70.0, "right", 1.0)],
)
def test_facing_side_and_direction(yaw, side, direction):
    xy, z, vis = body_image(yaw)
    assert v.facing_side(xy, z, vis) == side
    assert v.facing_side(xy, z, None) == side  # depth alone
    assert v.facing_side(xy, None, vis) == side  # visibility alone
    assert v.facing_direction(xy) == direction
    # trunk leaning towards the facing direction reads as a positive (forward) lean
    bent = xy.copy()
    for lm in (L.LEFT_SHOULDER, L.RIGHT_SHOULDER):
        bent[lm, 0] += 40 * direction
    lean = g.signed_inclination(bent, g.HIPS, g.SHOULDERS, v.facing_direction(bent))
    assert lean > 20


def test_facing_side_batch_and_undecidable():
    xy, z, vis = body_image(90.0)
    xy2, z2, vis2 = body_image(-90.0)
    sides = v.facing_side(np.stack([xy, xy2]), np.stack([z, z2]), np.stack([vis, vis2]))
    assert list(sides) == ["left", "right"]
    front, zf, visf = body_image(0.0)
    assert v.facing_side(front, zf, visf) is None  # perfectly symmetric: no answer, no guess
    with pytest.raises(GeometryError):
        v.facing_side(front)
    with pytest.raises(GeometryError, match="visibility"):
        v.facing_side(front, None, visf[:20])


def test_facing_direction_from_feet_or_head_alone():
    xy, _, _ = body_image(90.0)  # faces −x
    feet_only = xy.copy()
    feet_only[[L.NOSE, L.LEFT_EAR, L.RIGHT_EAR]] = np.nan
    head_only = xy.copy()
    head_only[[L.LEFT_HEEL, L.RIGHT_HEEL]] = np.nan
    assert v.facing_direction(feet_only) == -1.0
    assert v.facing_direction(head_only) == -1.0
    nothing = head_only.copy()
    nothing[L.NOSE] = np.nan
    assert np.isnan(v.facing_direction(nothing))
    assert v.facing_direction(np.stack([xy, body_image(-90.0)[0]])).tolist() == [-1.0, 1.0]


# --------------------------------------------------------------------------- module split
def test_geometry_re_exports_the_view_names():
    """exercises/ and older code import these from vision.geometry."""
    for name in v.__all__:
        assert getattr(g, name) is getattr(v, name), name


@pytest.mark.parametrize("first", ["vision.view", "vision.geometry"])
def test_either_module_can_be_imported_first(first):
    code = f"import {first}; from vision.geometry import view_of; from vision.view import View; print(View.SIDE)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "side"
