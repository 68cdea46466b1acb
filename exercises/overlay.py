"""Compose the annotated picture from a tracked frame and the engine's per-person overlays.

Shared by the CLI's annotated video and the app's live view, so both show the same
thing. It only arranges what :mod:`vision.draw` draws; the words and numbers come
from the engine's :meth:`~exercises.engine.ExerciseEngine.overlay` dictionaries:

``big``         large text: rep count or hold clock (e.g. ``"3"`` or ``"12.4 s"``)
``lines``       smaller status lines
``correction``  the single most important correction, or None
``severity``    ``"ok" | "info" | "warning" | "error"`` for the correction bar
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from exercises.messages import Messages
from vision.draw import draw_angles, draw_panel, draw_skeleton
from vision.frame import Frame
from vision.landmarks import Landmark

_ANGLE_JOINTS = {
    "left_knee": Landmark.LEFT_KNEE, "right_knee": Landmark.RIGHT_KNEE,
    "left_hip": Landmark.LEFT_HIP, "right_hip": Landmark.RIGHT_HIP,
}


def _joint_angles(frame: Frame, row: int) -> dict[str, tuple[tuple[float, float], float]]:
    from vision.geometry import STANDARD_ANGLES, mask_low_visibility

    xy = mask_low_visibility(frame.xy[row], frame.visibility[row])
    defs = {d.name: d for d in STANDARD_ANGLES}
    out = {}
    for name, lm in _ANGLE_JOINTS.items():
        deg = float(defs[name].compute(xy))
        out[name] = ((float(xy[lm, 0]), float(xy[lm, 1])), deg)
    return out


def render(frame: Frame, overlays: Mapping[int, Mapping[str, Any]] | None = None, *,
           angles: bool = True, lang: str = "de") -> np.ndarray:
    """A copy of ``frame.image`` with skeletons, angles and each person's counter and correction.

    ``lang`` ("de" or "en") is the language of the status line shown when no one has a counter.
    """
    image = frame.image.copy()
    draw_skeleton(image, frame)
    overlays = overlays or {}
    if angles:
        for row in range(frame.num_people):
            draw_angles(image, _joint_angles(frame, row))
    active = [(int(t), overlays[int(t)]) for t in frame.track_id if int(t) in overlays and overlays[int(t)]]
    if len(active) == 1:
        _, ov = active[0]
        draw_panel(image, list(ov.get("lines", ())), big_line=ov.get("big"), correction=ov.get("correction"),
                   severity=ov.get("severity") or "info")
    elif active:
        # Group session: one compact panel per person, in the corners, labelled with their id.
        corners = ("top-left", "top-right", "bottom-left", "bottom-right")
        for k, (tid, ov) in enumerate(active[: len(corners)]):
            draw_panel(image, [f"ID {tid}", *ov.get("lines", ())[:1]], big_line=ov.get("big"),
                       correction=ov.get("correction"), severity=ov.get("severity") or "info",
                       corner=corners[k])
    else:
        people = Messages(lang).text("overlay.people", n=frame.num_people)
        draw_panel(image, [people, f"{frame.t_s:6.1f} s"], corner="top-left")
    return image
