"""Rep counting with hysteresis and dwell times, and hold timing.

:class:`RepCounter` is a small state machine over two phases of a definition's ``[reps]``:
the *start* phase (e.g. standing) and the *turn* phase (e.g. the bottom of a squat).  The
two phases do not overlap on the signal, which is the hysteresis.  A rep is

    start pose held (once) → start phase → leave it → turn phase held → start phase held

and is counted on completion.  Leaving the start phase and coming back without reaching
the turn phase is not a rep; neither is anything that starts before the start pose was
first held (getting into position, a clip starting mid-rep).  A discontinuity (cut, long
dropout) drops the rep in progress.  All times are seconds, so any frame rate works.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from exercises.definition import Condition, HoldDef, PhaseDef, RepsDef, StartDef

log = logging.getLogger(__name__)

#: Leaving the start phase and then staying still this long, short of the turn phase, is settling
#: into a new position (e.g. a split stance), not a rep; the signal counts as still when it moves
#: less than this share of the gap between the two phase thresholds.
SETTLE_S = 1.0
SETTLE_SHARE = 0.5


def all_hold(conds: tuple[Condition, ...], vals: Mapping[str, float]) -> bool | None:
    """True if every condition holds, False if one fails, None if undecidable (NaN) and none fails."""
    unknown = False
    for c in conds:
        r = c.holds(vals.get(c.metric, math.nan))
        if r is False:
            return False
        if r is None:
            unknown = True
    return None if unknown else True


class _Dwell:
    """Tracks since when a boolean has been continuously true (unknown frames do not break it)."""

    def __init__(self) -> None:
        self.since: float | None = None

    def update(self, t: float, state: bool | None) -> None:
        if state is True and self.since is None:
            self.since = t
        elif state is False:
            self.since = None

    def held(self, t: float, dwell_s: float) -> bool:
        return self.since is not None and t - self.since >= dwell_s - 1e-9

    def reset(self) -> None:
        self.since = None


@dataclass
class RepProgress:
    """The rep in progress (times in seconds)."""

    start_s: float
    turn_s: float | None = None
    turn_end_s: float | None = None
    peak: float = math.nan
    peak_s: float | None = None


@dataclass
class RepResult:
    """A completed rep as seen by the counter."""

    start_s: float
    end_s: float
    turn_s: float
    turn_end_s: float
    peak: float
    rom_reached: bool | None
    peak_s: float = 0.0


@dataclass
class RepCounter:
    """Per-person rep state machine (see module docstring)."""

    reps: RepsDef
    start: StartDef
    state: str = "idle"  # idle (no start pose yet) | wait (need start phase) | ready | moving | turned
    established: bool = False
    progress: RepProgress | None = None
    _a: _Dwell = field(default_factory=_Dwell)
    _b: _Dwell = field(default_factory=_Dwell)
    _pose: _Dwell = field(default_factory=_Dwell)
    _last_a_s: float | None = None
    _ret: _Dwell = field(default_factory=_Dwell)
    _recent: deque[tuple[float, float]] = field(default_factory=deque)
    #: Set when the person settled part-way (read and cleared by the person's state).
    settled_level: float | None = None

    @property
    def direction(self) -> int:
        """-1 if the movement takes the signal down from the start phase, +1 if up."""
        c = next(c for c in self.reps.turn_phase.conditions if c.metric == self.reps.signal)
        return -1 if c.below is not None else 1

    def _in(self, phase: PhaseDef, vals: Mapping[str, float]) -> bool | None:
        return all_hold(phase.conditions, vals)

    def _settled(self, t: float, sig: float) -> bool:
        """Still for ``SETTLE_S`` before reaching the turn phase (e.g. stepping into a split stance)."""
        if math.isfinite(sig):
            self._recent.append((t, sig))
        while self._recent and self._recent[0][0] < t - SETTLE_S:
            self._recent.popleft()
        if self.progress is None or t - self.progress.start_s < SETTLE_S or len(self._recent) < 3:
            return False
        if self._recent[0][0] > t - 0.9 * SETTLE_S:
            return False
        s = next(c for c in self.reps.start_phase.conditions if c.metric == self.reps.signal)
        b = next(c for c in self.reps.turn_phase.conditions if c.metric == self.reps.signal)
        a_thr = s.above if s.above is not None else s.below
        b_thr = b.below if b.below is not None else b.above
        gap = abs(float(b_thr) - float(a_thr))  # type: ignore[arg-type]
        vals = [v for _, v in self._recent]
        excursion = abs(sig - float(a_thr)) if math.isfinite(sig) else 0.0  # type: ignore[arg-type]
        return max(vals) - min(vals) < max(SETTLE_SHARE * gap, 0.25 * excursion)

    def _returned(self, vals: Mapping[str, float], peak: float) -> bool | None:
        """Back in the start phase, with the signal's threshold moved ``return_ratio`` of the way
        towards the rep's peak: people rarely come back to exactly the same height."""
        r = self.reps.return_ratio
        if not r or not math.isfinite(peak):
            return self._in(self.reps.start_phase, vals)
        conds = []
        for c in self.reps.start_phase.conditions:
            if c.metric == self.reps.signal:
                if c.below is not None and peak > c.below:
                    c = Condition(c.metric, c.above, c.below + r * (peak - c.below))
                elif c.above is not None and peak < c.above:
                    c = Condition(c.metric, c.above - r * (c.above - peak), c.below)
            conds.append(c)
        return all_hold(tuple(conds), vals)

    def interrupt(self) -> None:
        """A discontinuity: forget the rep in progress and wait for the start phase again."""
        self.progress = None
        self._a.reset()
        self._b.reset()
        self._ret.reset()
        self._pose.reset()
        self.state = "wait" if self.established else "idle"

    def update(self, t: float, vals: Mapping[str, float]) -> RepResult | None:
        """Advance by one frame; returns a completed rep, if any."""
        a = self._in(self.reps.start_phase, vals)
        b = self._in(self.reps.turn_phase, vals)
        self._a.update(t, a)
        self._b.update(t, b)
        if a is True:
            self._last_a_s = t
        sig = vals.get(self.reps.signal, math.nan)
        if self.progress is not None and math.isfinite(sig):
            pk = self.progress.peak
            better = (sig < pk) if self.direction < 0 else (sig > pk)
            if not math.isfinite(pk) or better:
                self.progress.peak = sig
                self.progress.peak_s = t
        a_dwell = self.reps.start_phase.dwell_s
        if self.state == "idle":
            pose = all_hold(self.start.conditions, vals) if self.start.conditions else True
            self._pose.update(t, None if a is None else (bool(a) and pose is not False and (pose is True)))
            if self._pose.held(t, self.start.dwell_s):
                self.established = True
                self.state = "ready"
            return None
        if self.state == "wait":
            if self._a.held(t, a_dwell):
                self.state = "ready"
            return None
        if self.state == "ready":
            if a is False:
                start = self._last_a_s if self._last_a_s is not None else t
                self.progress = RepProgress(start_s=start, peak=sig)
                self.state = "moving"
            return None
        prog = self.progress
        assert prog is not None
        if t - prog.start_s > self.reps.max_rep_s:
            log.debug("rep abandoned after %.1f s", t - prog.start_s)
            self.progress = None
            self.state = "wait"
            return None
        if self.state == "moving":
            if self._settled(t, sig):  # stopped part-way and stayed: a new resting position, not a rep
                log.debug("settled at %.3f without reaching the turn: not a rep", sig)
                self.settled_level = float(np.median([v for _, v in self._recent]))
                self.progress = None
                self.state = "wait"
                return None
            if self._b.held(t, self.reps.turn_phase.dwell_s):
                prog.turn_s = self._b.since
                self._ret.reset()
                self.state = "turned"
            elif self._a.held(t, a_dwell):  # came back without reaching the turn: not a rep
                self.progress = None
                self.state = "ready"
            return None
        # turned
        if b is True:
            prog.turn_end_s = t
        self._ret.update(t, self._returned(vals, prog.peak))
        if self._ret.held(t, a_dwell):
            end = self._ret.since if self._ret.since is not None else t
            self.progress = None
            self.state = "ready"
            if end - prog.start_s < self.reps.min_rep_s:
                log.debug("rep too short (%.2f s), ignored", end - prog.start_s)
                return None
            rom = None
            if self.reps.rom_target is not None and math.isfinite(prog.peak):
                rom = (prog.peak <= self.reps.rom_target) if self.direction < 0 else (
                    prog.peak >= self.reps.rom_target)
            if rom is False and end - prog.start_s < self.reps.shallow_min_rep_s:
                log.debug("quick shallow dip (%.2f s, peak %.3f): a bounce, not a rep", end - prog.start_s, prog.peak)
                return None
            turn_s = prog.turn_s if prog.turn_s is not None else prog.start_s
            return RepResult(prog.start_s, end, turn_s, prog.turn_end_s or turn_s, prog.peak, rom,
                             prog.peak_s if prog.peak_s is not None else turn_s)
        return None

    @property
    def at_turn(self) -> bool:
        """Whether the person is at the turn point of a rep right now."""
        return self.state == "turned" and self._b.since is not None

    @property
    def in_rep(self) -> bool:
        """Whether a rep is in progress."""
        return self.state in ("moving", "turned")


