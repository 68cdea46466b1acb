"""``formcheck evaluate DIR``: how far to trust formcheck, measured on labelled clips.

Reads ``DIR/labels.csv`` and every ``labels.csv`` below DIR (or ``--labels FILE``; format
in :mod:`exercises.labels` and docs/evaluation.md), analyses every labelled clip with
the same :class:`~exercises.pipeline.Pipeline` as ``formcheck analyze``, in parallel
(:mod:`exercises.batch`: local processes, or Ray with ``--engine ray``), and prints
expected against counted reps and holds per clip, fault precision/recall, and the
aggregates defined in :mod:`exercises.eval_scoring`.  The same tables are written as
CSV, JSON and Markdown to ``--out``.  ``--fail-under`` turns it into a CI gate.

Exit status: 0, 1 when a ``--fail-under`` threshold is missed, 2 on bad input.
"""

from __future__ import annotations

import argparse
import functools
import logging
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exercises.batch import ENGINES, default_jobs, run_tasks
from exercises.eval_scoring import (
    BAD_LABEL,
    ERROR,
    OK,
    SKIPPED,
    THRESHOLDS,
    aggregate,
    check_thresholds,
    grouped,
    measure,
    score_clip,
)
from exercises.eval_tables import render_text, write_tables
from exercises.labels import ClipLabel, LabelsError, find_label_files, read_labels

log = logging.getLogger(__name__)

EXIT_FAILED = 1


class EvaluateError(ValueError):
    """Bad input to ``formcheck evaluate`` (printed by the CLI as one line, exit status 2)."""


@dataclass(frozen=True)
class EvalOptions:
    """How every clip is analysed (the same for every engine)."""

    people: int = 4
    target_fps: float | None = None
    model: str | None = None


def analyse_clip(label: ClipLabel, progress: Any = None, *, opts: EvalOptions = EvalOptions()) -> dict[str, Any]:
    """The per-clip function: analyse one labelled clip; never raises for a bad clip.

    Returns ``{"status": "ok", "measured": {...}, "wall_s": ...}`` or
    ``{"status": "error", "note": "...", "wall_s": ...}``; the same from a local worker or a Ray task.
    """
    from exercises.pipeline import Pipeline, PipelineConfig
    from vision.capture import CaptureError
    from vision.model import ModelError

    t0 = time.perf_counter()
    exercise = label.exercise if label.kind in ("reps", "hold") else None
    cfg = PipelineConfig(people=max(opts.people, label.people), model=opts.model, exercise=exercise, lang="en",
                         target_fps=opts.target_fps, draw=False, record=False)
    try:
        with Pipeline(cfg) as pipe:
            result = pipe.run(label.path, progress=progress)
        measured = measure(result.summary(), result.report)
    except (CaptureError, ModelError, ValueError, OSError) as exc:
        return {"status": ERROR, "note": str(exc).splitlines()[0], "wall_s": time.perf_counter() - t0}
    except Exception as exc:  # an analysis bug must cost this clip only, and say what happened
        log.warning("%s: analysis failed", label.path, exc_info=True)
        return {"status": ERROR, "note": f"analysis failed: {type(exc).__name__}: {exc}".splitlines()[0],
                "wall_s": time.perf_counter() - t0}
    return {"status": OK, "measured": measured, "wall_s": time.perf_counter() - t0}


def _task_error(label: ClipLabel, message: str) -> dict[str, Any]:
    return {"status": ERROR, "note": message, "wall_s": None}


def _short_where(label: ClipLabel, root: Path) -> str:
    """``labels.csv row 5`` (relative to ``root`` when below it)."""
    try:
        name = label.labels_file.relative_to(root)
    except ValueError:
        name = label.labels_file
    return f"{name} row {label.row}"


def load_all_labels(root: Path, labels: Path | None) -> tuple[list[ClipLabel], list[Path]]:
    """Every label row to evaluate (``--labels FILE`` or the labels files found in ``root``)."""
    files = [labels] if labels is not None else find_label_files(root)
    rows: list[ClipLabel] = []
    for f in files:
        rows += read_labels(f, clips_dir=root if root.is_dir() else None)
    return rows, files


def evaluate(root: Path, *, labels: Path | None = None, engine: str = "local", jobs: int | None = None,
             opts: EvalOptions = EvalOptions(), ray_address: str | None = None, progress: Any = None,
             command: str = "", loaded: tuple[list[ClipLabel], list[Path]] | None = None) -> dict[str, Any]:
    """Evaluate every labelled clip; returns ``{"run", "clips", "aggregates"}`` (see docs/evaluation.md).

    ``loaded`` passes labels already read with :func:`load_all_labels`.
    """
    t0 = time.perf_counter()
    items, files = loaded if loaded is not None else load_all_labels(root, labels)
    rows: list[dict[str, Any] | None] = [None] * len(items)
    todo: list[int] = []
    for i, lab in enumerate(items):
        where = _short_where(lab, root)
        if lab.problem:
            rows[i] = score_clip(lab, BAD_LABEL, note=lab.problem.replace(lab.where, where, 1))
        elif lab.kind == "unsupported":
            rows[i] = score_clip(lab, SKIPPED, note=f"no exercise definition for '{lab.exercise}'")
        elif not lab.path.is_file():
            rows[i] = score_clip(lab, ERROR, note=f"{where}: clip not found: {lab.path}")
        else:
            todo.append(i)
    jobs = max(1, min(jobs or default_jobs(), max(len(todo), 1)))
    fn = functools.partial(analyse_clip, opts=opts)
    outs = run_tasks(fn, [items[i] for i in todo], engine=engine, jobs=jobs, on_error=_task_error,
                     progress=progress, ray_address=ray_address)
    for i, out in zip(todo, outs, strict=True):
        rows[i] = score_clip(items[i], out["status"], note=out.get("note", ""), measured=out.get("measured"),
                             wall_s=out.get("wall_s"))
    done = [r for r in rows if r is not None]
    return {
        "run": {"command": command, "labels": ", ".join(str(f) for f in files), "engine": engine, "jobs": jobs,
                "people": opts.people, "target_fps": opts.target_fps, "wall_s": round(time.perf_counter() - t0, 2)},
        "clips": done,
        "aggregates": {"all": aggregate(done), "by_exercise": grouped(done, "exercise"),
                       "by_view": grouped(done, "view")},
    }


