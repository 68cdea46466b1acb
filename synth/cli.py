"""``formcheck synth``: render exercise clips with ground truth.

Examples::

    formcheck synth squat --view side --reps 3 --faults "rep2:knee_valgus" --out squat.mp4
    formcheck synth plank --hold 5 --faults hips_sagging --seed 7 --out plank.mp4
    formcheck synth squat lunge --views front,side --seeds 1,2 --out-dir set/   # a batch + labels.csv

Each video gets a ground-truth JSON beside it (same name, ``.json``).  A batch also
writes ``labels.csv`` with the columns ``file,exercise,reps,hold_s,people,view,faults``.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from synth import exercises
from synth.faults import FAULT_CODES, FaultSpecError, format_faults, parse_faults
from synth.generate import VIEWS, random_clip, write_clip

log = logging.getLogger(__name__)

LABEL_COLUMNS = ("file", "exercise", "reps", "hold_s", "people", "view", "faults")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 480x360, got {text!r}") from None
    if not (32 <= w <= 3840 and 32 <= h <= 2160):
        raise argparse.ArgumentTypeError(f"size {w}x{h} is outside 32x32..3840x2160")
    return w, h


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("exercise", nargs="+", choices=exercises.ENGINE_EXERCISES, metavar="EXERCISE",
                   help=f"one or more of: {', '.join(exercises.ENGINE_EXERCISES)}")
    p.add_argument("--out", type=Path, help="video path: .mp4 (H.264), .webm (VP9) or .y4m (raw, for a browser's "
                   "fake camera); default EXERCISE_VIEW_sSEED.mp4 in --out-dir")
    p.add_argument("--out-dir", type=Path, default=Path("."), help="folder for batch output (default: .)")
    p.add_argument("--seed", type=int, default=0, help="random seed: fixes person, room, camera, light")
    p.add_argument("--seeds", help="comma-separated seeds for a batch (overrides --seed)")
    p.add_argument("--view", choices=tuple(VIEWS), help="camera view (default: drawn from the seed)")
    p.add_argument("--views", help="comma-separated views for a batch")
    p.add_argument("--reps", type=int, help="repetitions (rep exercises)")
    p.add_argument("--hold", type=float, help="hold duration in seconds (plank, side plank)")
    p.add_argument("--faults", default="",
                   help=f"faults to inject: 'rep2:knee_valgus|rep3:too_shallow', a bare CODE for every rep, "
                        f"'hold:CODE' for holds. Codes: {', '.join(FAULT_CODES)}")
    p.add_argument("--tempo", type=float, help="slow down (>1) or speed up (<1) the movement")
    p.add_argument("--depth", type=float, help="range of motion scale (1 = normal)")
    p.add_argument("--pause", type=float, help="seconds held at the far point of each rep")
    p.add_argument("--rest", type=float, help="seconds in the start position between reps")
    p.add_argument("--camera-height", type=float, help="camera height above the floor in metres")
    p.add_argument("--fill", type=float, help="fraction of the frame the motion spans (0.3-0.95; sets distance)")
    p.add_argument("--fps", type=int, choices=(25, 30, 60), help="frame rate (default: drawn from the seed)")
    p.add_argument("--size", type=_size, default=(480, 360), help="frame size WxH (default 480x360)")
    p.add_argument("--people", type=int, default=1, help="people in the scene, each with their own exercise")
    p.add_argument("--mixed", action="store_true", help="the other people do random exercises (default: the same)")
    p.add_argument("--crossing", action="store_true", help="add a person walking across the scene")
    p.add_argument("--noise", type=float, help="sensor noise (std. dev. in 8-bit levels)")
    p.add_argument("--crf", type=int, help="H.264 quality (lower = better, default drawn from the seed)")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="render processes")
    p.add_argument("--labels", type=Path, help="append a row per clip to this labels.csv")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``synth`` on the main CLI's subparsers; the handler is in ``func``."""
    p = subparsers.add_parser("synth", help="render exercise clips with ground truth",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _configure(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Render the clips asked for; returns the exit code."""
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [args.seed]
    views = args.views.split(",") if args.views else [args.view]
    for v in views:
        if v is not None and v not in VIEWS:
            log.error("unknown view %r; use %s", v, ", ".join(VIEWS))
            return 2
    jobs = [(ex, v, s) for ex in args.exercise for v in views for s in seeds]
    if args.out and len(jobs) > 1:
        log.error("--out names one file; use --out-dir for %d clips", len(jobs))
        return 2
    rows = []
    for ex, view, seed in jobs:
        model = exercises.get(ex)
        reps = 0 if model.kind == "hold" else (args.reps if args.reps is not None else model.default_reps)
        try:
            faults = parse_faults(args.faults, ex, reps)
        except FaultSpecError as e:
            log.error("%s: %s", ex, e)
            return 2
        spec = random_clip(ex, seed, view=view, reps=args.reps, hold_s=args.hold, faults=faults, fps=args.fps,
                           size=args.size, people=args.people, noise=args.noise, crf=args.crf,
                           crossing=args.crossing, mixed=args.mixed)
        main = spec.people[0]
        main = replace(main, tempo=args.tempo or main.tempo, depth=args.depth or main.depth,
                       peak_s=args.pause, rest_s=args.rest)
        spec = replace(spec, people=(main, *spec.people[1:]),
                       camera_height=args.camera_height if args.camera_height is not None else spec.camera_height,
                       fill=min(max(args.fill, 0.3), 0.95) if args.fill is not None else spec.fill)
        video = args.out or args.out_dir / f"{ex}_{spec.view}_s{seed}.mp4"
        video.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        header = write_clip(spec, video, video.with_suffix(".json"), workers=args.workers)
        dt = time.perf_counter() - t0
        sys.stdout.write(f"{video}  {header['n_frames']} frames {spec.size[0]}x{spec.size[1]} @ {spec.fps} fps, "
                         f"view {spec.view}, faults {format_faults(main.faults) or 'none'}  "
                         f"({dt:.1f} s, {dt / header['n_frames']:.3f} s/frame) + {video.with_suffix('.json').name}\n")
        rows.append(label_row(video.name, header))
    labels = args.labels or (args.out_dir / "labels.csv" if len(jobs) > 1 else None)
    if labels is not None:
        append_labels(labels, rows)
    return 0


def label_row(name: str, header: dict) -> dict:
    """The labels.csv row of one clip: person 0's exercise and faults, reps/holds of everyone doing it.

    ``hold_s`` is the time held *correctly* (without sagging, piking or twisting), as the
    engine times holds; several people give ``3|3|2``-style lists; a crossing walker is not counted.
    """
    p0 = header["people"][0]
    doing = [p for p in header["people"] if p["exercise"] == p0["exercise"]]
    reps = "|".join(str(p["reps"]) for p in doing) if p0["kind"] == "reps" else ""
    hold = "|".join(f"{p['hold_correct_s']:g}" for p in doing) if p0["kind"] == "hold" else ""
    return {"file": name, "exercise": p0["exercise"], "reps": reps, "hold_s": hold, "people": len(doing),
            "view": header["view"], "faults": p0["labels_faults"]}


def append_labels(path: Path, rows: list[dict]) -> None:
    """Append rows to a labels.csv (header written if the file is new)."""
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=LABEL_COLUMNS)
        if new:
            w.writeheader()
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m synth.cli``)."""
    parser = argparse.ArgumentParser(prog="formcheck synth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _configure(parser)
    args = parser.parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    return run(args)


__all__ = ["add_parser", "main", "run"]

if __name__ == "__main__":
    raise SystemExit(main())
