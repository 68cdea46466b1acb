"""Detection matrix: every exercise in several views and appearances, rendered and run through the pipeline.

    python -m synth.matrix --out out/matrix                      # the default grid, 2 processes
    python -m synth.matrix --out out/matrix --exercises squat,plank --views front --variants dark
    python -m synth.matrix --out out/matrix --tables-only        # rewrite the tables from what was measured

Each cell is one exercise × view × appearance variant, rendered deterministically from a
seed (:func:`cell_spec`) into ``OUT/clips/`` and measured with :func:`synth.measure.measure_clip`
into ``OUT/results/NAME.json`` (both reused when present, so an interrupted run resumes).
``OUT/matrix.md`` and ``OUT/matrix.csv`` hold the table: the share of frames in which the
person is found, where frames are lost, counts, and side-view angle errors.

Variants (the same seed shows the same person and room in every view):

* ``a``, ``b``: person, body, clothes, room, light and camera height drawn from the seed;
* ``dark``: a dim room (light at 30 %, little ambient light), the darkest skin tone, dark walls and
  floor, under-exposed by 2 stops (:data:`DARK_EXPOSURE`), sensor noise 6 levels, stronger compression;
* ``dim``: the person and room of ``a`` with the lighting of ``dark`` (dim, under-exposed, noisy):
  separates the light from the skin tone and the dark surroundings; ``dusk``: the same one stop
  brighter; ``dim_clean``: ``dim`` without sensor noise and with the normal compression;
* ``far``: the person and room of ``a``, but the motion spans only 35 % of the frame (a small person,
  far from the camera);
* ``near``: the same, spanning 95 % (run for the lying exercises from the head end, where ``a``
  shows the person small: the body runs away from the camera).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from synth import exercises
from synth.generate import ClipSpec, random_clip, write_clip
from synth.measure import ANGLES, pooled_angle_stats
from synth.scene import SKIN_TONES, Room

log = logging.getLogger(__name__)

VIEWS = ("side", "front", "oblique")
VARIANTS = ("a", "b", "dark", "far", "near", "dim", "dusk", "dim_clean")
#: variants that show the person and room of another, closer or further away (only the size changes)
SAME_SCENE = {"far": "a", "near": "a", "dim": "a", "dusk": "a", "dim_clean": "a"}
LYING = tuple(n for n in exercises.ENGINE_EXERCISES if exercises.get(n).lying)
#: the default grid: every exercise in every view as ``a``, ``b`` and ``dark``; ``dim`` and ``far`` from the side;
#: ``near`` (lying exercises only) from the head end and the side
DEFAULT_GRID: tuple[tuple[str, tuple[str, ...]], ...] = (("a", VIEWS), ("b", VIEWS), ("dark", VIEWS),
                                                          ("dim", ("side",)), ("far", ("side",)),
                                                          ("near", ("front", "side")))
#: detection needed in every cell
REQUIRED = 0.95
SEED0 = 7000
HOLD_S = 3.0
#: the dark room's exposure compensation (-2 EV): the brightest 2 % of the room at ~20 % of white
DARK_EXPOSURE = 0.25


@dataclass(frozen=True)
class Cell:
    """One exercise in one view and appearance variant."""

    exercise: str
    view: str
    variant: str

    @property
    def name(self) -> str:
        return f"{self.exercise}_{self.view}_{self.variant}"

    @property
    def seed(self) -> int:
        """Fixed by exercise and variant (not view): the same person and room in every view."""
        variant = SAME_SCENE.get(self.variant, self.variant)
        return SEED0 + 10 * exercises.ENGINE_EXERCISES.index(self.exercise) + VARIANTS.index(variant)


def grid(names: list[str] | None = None, views: list[str] | None = None,
         variants: list[str] | None = None) -> list[Cell]:
    """The cells to run, variant by variant (so a partial run has whole variants); filters are optional."""
    cells = []
    plan = DEFAULT_GRID if views is None and variants is None else tuple(
        (v, tuple(views or VIEWS)) for v in (variants or [g[0] for g in DEFAULT_GRID]))
    for variant, vs in plan:
        for ex in names or (LYING if variant == "near" else exercises.ENGINE_EXERCISES):
            cells += [Cell(ex, view, variant) for view in vs]
    return cells


def cell_spec(cell: Cell, size: tuple[int, int] = (480, 360)) -> ClipSpec:
    """The clip of ``cell``: one rep (alternating exercises: two, one per side) or a 3 s hold, 25 fps."""
    model = exercises.get(cell.exercise)
    hold = model.kind == "hold"
    reps = None if hold else (2 if model.alternate else 1)
    spec = random_clip(cell.exercise, cell.seed, view=cell.view, reps=reps, hold_s=HOLD_S if hold else None,
                       fps=25, size=size, noise=0.0, crf=23)
    if cell.variant in ("dark", "dim", "dusk", "dim_clean"):
        az, el, _, warmth, _ = spec.light
        noisy = cell.variant != "dim_clean"
        spec = replace(spec, light=(az, el, 0.3, warmth, 0.12),
                       exposure=2 * DARK_EXPOSURE if cell.variant == "dusk" else DARK_EXPOSURE,
                       noise=6.0 if noisy else 0.0, crf=28 if noisy else 23)
    if cell.variant == "dark":
        person = spec.people[0]
        app = replace(person.appearance, skin=SKIN_TONES[-1], hair=(0.05, 0.04, 0.04))
        room = Room(floor="rubber", floor_colour=(0.18, 0.18, 0.2), wall="brick", wall_colour=(0.45, 0.25, 0.2),
                    wall_distance=spec.room.wall_distance, wall_yaw=spec.room.wall_yaw,
                    decor_seed=spec.room.decor_seed)
        spec = replace(spec, people=(replace(person, appearance=app),), room=room, mat=(0.2, 0.2, 0.22))
    elif cell.variant in ("far", "near"):
        spec = replace(spec, fill=0.35 if cell.variant == "far" else 0.95)
    return spec


def run_cell(cell: Cell, out_dir: Path, size: tuple[int, int] = (480, 360), force: bool = False) -> dict[str, Any]:
    """Render ``cell`` (unless its clip exists) and measure it (unless measured); returns the result."""
    from synth.measure import measure_clip

    res_path = out_dir / "results" / f"{cell.name}.json"
    res_path.parent.mkdir(parents=True, exist_ok=True)
    video, truth = out_dir / "clips" / f"{cell.name}.mp4", out_dir / "clips" / f"{cell.name}.json.gz"
    if res_path.exists() and not force:
        return json.loads(res_path.read_text(encoding="utf-8"))
    if force or not (video.exists() and truth.exists()):
        video.parent.mkdir(parents=True, exist_ok=True)
        write_clip(cell_spec(cell, size), video, truth, workers=1)
    result = measure_clip(video, truth, keep=res_path.with_suffix(".npz"))
    result.update(cell=cell.name, variant=cell.variant)
    res_path.parent.mkdir(parents=True, exist_ok=True)
    res_path.write_text(json.dumps(result, separators=(",", ":")) + "\n", encoding="utf-8")
    return result


def remeasure(cell: Cell, out_dir: Path) -> dict[str, Any] | None:
    """The result of ``cell`` recomputed from its saved landmarks (no pipeline run); None if not measured yet."""
    import numpy as np

    from synth.measure import summarise
    from synth.truth import load_truth

    res_path = out_dir / "results" / f"{cell.name}.json"
    if not (res_path.exists() and res_path.with_suffix(".npz").exists()):
        return None
    old = json.loads(res_path.read_text(encoding="utf-8"))
    with np.load(res_path.with_suffix(".npz")) as z:
        arrays = dict(z)
    result = summarise(load_truth(out_dir / "clips" / f"{cell.name}.json.gz"), arrays, old["video"])
    result.update({k: old[k] for k in ("expected", "counted", "wall_s", "cell", "variant")})
    res_path.write_text(json.dumps(result, separators=(",", ":")) + "\n", encoding="utf-8")
    return result


def run_matrix(cells: list[Cell], out_dir: Path, jobs: int = 2, size: tuple[int, int] = (480, 360),
               force: bool = False) -> list[dict[str, Any]]:
    """Run ``cells`` in ``jobs`` processes (each renders with one core, then analyses); results in grid order."""
    import multiprocessing as mp

    results: dict[str, dict[str, Any]] = {}
    if jobs <= 1:
        for cell in cells:
            results[cell.name] = run_cell(cell, out_dir, size, force)
    else:
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            futures = {pool.submit(run_cell, c, out_dir, size, force): c for c in cells}
            for fut in as_completed(futures):
                cell = futures[fut]
                try:
                    results[cell.name] = fut.result()
                except Exception:  # one broken cell must not lose the others
                    log.exception("%s failed", cell.name)
    return [results[c.name] for c in cells if c.name in results]


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}" if x >= REQUIRED else f"**{100 * x:.0f}**"


def write_tables(results: list[dict[str, Any]], out_dir: Path, command: str = "") -> tuple[Path, Path]:
    """``matrix.csv`` (one row per cell) and ``matrix.md`` (tables); returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cols = ["cell", "exercise", "view", "variant", "seed", "frames", "found", "any", "mirrored", "fit",
            "lost_frames", "longest_gap_s", "height_px", "width_px", "height_px_lost", "width_px_lost",
            "joint_err_px", "expected", "counted", "lost_phases", "misfit_phases"]
    csv_path = out_dir / "matrix.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in results:
            w.writerow(dict(r, **{k: " ".join(f"{a}:{b}" for a, b in sorted(r.get(k, {}).items()))
                                  for k in ("lost_phases", "misfit_phases")}))
    md = out_dir / "matrix.md"
    md.write_text("\n".join(matrix_markdown(results, command)) + "\n", encoding="utf-8")
    return csv_path, md


