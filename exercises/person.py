"""Per-person exercise state: rep counter or hold timer, form rules, feedback and setup guidance.

The engine feeds one :class:`Observation` per frame in which the person appears.  The
person turns it into events: completed reps (with their faults), spoken feedback
(debounced, most severe first) and setup guidance.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from exercises.counter import HoldTimer, RepCounter
from exercises.definition import ExerciseDef, RuleDef
from exercises.messages import Messages
from exercises.metrics import MetricComputer
from exercises.rules import SEVERITY_RANK, Debouncer, RuleTracker

log = logging.getLogger(__name__)

#: How long a setup problem must persist before it is spoken, and its cooldown (s).
SETUP_PERSIST_S = 1.0
SETUP_COOLDOWN_S = 8.0
FAULT_COOLDOWN_S = 4.0
#: Setup problems in order of importance.
SETUP_KEYS = ("setup.full_body", "setup.view_side", "setup.view_front", "setup.too_close", "setup.too_far")
PRAISE_SHOW_S = 2.0
#: A posture fault still active this long before a rep starts counts for that rep.
PRE_REP_S = 0.2


@dataclass
class Observation:
    """What the engine measured for one person in one frame."""

    t: float
    vals: dict[str, float]
    view: str | None
    problems: list[str]
    discontinuity: bool = False


@dataclass
class RepEvent:
    """A completed rep."""

    index: int
    start_s: float
    end_s: float
    turn_s: float
    faults: list[str]
    rom_reached: bool | None
    peak: float

    turn_end_s: float = 0.0
    peak_s: float = 0.0
    measures: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def tempo(self) -> dict[str, float]:
        """Seconds out to the far point, beyond the turn threshold, and back; total."""
        return {
            "out_s": round(self.peak_s - self.start_s, 3),
            "turn_s": round(max(0.0, self.turn_end_s - self.turn_s), 3),
            "back_s": round(self.end_s - self.peak_s, 3),
            "total_s": round(self.end_s - self.start_s, 3),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the report."""
        return {
            "index": self.index, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
            "faults": list(self.faults), "rom_reached": self.rom_reached,
            "peak": None if not math.isfinite(self.peak) else round(self.peak, 3), "tempo": self.tempo,
            "measures": self.measures,
        }


@dataclass
class Feedback:
    """One spoken/shown message."""

    t_s: float
    code: str
    severity: str  # info | warning | error (faults), praise, setup
    message: str
    kind: str = "fault"  # fault | praise | setup

    def to_dict(self) -> dict[str, Any]:
        return {"t_s": round(self.t_s, 3), "code": self.code, "severity": self.severity, "message": self.message}


@dataclass
class Update:
    """An event from :meth:`ExerciseEngine.update`.

    ``kind``: ``rep`` (a completed rep, in ``rep``), ``feedback`` (a message to show or speak, in
    ``feedback``: a fault, praise or setup guidance), ``start`` (the start pose was reached),
    ``hold_paused`` (the clock stopped; ``feedback.message`` says why) or ``hold_resumed``.
    """

    kind: str
    track_id: int
    t_s: float
    rep: RepEvent | None = None
    feedback: Feedback | None = None


