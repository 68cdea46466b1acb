"""Per-patient overrides: a therapist loosens or tightens targets and thresholds in a small TOML file.

Example (``profiles/frau_m.toml``)::

    name = "Frau M., 6 Wochen nach Knie-OP"

    [squat]
    rom_target = 0.75            # a shallower squat is enough for now
    [squat.rules.knee_valgus]
    above = 20                   # a little more tolerance
    [squat.rules.jerky]
    enabled = false

    [plank]
    target_s = 20

Top-level tables are exercise ids.  Per exercise: ``rom_target``, ``min_rep_s``,
``max_rep_s``, ``target_s`` (holds), ``[<ex>.phases.<phase>]`` with
``<metric> = {above = .., below = ..}`` and ``dwell_s``, and ``[<ex>.rules.<code>]`` with
``above``/``below``, ``min_duration_s``, ``severity``, ``enabled``.  Unknown exercises,
keys, phases, metrics or rule codes raise :class:`~exercises.definition.DefinitionError`
naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exercises.definition import (
    DEFINITIONS_DIR,
    SEVERITIES,
    Condition,
    DefinitionError,
    ExerciseDef,
    PhaseDef,
    RepsDef,
)

log = logging.getLogger(__name__)

_EX_KEYS = {"rom_target", "min_rep_s", "max_rep_s", "target_s", "phases", "rules"}
_RULE_KEYS = {"above", "below", "min_duration_s", "severity", "enabled"}


@dataclass(frozen=True)
class Profile:
    """Validated overrides for one patient: ``{exercise id: {key: value}}``."""

    name: str = ""
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "<profile>"

    def apply(self, ex: ExerciseDef) -> ExerciseDef:
        """A copy of ``ex`` with this profile's overrides (unchanged if none apply)."""
        o = self.overrides.get(ex.id)
        if not o:
            return ex
        where = f"{self.source}: [{ex.id}]"
        if ex.hold is not None and "target_s" in o:
            ex = dataclasses.replace(ex, hold=dataclasses.replace(ex.hold, target_s=float(o["target_s"])))
        if ex.reps is not None:
            ex = dataclasses.replace(ex, reps=_apply_reps(ex.reps, o, where))
        rules = list(ex.rules)
        for code, ro in o.get("rules", {}).items():
            idx = [i for i, r in enumerate(rules) if r.code == code]
            if not idx:
                raise DefinitionError(f"{where} key 'rules.{code}': no such rule in {ex.id}")
            for i in idx:
                r = rules[i]
                ch: dict[str, Any] = {k: ro[k] for k in ("min_duration_s", "severity", "enabled") if k in ro}
                for cmp in ("above", "below"):
                    if cmp in ro:
                        ch.update(compare=cmp, threshold=float(ro[cmp]))
                rules[i] = dataclasses.replace(r, **ch)
        return dataclasses.replace(ex, rules=tuple(rules))


def _apply_reps(reps: RepsDef, o: dict[str, Any], where: str) -> RepsDef:
    phases = {reps.start_phase.name: reps.start_phase, reps.turn_phase.name: reps.turn_phase}
    for pname, po in o.get("phases", {}).items():
        if pname not in phases:
            raise DefinitionError(f"{where} key 'phases.{pname}': unknown phase (have {', '.join(phases)})")
        ph = phases[pname]
        conds = list(ph.conditions)
        for k, v in po.items():
            if k == "dwell_s":
                continue
            idx = [i for i, c in enumerate(conds) if c.metric == k]
            if not idx or not isinstance(v, dict) or not set(v) <= {"above", "below"}:
                raise DefinitionError(f"{where} key 'phases.{pname}.{k}': expected a condition "
                                      f"{{above/below}} on one of {', '.join(c.metric for c in conds)}")
            c = conds[idx[0]]
            conds[idx[0]] = Condition(c.metric, float(v.get("above", c.above)) if "above" in v or c.above
                                      is not None else None,
                                      float(v.get("below", c.below)) if "below" in v or c.below is not None else None)
        phases[pname] = PhaseDef(pname, tuple(conds), float(po.get("dwell_s", ph.dwell_s)))
    new = dataclasses.replace(
        reps, start_phase=phases[reps.start_phase.name], turn_phase=phases[reps.turn_phase.name],
        rom_target=float(o["rom_target"]) if "rom_target" in o else reps.rom_target,
        min_rep_s=float(o.get("min_rep_s", reps.min_rep_s)), max_rep_s=float(o.get("max_rep_s", reps.max_rep_s)),
    )
    return _keep_rom_countable(new, where)


