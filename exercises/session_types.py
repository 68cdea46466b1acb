"""The data a live session works with: its configuration, per-frame updates and the summary.

See :mod:`exercises.session` (which re-exports everything here) for the session runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exercises.messages import DEFAULT_LANG
from exercises.profile import Profile

END_STOPPED = "stopped"  # stop() was called, or nobody watched (idle_timeout_s)
END_SOURCE = "source_ended"  # a video file (or the pushed stream) reached its end
END_CAMERA_LOST = "camera_lost"  # a camera or stream stopped delivering images
END_ERROR = "error"  # starting or the analysis failed


@dataclass(frozen=True)
class SessionConfig:
    """What a live session analyses and how."""

    exercise: str = "squat"  # everyone's exercise until assign() says otherwise
    lang: str = DEFAULT_LANG
    people: int = 1  # most people followed at once (1 at home, more in a group)
    model: str | None = None
    profile: Profile | str | Path | None = None  # patient profile, applied to everyone
    target_fps: float | None = None  # analyse at most this many frames per second
    frame_queue: int = 2  # frames waiting for the analysis
    result_queue: int = 4  # results waiting for the UI (the oldest is dropped)
    draw: bool = True
    image_width: int | None = 960  # annotated pictures are scaled down to this width
    #: frames are scaled down to at most this many pixels on their long side before the analysis (webcams
    #: deliver 640-1280; a 1080x1920 phone video costs the person finder several times more)
    max_side: int | None = 960
    idle_timeout_s: float | None = None  # stop when nobody polled for this long (a closed browser tab)
    #: live analysis may run at only a few frames per second (several people, a busy machine): stretch the
    #: tracker's confirmation window and the pose stage's loss timeout with the frame interval
    adapt_to_rate: bool = True
    #: analyse in a child process (exercises.session_worker): the caller's interpreter stays responsive however
    #: slow the analysis is (the app: Streamlit's event loop carries the browser camera's WebRTC connection)
    process: bool = False

    def __post_init__(self) -> None:
        if self.people < 1:
            raise ValueError(f"people must be at least 1, got {self.people}")
        if self.frame_queue < 1 or self.result_queue < 1:
            raise ValueError("queue sizes must be at least 1")


@dataclass(frozen=True)
class PersonStatus:
    """One tracked person as the UI shows them."""

    track_id: int
    name: str
    exercise: str
    overlay: dict[str, Any]  # ExerciseEngine.overlay(): big, correction, severity, praise, setup, reps, hold_s, ...
    visible: bool  # in the newest frame
    away_s: float = 0.0  # seconds since the person was last in the picture


@dataclass(frozen=True)
class LiveUpdate:
    """What one analysed frame produced."""

    index: int
    t_ms: int
    image: np.ndarray | None  # annotated BGR picture (at most image_width wide)
    people: tuple[PersonStatus, ...]  # everyone seen so far, visible people first
    events: tuple[Any, ...]  # the engines' updates of this frame (reps, feedback, start)
    num_people: int  # people in this frame
    no_person_s: float  # seconds since somebody was last in the picture (0 while somebody is)
    fps: float  # analysis rate over the last two seconds
    frames: int  # frames analysed so far
    dropped: int  # frames skipped because the analysis was busy

    def person(self, track_id: int | None = None) -> PersonStatus | None:
        """One person's status; default: the primary one (visible first, then most reps / hold time)."""
        if track_id is not None:
            return next((p for p in self.people if p.track_id == track_id), None)
        return max(self.people, default=None,
                   key=lambda p: (p.visible, p.overlay.get("reps", 0) + p.overlay.get("hold_s", 0.0)))


@dataclass(frozen=True)
class PersonSummary:
    """What one person did for one exercise during the session."""

    track_id: int
    name: str
    exercise: str
    exercise_name: str
    kind: str  # reps | hold
    reps: int
    hold_s: float
    rep_events: tuple[dict[str, Any], ...]
    feedback: tuple[dict[str, Any], ...]

    @property
    def engaged(self) -> bool:
        """Did the person actually exercise (a rep or some hold time)?"""
        return self.reps > 0 or self.hold_s > 0


@dataclass(frozen=True)
class SessionSummary:
    """The end of a session: why it ended and what was counted."""

    end_reason: str | None  # END_*, None while running
    error: str | None
    frames: int
    dropped: int
    duration_s: float
    fps: float
    people: tuple[PersonSummary, ...]
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # build_report() per exercise used

    @property
    def engaged(self) -> tuple[PersonSummary, ...]:
        """People who exercised, most reps / hold time first."""
        return tuple(sorted((p for p in self.people if p.engaged), key=lambda p: -(p.reps + p.hold_s)))
