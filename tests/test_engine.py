"""Exercise engine on synthetic motion: exact counts from every supported view, faults in the right reps.

The skeletons come from ``tests/synthetic_motion.py`` (3D kinematics projected through a pinhole
camera, with pixel and depth noise).  Counts must be exact, an injected fault must be reported in
the rep it was injected into, and clean reps must report none.
"""

from __future__ import annotations

import pytest
from synthetic_motion import Actor, Filming, camera_for, make_frames, run_engine

from exercises.definition import list_exercises, load_exercise

REPS_EXERCISES = [i for i, _, k in list_exercises() if k == "reps"]
VIEWS = {"either": ("side", "front", "oblique"), "side": ("side", "oblique"), "front": ("front",)}

#: For each exercise, the faults the synthetic generator injects and a view that lets the engine check them.
FAULTS: dict[str, dict[str, str]] = {
    "squat": {"too_shallow": "front", "knee_valgus": "front", "knee_over_toes": "side", "rounded_back": "side",
              "jerky": "oblique"},
    "floor_lift": {"stoop_lift": "side", "rounded_back": "side", "knee_valgus": "front", "twisting": "front",
                   "load_far": "side", "jerky": "front"},
    "hip_hinge": {"too_shallow": "side", "rounded_back": "side", "load_far": "side", "jerky": "side"},
    "lunge": {"too_shallow": "front", "knee_over_toes": "side", "twisting": "oblique", "jerky": "side"},
    "push_up": {"too_shallow": "front", "hips_sagging": "side", "hips_piking": "side", "head_drop": "side",
                "jerky": "oblique"},
    "bird_dog": {"hips_sagging": "side", "twisting": "front", "too_shallow": "oblique", "head_drop": "side",
                 "jerky": "side"},
    "glute_bridge": {"too_shallow": "side", "twisting": "front", "jerky": "side"},
    "dead_bug": {"too_shallow": "side", "twisting": "front", "jerky": "oblique"},
    "superman": {"too_shallow": "side", "jerky": "side"},
}
FAULT_CASES = [(ex, code, view) for ex, table in FAULTS.items() for code, view in table.items()]
COUNT_CASES = [(ex, view) for ex in REPS_EXERCISES for view in VIEWS[load_exercise(ex).view]]


def _person(eng, track_id: int = 1):
    assert track_id in eng.people, f"person {track_id} never seen"
    return eng.people[track_id]


@pytest.mark.parametrize(("exercise", "view"), COUNT_CASES)
def test_clean_reps_count_exactly_with_no_faults(exercise, view):
    actor = Actor(exercise, reps=4)
    eng = run_engine(make_frames([actor], Filming(camera_for(exercise, view), noise_px=1.0, seed=11)), exercise)
    p = _person(eng)
    assert p.reps == 4
    assert [e.faults for e in p.rep_events] == [[], [], [], []]
    # reps are reported where they happened: each ends after its synthetic rep's far point and
    # no later than the rest that follows it
    for ev, (t0, t1) in zip(p.rep_events, actor.rep_windows(), strict=True):
        assert t0 - 0.3 <= ev.start_s < ev.end_s <= t1 + actor.tempo.rest_s + 0.2


def test_every_fault_code_of_every_exercise_is_exercised_here():
    for ex, table in FAULTS.items():
        codes = set(load_exercise(ex).fault_codes)
        assert set(table) <= codes, (ex, set(table) - codes)


@pytest.mark.parametrize(("exercise", "code", "view"), FAULT_CASES)
def test_injected_fault_is_reported_in_its_rep_only(exercise, code, view):
    actor = Actor(exercise, reps=3, faults={2: (code,)})
    eng = run_engine(make_frames([actor], Filming(camera_for(exercise, view), noise_px=1.0, seed=5)), exercise)
    p = _person(eng)
    assert p.reps == 3
    assert [sorted(e.faults) for e in p.rep_events] == [[], [code], []]
    spoken = [f.code for f in p.feedback if f.kind == "fault"]
    assert code in spoken
    assert set(spoken) == {code}


@pytest.mark.parametrize(("exercise", "code", "rep"), [
    ("squat", "knee_valgus", 1), ("squat", "jerky", 1), ("floor_lift", "stoop_lift", 3), ("push_up", "hips_sagging", 1),
    ("lunge", "too_shallow", 3), ("floor_lift", "jerky", 3),
])
def test_fault_in_first_or_last_rep(exercise, code, rep):
    view = FAULTS[exercise][code]
    actor = Actor(exercise, reps=3, faults={rep: (code,)})
    eng = run_engine(make_frames([actor], Filming(camera_for(exercise, view), noise_px=1.0, seed=2)), exercise)
    p = _person(eng)
    assert p.reps == 3
    assert [sorted(e.faults) for e in p.rep_events] == [[code] if i == rep else [] for i in (1, 2, 3)]


