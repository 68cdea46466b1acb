"""Live frame rate of the app's live path: ``python -m exercises.session_bench CLIP [--people N]``.

Drives a :class:`~exercises.session.LiveSession` exactly as the app's live and group pages do
(:func:`app_pages.live_view.open_session` settings: frames scaled to 960 px, at most
``FORMCHECK_LIVE_MAX_FPS`` = 15 frames per second taken from the source, analysis in a child
process, the clip played like a camera in a loop, polled ten times a second like the page) and
prints frames analysed per second, frames dropped, people seen and the load average.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from exercises.session import LiveSession, SessionConfig

log = logging.getLogger(__name__)


def measure(clip: str | Path, *, people: int = 1, seconds: float = 60.0, exercise: str = "squat",
            process: bool = True, max_fps: float = 15.0, warmup_s: float = 10.0) -> dict[str, Any]:
    """Play ``clip`` like a camera for ``seconds`` (after ``warmup_s``) and return the measured rates."""
    config = SessionConfig(exercise=exercise, people=people, target_fps=max_fps, process=process,
                           idle_timeout_s=30.0)
    load0 = os.getloadavg()
    with LiveSession(config) as session:
        session.start(clip, pace=True, loop=True)
        update = None
        while session.running and (update is None or update.frames < 1):  # model loaded, first frame analysed
            update = session.poll(timeout=0.1)
        t_warm = time.monotonic() + warmup_s
        while session.running and time.monotonic() < t_warm:
            update = session.poll(timeout=0.1)
        start = (time.monotonic(), update.frames if update else 0, update.dropped if update else 0)
        rates: list[float] = []
        seen: list[int] = []
        while session.running and time.monotonic() < start[0] + seconds:
            update = session.poll(timeout=0.1)  # the page polls ten times a second
            if update is not None:
                rates.append(update.fps)
                seen.append(update.num_people)
        end = (time.monotonic(), update.frames if update else 0, update.dropped if update else 0)
        summary = session.stop()
    load1 = os.getloadavg()
    if update is None:
        raise RuntimeError(f"nothing was analysed ({summary.end_reason}: {summary.error})")
    wall = end[0] - start[0]
    return {
        "clip": str(clip), "people": people, "process": process, "max_fps": max_fps, "seconds": round(wall, 1),
        "fps": round((end[1] - start[1]) / wall, 2) if wall > 0 else 0.0,
        "dropped_per_s": round((end[2] - start[2]) / wall, 2) if wall > 0 else 0.0,
        "fps_min_2s": round(min(rates), 2) if rates else 0.0, "fps_max_2s": round(max(rates), 2) if rates else 0.0,
        "people_seen_median": sorted(seen)[len(seen) // 2] if seen else 0,
        "loadavg_before": [round(x, 2) for x in load0], "loadavg_after": [round(x, 2) for x in load1],
        "cpus": os.cpu_count(), "end_reason": summary.end_reason,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip")
    ap.add_argument("--people", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--exercise", default="squat")
    ap.add_argument("--in-thread", action="store_true", help="analyse in a thread instead of a child process")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    res = measure(args.clip, people=args.people, seconds=args.seconds, exercise=args.exercise,
                  process=not args.in_thread,
                  max_fps=float(os.environ.get("FORMCHECK_LIVE_MAX_FPS", "15")))
    sys.stdout.write(json.dumps(res) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
