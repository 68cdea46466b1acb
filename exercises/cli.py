"""``formcheck`` command line: analyse videos, list exercises, render synthetic clips.

Every subcommand drives the same :class:`exercises.pipeline.Pipeline` the app uses.
Errors in the input (missing or broken video, bad model, unknown exercise) end
with one line ``formcheck: error: ...`` and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("formcheck")

EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


# ----------------------------------------------------------------------------- analyze
def _add_analyze(sub: Any) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyse a video: annotated video, landmarks, summary (and a rep report with --exercise)",
        description=(
            "Find and track every person in VIDEO, then write to --out: annotated.mp4 (H.264, plays in "
            "browsers), landmarks.npz (per frame and person: pixel xy, z, visibility, world landmarks and "
            "joint angles, as filtered live, plus zero-phase smoothed xy_smooth and angles_smooth) and "
            "summary.json (frames, people, detection rate, per-frame person counts, fps). "
            "With --exercise it also counts repetitions or hold time and writes report.json."
        ),
    )
    p.add_argument("video", nargs="+", help="video file, stream URL, or camera index (e.g. 0); several videos or "
                   "a folder run as a batch, each into --out/<video name>/")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: out/<video name>)")
    p.add_argument("--people", type=int, default=4, help="most people to follow at once (default 4)")
    p.add_argument("--exercise", default=None, help="exercise to check (see 'formcheck exercises')")
    p.add_argument("--lang", choices=["de", "en"], default="de", help="feedback language (default de)")
    p.add_argument("--report", type=Path, default=None, help="write the rep report JSON here too")
    p.add_argument("--profile", type=Path, default=None, help="patient profile TOML with per-person overrides")
    p.add_argument("--model", default=None, help="pose landmarker .task to use instead of the bundled one "
                   "(also $FORMCHECK_MODEL)")
    p.add_argument("--target-fps", type=float, default=None, help="analyse at most this many frames per second")
    p.add_argument("--no-video", action="store_true", help="do not write the annotated video")
    from exercises.batch import add_batch_arguments

    add_batch_arguments(p)
    p.set_defaults(func=cmd_analyze)


def cmd_analyze(args: argparse.Namespace) -> int:
    """Run the pipeline over one video and write its outputs."""
    from exercises.batch import analyze_batch, is_batch
    from exercises.pipeline import Pipeline, PipelineConfig

    if is_batch(args):
        return analyze_batch(args)
    args.video = args.video[0]

    src: str | int = int(args.video) if str(args.video).isdigit() else args.video
    out_dir: Path = args.out or Path("out") / Path(str(args.video)).stem
    if args.exercise is not None:
        from exercises.definition import load_exercise

        load_exercise(args.exercise)  # fail fast on an unknown exercise, before the model loads
    cfg = PipelineConfig(
        people=args.people, model=args.model, exercise=args.exercise, lang=args.lang,
        profiles=args.profile, target_fps=args.target_fps, draw=not args.no_video,
    )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create output folder {out_dir}: {exc.strerror}") from None
    video_out = None if args.no_video else out_dir / "annotated.mp4"
    with Pipeline(cfg) as pipe, _progress(desc=Path(str(args.video)).name) as bar:
        result = pipe.run(src, video_out=video_out, progress=bar)
    summary = result.summary()
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    from exercises.offline import add_smoothed

    np.savez_compressed(out_dir / "landmarks.npz", **add_smoothed(result.recorder.arrays()))
    _out(f"video          {summary['video']}  ({summary['width']}x{summary['height']}, "
         f"{summary['source_fps']:g} fps)")
    _out(f"frames         {summary['frames']}")
    _out(f"people         {summary['people']} (at most {summary['max_people_in_frame']} at once)")
    _out(f"detection rate {summary['detection_rate'] * 100:.1f}% of frames with a person")
    _out(f"speed          {summary['fps_achieved']} fps")
    if result.report is not None:
        report_path = out_dir / "report.json"
        text = json.dumps(result.report, indent=2, ensure_ascii=False)
        report_path.write_text(text, encoding="utf-8")
        if args.report is not None:
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(text, encoding="utf-8")
        _print_report(result.report)
    _out(f"written        {out_dir}/ (" + ", ".join(
        sorted(p.name for p in out_dir.iterdir() if p.is_file())) + ")")
    return 0


def _print_report(report: dict[str, Any]) -> None:
    _out(f"exercise       {report['exercise']}")
    for person in report["people"]:
        hold = person.get("hold_s")
        what = f"{person['reps']} reps" if not hold else f"hold {hold:.1f} s"
        faults = sorted({f for ev in person.get("rep_events", []) for f in ev.get("faults", [])})
        _out(f"  person {person['id']}: {what}" + (f"; faults: {', '.join(faults)}" if faults else ""))
        for fb in person.get("feedback", [])[:8]:
            _out(f"    {fb['t_s']:6.1f} s  [{fb['severity']}] {fb['message']}")


class _progress:
    """A tqdm progress bar on stderr, usable as ``progress(done, total)``."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self._bar: Any = None

    def __enter__(self) -> _progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def __call__(self, done: int, total: int | None) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=self.desc, unit="frame", file=sys.stderr,
                             disable=not sys.stderr.isatty() and total is None, dynamic_ncols=True)
        self._bar.update(done - self._bar.n)


# --------------------------------------------------------------------------- exercises
def _add_exercises(sub: Any) -> None:
    p = sub.add_parser("exercises", help="list the exercises and the camera view each needs")
    p.set_defaults(func=cmd_exercises)


def cmd_exercises(args: argparse.Namespace) -> int:
    """Print the exercise table."""
    from exercises.definition import list_exercises

    rows = list_exercises()
    _out(f"{'exercise':<14} {'view':<8} kind")
    for row in rows:
        ex_id, view, kind = row[0], row[1], row[2]
        _out(f"{ex_id:<14} {view!s:<8} {kind}")
    return 0


# -------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    """The ``formcheck`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="formcheck",
        description="formcheck: exercise form checker for back-pain patients. Counts repetitions and hold "
        "times and gives corrective feedback from video, offline and without network access.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_analyze(sub)
    _add_exercises(sub)
    for name in ("synth.cli", "exercises.evaluate", "exercises.bench"):
        try:
            module = __import__(name, fromlist=["add_parser"])
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.add_parser(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    from vision.capture import CaptureError
    from vision.model import ModelError

    errors: list[type[BaseException]] = [CaptureError, ModelError, CliError, ValueError, FileNotFoundError]
    try:
        from vision.sink import SinkError

        errors.append(SinkError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``formcheck`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except _user_errors() as exc:
        sys.stderr.write(f"formcheck: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("formcheck: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
