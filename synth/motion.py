"""Timelines: which rep, which phase and how far along, frame by frame.

A rep exercise runs ``lead-in rest → (out → peak → back → rest) × reps``.  ``s``
goes 0 → 1 during *out* (0 = the start position, 1 = the far point: the bottom of a
squat, the top of a bridge, standing with the box in a floor lift), stays 1 at the
*peak* and returns 1 → 0 during *back*.  **A rep is complete, and counted, at the
last frame of its *back* phase, when the person is in the start position again.**
A hold exercise (plank, side plank) is one long *hold* phase.

Faults are injected per rep: a fault's intensity ramps up over the second half of
the rest before its rep, is 1 from the rep's first to its last frame, and ramps
down over the first half of the rest after it.  In holds a fault ramps in over
one second from its onset time and stays.  ``jerky`` is a timing fault: that rep
moves 2.5× faster with abrupt starts and stops and a bounce at the far point.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PHASES = ("setup", "rest", "out", "peak", "back", "hold", "finish")


@dataclass(frozen=True)
class Tempo:
    """Durations in seconds."""

    out_s: float = 1.2
    peak_s: float = 0.3
    back_s: float = 1.2
    rest_s: float = 0.6
    lead_in_s: float = 0.8
    lead_out_s: float = 0.8
    setup_s: float = 0.0  # floor lift: walking-in bend to the box before the first rep

    def scaled(self, k: float) -> Tempo:
        """All durations times ``k``."""
        return Tempo(*(v * k for v in (self.out_s, self.peak_s, self.back_s, self.rest_s, self.lead_in_s,
                                       self.lead_out_s, self.setup_s)))


@dataclass(frozen=True)
class State:
    """The motion state of one person at one instant."""

    t: float
    phase: str
    s: float  # 0 = start position … 1 = far point
    rep_index: int  # rep in progress (1-based); 0 outside reps
    reps_done: int
    side: int  # +1 the left arm/leg works this rep, -1 the right (alternating exercises)
    faults: dict[str, float] = field(default_factory=dict)  # intensity 0..1 per fault code
    setup: float = 1.0  # floor lift: 0 standing free … 1 at the box

    def level(self, code: str) -> float:
        """Intensity of a fault now (0 if not injected)."""
        return self.faults.get(code, 0.0)

    def active(self, threshold: float = 0.25) -> list[str]:
        """Fault codes whose intensity is at least ``threshold``, sorted."""
        return sorted(k for k, v in self.faults.items() if v >= threshold)


#: a ``too_shallow`` rep reaches this fraction of the normal range of motion (a half squat, not a twitch)
SHALLOW_REACH = 0.65


def reach(st: State, opts: dict) -> float:
    """How far along the range of motion the person is: ``s`` × depth option × too-shallow cut."""
    return st.s * opts.get("depth", 1.0) * (1 - (1 - SHALLOW_REACH) * st.level("too_shallow"))


def ease(x: np.ndarray | float) -> np.ndarray | float:
    """Smooth 0 → 1 (cosine), zero velocity at both ends."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


@dataclass(frozen=True)
class _Seg:
    phase: str
    t0: float
    t1: float
    rep: int
    s0: float
    s1: float
    jerky: bool = False


def _segments(reps: int, tempo: Tempo, jerky_reps: set[int], setup: bool) -> list[_Seg]:
    segs: list[_Seg] = []
    t = 0.0

    def add(phase: str, dur: float, rep: int, s0: float, s1: float, jerky: bool = False) -> None:
        nonlocal t
        if dur > 0:
            segs.append(_Seg(phase, t, t + dur, rep, s0, s1, jerky))
            t += dur

    if setup:
        add("setup", tempo.setup_s, 0, 0.0, 0.0)
    add("rest", tempo.lead_in_s, 0, 0.0, 0.0)
    for k in range(1, reps + 1):
        j = k in jerky_reps
        f = 0.4 if j else 1.0
        add("out", tempo.out_s * f, k, 0.0, 1.0, j)
        add("peak", tempo.peak_s * (0.3 if j else 1.0), k, 1.0, 1.0, j)
        add("back", tempo.back_s * f, k, 1.0, 0.0, j)
        add("rest", tempo.lead_out_s if k == reps else tempo.rest_s, 0, 0.0, 0.0)
    if setup:
        add("finish", tempo.setup_s, 0, 0.0, 0.0)
    return segs