# ----------------------------------------------------------------------------- CLI
def _threshold(text: str) -> tuple[str, float]:
    name, _, value = text.rpartition("=")
    name = name.strip().replace("-", "_") or "exact"
    if name not in THRESHOLDS:
        raise argparse.ArgumentTypeError(f"unknown metric {name!r}; use one of {', '.join(THRESHOLDS)}")
    try:
        limit = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected [METRIC=]NUMBER, e.g. 0.8 or fault_f1=0.5") from None
    if not 0 <= limit <= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a threshold is a fraction between 0 and 1")
    return name, limit


def add_parser(sub: Any) -> None:
    """Register ``formcheck evaluate``."""
    p = sub.add_parser(
        "evaluate", help="measure counting, hold and fault accuracy on labelled clips",
        description="Analyse every clip listed in DIR/labels.csv (and in labels.csv files below DIR) and compare "
        "with the labels: expected against counted reps and holds, fault precision/recall, detection rate. "
        "Prints the tables and writes them as CSV, JSON and Markdown. Label format: docs/evaluation.md.",
    )
    p.add_argument("dir", type=Path, help="folder with the clips and labels.csv")
    p.add_argument("--labels", type=Path, default=None, help="labels CSV to use instead of DIR/**/labels.csv "
                   "(clip paths relative to its folder, else to DIR)")
    p.add_argument("--out", type=Path, default=Path("out/evaluate"),
                   help="where to write clips.csv, aggregates.csv, evaluation.json, evaluation.md "
                   "(default out/evaluate)")
    p.add_argument("--engine", choices=ENGINES, default="local",
                   help="local worker processes (default) or Ray tasks (--ray-address or $RAY_ADDRESS for a cluster)")
    p.add_argument("--jobs", type=int, default=None, help=f"parallel clips (default: CPUs, here {default_jobs()})")
    p.add_argument("--ray-address", default=None, help="Ray cluster to use with --engine ray (default: a local one)")
    p.add_argument("--people", type=int, default=4, help="most people to follow per clip, as in analyze (default 4)")
    p.add_argument("--target-fps", type=float, default=None, help="analyse at most this many frames per second")
    p.add_argument("--model", default=None, help="pose landmarker .task (default: the bundled one)")
    p.add_argument("--fail-under", type=_threshold, action="append", default=[], metavar="[METRIC=]VALUE",
                   help="exit 1 if METRIC is below VALUE (0..1); METRIC defaults to exact (exact-count accuracy); "
                   f"one of {', '.join(THRESHOLDS)}; repeatable")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Run ``formcheck evaluate``."""
    if args.jobs is not None and args.jobs < 1:
        raise EvaluateError(f"--jobs must be at least 1, got {args.jobs}")
    if args.labels is None and not args.dir.is_dir():
        raise EvaluateError(f"'{args.dir}' is not a folder; pass the folder holding the clips and labels.csv")
    opts = EvalOptions(people=args.people, target_fps=args.target_fps, model=args.model)
    if args.target_fps is not None and args.target_fps <= 0:
        raise EvaluateError(f"--target-fps must be positive, got {args.target_fps}")
    if args.model is not None:
        from vision.model import resolve_model

        resolve_model(args.model)  # a bad model is one error, not one per clip
    try:
        loaded = load_all_labels(args.dir, args.labels)
    except LabelsError as exc:
        raise EvaluateError(str(exc)) from None
    n_run = sum(1 for i in loaded[0] if not i.problem and i.kind != "unsupported" and i.path.is_file())
    command = "formcheck " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else "formcheck evaluate"
    with _Bar(n_run) as bar:
        from exercises.batch import BatchError

        try:
            result = evaluate(args.dir, labels=args.labels, engine=args.engine, jobs=args.jobs, opts=opts,
                              ray_address=args.ray_address, progress=bar, command=command, loaded=loaded)
        except BatchError as exc:
            raise EvaluateError(str(exc)) from None
    sys.stdout.write(render_text(result))
    try:
        paths = write_tables(result, args.out)
    except OSError as exc:
        raise EvaluateError(f"cannot write the tables to {args.out}: {exc.strerror or exc}") from None
    sys.stdout.write(f"\nwritten        {args.out}/ ({', '.join(p.name for p in paths)}) "
                     f"in {result['run']['wall_s']:.1f} s\n")
    misses = check_thresholds(result["aggregates"]["all"], dict(args.fail_under))
    for m in misses:
        sys.stderr.write(f"formcheck: evaluate: FAIL: {m}\n")
    return EXIT_FAILED if misses else 0


class _Bar:
    """One tqdm bar over all clips (fractions of a clip as frames progress)."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        tty = sys.stderr.isatty()
        self._bar = tqdm(total=total, desc="evaluate", unit="clip", file=sys.stderr, dynamic_ncols=True,
                         bar_format="{l_bar}{bar}| {n:.1f}/{total} clips [{elapsed}<{remaining}]",
                         mininterval=0.5 if tty else 30.0, disable=total == 0)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()

    def __call__(self, done: float) -> None:
        delta = min(done, self._bar.total) - self._bar.n
        if delta > 0:
            self._bar.update(delta)
