"""The exercise catalogue of the generator: kinematic model, timing and rep definition of each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from synth import floorwork, standing
from synth.body import BodyShape, Pose
from synth.motion import State, Tempo

PoseFn = Callable[[BodyShape, State, dict], Pose]


@dataclass(frozen=True)
class ExerciseModel:
    """How one exercise is generated."""

    name: str
    pose: PoseFn
    kind: str  # "reps" or "hold"
    rep: str  # what one rep (or the hold) is, in words, for the truth file
    tempo: Tempo = field(default_factory=Tempo)
    default_reps: int = 3
    default_hold_s: float = 6.0
    alternate: bool = False  # sides alternate rep by rep
    setup: bool = False  # a set-up movement before the first rep (floor lift)
    lying: bool = False


EXERCISES: dict[str, ExerciseModel] = {m.name: m for m in (
    ExerciseModel("squat", standing.squat, "reps",
                  "standing → bottom of the squat → standing; counted when standing again"),
    ExerciseModel("hip_hinge", standing.hip_hinge, "reps",
                  "standing → trunk hinged forward at the hips → standing; counted when upright again"),
    ExerciseModel(
        "floor_lift", standing.floor_lift, "reps",
        "box on the floor, gripped → lifted to standing (lockout) → lowered back to the floor; counted when "
        "the box is back on the floor. Before rep 1 the person bends from standing to grip the box (phase "
        "'setup', not a rep); after the last rep they let go and stand up (phase 'finish').",
        Tempo(out_s=1.3, peak_s=0.4, back_s=1.3, rest_s=0.5, lead_in_s=0.3, lead_out_s=0.4, setup_s=1.2),
        setup=True),
    ExerciseModel("lunge", standing.lunge, "reps",
                  "split stance upright → back knee lowered towards the floor → upright; counted when upright"),
    ExerciseModel("push_up", floorwork.push_up, "reps",
                  "arms straight → chest lowered near the floor → arms straight; counted at the top",
                  Tempo(out_s=1.0, peak_s=0.2, back_s=1.0, rest_s=0.4), lying=True),
    ExerciseModel("plank", floorwork.plank, "hold", "forearm plank held for hold_s seconds", lying=True),
    ExerciseModel("side_plank", floorwork.side_plank, "hold", "side plank on the right forearm, held",
                  lying=True),
    ExerciseModel("bird_dog", floorwork.bird_dog, "reps",
                  "on hands and knees → one arm and the opposite leg extended → back on hands and knees; "
                  "counted when both are down; sides alternate (rep 1: left arm + right leg)",
                  Tempo(out_s=1.1, peak_s=0.6, back_s=1.1, rest_s=0.5), alternate=True, default_reps=4,
                  lying=True),
    ExerciseModel("glute_bridge", floorwork.glute_bridge, "reps",
                  "lying with knees bent, hips down → hips raised to a straight shoulder–hip–knee line → "
                  "down; counted when the hips are down", Tempo(out_s=1.1, peak_s=0.7, back_s=1.1, rest_s=0.5),
                  lying=True),
    ExerciseModel("dead_bug", floorwork.dead_bug, "reps",
                  "on the back in table-top → one arm overhead and the opposite leg extended → table-top; "
                  "counted on return; sides alternate (rep 1: left arm + right leg)",
                  Tempo(out_s=1.2, peak_s=0.4, back_s=1.2, rest_s=0.4), alternate=True, default_reps=4,
                  lying=True),
    ExerciseModel("superman", floorwork.superman, "reps",
                  "face down, flat → chest, arms and legs lifted → flat; counted when down",
                  Tempo(out_s=1.0, peak_s=0.8, back_s=1.0, rest_s=0.6), lying=True),
    ExerciseModel("walk", standing.walk, "walk", "walking in a straight line (a person crossing the scene)"),
)}

#: The exercises of the engine (everything but the crossing walker).
ENGINE_EXERCISES: tuple[str, ...] = tuple(n for n in EXERCISES if n != "walk")


def get(name: str) -> ExerciseModel:
    """The model of ``name`` (ValueError listing the known names otherwise)."""
    try:
        return EXERCISES[name]
    except KeyError:
        raise ValueError(f"unknown exercise {name!r}; known: {', '.join(EXERCISES)}") from None
