"""A wheel install, outside the repository, must still find and verify the bundled model."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_the_model_and_finds_it_outside_the_repo(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheel_dir),
         str(ROOT)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (wheel,) = wheel_dir.glob("formcheck-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert "vision/_models/pose_landmarker_full.task" in names
    assert "vision/_models/pose_landmarker_full.task.sha256" in names
    assert any(n.startswith("exercises/definitions/") and n.endswith(".toml") for n in names)

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True, timeout=300)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("FORMCHECK_MODEL", None)
    code = "import vision.model as m; p = m.resolve_model(); print(p)"
    out = subprocess.run([sys.executable, "-c", code], cwd=outside, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    resolved = Path(out.stdout.strip())
    assert resolved.is_relative_to(target), f"model resolved from {resolved}, not from the installed wheel"
