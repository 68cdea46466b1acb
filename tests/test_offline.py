"""Model load and inference must never touch the network."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: any socket opened from Python aborts the process.
_CHILD = textwrap.dedent(
    """
    import sys

    def guard(event, args):
        if event in ("socket.__new__", "socket.connect", "socket.getaddrinfo", "socket.bind"):
            sys.stderr.write(f"NETWORK ACCESS: {event} {args!r}\\n")
            sys.stderr.flush()
            import os
            os._exit(97)

    sys.addaudithook(guard)
    from vision.capture import open_video
    from vision.pose import PoseEstimator

    people = 0
    with PoseEstimator(num_poses=2) as pose, open_video(sys.argv[1]) as src:
        for i, frame in enumerate(src):
            people += pose.process(frame).num_people
            if i == 9:
                break
    print("PEOPLE", people)
    """
)


def _run(prefix: list[str], video: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-c", _CHILD, str(video)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )


def _check(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode != 97, f"a socket was opened: {proc.stderr[-2000:]}"
    assert proc.returncode == 0, proc.stderr[-2000:]
    people = int(proc.stdout.split("PEOPLE")[1])
    assert people >= 10, "inference ran but found nobody in 10 frames of a clip with a person in each"


def test_model_load_and_inference_open_no_socket(sample) -> None:
    _check(_run([], sample("pose2sim_singleperson_cam01.mp4")))


def test_model_load_and_inference_work_without_a_network_namespace(sample) -> None:
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs 'unshare -rn' (user+network namespaces) to cut the network off entirely")
    _check(_run([unshare, "-rn"], sample("pose2sim_singleperson_cam01.mp4")))
