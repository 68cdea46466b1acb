"""Overlapping pipeline stages (decode, pose, checking, encode threads) change speed, never results."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from exercises.pipeline import STAGES, Pipeline, PipelineConfig, StageTimer
from exercises.stages import PoseThread


def _run(clip: Path, out: Path, **kw) -> tuple:
    timer = StageTimer(keep=5)
    cfg = PipelineConfig(exercise="squat", lang="en", target_fps=10, **kw)
    with Pipeline(cfg, timer=timer) as pipe:
        result = pipe.run(clip, video_out=out)
    return result, timer


def test_threaded_run_equals_stepping_frame_by_frame(tmp_path: Path, sample) -> None:
    clip = sample("pose2sim_multiperson_cam04.mp4")
    a, timer = _run(clip, tmp_path / "a.mp4", pose_thread=True, prefetch=4)
    b, _ = _run(clip, tmp_path / "b.mp4", pose_thread=False, prefetch=0)
    A, B = a.recorder.arrays(), b.recorder.arrays()
    assert A.keys() == B.keys() and len(A["xy"]) > 10
    for k in A:
        assert np.array_equal(A[k], B[k], equal_nan=A[k].dtype.kind == "f"), k
    assert json.dumps(a.report, sort_keys=True) == json.dumps(b.report, sort_keys=True)
    summary = timer.summary()
    assert set(summary) == set(STAGES)  # every stage was timed, the encoder in its own thread too
    assert all(s["n"] <= 5 for s in summary.values())  # the timer keeps a bounded window
    assert (tmp_path / "a.mp4").stat().st_size > 10_000
    assert not [t for t in threading.enumerate() if t.name.startswith("formcheck-")]


def test_a_pose_error_reaches_the_caller_and_the_thread_ends() -> None:
    def boom(frame):
        raise RuntimeError("model failed")

    frames = iter([object()] * 3)
    pt = PoseThread(frames, boom, 2, None)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="model failed"):
        list(pt)
    pt.close()


def test_a_consumer_that_stops_early_does_not_leave_the_thread_running() -> None:
    frames = iter(range(1000))
    pt = PoseThread(frames, lambda f: f, 2, None)  # type: ignore[arg-type]
    assert next(iter(pt)) == 0
    pt.close()
    assert not [t for t in threading.enumerate() if t.name == "formcheck-pose"]
