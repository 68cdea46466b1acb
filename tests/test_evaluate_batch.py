"""The parallel runner behind ``formcheck evaluate`` and a batch ``formcheck analyze``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from exercises.batch import run_tasks

ROOT = Path(__file__).resolve().parent.parent


def _square_or_die(item: int, progress) -> int:
    """Module-level, so spawned workers can import it. Item 3 kills its worker process."""
    progress(1, 2)
    if item == 3:
        os._exit(13)
    if item == 5:
        raise ValueError("five is bad")
    return item * item


def test_results_come_back_in_order_and_one_crash_costs_one_item() -> None:
    seen: list[float] = []
    out = run_tasks(_square_or_die, list(range(7)), jobs=2, on_error=lambda item, msg: f"error {item}: {msg}",
                    progress=seen.append)
    assert out[:3] == [0, 1, 4] and out[4] == 16 and out[6] == 36
    assert out[3] == "error 3: the worker process crashed while analysing this clip"
    assert out[5] == "error 5: ValueError: five is bad"
    assert seen and max(seen) == 7


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="--engine must be one of local, ray"):
        run_tasks(_square_or_die, [1], engine="dask", on_error=lambda i, m: m)


def test_batch_analyze_writes_one_folder_per_video(tmp_path: Path, sample) -> None:
    clip = sample("pose2sim_singleperson_cam01.mp4")
    proc = subprocess.run(
        [sys.executable, "-m", "exercises.cli", "analyze", str(clip), str(clip), str(tmp_path / "missing.mp4"),
         "--out", str(tmp_path / "out"), "--target-fps", "8", "--no-video", "--jobs", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 1  # one of three videos failed
    out = tmp_path / "out"
    # the same name twice gets a second folder, not an overwrite
    for name in ("pose2sim_singleperson_cam01", "pose2sim_singleperson_cam01_2"):
        assert {p.name for p in (out / name).iterdir()} == {"summary.json", "landmarks.npz"}
    batch = json.loads((out / "batch.json").read_text())
    assert [r["status"] for r in batch] == ["ok", "ok", "error"]
    assert "not found" in batch[2]["note"]
    assert batch[0]["detection_rate"] > 0.5
    assert "2 of 3 videos" in proc.stdout
