"""``--engine ray`` runs the same per-clip function as the local engine and gives the same numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from exercises.evaluate import EvalOptions, evaluate

ray = pytest.importorskip("ray", reason="--engine ray needs Ray (pip install -e '.[dev]' installs it)")


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def test_ray_and_local_engines_agree(tmp_path: Path, sample) -> None:
    clip = sample("pose2sim_multiperson_cam04.mp4")
    (tmp_path / "labels.csv").write_text(
        "file,exercise,reps,hold_s,people,view,faults\n"
        f"{clip},,,,2,,\n"
        f"{clip},squat,0,,1,front,\n"
        "gone.mp4,squat,1,,1,front,\n", encoding="utf-8")
    opts = EvalOptions(target_fps=8)
    local = evaluate(tmp_path, engine="local", jobs=2, opts=opts)
    on_ray = evaluate(tmp_path, engine="ray", jobs=2, opts=opts)
    assert not ray.is_initialized()  # the local instance it started is shut down again
    assert [r["status"] for r in on_ray["clips"]] == ["ok", "ok", "error"]
    assert _strip(on_ray["clips"]) == _strip(local["clips"])
    for key in ("exact_count_accuracy", "detection_rate", "people_count_accuracy"):
        assert on_ray["aggregates"]["all"][key] == local["aggregates"]["all"][key]