@dataclass
class PersonState:
    """Everything the engine knows about one tracked person."""

    track_id: int
    ex: ExerciseDef
    msgs: Messages
    metrics: MetricComputer = field(init=False)
    counter: RepCounter | None = field(init=False, default=None)
    timer: HoldTimer | None = field(init=False, default=None)
    rules: RuleTracker = field(init=False)
    pre_rules: RuleTracker = field(init=False)
    rep_events: list[RepEvent] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)
    view: str | None = None
    problems: list[str] = field(default_factory=list)
    first_s: float | None = None
    last_s: float | None = None
    _rep_faults: dict[str, RuleDef] = field(default_factory=dict)
    _faults_db: Debouncer = field(default_factory=lambda: Debouncer(FAULT_COOLDOWN_S))
    _setup_db: Debouncer = field(default_factory=lambda: Debouncer(SETUP_COOLDOWN_S))
    _told_view: set[str] = field(default_factory=set)
    _skipped: dict[str, RuleDef] = field(default_factory=dict)
    _pre_seen: dict[str, tuple[float, RuleDef]] = field(default_factory=dict)
    _summary: dict[str, list[float]] = field(default_factory=dict)
    _last_praise_s: float = -math.inf
    _last_setup_s: float = -math.inf
    _frame_dt: float = 0.0
    _started: bool = False

    def __post_init__(self) -> None:
        self.metrics = MetricComputer(self.ex)
        self.rules = RuleTracker(self.ex.rules)
        self.pre_rules = RuleTracker(tuple(r for r in self.ex.rules if r.agg is None))
        if self.ex.reps is not None:
            self.counter = RepCounter(self.ex.reps, self.ex.start)
        elif self.ex.hold is not None:
            self.timer = HoldTimer(self.ex.hold, self.ex.start)

    # ------------------------------------------------------------------ public state
    @property
    def reps(self) -> int:
        return len(self.rep_events)

    @property
    def hold_s(self) -> float:
        return self.timer.total_s if self.timer else 0.0

    @property
    def engaged(self) -> bool:
        """Did this person actually exercise (complete a rep or hold the pose)?"""
        return self.reps > 0 or self.hold_s > 0

    @property
    def phase(self) -> str:
        if self.counter is not None:
            return self.counter.state
        if self.timer is not None:
            return "paused" if self.timer.paused_by else ("holding" if self.timer.in_pose else "idle")
        return "idle"

    @property
    def established(self) -> bool:
        """Whether the start pose has been held (counting/timing may begin)."""
        return self.counter.established if self.counter is not None else bool(self.timer and self.timer.segments)

    @property
    def in_rep(self) -> bool:
        """Whether a rep is in progress."""
        return self.counter is not None and self.counter.in_rep

    def active_faults(self) -> list[RuleDef]:
        return self.rules.active()

    # ------------------------------------------------------------------ stepping
    def interrupt(self) -> None:
        """A cut or long dropout: never count across it."""
        if self.counter is not None:
            self.counter.interrupt()
        if self.timer is not None:
            self.timer.interrupt()
        self.metrics.reset_rates()
        self.rules.reset_rep()
        self.pre_rules.reset_rep()
        self._pre_seen.clear()
        self._rep_faults.clear()

    def step(self, obs: Observation) -> list[Update]:
        """Advance by one observation."""
        if obs.discontinuity:
            self.interrupt()
        if self.first_s is None:
            self.first_s = obs.t
        if self.last_s is not None and 0 < obs.t - self.last_s < 0.5:
            self._frame_dt = obs.t - self.last_s
        self.last_s = obs.t
        self.values, self.view, self.problems = obs.vals, obs.view, obs.problems
        out: list[Update] = []
        if self.counter is not None:
            out += self._step_reps(obs)
        elif self.timer is not None:
            out += self._step_hold(obs)
        out += self._setup(obs)
        return out

    def _say(self, t: float, code: str, severity: str, key: str, kind: str, **params: object) -> Update:
        fb = Feedback(t, code, severity, self.msgs.text(key, **params), kind)
        self.feedback.append(fb)
        return Update("feedback", self.track_id, t, feedback=fb)

    def _fault_updates(self, t: float, newly: list[RuleDef], skipped: list[RuleDef]) -> list[Update]:
        out: list[Update] = []
        for r in sorted(newly, key=lambda r: -SEVERITY_RANK[r.severity]):
            if self._faults_db.ready(r.code, t):
                out.append(self._say(t, r.code, r.severity, r.message, "fault"))
        for r in skipped:
            self._skipped[r.code] = r
        return out

    def _tell_views(self, t: float) -> list[Update]:
        """Once per rule: which view would let it be checked (rules skipped for a whole rep/hold)."""
        out = []
        checked = {self.rules.rules[i].code for i, s in self.rules.states.items() if s.evaluated}
        for code, r in self._skipped.items():
            if code not in self._told_view and code not in checked:
                self._told_view.add(code)
                view = self.msgs.text(f"view.{r.view}")
                out.append(self._say(t, "view_for_rule", "setup", "setup.view_for_rule", "setup",
                                     what=self.msgs.fault(code), view=view))
        self._skipped.clear()
        return out

    def _pre_rep(self, obs: Observation) -> None:
        """In the start phase, just before a rep: posture faults at the start position (a rounded back
        bending down to the box) belong to the rep that follows, if it follows right away."""
        assert self.ex.reps is not None
        self.pre_rules.update(obs.t, obs.vals, {"rep", self.ex.reps.start_phase.name}, obs.view)
        for r in self.pre_rules.active():
            self._pre_seen[r.code] = (obs.t, r)

    def _step_reps(self, obs: Observation) -> list[Update]:
        c = self.counter
        assert c is not None and self.ex.reps is not None
        was_established, was_in_rep = c.established, c.in_rep
        result = c.update(obs.t, obs.vals)
        if c.settled_level is not None:
            self.metrics.rebase(self.ex.reps.signal, obs.t, c.settled_level)
            c.settled_level = None
        out: list[Update] = []
        if c.established and not was_established:
            out.append(Update("start", self.track_id, obs.t))
        if c.state == "ready" and result is None:
            self._pre_rep(obs)
        if c.in_rep and not was_in_rep and c.progress is not None:
            for code, (t_seen, r) in self._pre_seen.items():
                if t_seen >= c.progress.start_s - PRE_REP_S:
                    self._rep_faults.setdefault(code, r)
                    out += self._fault_updates(obs.t, [r], [])
            self._pre_seen.clear()
            self.pre_rules.reset_rep()
        if result is not None:
            self._pre_seen.clear()
            self.pre_rules.reset_rep()
        if result is None and not c.in_rep:
            if self._rep_faults or self._summary or any(s.agg_vals for s in self.rules.states.values()):
                self.rules.reset_rep()  # a rep was abandoned: its faults go with it
                self._rep_faults.clear()
                self._summary.clear()
            return out
        if c.in_rep:
            for sd in self.ex.summary:
                v = obs.vals.get(sd.metric, math.nan)
                if math.isfinite(v):
                    self._summary.setdefault(sd.metric, []).append(v)
            phases = {"rep", "down" if c.state == "moving" else "up"}
            if c.at_turn:
                phases.add(self.ex.reps.turn_phase.name)
            newly, skipped = self.rules.update(obs.t, obs.vals, phases, obs.view)
            for r in newly:
                self._rep_faults.setdefault(r.code, r)
            out += self._fault_updates(obs.t, newly, skipped)
        if result is not None:
            for r in self.rules.finish_rep():
                self._rep_faults.setdefault(r.code, r)
                if self._faults_db.ready(r.code, obs.t):
                    out.append(self._say(obs.t, r.code, r.severity, r.message, "fault"))
            faults = list(self._rep_faults)
            if result.rom_reached is False and "too_shallow" not in faults:
                faults.append("too_shallow")
                key = self.ex.reps.rom_message
                if self._faults_db.ready("too_shallow", obs.t):
                    out.append(self._say(obs.t, "too_shallow", "warning", key, "fault"))
            out += self._tell_views(obs.t)
            reps = self.ex.reps
            others = [e.end_s - e.start_s for e in self.rep_events]
            if reps.fast_ratio and others and reps.fast_code not in faults and (
                    result.end_s - result.start_s < reps.fast_ratio * float(np.median(others))):
                faults.append(reps.fast_code)
                if self._faults_db.ready(reps.fast_code, obs.t):
                    out.append(self._say(obs.t, reps.fast_code, "info", reps.fast_message, "fault"))
            ev = RepEvent(len(self.rep_events) + 1, result.start_s, result.end_s, result.turn_s, faults,
                          result.rom_reached, result.peak, result.turn_end_s, result.peak_s,
                          self._measures())
            self.rep_events.append(ev)
            out.append(Update("rep", self.track_id, obs.t, rep=ev))
            if not faults and self._faults_db.ready("clean_rep", obs.t):
                self._last_praise_s = obs.t
                out.append(self._say(obs.t, "clean_rep", "praise", self.ex.praise, "praise"))
            self.rules.reset_rep()
            self._rep_faults.clear()
            self._summary.clear()
        return out

    def _measures(self) -> dict[str, dict[str, Any]]:
        """Per-rep summary measures (e.g. peak trunk flexion and its REBA band)."""
        out: dict[str, dict[str, Any]] = {}
        for sd in self.ex.summary:
            vals = self._summary.get(sd.metric)
            if not vals:
                continue
            v = float({"max": max, "min": min, "mean": lambda xs: sum(xs) / len(xs)}[sd.agg](vals))
            out[sd.metric] = {sd.agg: round(v, 3)} | ({"band": sd.band(v)} if sd.bands else {})
        return out

    def _step_hold(self, obs: Observation) -> list[Update]:
        tm = self.timer
        assert tm is not None
        out: list[Update] = []
        if tm.in_pose:
            newly, skipped = self.rules.update(obs.t, obs.vals, {"hold"}, obs.view)
            out += self._fault_updates(obs.t, newly, skipped)
            for r in newly:
                since = self.rules.violated_since(r)
                if r.pause_hold and SEVERITY_RANK[r.severity] >= 2 and since is not None:
                    tm.retract(since)
        else:
            self.rules.reset_rep()
        pausing = next((r for r in self.rules.active() if r.pause_hold and SEVERITY_RANK[r.severity] >= 2), None)
        before = tm.total_s
        reached_before = before >= tm.hold.target_s
        was_paused = tm.paused_by
        tm.update(obs.t, obs.vals, pausing.code if pausing else None)
        if tm.paused_by != was_paused and tm.in_pose:
            if tm.paused_by and pausing is not None:
                reason = self.msgs.text("hold.paused", reason=self.msgs.text(pausing.message))
                out.append(Update("hold_paused", self.track_id, obs.t,
                                  feedback=Feedback(obs.t, pausing.code, pausing.severity, reason, "hold")))
            elif not tm.paused_by:
                out.append(Update("hold_resumed", self.track_id, obs.t))
        if not reached_before and tm.total_s >= tm.hold.target_s:
            out.append(self._say(obs.t, "target_reached", "praise", "praise.target_reached", "praise"))
        return out

    def _setup(self, obs: Observation) -> list[Update]:
        """Speak setup problems that persisted, most important first, at most one per second."""
        out: list[Update] = []
        for key in SETUP_KEYS:
            present = key in obs.problems
            self._setup_db.note(key, obs.t, present)
            if present and obs.t - self._last_setup_s >= 1.0 and self._setup_db.ready(key, obs.t, SETUP_PERSIST_S):
                self._last_setup_s = obs.t
                out.append(self._say(obs.t, key.split(".", 1)[1], "setup", key, "setup"))
        return out

    # ------------------------------------------------------------------ finishing
    def finish(self, end_s: float) -> None:
        """End of input: close an open hold (crediting up to the end time); drop a partial rep; judge
        each rep's tempo against all the others (a rushed first rep is only visible afterwards)."""
        reps = self.ex.reps
        if reps is not None and reps.fast_ratio and len(self.rep_events) >= 2:
            for ev in self.rep_events:
                others = [e.end_s - e.start_s for e in self.rep_events if e is not ev]
                if reps.fast_code not in ev.faults and ev.end_s - ev.start_s < reps.fast_ratio * float(
                        np.median(others)):
                    ev.faults.append(reps.fast_code)
                    self.feedback.append(Feedback(ev.end_s, reps.fast_code, "info",
                                                  self.msgs.text(reps.fast_message), "fault"))
            self.feedback.sort(key=lambda f: f.t_s)
        if self.timer is not None and self.timer.in_pose and self.last_s is not None:
            # the last frame lasts one frame period: count it whether the end time given is the last
            # frame's time or the end of the video
            extra = min(max(end_s - self.last_s, self._frame_dt), 0.5)
            if self.timer.paused_by is None:
                self.timer.credit(extra)
            self.timer.interrupt()
        if self.counter is not None:
            self.counter.progress = None