def _grid_rows(by: dict, columns: list[tuple[str, str]], key: str) -> list[str]:
    return [f"| {ex} | " + " | ".join(_pct(by[(ex, *c)].get(key)) if (ex, *c) in by else "" for c in columns) + " |"
            for ex in exercises.ENGINE_EXERCISES if any(k[0] == ex for k in by)]


def matrix_markdown(results: list[dict[str, Any]], command: str = "") -> list[str]:
    """The Markdown tables: found % per exercise × view/variant, failing cells, counts, angles."""
    by = {(r["exercise"], r["view"], r["variant"]): r for r in results}
    columns = [(v, var) for var, vs in DEFAULT_GRID for v in vs if any(k[1:] == (v, var) for k in by)]
    columns += sorted({k[1:] for k in by} - set(columns))
    lines = [f"Share of frames (%) in which the tracked person lies on the rendered one (**bold**: below "
             f"{100 * REQUIRED:.0f} %); {len(results)} clips, {sum(r['frames'] for r in results)} frames."]
    if command:
        lines.append(f"Command: `{command}`")
    lines += ["", "| exercise | " + " | ".join(f"{v} {var}" for v, var in columns) + " |",
              "|---|" + "---|" * len(columns)]
    lines += _grid_rows(by, columns, "found")
    ok = sum(r["found"] >= REQUIRED for r in results)
    lines += ["", f"{ok} of {len(results)} cells reach {100 * REQUIRED:.0f} %.", "",
              "Pose fit: share of frames (%) in which the person is found **and** all 12 limb joints (shoulders "
              "to ankles) lie on target as well:", "", "| exercise | " + " | ".join(f"{v} {var}" for v, var in columns)
              + " |", "|---|" + "---|" * len(columns), *_grid_rows(by, columns, "fit"), "",
              "Limbs misplaced (found, not fit) by phase: " + ("; ".join(
                  f"{r['cell']} " + ", ".join(f"{k} {v}" for k, v in sorted(r['misfit_phases'].items(),
                                                                            key=lambda kv: -kv[1]))
                  for r in results if r.get("fit", 1) < REQUIRED) or "none") + ".", "",
              "Cells below the bar (size = median bounding box of the true joints, h × w px; lost = frames "
              "without the person, by motion phase):", "",
              "| cell | found | any person | mirrored | lost | longest gap | size | size where lost | lost in phase | "
              "joint error px |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r["found"] < REQUIRED:
            lost_size = f"{r['height_px_lost']:.0f} × {r['width_px_lost']:.0f}" if r["height_px_lost"] else "–"
            phases = ", ".join(f"{k} {v}" for k, v in sorted(r["lost_phases"].items(), key=lambda kv: -kv[1]))
            err = f"{r['joint_err_px']:.1f}" if r["joint_err_px"] is not None else "–"
            lines.append(f"| {r['cell']} | {_pct(r['found'])} | {_pct(r['any'])} | {100 * r.get('mirrored', 0):.0f} "
                         f"| {r['lost_frames']}/{r['frames']} "
                         f"| {r['longest_gap_s']} s | {r['height_px']:.0f} × {r['width_px']:.0f} | {lost_size} | "
                         f"{phases} | {err} |")
    lines += ["", "Person size (median h × w px) and joint error (median px, found frames) per variant:", "",
              "| variant | clips | size min | size median | joint error median |", "|---|---|---|---|---|"]
    for var in sorted({r["variant"] for r in results}, key=VARIANTS.index):
        rs = [r for r in results if r["variant"] == var]
        hs = sorted(max(r["height_px"], r["width_px"]) for r in rs)
        errs = sorted(r["joint_err_px"] for r in rs if r["joint_err_px"] is not None)
        lines.append(f"| {var} | {len(rs)} | {hs[0]:.0f} | {hs[len(hs) // 2]:.0f} | "
                     f"{errs[len(errs) // 2] if errs else float('nan'):.1f} |")
    from exercises.definition import load_exercise

    needs = {ex: load_exercise(ex).view for ex in {r["exercise"] for r in results}}
    reps = [r for r in results if r["found"] >= REQUIRED and isinstance(r["expected"], int)]
    exact = [r for r in reps if r["counted"] == r["expected"]]
    holds = [r for r in results if r["found"] >= REQUIRED and not isinstance(r["expected"], int)]

    def why(r: dict[str, Any]) -> str:
        need = needs[r["exercise"]]
        return "" if need in ("either", "any", r["view"]) else f" (the engine wants the {need} view)"

    lines += ["", f"Counts (cells found ≥ {100 * REQUIRED:.0f} %): reps {len(exact)} of {len(reps)} exact; miscounted "
              "(counted/true): " + (", ".join(f"{r['cell']} {r['counted']}/{r['expected']}{why(r)}" for r in reps
                                             if r["counted"] != r["expected"]) or "none") + ". Holds (timed/true "
              "s): " + (", ".join(f"{r['cell']} {r['counted']:g}/{r['expected']:g}{why(r)}" for r in holds)
                        or "none") + "."]
    lines += angle_markdown(results)
    return lines


def angle_markdown(results: list[dict[str, Any]]) -> list[str]:
    """Side-view angle error against the sagittal truth, per exercise and pooled (live and offline-smoothed)."""
    side = [r for r in results if "angles" in r]
    if not side:
        return []
    lines = ["", "Side-view angles, estimate − sagittal truth, degrees: bias (mean signed) / mean abs. / 95 % "
             "within; live = One-Euro filtered as the engine sees it, smooth = offline zero-phase:", "",
             "| exercise | clips | frames | " + " | ".join(f"{a} live" for a in ANGLES) + " | "
             + " | ".join(f"{a} smooth" for a in ANGLES) + " |", "|---|---|---|" + "---|" * 2 * len(ANGLES)]

    def cell(s: dict[str, Any]) -> str:
        return "–" if not s["n"] else f"{s['bias']:+.1f} / {s['mae']:.1f} / {s['p95']:.1f}"

    groups = [(ex, [r for r in side if r["exercise"] == ex]) for ex in exercises.ENGINE_EXERCISES]
    variants = [(f"all {v}", [r for r in side if r["variant"] == v]) for v in VARIANTS]
    for label, rs in [*groups, *variants, ("**all**", side)]:
        if not rs:
            continue
        live, smooth = pooled_angle_stats(rs, "live"), pooled_angle_stats(rs, "smooth")
        lines.append(f"| {label} | {len(rs)} | {live['trunk']['n']} | " + " | ".join(cell(live[a]) for a in ANGLES)
                     + " | " + " | ".join(cell(smooth[a]) for a in ANGLES) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command line: render, measure, write the tables."""
    parser = argparse.ArgumentParser(prog="python -m synth.matrix", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="output folder (clips/, results/, matrix.md/.csv)")
    parser.add_argument("--exercises", help=f"comma-separated subset of {','.join(exercises.ENGINE_EXERCISES)}")
    parser.add_argument("--views", help=f"comma-separated subset of {','.join(VIEWS)} (default: the grid)")
    parser.add_argument("--variants", help=f"comma-separated subset of {','.join(VARIANTS)} (default: the grid)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="processes (default 2)")
    parser.add_argument("--force", action="store_true", help="re-render and re-measure cells already done")
    parser.add_argument("--tables-only", action="store_true", help="only rewrite the tables from OUT/results")
    parser.add_argument("--remeasure", action="store_true",
                        help="recompute the results from the saved landmarks (OUT/results/*.npz), then the tables")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    split = (lambda s: s.split(",") if s else None)  # noqa: E731
    names, views, variants = split(args.exercises), split(args.views), split(args.variants)
    for given, allowed, what in ((names, exercises.ENGINE_EXERCISES, "exercise"), (views, VIEWS, "view"),
                                 (variants, VARIANTS, "variant")):
        bad = sorted(set(given or ()) - set(allowed))
        if bad:
            parser.error(f"unknown {what} {', '.join(bad)}; known: {', '.join(allowed)}")
    cells = grid(names, views, variants)
    if args.remeasure:
        results = [r for r in (remeasure(c, args.out) for c in cells) if r is not None]
    elif args.tables_only:
        done = [args.out / "results" / f"{c.name}.json" for c in cells]
        results = [json.loads(p.read_text(encoding="utf-8")) for p in done if p.exists()]
    else:
        results = run_matrix(cells, args.out, args.jobs, force=args.force)
    command = "python -m synth.matrix " + " ".join(a for a in (argv if argv is not None else sys.argv[1:])
                                                    if a not in ("--tables-only", "--remeasure"))
    csv_path, md = write_tables(results, args.out, command)
    log.info("%d cells: %s, %s", len(results), csv_path, md)
    return 0 if all(r["found"] >= REQUIRED for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
