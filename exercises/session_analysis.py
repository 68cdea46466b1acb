"""What a live session does with one frame: pipeline step, one engine per exercise, status and picture.

:class:`SessionAnalyser` is owned by the session's pipeline thread; it knows nothing about threads
or queues (see :mod:`exercises.session`). It routes each tracked person's rows to the
:class:`~exercises.engine.ExerciseEngine` of their exercise, keeps names and first/last sightings,
builds the :class:`~exercises.session_types.LiveUpdate` the UI shows and, at the end, the summary.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from exercises.engine import ExerciseEngine
from exercises.session_types import LiveUpdate, PersonStatus, PersonSummary, SessionConfig, SessionSummary
from vision.frame import Frame
from vision.pose import PoseConfig, PoseEstimator
from vision.tracking import PersonTracker, TrackerConfig

log = logging.getLogger(__name__)

__all__ = ["SessionAnalyser"]


class SessionAnalyser:
    """Per-frame analysis of a live session; call from one thread only."""

    def __init__(self, config: SessionConfig, pipe: Any, clock: Callable[[], float]) -> None:
        self.config, self.pipe, self._clock = config, pipe, clock
        self.engines: dict[str, ExerciseEngine] = {}
        self.assigned: dict[int, str] = {}
        self.names: dict[int, str] = {}
        self._first_seen: dict[int, int] = {}
        self._last_seen_ms: dict[int, int] = {}
        self.frames = 0
        self.t_last_ms = 0
        self._times: deque[float] = deque()
        self._t_first: float | None = None
        self._t_latest = 0.0
        self._no_person_since: int | None = None
        self._gaps: deque[float] = deque(maxlen=5)
        self._prev_ms: int | None = None
        self._base = (TrackerConfig().confirm_window_s, PoseConfig().lost_after_s)

    # ------------------------------------------------------------------ commands
    def command(self, cmd: str, track_id: int, value: str) -> None:
        """``("assign", id, exercise)`` or ``("name", id, name)`` (an empty name removes it)."""
        if cmd == "assign":
            self.assigned[track_id] = value
        elif value:
            self.names[track_id] = value
        else:
            self.names.pop(track_id, None)

    def exercise_of(self, track_id: int) -> str:
        """The exercise this person is checked for."""
        return self.assigned.get(int(track_id), self.config.exercise)

    # ------------------------------------------------------------------ per frame
    def analyse(self, frame: Frame, dropped: int) -> LiveUpdate:
        """Run one frame through the pipeline and the engines; the update for the UI."""
        if self.config.adapt_to_rate:
            self._adapt_to_rate(frame.t_ms)
        side = self.config.max_side
        if side and frame.image.size and max(frame.image.shape[:2]) > side:
            h, w = frame.image.shape[:2]
            size = (round(w * side / max(h, w)), round(h * side / max(h, w)))
            frame = Frame(index=frame.index, t_ms=frame.t_ms, image=cv2.resize(frame.image, size,
                                                                                 interpolation=cv2.INTER_AREA))
        tracked: Frame = self.pipe.step(frame).frame
        now = self._clock()
        self.frames += 1
        self._t_first = now if self._t_first is None else self._t_first
        self.t_last_ms = tracked.t_ms
        rows: dict[str, list[int]] = {}
        for row, tid in enumerate(int(t) for t in tracked.track_id):
            if tid >= 0:
                self._first_seen.setdefault(tid, self.frames)
                self._last_seen_ms[tid] = tracked.t_ms
                rows.setdefault(self.exercise_of(tid), []).append(row)
        events: list[Any] = []
        for ex in sorted(set(rows) | {self.config.exercise}):  # every engine sees time pass
            events += self._engine(ex).update(tracked.select(rows.get(ex, []))) or []
        visible = {int(t) for t in tracked.track_id if int(t) >= 0}
        overlays = {tid: self._overlay(tid) for tid in self._first_seen}
        people = sorted((PersonStatus(tid, self.names.get(tid, ""), self.exercise_of(tid), ov, tid in visible,
                                      (tracked.t_ms - self._last_seen_ms[tid]) / 1000.0)
                         for tid, ov in overlays.items()), key=lambda p: (not p.visible, self._first_seen[p.track_id]))
        if visible:
            self._no_person_since = None
        elif self._no_person_since is None:
            self._no_person_since = tracked.t_ms
        away_s = 0.0 if self._no_person_since is None else (tracked.t_ms - self._no_person_since) / 1000.0
        image = self._draw(tracked, {tid: overlays[tid] for tid in visible}) if self.config.draw else None
        return LiveUpdate(index=tracked.index, t_ms=tracked.t_ms, image=image, people=tuple(people),
                          events=tuple(events), num_people=len(visible), no_person_s=away_s, fps=self._rate(now),
                          frames=self.frames, dropped=dropped)

    def _adapt_to_rate(self, t_ms: int) -> None:
        """Workaround (see docs/app.md) until tracking and pose count time in frames too: at a few analysed
        frames per second a new person could never collect 3 sightings within the tracker's 0.5 s, and the
        pose stage dropped everyone unseen for 0.4 s before the next frame arrived."""
        gaps = self._gaps
        if self._prev_ms is not None:
            gaps.append((t_ms - self._prev_ms) / 1000.0)
        self._prev_ms = t_ms
        tracker, pose = getattr(self.pipe, "tracker", None), getattr(self.pipe, "pose", None)
        if not gaps or not isinstance(tracker, PersonTracker) or not isinstance(pose, PoseEstimator):
            return
        dt = float(np.median(gaps))
        tracker.config = replace(tracker.config, confirm_window_s=max(self._base[0], 3.5 * dt))
        pose.config = replace(pose.config, lost_after_s=max(self._base[1], 2.5 * dt))

    def _engine(self, exercise: str) -> ExerciseEngine:
        if exercise not in self.engines:
            c = self.config
            self.engines[exercise] = ExerciseEngine(exercise, lang=c.lang, profiles=c.profile, live=True)
        return self.engines[exercise]

    def _overlay(self, tid: int) -> dict[str, Any]:
        ov = dict(self._engine(self.exercise_of(tid)).overlay(tid))
        if self.names.get(tid):
            ov["lines"] = [self.names[tid], *ov.get("lines", [])]
        return ov

    def _rate(self, now: float) -> float:
        """Frames analysed per second over about the last two seconds."""
        hist = self._times
        hist.append(now)
        while len(hist) > 2 and now - hist[0] > 2.0:
            hist.popleft()
        self._t_latest = now
        return (len(hist) - 1) / (hist[-1] - hist[0]) if hist[-1] > hist[0] else 0.0

    def _draw(self, frame: Frame, overlays: dict[int, dict[str, Any]]) -> np.ndarray | None:
        from exercises.overlay import render

        if frame.image.size == 0:
            return None
        # Nobody in the picture: the plain picture (the page says why nothing is counted).
        image = render(frame, overlays, lang=self.config.lang) if frame.num_people else frame.image.copy()
        w = self.config.image_width
        if w and image.shape[1] > w:
            image = cv2.resize(image, (w, round(image.shape[0] * w / image.shape[1])), interpolation=cv2.INTER_AREA)
        return image

    # ------------------------------------------------------------------ the end
    def finish(self) -> None:
        """Close open reps and holds in every engine."""
        for eng in self.engines.values():
            eng.finish(self.t_last_ms)

    def summary(self, *, ended: bool, end_reason: str | None, error: str | None, dropped: int) -> SessionSummary:
        """What was counted, per person and exercise (only once ``ended``: the engines are then final)."""
        from exercises.report import build_report

        people: list[PersonSummary] = []
        reports: dict[str, dict[str, Any]] = {}
        n, dur = self.frames, self.t_last_ms / 1000.0
        for ex_id, eng in sorted(self.engines.items()) if ended else ():
            rep = reports[ex_id] = build_report(eng, video="live", fps=n / dur if dur > 0 else 0.0, frames=n,
                                                duration_s=dur)
            people += [PersonSummary(p["id"], self.names.get(p["id"], ""), ex_id, rep["exercise_name"], rep["kind"],
                                     p["reps"], p["hold_s"], tuple(p["rep_events"]), tuple(p["feedback"]))
                       for p in rep["people"]]
        wall = self._t_latest - self._t_first if ended and self._t_first is not None else 0.0
        return SessionSummary(end_reason=end_reason, error=error, frames=n, dropped=dropped,
                              duration_s=round(dur, 3), fps=round((n - 1) / wall, 2) if wall > 0 else 0.0,
                              people=tuple(people), reports=reports)
