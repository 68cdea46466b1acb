"""The exercise engine: per-person state machines keyed by track id.

>>> eng = ExerciseEngine("squat", lang="de")          # doctest: +SKIP
>>> for frame in frames: updates = eng.update(frame)  # doctest: +SKIP
>>> eng.finish(end_t_ms)                              # doctest: +SKIP

Live mode (``live=True``) is strictly causal: metric values get a light causal low-pass.
Offline mode (:meth:`ExerciseEngine.analyse`) computes the same metrics, smooths them with
past and future samples (zero-phase, never across a discontinuity), then runs the very same
state machines — so live and offline agree up to smoothing.

Discontinuities (a cut, a long dropout, a person re-entering) are detected from time gaps
and sudden jumps of the torso; a rep is never counted across one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from exercises import points as fp
from exercises.definition import ExerciseDef, load_exercise
from exercises.guidance import ViewTracker, setup_problems
from exercises.messages import DEFAULT_LANG, Messages
from exercises.person import PRAISE_SHOW_S, Observation, PersonState, Update
from exercises.profile import Profile, load_profile
from exercises.smoothing import CausalSmoother, smooth_series
from vision import geometry as g
from vision.frame import Frame

log = logging.getLogger(__name__)

#: A person unseen for longer than this starts afresh (no rep across the gap).
MAX_GAP_S = 0.7
#: A new track id within this long of a person who exercised and left may be that person coming back.
REENTRY_S = 60.0
#: Torso jump (in torso lengths) that counts as a cut, at least; scaled up with the time step.
JUMP_MIN_TORSO = 0.6
JUMP_SPEED_TORSO_PER_S = 6.0
#: A sudden change of the person's size (log ratio) also marks a cut (zoom/cut to a closer shot).
JUMP_MIN_LOG_SCALE = 0.18
#: A jump must persist this long to be a cut; shorter jumps are misdetections and dropped.
CUT_CONFIRM_S = 0.2
_TORSO_IDS = [11, 12, 23, 24]

ProfileArg = None | str | Path | Profile | Mapping[int, "str | Path | Profile"]


class ExerciseEngine:
    """Counts reps / times holds and coaches form for every tracked person in the frames."""

    def __init__(
        self, exercise: str | Path | ExerciseDef = "squat", lang: str = DEFAULT_LANG,
        profiles: ProfileArg = None, live: bool = True,
    ) -> None:
        self.base_ex = exercise if isinstance(exercise, ExerciseDef) else load_exercise(exercise)
        self.lang = lang
        self.msgs = Messages(lang)
        self.live = live
        self._profiles = _load_profiles(profiles)
        self.people: dict[int, PersonState] = {}
        self._views: dict[int, ViewTracker] = {}
        self._smooth: dict[int, CausalSmoother] = {}
        self._anchor: dict[int, tuple[float, np.ndarray, float]] = {}
        self._alias: dict[int, int] = {}
        self._suspect: dict[int, list[Observation]] = {}
        self.frames_seen = 0
        self.last_t_s: float | None = None

    @property
    def exercise(self) -> ExerciseDef:
        """The exercise definition (before per-person profile overrides)."""
        return self.base_ex

    def resolve(self, track_id: int, frame: Frame | None = None) -> int:
        """The person a tracker id belongs to.

        A tracker gives a person who left the frame a new id when they come back.  A new id is
        taken to be that person when exactly one person who had exercised is missing (unseen for
        more than ``MAX_GAP_S``, at most ``REENTRY_S``) and nobody else is being followed now —
        so a trainer beside the patient is never merged with them.
        """
        if track_id in self._alias:
            return self._alias[track_id]
        if track_id in self.people or frame is None:
            return track_id
        now = frame.t_s
        present = {self._alias.get(int(t), int(t)) for t in frame.track_id}
        lost = [p for tid, p in self.people.items() if tid not in present and p.engaged and p.last_s is not None
                and MAX_GAP_S < now - p.last_s <= REENTRY_S]
        others = [tid for tid in present if tid in self.people and tid != track_id]
        if len(lost) == 1 and not others:
            self._alias[track_id] = lost[0].track_id
            log.info("track %d taken as person %d coming back", track_id, lost[0].track_id)
            return lost[0].track_id
        self._alias[track_id] = track_id
        return track_id

    def _person(self, tid: int) -> PersonState:
        p = self.people.get(tid)
        if p is None:
            prof = self._profiles.get(tid, self._profiles.get(-1))
            ex = prof.apply(self.base_ex) if prof is not None else self.base_ex
            p = self.people[tid] = PersonState(tid, ex, self.msgs)
            self._views[tid] = ViewTracker()
            self._smooth[tid] = CausalSmoother()
        return p

    # ------------------------------------------------------------------ observation
    def _jump(self, tid: int, t: float, xy: np.ndarray) -> str | None:
        """``"gap"`` (unseen too long), ``"jump"`` (torso far from the last trusted position) or None."""
        torso = xy[_TORSO_IDS]
        length = _body_scale(xy)
        prev = self._anchor.get(tid)
        ok = bool(np.isfinite(torso).all() and length > 0)
        if prev is None or t - prev[0] > MAX_GAP_S:
            if ok:
                self._anchor[tid] = (t, torso.copy(), length)
            return None if prev is None else "gap"
        if not ok:
            return None
        t0, torso0, len0 = prev
        dt = t - t0
        moved = float(np.mean(np.linalg.norm(torso - torso0, axis=1))) / max(len0, length)
        rescaled = abs(math.log(length / len0)) if len0 > 0 and length > 0 else 0.0
        if moved > max(JUMP_MIN_TORSO, JUMP_SPEED_TORSO_PER_S * dt) or rescaled > max(JUMP_MIN_LOG_SCALE, dt):
            return "jump"
        self._anchor[tid] = (t, torso.copy(), length)
        return None

    def _route(self, tid: int, obs: Observation, jump: str | None, xy: np.ndarray) -> list[Observation]:
        """Observations to step now.  A jump is held back until it persists (a cut) or is
        contradicted (a one-off misdetection, dropped)."""
        held = self._suspect.setdefault(tid, [])
        if jump == "gap":
            held.clear()
            obs.discontinuity = True
            return [obs]
        if jump is None:
            held.clear()
            return [obs]
        held.append(obs)
        if held[-1].t - held[0].t >= CUT_CONFIRM_S:
            out = list(held)
            held.clear()
            out[0].discontinuity = True
            self._anchor[tid] = (obs.t, xy[_TORSO_IDS].copy(), _body_scale(xy))
            self.people[tid].metrics.reset()
            self._views[tid].reset()
            self._smooth[tid].reset()
            return out
        return []

    def observe(self, frame: Frame, row: int) -> tuple[int, Observation, str | None]:
        """Measure one person of a frame; also says whether the person jumped (see :meth:`_jump`)."""
        tid = self.resolve(int(frame.track_id[row]), frame)
        person = self._person(tid)
        t = frame.t_s
        xy, vis = frame.xy[row], frame.visibility[row]
        jump = self._jump(tid, t, xy)
        if jump == "gap":
            person.metrics.reset()
            self._views[tid].reset()
            self._smooth[tid].reset()
        world = frame.world[row]
        person.metrics.frozen = person.in_rep
        person.metrics.calibrated = person.established
        vals = person.metrics.compute(t, xy, vis, world if np.isfinite(world).any() else None)
        view = self._views[tid].update(t, xy, frame.z[row], vis, world if np.isfinite(world).any() else None)
        problems = setup_problems(person.ex, xy, vis, frame.width, frame.height, view)
        return tid, Observation(t, vals, view, problems, False), jump

    # ------------------------------------------------------------------ live
    def update(self, frame: Frame) -> list[Update]:
        """Process one tracked frame; returns the new events (reps, feedback, start pose reached)."""
        self.frames_seen += 1
        self.last_t_s = frame.t_s
        out: list[Update] = []
        for row in range(frame.num_people):
            if int(frame.track_id[row]) < 0:
                continue
            tid, obs, jump = self.observe(frame, row)
            for o in self._route(tid, obs, jump, frame.xy[row]):
                if self.live:
                    o.vals = self._smooth[tid](o.t, o.vals)
                out += self.people[tid].step(o)
        return out

    def finish(self, end_t_ms: float | None = None) -> None:
        """End of input: close open holds; partial reps are not counted."""
        end = end_t_ms / 1000.0 if end_t_ms is not None else (self.last_t_s or 0.0)
        for p in self.people.values():
            p.finish(end)

    # ------------------------------------------------------------------ offline
    def analyse(self, frames: Iterable[Frame], end_t_ms: float | None = None) -> ExerciseEngine:
        """Offline: whole sequence, zero-phase smoothing of metrics, same state machines.  Returns self."""
        obs_by_tid: dict[int, list[Observation]] = {}
        order: list[tuple[int, int]] = []
        for frame in frames:
            self.frames_seen += 1
            self.last_t_s = frame.t_s
            for row in range(frame.num_people):
                if int(frame.track_id[row]) < 0:
                    continue
                tid, obs, jump = self.observe(frame, row)
                for o in self._route(tid, obs, jump, frame.xy[row]):
                    lst = obs_by_tid.setdefault(tid, [])
                    order.append((tid, len(lst)))
                    lst.append(o)
        for tid, lst in obs_by_tid.items():
            smooth_series(lst, self.people[tid].ex)
            self.people[tid].metrics.reset()
        for tid, i in order:
            obs = obs_by_tid[tid][i]
            person = self.people[tid]
            person.metrics.frozen = person.in_rep
            person.metrics.calibrated = person.established
            obs.vals = person.metrics.compute(obs.t, np.empty(0), np.empty(0), None, base=obs.vals)
            person.step(obs)
        self.finish(end_t_ms)
        return self

    # ------------------------------------------------------------------ views for UI / report
    @property
    def primary_id(self) -> int | None:
        """The person most likely exercising: most reps / hold time, then most recently seen."""
        if not self.people:
            return None
        return max(self.people.values(), key=lambda p: (p.reps + p.hold_s, p.last_s or 0.0)).track_id

    def overlay(self, track_id: int | None = None) -> dict[str, Any]:
        """What the UI draws for one person (default: the primary person).

        Keys: ``big`` (rep count or hold clock), ``lines`` (status lines: setup guidance,
        praise, why the clock paused), ``correction`` (the most severe active correction's
        text, or None), ``severity`` (``ok | info | warning | error``), ``correction_code``,
        ``praise``, ``setup``, ``paused_reason``, ``reps``, ``hold_s``, ``target_s``,
        ``phase``, ``view``, ``track_id``, ``exercise``, ``exercise_name``, ``kind``.
        """
        tid = self.primary_id if track_id is None else self._alias.get(track_id, track_id)
        p = self.people.get(tid) if tid is not None else None
        ex = self.base_ex
        ov: dict[str, Any] = {"track_id": tid, "exercise": ex.id, "exercise_name": self.msgs.exercise(ex.id),
                              "kind": ex.kind, "reps": 0, "hold_s": 0.0, "big": "0", "phase": "idle",
                              "correction": None, "correction_code": None, "severity": "ok", "praise": None,
                              "setup": None, "paused_reason": None, "view": None, "lines": [],
                              "target_s": ex.hold.target_s if ex.hold else None}
        if ex.kind == "hold":
            ov["big"] = "0:00"
        if p is None:
            ov["setup"] = self.msgs.text("setup.start_pose")
            ov["lines"] = [ov["exercise_name"], ov["setup"]]
            return ov
        now = p.last_s or 0.0
        ov.update(reps=p.reps, hold_s=round(p.hold_s, 2), phase=p.phase, view=p.view)
        if ex.kind == "hold":
            s = int(p.hold_s)
            ov["big"] = f"{s // 60}:{s % 60:02d}"
        else:
            ov["big"] = str(p.reps)
        active = p.active_faults()
        if active:
            r = active[0]
            ov.update(correction=self.msgs.text(r.message), correction_code=r.code, severity=r.severity)
        praise = next((f for f in reversed(p.feedback) if f.kind == "praise"), None)
        if praise is not None and now - praise.t_s <= PRAISE_SHOW_S:
            ov["praise"] = praise.message
        if p.problems:
            ov["setup"] = self.msgs.text(p.problems[0])
        elif p.counter is not None and not p.counter.established:
            ov["setup"] = self.msgs.text("setup.start_pose")
        if p.timer is not None and p.timer.paused_by:
            rule = next((r for r in p.ex.rules if r.code == p.timer.paused_by), None)
            reason = self.msgs.text(rule.message) if rule else p.timer.paused_by
            ov["paused_reason"] = self.msgs.text("hold.paused", reason=reason)
        ov["lines"] = [x for x in (ov["exercise_name"], ov["paused_reason"], ov["setup"], ov["praise"]) if x]
        return ov


def _body_scale(xy: np.ndarray) -> float:
    """A size of the person in pixels that foreshortening cannot collapse: the torso length, or
    a third of the diagonal of the visible skeleton if that is larger (torso pointing at the camera)."""
    P = np.asarray(xy, dtype=np.float64).tolist()  # plain floats: numpy is slow on 33 points
    torso = fp.distance(P, g.SHOULDERS, g.HIPS)
    pts = [q for q in P if all(map(math.isfinite, q))]
    diag = fp.norm([max(c) - min(c) for c in zip(*pts, strict=True)]) if len(pts) >= 2 else 0.0
    best = max(torso if math.isfinite(torso) else 0.0, diag / 3.0)
    return best if best > 0 else math.nan


def _load_profiles(arg: ProfileArg) -> dict[int, Profile]:
    """Normalise the ``profiles`` argument to ``{track_id or -1 (everyone): Profile}``."""
    if arg is None:
        return {}
    if isinstance(arg, Profile):
        return {-1: arg}
    if isinstance(arg, str | Path):
        return {-1: load_profile(arg)}
    return {int(k): (v if isinstance(v, Profile) else load_profile(v)) for k, v in arg.items()}
