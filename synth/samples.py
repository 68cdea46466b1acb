"""The bundled sample clips in ``samples/synth/``: their recipe, and the command that rebuilds them.

    python -m synth.samples samples/synth        # rewrites the clips, truth files and labels.csv
    python -m synth.samples --eval-set DIR       # every exercise clean and with each fault, + labels.csv

Every clip is 480×360, 25 fps, H.264, a few seconds long, with its ground truth in
``NAME.json.gz`` (read it with :func:`synth.truth.load_truth`); the recipe (exercise,
view, seed, reps/hold, faults) is all that determines it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from synth.cli import LABEL_COLUMNS, append_labels, label_row
from synth.faults import parse_faults
from synth.generate import ClipSpec, random_clip, write_clip

log = logging.getLogger(__name__)

#: name, exercise, view, seed, reps (or hold seconds), faults, extra people, crossing walker
SAMPLES: tuple[tuple[str, str, str, int, float, str, int, bool], ...] = (
    ("squat_side", "squat", "side", 11, 3, "rep3:too_shallow", 1, False),
    ("squat_front", "squat", "front", 12, 3, "rep2:knee_valgus", 1, False),
    ("floor_lift_side", "floor_lift", "side", 13, 2, "rep2:stoop_lift", 1, False),
    ("hip_hinge_side", "hip_hinge", "side", 14, 3, "rep3:rounded_back", 1, False),
    ("lunge_oblique", "lunge", "oblique", 15, 3, "rep2:knee_over_toes", 1, False),
    ("push_up_side", "push_up", "side", 16, 3, "rep3:hips_sagging", 1, False),
    ("plank_side", "plank", "side", 17, 6, "hold:hips_sagging", 1, False),
    ("side_plank_oblique", "side_plank", "oblique", 18, 5, "", 1, False),
    ("bird_dog_side", "bird_dog", "side", 19, 2, "", 1, False),
    ("glute_bridge_side", "glute_bridge", "side", 20, 3, "rep3:too_shallow", 1, False),
    ("dead_bug_oblique", "dead_bug", "oblique", 21, 2, "", 1, False),
    ("superman_side", "superman", "side", 22, 3, "", 1, False),
    ("group_squat_front", "squat", "front", 23, 3, "", 3, True),
)


def build(out_dir: Path, only: list[str] | None = None, workers: int = 2) -> list[dict]:
    """Render the samples (all, or those named in ``only``) into ``out_dir``; returns their label rows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, exercise, view, seed, amount, faults, people, crossing in SAMPLES:
        if only and name not in only:
            continue
        hold = exercise in ("plank", "side_plank")
        reps = 0 if hold else int(amount)
        spec = random_clip(exercise, seed, view=view, reps=None if hold else reps,
                           hold_s=float(amount) if hold else None, faults=parse_faults(faults, exercise, reps),
                           fps=25, size=(480, 360), people=people, noise=0.0, crf=26, crossing=crossing)
        main = replace(spec.people[0], tempo=0.8, fault_onset_s=amount / 2 if hold else 1.5)
        spec = replace(spec, people=(main, *spec.people[1:]))
        video = out_dir / f"{name}.mp4"
        header = write_clip(spec, video, out_dir / f"{name}.json.gz", workers=workers)
        rows.append(label_row(video.name, header))
    return rows


#: the view each fault is judged from (the engine checks valgus from the front, twisting is best oblique)
FAULT_VIEW = {"knee_valgus": "front", "twisting": "oblique"}


def eval_set_specs(size: tuple[int, int] = (480, 360), seed0: int = 1000) -> list[tuple[str, ClipSpec]]:
    """The fault test set: every exercise once clean and once per injectable fault (in rep 2, or the hold).

    Clips have 3 reps (holds: 6 s, the fault from 3 s) and a random person, room and camera;
    each ``(name, spec)`` is fixed by ``seed0`` and the order of the exercises and faults.
    """
    from synth.exercises import ENGINE_EXERCISES, get
    from synth.faults import APPLICABLE

    out, seed = [], seed0
    for exercise in ENGINE_EXERCISES:
        hold = get(exercise).kind == "hold"
        for fault in ("", *APPLICABLE[exercise]):
            seed += 1
            view = FAULT_VIEW.get(fault, "side")
            spec = random_clip(exercise, seed, view=view, reps=None if hold else 3, hold_s=6.0 if hold else None,
                               faults=parse_faults(f"{'hold' if hold else 'rep2'}:{fault}" if fault else "",
                                                   exercise, 0 if hold else 3), fps=25, size=size, crf=23)
            spec = replace(spec, people=(replace(spec.people[0], fault_onset_s=3.0),))
            out.append((f"{exercise}_{fault or 'clean'}_{view}", spec))
    return out


def eval_set(out_dir: Path, size: tuple[int, int] = (480, 360), workers: int = 2, seed0: int = 1000) -> list[dict]:
    """Render :func:`eval_set_specs` into ``out_dir``; returns the label rows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, spec in eval_set_specs(size, seed0):
        header = write_clip(spec, out_dir / f"{name}.mp4", out_dir / f"{name}.json.gz", workers=workers)
        rows.append(label_row(f"{name}.mp4", header))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Rebuild the bundled samples and their ``labels.csv``."""
    parser = argparse.ArgumentParser(prog="python -m synth.samples", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--only", nargs="*", help="sample names to rebuild (labels.csv is left alone)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--eval-set", action="store_true",
                        help="write the fault test set instead: each exercise clean and with each fault")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.eval_set:
        rows = eval_set(args.out_dir, workers=args.workers)
        append_labels(args.out_dir / "labels.csv", rows)
        return 0
    rows = build(args.out_dir, args.only, args.workers)
    if not args.only:
        labels = args.out_dir / "labels.csv"
        labels.unlink(missing_ok=True)
        append_labels(labels, rows)
        log.info("%s: %d rows (%s)", labels, len(rows), ",".join(LABEL_COLUMNS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
