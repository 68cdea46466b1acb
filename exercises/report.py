"""The JSON report contract of ``formcheck analyze``.

``build_report(engine, video=..., fps=..., frames=...)`` returns a JSON-serialisable dict::

    {"video", "exercise", "exercise_name", "kind", "view", "lang", "fps", "frames", "duration_s",
     "primary_id",
     "people": [{"id", "reps", "hold_s", "engaged", "rep_events": [{"start_s", "end_s", "faults", ...}],
                 "holds": [...], "feedback": [{"t_s", "code", "severity", "message"}]}]}

A person who never exercised (a bystander, a trainer) is listed with 0 reps and no feedback.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from exercises.engine import ExerciseEngine

log = logging.getLogger(__name__)


def build_report(
    engine: ExerciseEngine, *, video: str | Path, fps: float, frames: int, duration_s: float | None = None,
) -> dict[str, Any]:
    """The report dict for a finished engine (call :meth:`ExerciseEngine.finish` first)."""
    ex = engine.exercise
    people = []
    for tid in sorted(engine.people):
        p = engine.people[tid]
        engaged = p.engaged
        people.append({
            "id": int(tid),
            "reps": int(p.reps),
            "hold_s": round(float(p.hold_s), 2),
            "engaged": engaged,
            "rep_events": [e.to_dict() for e in p.rep_events],
            "holds": [{"start_s": round(a, 3), "end_s": round(b, 3), "held_s": round(h, 2)}
                      for a, b, h in (p.timer.segments if p.timer else []) if h > 0],
            "feedback": [f.to_dict() for f in p.feedback] if engaged else [],
        })
    dur = duration_s if duration_s is not None else (frames / fps if fps and fps > 0 else None)
    return {
        "video": str(video),
        "exercise": ex.id,
        "exercise_name": engine.msgs.exercise(ex.id),
        "kind": ex.kind,
        "view": ex.view,
        "lang": engine.lang,
        "fps": float(fps) if fps and math.isfinite(fps) else None,
        "frames": int(frames),
        "duration_s": round(dur, 3) if dur is not None else None,
        "primary_id": engine.primary_id,
        "people": people,
    }
