"""End to end on bundled rendered clips: video → pose → counts, holds and faults, against their ground truth.

The clips in ``samples/synth`` were rendered by ``synth`` (``python -m synth.samples``);
their truth says how many reps were performed, how long the hold was held correctly,
and which fault was injected into which rep.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from synth.truth import load_truth

SYNTH = Path(__file__).resolve().parent.parent / "samples" / "synth"


def _analyse(name: str, exercise: str) -> tuple[dict, dict]:
    from exercises.pipeline import Pipeline, PipelineConfig

    clip = SYNTH / f"{name}.mp4"
    assert clip.is_file(), f"bundled rendered sample {clip} is missing"
    truth = load_truth(SYNTH / f"{name}.json.gz")
    with Pipeline(PipelineConfig(people=2, exercise=exercise, lang="en", draw=False)) as pipe:
        report = pipe.run(clip).report
    assert report is not None
    person = next(p for p in report["people"] if p["id"] == report["primary_id"])
    return truth["people"][0], person


@pytest.mark.parametrize(("name", "exercise"), [("squat_side", "squat"), ("floor_lift_side", "floor_lift")])
def test_rendered_reps_are_counted_exactly_and_the_injected_fault_is_found(name: str, exercise: str) -> None:
    truth, person = _analyse(name, exercise)
    assert person["reps"] == truth["reps"]
    found = {k + 1: set(e["faults"]) for k, e in enumerate(person["rep_events"])}
    for rep, codes in truth["faults_by_rep"].items():
        assert set(codes) <= found[int(rep)], f"rep {rep}: injected {codes}, found {sorted(found[int(rep)])}"


def test_rendered_plank_hold_is_timed_and_the_sag_is_found() -> None:
    truth, person = _analyse("plank_side", "plank")
    assert person["hold_s"] == pytest.approx(truth["hold_correct_s"], abs=max(1.0, 0.2 * truth["hold_correct_s"]))
    feedback = {f["code"] for f in person["feedback"] if f.get("severity") in ("info", "warning", "error")}
    assert "hips_sagging" in feedback
