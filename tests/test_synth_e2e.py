"""End to end on bundled rendered clips: video → pose → counts, holds and faults, against their ground truth.

The clips in ``samples/synth`` were rendered by ``synth`` (``python -m synth.samples``);
their truth says how many reps were performed, how long the hold was held correctly,
and which fault was injected into which rep.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from synth.truth import load_truth, sagittal_angles
from vision.geometry import compute_angles

SYNTH = Path(__file__).resolve().parent.parent / "samples" / "synth"


@functools.cache
def _run(name: str, exercise: str) -> tuple[dict, dict, dict]:
    from exercises.pipeline import Pipeline, PipelineConfig

    clip = SYNTH / f"{name}.mp4"
    assert clip.is_file(), f"bundled rendered sample {clip} is missing"
    with Pipeline(PipelineConfig(people=2, exercise=exercise, lang="en", draw=False)) as pipe:
        result = pipe.run(clip)
    return load_truth(SYNTH / f"{name}.json.gz"), result.report, result.recorder.arrays()


def _analyse(name: str, exercise: str) -> tuple[dict, dict]:
    truth, report, _ = _run(name, exercise)
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


def test_side_view_angles_match_the_sagittal_truth_within_tolerance() -> None:
    """Knee, hip and trunk from the pipeline's (filtered) 2D landmarks of a side view, against the true
    sagittal-plane angles: the tolerance stated in samples/synth/README.md (bias within ±4°, mean
    absolute error under 6°, 95 % of frames within 14° for knee and hip, 10° for the trunk; the
    One-Euro filter's lag while moving dominates the tail).
    """
    truth, _, arrays = _run("squat_side", "squat")
    near = "left" if truth["people"][0]["azimuth_deg"] > 0 else "right"
    names = [f"{near}_knee", f"{near}_hip", "trunk"]
    errors: dict[str, list[float]] = {n: [] for n in names}
    for row, frame in enumerate(arrays["frame"]):
        lm3 = np.array(truth["frames"][frame]["people"][0]["joints_3d"])
        sag = sagittal_angles(lm3, lm3[23] - lm3[24])
        est = compute_angles(arrays["xy"][row])
        for n in names:
            errors[n].append(float(est[n]) - sag[n])
    assert len(errors["trunk"]) > 0.9 * truth["n_frames"]
    for n, tail in zip(names, (14.0, 14.0, 10.0), strict=True):
        e = np.array(errors[n])
        assert abs(np.nanmean(e)) < 4.0, f"{n}: bias {np.nanmean(e):.1f}°"
        assert np.nanmean(np.abs(e)) < 6.0, f"{n}: mean absolute error {np.nanmean(np.abs(e)):.1f}°"
        assert np.nanpercentile(np.abs(e), 95) < tail, f"{n}: 95th percentile {np.nanpercentile(np.abs(e), 95):.1f}°"


def test_matrix_measure_finds_the_rendered_person_in_every_frame_of_the_squat_sample() -> None:
    """synth.measure (what ``python -m synth.matrix`` reports) on the pipeline run above: the tracked person
    lies on the rendered one in ≥ 95 % of the frames, and its angle errors are those of the test above."""
    from synth.measure import ON_TARGET, angle_errors, match_rows, person_box, pooled_angle_stats
    from synth.truth import landmarks

    truth, _, arrays = _run("squat_side", "squat")
    gt2 = landmarks(truth)
    rows, err = match_rows(arrays["frame"], arrays["xy"].astype(float), gt2, truth["n_frames"])
    height, width = person_box(gt2)
    found = err < ON_TARGET * np.hypot(height, width)
    assert found.mean() >= 0.95
    assert np.median(err[found]) < 10
    stats = pooled_angle_stats([{"angle_errors": {"live": angle_errors(truth, arrays["xy"].astype(float),
                                                                       np.where(found, rows, -1))}}])
    for name, tail in (("knee", 14.0), ("hip", 14.0), ("trunk", 10.0)):
        assert abs(stats[name]["bias"]) < 4.0 and stats[name]["p95"] < tail, (name, stats[name])
