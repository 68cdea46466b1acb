"""Exercise definitions as data: TOML files in ``exercises/definitions/``, strictly validated.

A definition declares

* ``[metrics.<name>]`` — what to measure (joint angles, inclinations, normalised heights
  and distances, ratios, rotations, valgus, rates), see :data:`METRIC_TYPES`;
* ``view`` and ``required_landmarks`` — the camera view it needs and what must be visible;
* ``[reps]`` with two hysteresis phases and dwell times (``kind = "reps"``) or ``[hold]``
  with a pose and a target (``kind = "hold"``);
* ``[start]`` — a start pose that must be held before counting/timing begins;
* ``[[rules]]`` — form rules: metric, comparison, threshold, phase, minimum duration,
  severity, message key, and optionally the view they need.

Any unknown key, unknown landmark/metric/phase name or bad threshold raises
:class:`DefinitionError` naming the file and the key.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vision.landmarks import Landmark

log = logging.getLogger(__name__)

DEFINITIONS_DIR = Path(__file__).with_name("definitions")

#: Virtual points usable wherever a landmark name is expected (midpoints of a pair).
VIRTUAL_POINTS: dict[str, tuple[Landmark, Landmark]] = {
    f"mid_{n}": (Landmark[f"LEFT_{n.upper()}"], Landmark[f"RIGHT_{n.upper()}"])
    for n in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index", "ear", "eye")
}

#: metric type -> number of points it takes (None: takes ``of`` instead of ``points``).
METRIC_TYPES: dict[str, int | None] = {
    "angle": 3,  # joint angle at the middle point, degrees (180 = straight); flexion=true gives 180-angle
    "inclination": 2,  # segment a->b to the vertical, degrees (0 = b above a, 90 = level)
    "height": 2,  # vertical height of point a above point b, divided by a body scale
    "distance": 2,  # distance a-b (axis: any | horizontal | vertical), divided by a body scale
    "forward": 2,  # signed horizontal offset of a ahead of b along the feet (heel->toe), / scale
    "line_offset": 3,  # signed offset of b from line a-c, + = above (against gravity), / |a-c|
    "rotation": 4,  # |twist| of line a->b against c->d in the horizontal plane (axis=trunk: about the trunk)
    "valgus": 0,  # frontal-plane knee valgus (FPPA), degrees, + = knees caving in
    "combine": None,  # op over other metrics: mean | max | min | sum | diff
    "ratio": None,  # of[0] / of[1]
    "rate": None,  # causal time derivative of of[0] (order 1 or 2), per second
    "drop": None,  # how far of[0] is below (direction=down) its calibrated start value
}
SCALES = ("leg", "torso", "arm", "none")
SIDES = ("mean", "min", "max", "left", "right", "near", "front", "none")
SPACES = ("auto", "world", "image")
SEVERITIES = ("info", "warning", "error")
VIEWS = ("side", "front", "either")
RULE_VIEWS = ("side", "front", "any")
KINDS = ("reps", "hold")


class DefinitionError(ValueError):
    """An exercise definition (or profile) file is invalid; the message names file and key."""


@dataclass(frozen=True)
class MetricDef:
    """One measured quantity (see :data:`METRIC_TYPES`)."""

    name: str
    type: str
    points: tuple[str, ...] = ()
    of: tuple[str, ...] = ()
    sides: str = "mean"
    space: str = "auto"
    scale: str = "leg"
    axis: str = "any"
    flexion: bool = False
    op: str = "mean"
    order: int = 1
    absolute: bool = False
    window_s: float = 0.15
    min_denominator: float = 1e-6
    direction: str = "down"
    decay_per_s: float = 0.0  # drop: how fast the start value may sink towards the signal (units/s)
    valid: tuple[float, float] | None = None  # values outside are measurement errors (NaN)


@dataclass(frozen=True)
class Condition:
    """``metric`` above and/or below a threshold (both given: inside the band)."""

    metric: str
    above: float | None = None
    below: float | None = None

    def holds(self, value: float) -> bool | None:
        """True/False, or None when the value is unknown (NaN)."""
        if value != value:  # NaN
            return None
        if self.above is not None and not value > self.above:
            return False
        return not (self.below is not None and not value < self.below)


@dataclass(frozen=True)
class PhaseDef:
    """A rep phase: all conditions hold for at least ``dwell_s`` seconds."""

    name: str
    conditions: tuple[Condition, ...]
    dwell_s: float = 0.0


@dataclass(frozen=True)
class RepsDef:
    """Rep counting: start phase -> turn phase -> start phase counts one rep."""

    signal: str
    start_phase: PhaseDef
    turn_phase: PhaseDef
    rom_target: float | None = None
    rom_message: str = "fault.too_shallow"
    return_ratio: float = 0.0
    fast_ratio: float = 0.0  # a rep shorter than this share of the person's other reps is rushed
    fast_code: str = "jerky"
    fast_message: str = "fault.jerky"
    min_rep_s: float = 0.4
    shallow_min_rep_s: float = 0.0  # a rep short of the ROM target must last this long (else it is a bounce)
    max_rep_s: float = 20.0


@dataclass(frozen=True)
class HoldDef:
    """Hold timing: the pose must hold; the clock runs only while no pausing fault is active."""

    pose: tuple[Condition, ...]
    target_s: float = 30.0
    dwell_s: float = 0.3
    grace_s: float = 0.5


@dataclass(frozen=True)
class StartDef:
    """Start pose: extra conditions (besides the start phase) held for ``dwell_s``."""

    conditions: tuple[Condition, ...] = ()
    dwell_s: float = 0.2


@dataclass(frozen=True)
class RuleDef:
    """A form rule; a fault is ``metric`` beyond ``threshold`` (``above`` or ``below``)."""

    code: str
    metric: str
    compare: str  # "above" | "below"
    threshold: float
    severity: str = "warning"
    message: str = ""
    phase: str = "rep"  # rep | down | up | <phase name> | hold
    min_duration_s: float = 0.2
    view: str = "any"
    agg: str | None = None  # None: continuous; max|min|mean: evaluated once at rep end
    when: tuple[Condition, ...] = ()
    pause_hold: bool = True
    enabled: bool = True

    def violated(self, value: float) -> bool | None:
        """Whether ``value`` is a fault (None when unknown)."""
        if value != value:
            return None
        return value > self.threshold if self.compare == "above" else value < self.threshold


@dataclass(frozen=True)
class SummaryDef:
    """A measure reported per rep: its ``agg`` over the rep and, with ``bands``, the band it fell in
    (edges ascending, e.g. REBA trunk flexion ``[20, 60]`` gives ``0-20``, ``20-60``, ``>60``)."""

    metric: str
    agg: str = "max"
    bands: tuple[float, ...] = ()

    def band(self, value: float) -> str | None:
        """Band label of ``value`` (None without bands or for NaN)."""
        if not self.bands or value != value:
            return None
        edges = list(self.bands)
        lo = "0"
        for e in edges:
            if value < e:
                return f"{lo}-{e:g}"
            lo = f"{e:g}"
        return f">{edges[-1]:g}"


@dataclass(frozen=True)
class SetupDef:
    """Setup guidance limits: person height as a fraction of the frame height."""

    min_body_height: float = 0.3
    max_body_height: float = 0.98
    min_visibility: float = 0.5


@dataclass(frozen=True)
class ExerciseDef:
    """A validated exercise definition."""

    id: str
    kind: str
    view: str
    required_landmarks: tuple[str, ...]
    metrics: dict[str, MetricDef]
    start: StartDef
    rules: tuple[RuleDef, ...]
    reps: RepsDef | None = None
    hold: HoldDef | None = None
    setup: SetupDef = field(default_factory=SetupDef)
    praise: str = "praise.clean_rep"
    source: str = ""
    summary: tuple[SummaryDef, ...] = ()

    @property
    def phase_names(self) -> tuple[str, ...]:
        """Names usable as a rule ``phase``."""
        if self.reps:
            return ("rep", "down", "up", self.reps.start_phase.name, self.reps.turn_phase.name)
        return ("hold",)

    @property
    def fault_codes(self) -> tuple[str, ...]:
        """Fault codes this exercise can report (rules plus ``too_shallow`` with a ROM target)."""
        codes = [r.code for r in self.rules]
        if self.reps and self.reps.rom_target is not None and "too_shallow" not in codes:
            codes.append("too_shallow")
        if self.reps and self.reps.fast_ratio and self.reps.fast_code not in codes:
            codes.append(self.reps.fast_code)
        return tuple(dict.fromkeys(codes))


def is_point_name(name: str) -> bool:
    """A landmark name (case-insensitive) or a virtual midpoint such as ``mid_hip``."""
    if name.lower() in VIRTUAL_POINTS:
        return True
    try:
        Landmark.parse(name)
    except ValueError:
        return False
    return True


def parse_exercise(data: dict[str, Any], source: str) -> ExerciseDef:
    """Validate a parsed TOML document; ``source`` names the file in errors (see :mod:`exercises.schema`)."""
    from exercises.schema import parse

    return parse(data, source)


def load_exercise(name_or_path: str | Path) -> ExerciseDef:
    """Load and validate an exercise by id (``"squat"``) or by the path of a TOML file."""
    p = Path(name_or_path)
    if p.suffix != ".toml":
        p = DEFINITIONS_DIR / f"{name_or_path}.toml"
        if not p.is_file():
            known = ", ".join(i for i, _, _ in list_exercises())
            raise DefinitionError(f"unknown exercise {str(name_or_path)!r} (known: {known})")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DefinitionError(f"{p}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise DefinitionError(f"{p}: not valid TOML: {e}") from None
    ex = parse_exercise(data, str(p.name if p.parent == DEFINITIONS_DIR else p))
    if p.parent == DEFINITIONS_DIR and ex.id != p.stem:
        raise DefinitionError(f"{p.name}: key 'id': {ex.id!r} does not match the file name")
    return ex


def list_exercises() -> list[tuple[str, str, str]]:
    """``[(id, view, kind), ...]`` for the bundled definitions, sorted by id."""
    out = []
    for p in sorted(DEFINITIONS_DIR.glob("*.toml")):
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise DefinitionError(f"{p.name}: not valid TOML: {e}") from None
        out.append((str(data.get("id", p.stem)), str(data.get("view", "either")), str(data.get("kind", "reps"))))
    return out