@dataclass
class HoldTimer:
    """Times a held pose; the clock runs only while the pose holds and no pausing fault is active."""

    hold: HoldDef
    start: StartDef
    total_s: float = 0.0
    in_pose: bool = False
    paused_by: str | None = None
    segments: list[list[float]] = field(default_factory=list)  # [start_s, end_s, held_s]
    _pose: _Dwell = field(default_factory=_Dwell)
    _last_ok_s: float | None = None
    _last_t: float | None = None

    def interrupt(self) -> None:
        """A discontinuity: end the current hold."""
        self._close()
        self._pose.reset()
        self._last_t = None

    def _close(self) -> None:
        self.in_pose = False
        self.paused_by = None

    def update(self, t: float, vals: Mapping[str, float], pausing_fault: str | None) -> None:
        """Advance by one frame. ``pausing_fault`` is the code of an active fault that stops the clock."""
        conds = self.hold.pose + (self.start.conditions if not self.segments else ())
        ok = all_hold(conds, vals)
        self._pose.update(t, ok)
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        self._last_t = t
        if ok is True:
            self._last_ok_s = t
        if not self.in_pose:
            if self._pose.held(t, self.hold.dwell_s) and self._pose.since is not None:
                self.in_pose = True
                self.segments.append([self._pose.since, t, 0.0])
                if pausing_fault is None:  # credit the dwell that confirmed the pose
                    self._add(t - self._pose.since)
            return
        if ok is False and (self._last_ok_s is None or t - self._last_ok_s > self.hold.grace_s):
            self._close()
            return
        self.paused_by = pausing_fault
        if pausing_fault is None and ok is not False:
            self._add(dt)
        self.segments[-1][1] = t

    def retract(self, since_s: float) -> None:
        """Take back time credited since ``since_s``: a fault found now was there since then (the
        debounce delay must not count as good form).  Only within the current hold."""
        if not self.segments or not self.in_pose:
            return
        seg = self.segments[-1]
        back = min(max(0.0, (self._last_t or since_s) - max(since_s, seg[0])), seg[2])
        seg[2] -= back
        self.total_s -= back

    def credit(self, dt: float) -> None:
        """Add held time to the clock (e.g. the last frame's duration at the end of a video)."""
        if self.segments:
            self._add(dt)

    def _add(self, dt: float) -> None:
        self.total_s += dt
        self.segments[-1][2] += dt
