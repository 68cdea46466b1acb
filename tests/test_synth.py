"""The synthetic clip generator: kinematics, faults, projection, determinism, CLI."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import av
import numpy as np
import pytest

from synth import exercises
from synth.body import BodyShape, rot_y
from synth.camera import Camera
from synth.faults import APPLICABLE, FAULT_CODES, FaultSpecError, format_faults, parse_faults
from synth.generate import ClipRenderer, PersonSpec, pose_extras, random_clip, timeline
from synth.motion import State, Tempo, rep_timeline
from synth.render import Parts, intersect
from synth.truth import load_truth, model_angles
from vision.landmarks import Landmark as L

TINY = (96, 72)
SEGMENTS = [("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist"), ("pelvis", "spine"),
            ("spine", "neck"), ("neck", "head"), ("ankle", "toe"), ("ankle", "heel")]


def _pose(exercise: str, s: float, faults: dict[str, float] | None = None, shape: BodyShape | None = None,
          **state):
    st = State(state.pop("t", 0.5), state.pop("phase", "out"), s, 1, 0, state.pop("side", 1), faults or {})
    return exercises.get(exercise).pose(shape or BodyShape(), st, {})


def _angles(exercise: str, s: float, faults: dict[str, float] | None = None) -> dict:
    pose = _pose(exercise, s, faults)
    return model_angles(pose.landmarks(), pose_extras(pose))


@pytest.mark.parametrize("exercise", exercises.ENGINE_EXERCISES)
def test_segment_lengths_are_constant_through_the_motion(exercise: str) -> None:
    shape = BodyShape(height=1.68, build=0.7, sex="m")
    lengths = []
    for s in np.linspace(0, 1, 6):
        for faults in ({}, {c: 1.0 for c in APPLICABLE[exercise]}):
            p = _pose(exercise, float(s), faults, shape)
            row = []
            for a, b in SEGMENTS:
                names = [(a, b)] if a in ("pelvis", "spine", "neck") else [(f"l_{a}", f"l_{b}"), (f"r_{a}", f"r_{b}")]
                row += [np.linalg.norm(p[x] - p[y]) for x, y in names]
            lengths.append(row)
    spread = np.ptp(np.array(lengths), axis=0)
    assert spread.max() < 1e-6, f"{exercise}: a segment changed length by {spread.max():.2e} m"


@pytest.mark.parametrize("exercise", exercises.ENGINE_EXERCISES)
def test_nothing_sinks_into_the_floor(exercise: str) -> None:
    for s in (0.0, 0.5, 1.0):
        lm = _pose(exercise, s).landmarks()
        assert lm[:, 1].min() > -0.02, f"{exercise} at s={s}: a landmark is {lm[:, 1].min():.3f} m below the floor"


def test_timeline_counts_the_requested_reps_on_return() -> None:
    states = rep_timeline(4, Tempo(), 30, {})
    assert states[-1].reps_done == 4
    assert next(s.rep_index for s in states if s.phase == "out") == 1
    # the count steps up exactly where a 'back' phase ends
    for a, b in itertools.pairwise(states):
        if b.reps_done == a.reps_done + 1:
            assert a.phase == "back" and b.phase != "back"
            assert b.s == pytest.approx(0.0, abs=0.02)
    assert max(s.s for s in states) == pytest.approx(1.0, abs=1e-6)


def test_floor_lift_timeline_has_setup_and_finish_that_are_not_reps() -> None:
    tl = timeline(PersonSpec("floor_lift", reps=2), 25)
    phases = [s.phase for s in tl]
    assert phases[0] == "setup" and phases[-1] == "finish"
    assert all(s.rep_index == 0 for s in tl if s.phase in ("setup", "finish"))
    assert tl[-1].reps_done == 2


def test_faults_are_active_in_their_rep_only() -> None:
    states = rep_timeline(3, Tempo(), 30, {2: ["knee_valgus"]})
    for s in states:
        if s.rep_index == 2:
            assert s.active() == ["knee_valgus"]
        elif s.rep_index in (1, 3):
            assert s.active() == []


def test_jerky_rep_is_faster() -> None:
    normal = [s for s in rep_timeline(2, Tempo(), 60, {}) if s.rep_index == 2]
    jerky = [s for s in rep_timeline(2, Tempo(), 60, {2: ["jerky"]}) if s.rep_index == 2]
    assert len(jerky) < 0.5 * len(normal)
    assert all("jerky" in s.active() for s in jerky)


def test_knee_valgus_narrows_the_knees_but_not_the_feet() -> None:
    normal, valgus = _pose("squat", 1.0), _pose("squat", 1.0, {"knee_valgus": 1.0})
    gap = lambda p, j: abs(p[f"l_{j}"][0] - p[f"r_{j}"][0])  # noqa: E731
    assert gap(valgus, "knee") < 0.6 * gap(normal, "knee")
    assert gap(valgus, "ankle") == pytest.approx(gap(normal, "ankle"), abs=1e-6)


def test_stoop_lift_keeps_knees_straighter_with_more_trunk_flexion() -> None:
    squat_style = _angles("floor_lift", 0.0)
    stoop = _angles("floor_lift", 0.0, {"stoop_lift": 1.0})
    assert stoop["left_knee"] > squat_style["left_knee"] + 40  # included angle: 180 = straight
    assert stoop["trunk"] > squat_style["trunk"] + 25


def test_floor_lift_reaches_the_box_on_the_floor_and_stands_up_with_it() -> None:
    bottom, top = _pose("floor_lift", 0.0), _pose("floor_lift", 1.0)
    half_h = bottom.props["box"][2][1]
    assert bottom.props["box"][0][1] == pytest.approx(half_h, abs=0.01)  # resting on the floor
    assert top.props["box"][0][1] > 0.5
    assert _angles("floor_lift", 0.0, {"load_far": 1.0})["box_distance"] > _angles("floor_lift", 0.0)[
        "box_distance"] + 0.1
    sizes = {_pose("floor_lift", s, f).props["box"][2] for s in (0.0, 0.5, 1.0) for f in ({}, {"twisting": 1.0})}
    assert len(sizes) == 1  # the box is rigid


@pytest.mark.parametrize("exercise", ["plank", "push_up"])
def test_sagging_and_piking_move_the_hips_off_the_shoulder_ankle_line(exercise: str) -> None:
    s = 0.0
    neutral = _angles(exercise, s)["hip_line_offset"]
    assert abs(neutral) < 0.04
    assert _angles(exercise, s, {"hips_sagging": 1.0})["hip_line_offset"] < -0.05
    assert _angles(exercise, s, {"hips_piking": 1.0})["hip_line_offset"] > 0.08


def test_sagging_hips_are_below_the_line_in_the_world() -> None:
    p = _pose("plank", 0.0, {"hips_sagging": 1.0})
    sh, an, hip = (p["l_shoulder"] + p["r_shoulder"]) / 2, (p["l_ankle"] + p["r_ankle"]) / 2, p["pelvis"]
    k = (hip[2] - sh[2]) / (an[2] - sh[2])
    assert hip[1] < sh[1] + k * (an[1] - sh[1]) - 0.04


@pytest.mark.parametrize(("exercise", "fault", "angle", "direction"), [
    ("squat", "too_shallow", "left_knee", +1),  # less flexion: larger included angle
    ("squat", "rounded_back", "spine_flexion", +1),
    ("hip_hinge", "rounded_back", "spine_flexion", +1),
    ("push_up", "head_drop", "neck", +1),
    ("bird_dog", "twisting", "trunk_twist", +1),
    ("lunge", "twisting", "trunk_twist", +1),
])
def test_faults_change_the_intended_angle(exercise: str, fault: str, angle: str, direction: int) -> None:
    normal, faulty = _angles(exercise, 1.0)[angle], _angles(exercise, 1.0, {fault: 1.0})[angle]
    assert direction * (abs(faulty) - abs(normal)) > 8 if angle != "neck" else faulty - normal > 20


def test_shallow_bridge_lifts_the_hips_less() -> None:
    down = _pose("glute_bridge", 0.0)["pelvis"][1]
    full = _pose("glute_bridge", 1.0)["pelvis"][1] - down
    shallow = _pose("glute_bridge", 1.0, {"too_shallow": 1.0})["pelvis"][1] - down
    assert 0.15 < full and shallow < 0.75 * full
    assert _angles("glute_bridge", 1.0)["left_hip"] > 155  # shoulder, hip and knee nearly in line


def test_knee_over_toes_pushes_the_knee_past_the_toes() -> None:
    for faults, ahead in (({}, False), ({"knee_over_toes": 1.0}, True)):
        p = _pose("squat", 1.0, faults)
        beyond = p["l_knee"][2] - p["l_toe"][2]
        assert (beyond > 0.04) == ahead, beyond


def test_fault_specs_parse_and_round_trip() -> None:
    spec = "rep1:knee_valgus|rep3:too_shallow|rep3:jerky"
    parsed = parse_faults(spec, "squat", 3)
    assert parsed == {1: ["knee_valgus"], 3: ["too_shallow", "jerky"]}
    assert format_faults(parsed) == spec
    assert parse_faults("hips_sagging", "plank", 0) == {0: ["hips_sagging"]}
    assert parse_faults("knee_valgus", "squat", 2) == {1: ["knee_valgus"], 2: ["knee_valgus"]}
    for bad in ("rep4:knee_valgus", "hips_piking", "rep1:bogus"):
        with pytest.raises(FaultSpecError):
            parse_faults(bad, "squat", 3)
    assert set(APPLICABLE) >= set(exercises.ENGINE_EXERCISES)
    assert {c for v in APPLICABLE.values() for c in v} == set(FAULT_CODES)  # every code can be injected


def test_projection_puts_a_known_point_on_the_expected_pixel() -> None:
    cam = Camera.look_at([0.0, 1.0, 5.0], [0.0, 1.0, 0.0], 640, 480, 60.0)
    f = 240 / np.tan(np.radians(30))
    assert cam.fx == pytest.approx(f)
    np.testing.assert_allclose(cam.project(np.array([0.0, 1.0, 0.0])), [320, 240], atol=1e-9)
    # 0.5 m to the right (+x is the camera's right here) and 0.25 m up, 5 m away
    np.testing.assert_allclose(cam.project(np.array([0.5, 1.25, 0.0])), [320 + f * 0.1, 240 - f * 0.05],
                               atol=1e-9)
    # the ray through a pixel centre goes back through the point that projects there
    rays = cam.rays()
    d = rays[100, 400]
    uv = cam.project(cam.position + 3.0 * d)
    np.testing.assert_allclose(uv, [400.5, 100.5], atol=1e-6)


def test_ray_hits_a_sphere_and_a_capsule_where_expected() -> None:
    parts = Parts()
    parts.ellipsoid(np.zeros(3), np.eye(3), (0.5, 0.5, 0.5), np.ones(3))
    parts.capsule(np.array([2.0, -1.0, 0.0]), np.array([2.0, 1.0, 0.0]), 0.25, np.ones(3))
    origin = np.array([0.0, 0.0, 5.0])
    dirs = np.array([[0.0, 0.0, -1.0], [2 / np.hypot(2, 5), 0.0, -5 / np.hypot(2, 5)]])
    sphere, cap = parts.rows
    t, _, n = intersect(sphere, origin, dirs[:1])
    assert t[0] == pytest.approx(4.5)
    np.testing.assert_allclose(n[0], [0, 0, 1], atol=1e-9)
    t, _, _ = intersect(cap, origin, dirs[1:])
    assert t[0] == pytest.approx(np.hypot(2, 5) - 0.25, abs=0.02)
    # a round cone with equal radii is a capsule; with unequal radii the thick end is hit first
    parts.cone(np.array([2.0, -1.0, 0.0]), np.array([2.0, 1.0, 0.0]), 0.25, 0.25, np.ones(3))
    parts.cone(np.array([0.0, -1.0, 0.0]), np.array([0.0, 1.0, 0.0]), 0.4, 0.1, np.ones(3))
    t2, _, _ = intersect(parts.rows[2], origin, dirs[1:])
    assert t2[0] == pytest.approx(t[0], abs=1e-9)
    down = np.array([[0.0, 0.0, -1.0]])
    low, _, n_low = intersect(parts.rows[3], origin - np.array([0, 1.0, 0]), down)
    high, _, _ = intersect(parts.rows[3], origin + np.array([0, 1.0, 0]), down)
    assert low[0] == pytest.approx(5 - 0.4, abs=0.005) and high[0] == pytest.approx(5 - 0.1, abs=0.005)
    np.testing.assert_allclose(n_low[0], [0, 0, 1], atol=1e-9)


def _tiny_spec(seed: int, exercise: str = "squat"):
    spec = random_clip(exercise, seed, view="side", fps=25, size=TINY, reps=1)
    p = replace(spec.people[0], tempo=0.3)
    return replace(spec, people=(p,), duration_s=0.2)


def test_same_seed_gives_identical_truth_and_pixels() -> None:
    a, b = ClipRenderer(_tiny_spec(11)), ClipRenderer(_tiny_spec(11))
    for i in (0, 3):
        (img_a, ta), (img_b, tb) = a.frame(i), b.frame(i)
        assert np.array_equal(img_a, img_b)
        assert json.dumps(ta) == json.dumps(tb)
    assert a.header() == b.header()


def test_different_seed_changes_the_appearance() -> None:
    a, b = _tiny_spec(11), _tiny_spec(12)
    assert a.people[0].appearance != b.people[0].appearance or a.room != b.room
    img_a, _ = ClipRenderer(a).frame(0)
    img_b, _ = ClipRenderer(b).frame(0)
    assert np.abs(img_a.astype(int) - img_b.astype(int)).mean() > 5


def test_truth_joints_project_onto_the_rendered_person() -> None:
    spec = replace(random_clip("squat", 3, view="front", fps=25, size=(160, 120), reps=1), duration_s=0.0)
    rend = ClipRenderer(spec)
    img, entry = rend.frame(0)
    person = entry["people"][0]
    xy = np.array(person["joints_2d"])
    assert np.isfinite(xy).all() and (xy >= 0).all() and (xy[:, 0] < 160).all() and (xy[:, 1] < 120).all()
    assert person["visible"][L.NOSE] == 1 and person["visible"][L.LEFT_KNEE] == 1
    # the person's pixels differ from the empty room there
    room = (rend.background.ambient + rend.background.direct) * rend.exposure
    bg = (np.clip(room, 0, 1) ** (1 / 2.2) * 255)[:, :, ::-1]
    u, v = np.rint(xy[L.LEFT_HIP]).astype(int)
    assert np.abs(img[v, u].astype(float) - bg[v, u]).sum() > 20


def test_side_view_hides_the_far_knee() -> None:
    spec = random_clip("squat", 5, view="side", fps=25, size=(160, 120), reps=1)
    spec = replace(spec, azimuth=90.0, duration_s=0.0)
    _, entry = ClipRenderer(spec).frame(0)
    vis = entry["people"][0]["visible"]
    assert vis[L.LEFT_KNEE] == 1 and vis[L.RIGHT_KNEE] == 0  # camera on the person's left


def test_group_scene_has_everyone_in_the_truth() -> None:
    spec = random_clip("squat", 8, view="front", fps=25, size=TINY, reps=1, people=2, crossing=True)
    spec = replace(spec, duration_s=0.08)
    rend = ClipRenderer(spec)
    _, entry = rend.frame(1)
    assert [p["id"] for p in entry["people"]] == [0, 1, 2]
    assert rend.header()["people"][2]["exercise"] == "walk"
    pos = [np.array(p["joints_3d"])[L.LEFT_HIP] for p in entry["people"][:2]]
    assert np.linalg.norm(pos[0] - pos[1]) > 0.8
    # the camera frames the exercisers, not the walker's whole path: person 0 stays big in the picture
    tall = np.ptp(np.array(entry["people"][0]["joints_2d"])[:, 1])
    assert tall > 0.25 * TINY[1]


def test_cli_writes_a_decodable_video_and_matching_truth(tmp_path) -> None:
    from synth.cli import main

    out = tmp_path / "pu.mp4"
    code = main(["push_up", "--reps", "1", "--tempo", "0.35", "--fps", "25", "--size", "96x72", "--seed", "4",
                 "--faults", "rep1:head_drop", "--workers", "1", "--out", str(out), "--labels",
                 str(tmp_path / "labels.csv")])
    assert code == 0
    doc = load_truth(out.with_suffix(".json"))
    with av.open(str(out)) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert n == doc["n_frames"] == len(doc["frames"])
    assert doc["people"][0]["faults_by_rep"] == {"1": ["head_drop"]}
    assert doc["frames"][-1]["people"][0]["reps_done"] == 1
    assert any("head_drop" in f["people"][0]["faults_active"] for f in doc["frames"])
    header, row = (tmp_path / "labels.csv").read_text().splitlines()
    assert header == "file,exercise,reps,hold_s,people,view,faults"
    assert row == f"pu.mp4,push_up,1,,1,{doc['view']},rep1:head_drop"


def test_heading_rotates_the_person_not_the_shape() -> None:
    p = _pose("squat", 0.6)
    q = p.transformed(rot_y(90), np.array([1.0, 0.0, 2.0]))
    assert np.linalg.norm(q["l_knee"] - q["l_hip"]) == pytest.approx(np.linalg.norm(p["l_knee"] - p["l_hip"]))
    np.testing.assert_allclose(q["pelvis"], rot_y(90) @ p["pelvis"] + [1.0, 0.0, 2.0])


def test_label_rows_count_everyone_doing_the_exercise_and_correct_hold_time() -> None:
    from synth.cli import label_row

    spec = random_clip("squat", 9, view="front", fps=25, size=TINY, reps=2, people=2, crossing=True,
                       faults={2: ["knee_valgus"]})
    header = ClipRenderer(replace(spec, duration_s=0.0)).header()
    row = label_row("g.mp4", header)
    assert row["reps"] == "2|2" and row["people"] == 2 and row["faults"] == "rep2:knee_valgus"
    assert header["people"][1]["faults_by_rep"] == {"2": ["knee_valgus"]}
    plank = random_clip("plank", 9, view="side", fps=25, size=TINY, hold_s=4.0, faults={0: ["hips_sagging"]})
    plank = replace(plank, people=(replace(plank.people[0], fault_onset_s=2.0),))
    hold = label_row("p.mp4", ClipRenderer(replace(plank, duration_s=0.0)).header())
    assert hold["reps"] == "" and 1.9 < float(hold["hold_s"]) < 2.6 and hold["faults"] == "hold:hips_sagging"


def test_y4m_output_for_a_fake_camera(tmp_path) -> None:
    from synth.generate import write_clip

    spec = replace(_tiny_spec(6), duration_s=0.12)
    header = write_clip(spec, tmp_path / "cam.y4m", tmp_path / "cam.json.gz")
    data = (tmp_path / "cam.y4m").read_bytes()
    assert data.startswith(b"YUV4MPEG2 W96 H72 F25:1")
    assert data.count(b"FRAME\n") == header["n_frames"] == 4
    assert len(data) == data.index(b"\n") + 1 + 4 * (6 + 96 * 72 * 3 // 2)
    assert load_truth(tmp_path / "cam.json.gz")["n_frames"] == 4


def test_parallel_rendering_gives_the_same_frames() -> None:
    from synth.generate import frames

    spec = replace(_tiny_spec(21, "floor_lift"), duration_s=0.4)
    _, serial = frames(spec, workers=1)
    _, parallel = frames(spec, workers=2)
    for (a, ta), (b, tb) in zip(serial, parallel, strict=True):
        assert np.array_equal(a, b) and ta == tb


def test_sagittal_angles_ignore_out_of_plane_offsets() -> None:
    from synth.truth import sagittal_angles

    p = _pose("squat", 0.0)
    lm = p.landmarks()
    sag = sagittal_angles(lm, p.frames["pelvis"][:, 0])
    # standing straight: in the sagittal plane hip and knee are nearly straight, the trunk upright
    assert sag["left_knee"] > 175 and sag["left_hip"] > 170 and sag["trunk"] < 3
    bottom = _pose("squat", 1.0)
    sag = sagittal_angles(bottom.landmarks(), bottom.frames["pelvis"][:, 0])
    full = model_angles(bottom.landmarks(), pose_extras(bottom))
    assert abs(sag["left_knee"] - full["left_knee"]) < 10


def test_pauses_and_tempo_set_the_timing() -> None:
    base = timeline(PersonSpec("squat", reps=2), 25)
    slow = timeline(PersonSpec("squat", reps=2, tempo=1.5), 25)
    paused = timeline(PersonSpec("squat", reps=2, peak_s=1.0, rest_s=1.0), 25)
    assert len(slow) > 1.4 * len(base) - 5
    assert sum(s.phase == "peak" for s in paused) == pytest.approx(2 * 25, abs=2)
    assert paused[-1].reps_done == 2


# ----------------------------------------------------------------------------- detection matrix, fault set
def test_matrix_grid_covers_every_exercise_in_two_views_and_the_hard_variants() -> None:
    from synth.matrix import REQUIRED, VIEWS, cell_spec, grid

    cells = grid()
    assert len({c.name for c in cells}) == len(cells)
    for ex in exercises.ENGINE_EXERCISES:
        mine = [c for c in cells if c.exercise == ex]
        assert {c.view for c in mine} == set(VIEWS) and {"a", "dark", "far"} <= {c.variant for c in mine}
        assert {c.view for c in mine if c.variant == "dark"} == set(VIEWS)
    assert REQUIRED == 0.95
    # the same person and room in every view of a variant; the spec is a pure function of the cell
    side, front = (next(c for c in cells if c.name == n) for n in ("plank_side_a", "plank_front_a"))
    assert side.seed == front.seed and cell_spec(side) == cell_spec(side)
    assert cell_spec(side).people[0].appearance == cell_spec(front).people[0].appearance
    dark = cell_spec(next(c for c in cells if c.name == "plank_front_dark"))
    assert dark.light[2] <= 0.3 and dark.exposure < 1 and dark.noise > 0 and dark.room.floor == "rubber"
    assert cell_spec(next(c for c in cells if c.variant == "far")).fill == 0.35
    near = [c for c in cells if c.variant == "near"]
    assert {c.exercise for c in near} == {e for e in exercises.ENGINE_EXERCISES if exercises.get(e).lying}
    assert near[0].seed == next(c for c in cells if c.name == f"{near[0].exercise}_front_a").seed
    assert [c.variant for c in grid(["squat"], ["front"], ["b", "dark"])] == ["b", "dark"]


def test_measure_matches_the_tracked_person_to_the_rendered_one() -> None:
    from synth.measure import match_rows, person_box

    gt2 = np.zeros((3, 33, 2))
    gt2[:, :, 0] = np.linspace(100, 140, 33)
    gt2[:, :, 1] = np.linspace(50, 250, 33)
    h, w = person_box(gt2)
    assert h[0] == 200 and w[0] == 40
    frames = np.array([0, 0, 2])
    xy = np.stack([gt2[0] + 3.0, gt2[0] + 80.0, gt2[2] + 50.0])  # frame 0: a close and a far person
    rows, err = match_rows(frames, xy, gt2, 3)
    assert rows.tolist() == [0, -1, 2] and err[0] == pytest.approx(np.hypot(3, 3)) and np.isinf(err[1])


def test_angle_errors_are_estimate_minus_sagittal_truth_on_the_near_side() -> None:
    from synth.measure import angle_errors, pooled_angle_stats
    from vision.geometry import compute_angles

    spec = replace(random_clip("squat", 3, view="side", fps=25, size=(160, 120), reps=1), duration_s=0.08)
    rend = ClipRenderer(spec)
    truth = {"people": rend.header()["people"], "frames": [rend.frame(i)[1] for i in range(rend.n_frames)]}
    xy = np.array([f["people"][0]["joints_2d"] for f in truth["frames"]])
    rows = np.array([0, -1, 2])
    errs = angle_errors(truth, xy, rows)
    near = "left" if truth["people"][0]["azimuth_deg"] > 0 else "right"
    est = compute_angles(xy[0])[f"{near}_knee"]
    assert errs["knee"][0] == pytest.approx(est - truth["frames"][0]["people"][0]["angles_sagittal"][f"{near}_knee"],
                                            abs=0.01)
    assert errs["knee"][1] is None and abs(errs["trunk"][2]) < 10
    stats = pooled_angle_stats([{"angle_errors": {"live": errs}}])
    assert stats["knee"]["n"] == 2


def test_matrix_tables_mark_failing_cells_and_say_where_frames_were_lost(tmp_path) -> None:
    from synth.matrix import write_tables

    base = {"seed": 1, "frames": 100, "any": 1.0, "longest_gap_s": 0.0, "height_px": 250.0, "width_px": 90.0,
            "height_px_lost": None, "width_px_lost": None, "joint_err_px": 4.0, "lost_frames": 0,
            "lost_phases": {}, "expected": 1, "counted": 1}
    ok = dict(base, cell="squat_side_a", exercise="squat", view="side", variant="a", found=1.0)
    bad = dict(base, cell="plank_front_dark", exercise="plank", view="front", variant="dark", found=0.6, any=0.7,
               lost_frames=40, longest_gap_s=1.2, height_px_lost=60.0, width_px_lost=45.0,
               lost_phases={"hold": 40}, expected=3.0, counted=1.0)
    csv_path, md = write_tables([ok, bad], tmp_path, "python -m synth.matrix --out x")
    text = md.read_text()
    assert "| squat | 100 |" in text and "**60**" in text and "1 of 2 cells" in text
    assert "| plank_front_dark | **60** | **70** | 0 | 40/100 | 1.2 s | 250 × 90 | 60 × 45 | hold 40 |" in text
    assert csv_path.read_text().count("\n") == 3


def test_fault_set_recipe_is_fixed_and_scored_per_code(tmp_path) -> None:
    from synth.faultset import score
    from synth.samples import eval_set_specs

    specs = eval_set_specs()
    names = [n for n, _ in specs]
    assert len(set(names)) == len(names) == sum(1 + len(APPLICABLE[e]) for e in exercises.ENGINE_EXERCISES)
    assert eval_set_specs()[5] == specs[5] and "floor_lift_stoop_lift_side" in names
    (tmp_path / "a.mp4").write_bytes(b"")
    (tmp_path / "b.mp4").write_bytes(b"")

    def person(reps: list[list[str]]) -> dict:
        return {"id": 1, "reps": len(reps), "hold_s": 0.0, "frames": 90, "rep_faults": reps, "hold_faults": []}

    label = {"exercise": "squat", "reps": "3", "hold_s": "", "people": 1, "view": "side"}
    results = [
        {"label": dict(label, file="a.mp4", faults="rep2:too_shallow"),
         "measured": {"detection_rate": 1.0, "people_seen": 1, "frames": 90, "duration_s": 3.6,
                      "people": [person([[], ["too_shallow", "jerky"], []])]}},
        {"label": dict(label, file="b.mp4", faults="rep2:rounded_back"),
         "measured": {"detection_rate": 1.0, "people_seen": 1, "frames": 90, "duration_s": 3.6,
                      "people": [person([[], []])]}},
    ]
    rows, agg, codes = score(tmp_path, results)
    assert [r["exact"] for r in rows] == [True, False]
    assert codes["too_shallow"] == {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert codes["jerky"]["precision"] == 0.0 and codes["jerky"]["recall"] is None and codes["rounded_back"]["fn"] == 1
    assert (agg["fault_tp"], agg["fault_fp"], agg["fault_fn"]) == (1, 1, 1)
    assert (tmp_path / "labels.csv").read_text().splitlines()[0] == "file,exercise,reps,hold_s,people,view,faults"


def test_a_person_seen_mirrored_counts_as_found_and_is_reported() -> None:
    from synth.measure import LIMB_JOINTS, MIRRORED, detection

    gt2 = np.zeros((2, 33, 2))
    gt2[:, :, 0] = 140.0
    gt2[:, LIMB_JOINTS[::2], 0] = 100.0  # left joints on one side, right joints 80 px away
    gt2[:, LIMB_JOINTS[1::2], 0] = 180.0
    gt2[:, :, 1] = np.linspace(50, 250, 33)
    swapped = gt2.copy()
    swapped[:, MIRRORED] = gt2[:, LIMB_JOINTS]  # left and right joints exchanged
    det = detection({"frame": np.array([0, 1]), "xy": np.stack([gt2[0], swapped[1]])}, gt2)
    assert det["found"].tolist() == [True, True] and det["mirrored"].tolist() == [False, True]


def test_the_engine_counts_a_rendered_rep_on_the_true_landmarks(tmp_path) -> None:
    from synth.generate import write_clip
    from synth.oracle import oracle_measure, truth_frames

    spec = random_clip("squat", 5, view="side", fps=25, size=TINY, reps=1, noise=0.0)
    write_clip(spec, tmp_path / "s.y4m", tmp_path / "s.json.gz")
    truth = load_truth(tmp_path / "s.json.gz")
    frames = truth_frames(truth)
    assert len(frames) == truth["n_frames"] and frames[5].num_people == 1
    np.testing.assert_allclose(frames[5].xy[0], truth["frames"][5]["people"][0]["joints_2d"], atol=1e-3)
    assert abs(frames[5].world[0][[L.LEFT_HIP, L.RIGHT_HIP]].mean(axis=0)).max() < 1e-5  # about the mid-hip
    measured = oracle_measure(tmp_path / "s.json.gz")
    assert [p["reps"] for p in measured["people"]] == [1]