def test_several_faults_in_several_reps():
    faults = {1: ("stoop_lift",), 2: ("load_far", "rounded_back"), 4: ("stoop_lift", "rounded_back")}
    actor = Actor("floor_lift", reps=4, faults=faults)
    eng = run_engine(make_frames([actor], Filming(camera_for("floor_lift", "side"), seed=8)), "floor_lift")
    got = [sorted(e.faults) for e in _person(eng).rep_events]
    assert got == [sorted(faults.get(i, ())) for i in (1, 2, 3, 4)]


def test_stoop_index_separates_stoop_from_squat_lifts():
    """The stoop-versus-squat index (trunk inclination against knee flexion) is low for squat-style
    lifts and high for stoop-style lifts, from the front as well as from the side."""
    for view in ("side", "front"):
        highs = {}
        for label, faults in (("squat", {}), ("stoop", {1: ("stoop_lift",)})):
            actor = Actor("floor_lift", reps=1, faults=faults)
            from exercises.engine import ExerciseEngine

            eng = ExerciseEngine("floor_lift", lang="en")
            worst = 0.0
            for f in make_frames([actor], Filming(camera_for("floor_lift", view), seed=1)):
                eng.update(f)
                p = eng.people.get(1)
                if p is not None and p.values.get("hand_height", 1.0) < 0.5:
                    worst = max(worst, p.values.get("stoop_index", 0.0))
            highs[label] = worst
        assert highs["squat"] < 0.5 < 0.72 < highs["stoop"], (view, highs)


def test_rep_events_carry_tempo_rom_and_reba_trunk_band():
    actor = Actor("floor_lift", reps=2, faults={2: ("stoop_lift",)})
    eng = run_engine(make_frames([actor], Filming(camera_for("floor_lift", "side"), seed=3)), "floor_lift")
    squat_style, stoop = (e.to_dict() for e in _person(eng).rep_events)
    assert squat_style["measures"]["trunk_inclination"]["band"] == "20-60"
    assert stoop["measures"]["trunk_inclination"]["band"] == ">60"
    assert stoop["measures"]["stoop_index"]["max"] > squat_style["measures"]["stoop_index"]["max"] + 0.3
    for ev in (squat_style, stoop):
        t = ev["tempo"]
        assert t["total_s"] == pytest.approx(ev["end_s"] - ev["start_s"], abs=1e-3)
        assert 0 < t["out_s"] < t["total_s"] and 0 < t["back_s"] < t["total_s"]
    sq = run_engine(make_frames([Actor("squat", reps=2, faults={2: ("too_shallow",)})],
                                Filming(camera_for("squat", "front"), seed=3)), "squat")
    assert [e.rom_reached for e in _person(sq).rep_events] == [True, False]


@pytest.mark.parametrize("exercise", ["plank", "side_plank"])
def test_clean_hold_is_timed_in_full(exercise):
    view = "front" if exercise == "side_plank" else "side"
    actor = Actor(exercise, hold_s=12.0)
    eng = run_engine(make_frames([actor], Filming(camera_for(exercise, view), noise_px=1.0, seed=4)), exercise)
    p = _person(eng)
    assert p.hold_s == pytest.approx(12.0, abs=0.2)
    assert [f for f in p.feedback if f.kind == "fault"] == []


HOLD_FAULTS = [("plank", "hips_sagging", "side", True), ("plank", "hips_piking", "side", True),
               ("plank", "head_drop", "side", False), ("side_plank", "hips_sagging", "front", True),
               ("side_plank", "hips_piking", "front", True)]


@pytest.mark.parametrize(("exercise", "code", "view", "pauses"), HOLD_FAULTS)
def test_hold_clock_pauses_only_for_form_faults_and_says_why(exercise, code, view, pauses):
    actor = Actor(exercise, hold_s=12.0, hold_faults=((4.0, 7.0, code),))
    from exercises.engine import ExerciseEngine

    eng = ExerciseEngine(exercise, lang="de")
    reasons, events = set(), []
    for f in make_frames([actor], Filming(camera_for(exercise, view), noise_px=1.0, seed=6)):
        events += [u for u in eng.update(f) if u.kind.startswith("hold_")]
        if eng.people:
            r = eng.overlay(1)["paused_reason"]
            if r:
                reasons.add(r)
    eng.finish()
    p = eng.people[1]
    assert code in [fb.code for fb in p.feedback if fb.kind == "fault"]
    if pauses:
        assert 12.0 - 3.0 - 0.2 <= p.hold_s <= 12.0 - 1.5, p.hold_s
        assert any(r.startswith("Uhr pausiert") for r in reasons)
        assert [u.kind for u in events][:2] == ["hold_paused", "hold_resumed"]
        assert events[0].feedback.code == code and events[0].feedback.message.startswith("Uhr pausiert: ")
    else:
        assert p.hold_s == pytest.approx(12.0, abs=0.2)
        assert not reasons and not events