def _keep_rom_countable(reps: RepsDef, where: str) -> RepsDef:
    """If the ROM target was loosened past the counting threshold, move that threshold with it."""
    sig = reps.signal
    s = next(c for c in reps.start_phase.conditions if c.metric == sig)
    t_i, t = next((i, c) for i, c in enumerate(reps.turn_phase.conditions) if c.metric == sig)
    rom = reps.rom_target
    conds = list(reps.turn_phase.conditions)
    if t.below is not None and s.above is not None:
        if rom is not None and rom > t.below:
            conds[t_i] = Condition(sig, t.above, rom)
        if not conds[t_i].below < s.above:  # type: ignore[operator]
            raise DefinitionError(f"{where}: the turn threshold {conds[t_i].below} must stay below the start "
                                  f"threshold {s.above} (hysteresis)")
    elif t.above is not None and s.below is not None:
        if rom is not None and rom < t.above:
            conds[t_i] = Condition(sig, rom, t.below)
        if not conds[t_i].above > s.below:  # type: ignore[operator]
            raise DefinitionError(f"{where}: the turn threshold {conds[t_i].above} must stay above the start "
                                  f"threshold {s.below} (hysteresis)")
    return dataclasses.replace(reps, turn_phase=dataclasses.replace(reps.turn_phase, conditions=tuple(conds)))


def _validate(data: dict[str, Any], source: str) -> Profile:
    known = {p.stem for p in DEFINITIONS_DIR.glob("*.toml")}
    name = data.get("name", "")
    if not isinstance(name, str):
        raise DefinitionError(f"{source}: key 'name': must be a string")
    out: dict[str, dict[str, Any]] = {}
    for ex_id, o in data.items():
        if ex_id in ("name", "note"):
            continue
        if ex_id not in known:
            raise DefinitionError(f"{source}: key {ex_id!r}: unknown exercise (known: {', '.join(sorted(known))})")
        if not isinstance(o, dict):
            raise DefinitionError(f"{source}: key {ex_id!r}: must be a table")
        for k, v in o.items():
            if k not in _EX_KEYS:
                allowed = ", ".join(sorted(_EX_KEYS))
                raise DefinitionError(f"{source}: key '{ex_id}.{k}': unknown key (allowed: {allowed})")
            if k in ("rom_target", "min_rep_s", "max_rep_s", "target_s") and (
                    isinstance(v, bool) or not isinstance(v, int | float) or (k != "rom_target" and v <= 0)):
                raise DefinitionError(f"{source}: key '{ex_id}.{k}': must be a positive number, got {v!r}")
        for code, ro in o.get("rules", {}).items():
            if not isinstance(ro, dict):
                raise DefinitionError(f"{source}: key '{ex_id}.rules.{code}': must be a table")
            for k, v in ro.items():
                path = f"{ex_id}.rules.{code}.{k}"
                if k not in _RULE_KEYS:
                    allowed = ", ".join(sorted(_RULE_KEYS))
                    raise DefinitionError(f"{source}: key {path!r}: unknown key (allowed: {allowed})")
                if k == "severity" and v not in SEVERITIES:
                    raise DefinitionError(f"{source}: key {path!r}: {v!r} is not one of {', '.join(SEVERITIES)}")
                if k == "enabled" and not isinstance(v, bool):
                    raise DefinitionError(f"{source}: key {path!r}: must be true or false")
                number = isinstance(v, int | float) and not isinstance(v, bool)
                if k in ("above", "below", "min_duration_s") and not number:
                    raise DefinitionError(f"{source}: key {path!r}: must be a number, got {v!r}")
            if "above" in ro and "below" in ro:
                raise DefinitionError(f"{source}: key '{ex_id}.rules.{code}': give 'above' or 'below', not both")
        out[ex_id] = o
    prof = Profile(name, out, source)
    # Apply once to every exercise so unknown rules/phases are reported at load time.
    from exercises.definition import load_exercise

    for ex_id in out:
        prof.apply(load_exercise(ex_id))
    return prof


def load_profile(path: str | Path) -> Profile:
    """Load and validate a patient profile TOML file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DefinitionError(f"{p}: profile file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise DefinitionError(f"{p}: not valid TOML: {e}") from None
    return _validate(data, str(p))


def profile_from_dict(data: dict[str, Any], source: str = "<profile>") -> Profile:
    """Validate overrides given as a dict (same layout as the TOML file)."""
    return _validate(data, source)
