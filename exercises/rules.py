"""Form rules: per-frame fault detection with minimum durations, per-rep aggregates, and debouncing.

A rule is *in scope* when its phase matches the person's state, its ``when`` gates hold and
the camera view allows it.  A continuous rule becomes an active fault once it has been
violated for ``min_duration_s``; an aggregate rule (``agg``) is judged once at rep end.
:class:`Debouncer` decides what is spoken: a fault must persist, each code has a cooldown,
and the most severe active fault is shown first.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from exercises.counter import all_hold
from exercises.definition import RuleDef

log = logging.getLogger(__name__)

SEVERITY_RANK = {"info": 1, "warning": 2, "error": 3}


def view_allows(rule_view: str, view: str | None) -> bool | None:
    """Whether the person's current view (front/side/oblique/None) allows a rule (None: unknown)."""
    if rule_view == "any":
        return True
    if view is None:
        return None
    if rule_view == "side":  # world landmarks keep sagittal measures usable in an oblique view
        return view in ("side", "oblique")
    return view == rule_view


@dataclass
class _RuleState:
    since: float | None = None
    active: bool = False
    evaluated: bool = False
    agg_vals: list[float] = field(default_factory=list)


@dataclass
class RuleTracker:
    """Evaluates one exercise's rules for one person, frame by frame."""

    rules: tuple[RuleDef, ...]
    states: dict[int, _RuleState] = field(default_factory=dict)
    skipped_for_view: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.states = {i: _RuleState() for i in range(len(self.rules))}

    def reset_rep(self) -> None:
        """Clear aggregates and activity at the start/end of a rep."""
        for s in self.states.values():
            s.evaluated = False
            s.agg_vals.clear()
            s.active = False
            s.since = None

    def update(
        self, t: float, vals: Mapping[str, float], phases: Iterable[str], view: str | None
    ) -> tuple[list[RuleDef], list[RuleDef]]:
        """One frame.  Returns (rules newly active this frame, rules skipped because of the view)."""
        phases = set(phases)
        newly: list[RuleDef] = []
        skipped: list[RuleDef] = []
        for i, r in enumerate(self.rules):
            st = self.states[i]
            if not r.enabled or r.phase not in phases:
                st.since, st.active = None, False
                continue
            allowed = view_allows(r.view, view)
            if allowed is False:
                skipped.append(r)
                st.since, st.active = None, False
                continue
            if allowed is None or all_hold(r.when, vals) is not True:
                st.since, st.active = None, False
                continue
            st.evaluated = True
            v = vals.get(r.metric, math.nan)
            if r.agg is not None:
                if math.isfinite(v):
                    st.agg_vals.append(v)
                continue
            bad = r.violated(v)
            if bad is None:
                continue  # unknown frame: keep the timer as it is
            if not bad:
                st.since, st.active = None, False
                continue
            if st.since is None:
                st.since = t
            if not st.active and t - st.since >= r.min_duration_s - 1e-9:
                st.active = True
                newly.append(r)
        return newly, skipped

    def violated_since(self, rule: RuleDef) -> float | None:
        """When the current violation of ``rule`` began (None if it is not violated)."""
        for i, r in enumerate(self.rules):
            if r is rule:
                return self.states[i].since
        return None

    def active(self) -> list[RuleDef]:
        """Continuous rules whose fault is currently active, most severe first."""
        out = [self.rules[i] for i, s in self.states.items() if s.active]
        return sorted(out, key=lambda r: -SEVERITY_RANK[r.severity])

    def finish_rep(self) -> list[RuleDef]:
        """Aggregate rules violated over the rep just completed (then clears them)."""
        out = []
        for i, r in enumerate(self.rules):
            st = self.states[i]
            if r.agg is None or not st.agg_vals:
                continue
            fn = {"max": max, "min": min, "mean": lambda xs: sum(xs) / len(xs)}[r.agg]
            if r.violated(fn(st.agg_vals)):
                out.append(r)
        return out


@dataclass
class Debouncer:
    """Speak a message at most once per ``cooldown_s`` per code; setup messages must persist first."""

    cooldown_s: float = 4.0
    _last: dict[str, float] = field(default_factory=dict)
    _pending: dict[str, float] = field(default_factory=dict)

    def note(self, code: str, t: float, present: bool) -> None:
        """Track whether ``code`` is present (starts or clears its persistence timer)."""
        if present:
            self._pending.setdefault(code, t)
        else:
            self._pending.pop(code, None)

    def ready(self, code: str, t: float, persist_s: float = 0.0, present: bool = True) -> bool:
        """Whether ``code`` may be spoken now (after persisting ``persist_s`` and outside its cooldown)."""
        if not present:
            self._pending.pop(code, None)
            return False
        since = self._pending.setdefault(code, t)
        if t - since < persist_s - 1e-9:
            return False
        last = self._last.get(code)
        if last is not None and t - last < self.cooldown_s:
            return False
        self._last[code] = t
        return True
