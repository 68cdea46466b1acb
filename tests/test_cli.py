"""The formcheck command line: outputs, listings and one-line errors (never a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from exercises.cli import main


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exercises.cli", *args], capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda d: d / "missing.mp4", "missing.mp4"),
        (lambda d: (d / "notes.mp4").write_text("hello") and d / "notes.mp4", "notes.mp4"),
        (lambda d: d, "holds no videos"),  # a folder is a batch; an empty one says so
    ],
)
def test_bad_video_is_one_clear_line(tmp_path: Path, make, needle: str) -> None:
    proc = _cli("analyze", str(make(tmp_path)), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("formcheck: error:")]
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_unknown_exercise_is_rejected_before_any_work(tmp_path: Path, sample) -> None:
    proc = _cli("analyze", str(sample("pose2sim_singleperson_cam01.mp4")), "--exercise", "yoga",
                "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "yoga" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "summary.json").exists()


def test_bad_model_override_is_a_clear_error(tmp_path: Path, sample) -> None:
    bogus = tmp_path / "heavy.task"
    bogus.write_bytes(b"nope")
    proc = _cli("analyze", str(sample("pose2sim_singleperson_cam01.mp4")), "--model", str(bogus),
                "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "heavy.task" in proc.stderr and "Traceback" not in proc.stderr


def test_exercises_lists_all_eleven_with_views(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exercises"]) == 0
    out = capsys.readouterr().out
    for ex in ("floor_lift", "squat", "hip_hinge", "plank", "side_plank", "bird_dog", "glute_bridge",
               "dead_bug", "superman", "lunge", "push_up"):
        line = next((ln for ln in out.splitlines() if ln.split() and ln.split()[0] == ex), None)
        assert line is not None, f"{ex} missing from:\n{out}"
        assert any(v in line for v in ("side", "front", "either", "any")), line


def test_analyze_writes_all_outputs(tmp_path: Path, sample) -> None:
    out = tmp_path / "out"
    proc = _cli("analyze", str(sample("pose2sim_singleperson_cam01.mp4")), "--out", str(out),
                "--target-fps", "15")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == len(summary["per_frame_people"]) > 20
    assert summary["detection_rate"] >= 0.9
    assert summary["people"] == 1
    assert "detection rate" in proc.stdout
    arrays = np.load(out / "landmarks.npz")
    assert arrays["xy"].shape[1:] == (33, 2)
    assert len(arrays["frame_people"]) == summary["frames"]
    assert (out / "annotated.mp4").stat().st_size > 10_000