def rep_timeline(reps: int, tempo: Tempo, fps: float, faults_by_rep: dict[int, list[str]],
                 *, alternate: bool = False, setup: bool = False) -> list[State]:
    """States at every frame of a rep exercise (``faults_by_rep`` keys are 1-based reps)."""
    jerky = {k for k, codes in faults_by_rep.items() if "jerky" in codes}
    segs = _segments(reps, tempo, jerky, setup)
    total = segs[-1].t1
    n = int(np.floor(total * fps + 1e-9)) + 1
    states = []
    for i in range(n):
        t = i / fps
        seg = next((g for g in segs if g.t0 <= t < g.t1), segs[-1])
        x = (t - seg.t0) / (seg.t1 - seg.t0)
        if seg.phase in ("out", "back"):
            if seg.jerky:  # abrupt linear ramp with an overshoot near the end
                prog = min(1.0, x * 1.08) - 0.08 * np.sin(np.pi * min(1.0, x * 1.08)) ** 2
            else:
                prog = float(ease(x))
            s = seg.s0 + (seg.s1 - seg.s0) * prog
        elif seg.phase == "peak":
            s = 1.0 - (0.05 * np.sin(3 * np.pi * x) * (1 - x) if seg.jerky else 0.0)
        else:
            s = 0.0
        done = sum(1 for g in segs if g.phase == "back" and g.t1 <= t + 1e-9)
        side_rep = seg.rep if seg.rep else max(1, done)
        side = (1 if side_rep % 2 == 1 else -1) if alternate else 1
        lv = _fault_levels(t, segs, faults_by_rep)
        if setup and seg.phase in ("setup", "finish"):
            st = float(ease(x)) if seg.phase == "setup" else 1.0 - float(ease(x))
        else:
            st = 1.0
        states.append(State(round(t, 6), seg.phase, float(np.clip(s, -0.1, 1.1)), seg.rep, done, side, lv, st))
    return states


def _fault_levels(t: float, segs: list[_Seg], faults_by_rep: dict[int, list[str]]) -> dict[str, float]:
    levels: dict[str, float] = {}
    for rep, codes in faults_by_rep.items():
        mine = [g for g in segs if g.rep == rep]
        if not mine:
            continue
        start, end = mine[0].t0, mine[-1].t1
        idx0, idx1 = segs.index(mine[0]), segs.index(mine[-1])
        before = segs[idx0 - 1] if idx0 > 0 else None
        after = segs[idx1 + 1] if idx1 + 1 < len(segs) else None
        if start <= t < end:
            lv = 1.0
        elif rep == 1 and segs[0].phase == "setup" and t < start:
            lv = 1.0  # the floor-lift set-up already takes the first rep's posture
        elif before is not None and before.t0 <= t < start:
            mid = (before.t0 + start) / 2
            lv = float(ease((t - mid) / max(start - mid, 1e-9)))
        elif after is not None and end <= t < after.t1 and after.phase == "rest":
            mid = (end + after.t1) / 2
            lv = 1.0 - float(ease((t - end) / max(mid - end, 1e-9)))
        else:
            lv = 0.0
        for c in codes:
            if c != "jerky" or start <= t < end:
                levels[c] = max(levels.get(c, 0.0), lv)
    return {k: round(v, 4) for k, v in levels.items() if v > 0}


def hold_timeline(hold_s: float, fps: float, faults: list[str], onset_s: float, *,
                  lead_in_s: float = 0.0) -> list[State]:
    """States for a hold exercise: ``hold_s`` seconds in position; faults ramp in at ``onset_s``."""
    n = int(np.floor((lead_in_s + hold_s) * fps + 1e-9)) + 1
    out = []
    for i in range(n):
        t = i / fps
        lv = float(ease((t - onset_s) / 1.0)) if faults else 0.0
        out.append(State(round(t, 6), "hold", 0.0, 0, 0, 1,
                         {c: round(lv, 4) for c in faults if lv > 0}))
    return out
