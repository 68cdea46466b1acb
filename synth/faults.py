"""Fault codes (shared with the exercise engine), where each applies, and the fault-spec syntax.

On the command line and in ``labels.csv`` a fault list is written
``rep1:knee_valgus|rep3:too_shallow|rep3:jerky`` (rep numbers are 1-based); a
hold's faults are ``hold:hips_sagging``.  ``CODE`` alone means every rep.
"""

from __future__ import annotations

FAULT_CODES: tuple[str, ...] = (
    "stoop_lift", "rounded_back", "knee_valgus", "hips_sagging", "hips_piking", "twisting",
    "too_shallow", "load_far", "jerky", "head_drop", "knee_over_toes",
)

#: What each injected fault does to the kinematic model (for the docs and the truth file).
FAULT_EFFECTS: dict[str, str] = {
    "stoop_lift": "lift with nearly straight knees: knee flexion ~20° at the box, trunk ~95° forward",
    "rounded_back": "extra spinal flexion (lumbar + thoracic up to ~45°) with less pelvic tilt",
    "knee_valgus": "knees turned 14–22° towards the midline about the hip–ankle axis (feet stay put): at the "
                   "bottom the knees are about half as far apart as the ankles instead of wider",
    "hips_sagging": "hips below the shoulder–ankle line (hip and lumbar extension)",
    "hips_piking": "hips above the shoulder–ankle line (~30° hip flexion)",
    "twisting": "trunk rotation about its long axis (~25°) and pelvis roll",
    "too_shallow": "range of motion cut to 65 % of normal (e.g. a half squat)",
    "load_far": "box or hands ~30° of arm angle in front of the body, away from the shins",
    "jerky": "that rep is 2.5× faster, with abrupt starts and stops and a bounce at the far point",
    "head_drop": "neck flexed ~45°: the head hangs towards the floor",
    "knee_over_toes": "shank tilts ~20° further forward: the knee travels well past the toes",
}

#: Faults the generator can inject into each exercise.
APPLICABLE: dict[str, tuple[str, ...]] = {
    "floor_lift": ("stoop_lift", "rounded_back", "knee_valgus", "twisting", "load_far", "jerky"),
    "squat": ("too_shallow", "knee_valgus", "knee_over_toes", "rounded_back", "jerky"),
    "hip_hinge": ("too_shallow", "rounded_back", "load_far", "jerky"),
    "lunge": ("too_shallow", "knee_valgus", "knee_over_toes", "twisting", "jerky"),
    "push_up": ("too_shallow", "hips_sagging", "hips_piking", "head_drop", "jerky"),
    "plank": ("hips_sagging", "hips_piking", "head_drop"),
    "side_plank": ("hips_sagging", "hips_piking", "twisting"),
    "bird_dog": ("hips_sagging", "twisting", "too_shallow", "head_drop", "jerky"),
    "glute_bridge": ("too_shallow", "twisting", "jerky"),
    "dead_bug": ("too_shallow", "twisting", "jerky"),
    "superman": ("too_shallow", "jerky"),
    "walk": (),
}


class FaultSpecError(ValueError):
    """A fault list could not be parsed or does not fit the exercise."""


def parse_faults(spec: str | list[str] | None, exercise: str, reps: int) -> dict[int, list[str]]:
    """Parse ``rep2:knee_valgus|rep3:too_shallow`` (or a list of such items) into ``{rep: [codes]}``.

    ``hold:CODE`` and bare ``CODE`` apply to every rep (key 0 for holds).  Codes must
    be known and applicable to ``exercise``; rep numbers must be within ``1..reps``.
    """
    items: list[str] = []
    for part in ([spec] if isinstance(spec, str) else (spec or [])):
        items.extend(p.strip() for p in part.replace(",", "|").split("|") if p.strip())
    out: dict[int, list[str]] = {}
    allowed = APPLICABLE.get(exercise)
    if allowed is None:
        raise FaultSpecError(f"unknown exercise {exercise!r}")
    for item in items:
        where, _, code = item.rpartition(":")
        code = code.strip()
        if code not in FAULT_CODES:
            raise FaultSpecError(f"unknown fault code {code!r} in {item!r}; known: {', '.join(FAULT_CODES)}")
        if code not in allowed:
            raise FaultSpecError(f"fault {code!r} cannot be injected into {exercise} (possible: "
                                 f"{', '.join(allowed) or 'none'})")
        if where in ("", "all", "hold"):
            targets = [0] if reps == 0 else list(range(1, reps + 1))
        elif where.startswith("rep") and where[3:].isdigit() and reps > 0:
            k = int(where[3:])
            if not 1 <= k <= reps:
                raise FaultSpecError(f"{item!r}: rep {k} is outside 1..{reps}")
            targets = [k]
        else:
            raise FaultSpecError(f"{item!r}: expected CODE, repN:CODE or hold:CODE")
        for k in targets:
            if code not in out.setdefault(k, []):
                out[k].append(code)
    return out


def format_faults(faults_by_rep: dict[int, list[str]]) -> str:
    """The inverse of :func:`parse_faults` (``rep1:a|rep2:b``; ``hold:`` for key 0)."""
    parts = []
    for k in sorted(faults_by_rep):
        for code in faults_by_rep[k]:
            parts.append(f"{'hold' if k == 0 else f'rep{k}'}:{code}")
    return "|".join(parts)
