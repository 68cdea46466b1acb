"""Fault set through the real pipeline: counts, per-fault-code precision / recall / F1, and why faults are missed.

    python -m synth.faultset --out out/faultset          # render (cached) + analyse in 2 processes + tables
    python -m synth.faultset --out out/faultset --tables-only

The clips are :func:`synth.samples.eval_set_specs` (every exercise once clean and once per
fault the renderer can inject, the fault in rep 2 of 3 or from 3 s of a 6 s hold), written
to ``OUT/`` with ``OUT/labels.csv``, so ``formcheck evaluate OUT`` runs on the same set.
Each clip is analysed exactly as ``formcheck evaluate`` does (:class:`~exercises.pipeline.Pipeline`
with 4 people, English, no drawing; :func:`exercises.eval_scoring.measure` and
:func:`~exercises.eval_scoring.score_clip`), so the aggregate numbers are the same; on top,
the fault comparison is split by code, and for every fault rule of the exercise the
engine's metric is traced per rep (its extreme in each true rep and the view the engine
saw), which says whether a missed fault fell short of the threshold or of the view.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from synth.cli import append_labels
from synth.generate import ClipSpec, write_clip
from synth.samples import eval_set_specs

log = logging.getLogger(__name__)


def _trace_rules(exercise: str, steps: list[tuple[int, str | None, dict[str, float]]], truth: dict,
                 ) -> dict[str, Any]:
    """Per rule of ``exercise``: the metric's extreme per true rep (0 = a hold's fault-free part, 1 = faulty part)."""
    from exercises.definition import load_exercise

    ex = load_exercise(exercise)
    frames = truth["frames"]
    if ex.kind == "hold":
        key = [1 if frames[i]["people"][0]["faults_active"] else 0 for i in range(len(frames))]
    else:
        key = [frames[i]["people"][0]["rep_index"] for i in range(len(frames))]
    out: dict[str, Any] = {}
    for rule in ex.rules:
        per: dict[int, list[float]] = {}
        views: dict[int, list[bool]] = {}
        for i, view, vals in steps:
            if i >= len(key) or (ex.kind != "hold" and key[i] == 0):
                continue
            v = vals.get(rule.metric, np.nan)
            if v == v:
                per.setdefault(key[i], []).append(float(v))
            views.setdefault(key[i], []).append(rule.view in ("any", view))
        pick = max if rule.compare == "above" else min
        out.setdefault(rule.code, []).append({
            "metric": rule.metric, "compare": rule.compare, "threshold": rule.threshold, "view": rule.view,
            "extreme": {str(k): round(pick(v), 3) for k, v in sorted(per.items()) if v},
            "view_ok": {str(k): round(float(np.mean(v)), 2) for k, v in sorted(views.items()) if v},
        })
    return out


def run_clip(name: str, spec: ClipSpec, out_dir: Path, force: bool = False) -> dict[str, Any]:
    """Render (unless present) and analyse one clip as ``formcheck evaluate`` does; returns the result."""
    from exercises.eval_scoring import measure
    from exercises.pipeline import Pipeline, PipelineConfig
    from synth.cli import label_row
    from synth.truth import load_truth

    res_path = out_dir / "results" / f"{name}.json"
    if res_path.exists() and not force:
        return json.loads(res_path.read_text(encoding="utf-8"))
    video, truth_path = out_dir / f"{name}.mp4", out_dir / f"{name}.json.gz"
    if force or not (video.exists() and truth_path.exists()):
        write_clip(spec, video, truth_path, workers=1)
    truth = load_truth(truth_path)
    exercise = truth["exercise"]
    steps: list[tuple[int, str | None, dict[str, float]]] = []
    with Pipeline(PipelineConfig(people=4, exercise=exercise, lang="en", draw=False, record=False)) as pipe:
        def on_step(res: Any) -> None:
            eng = pipe.engine
            p = eng.people.get(eng.primary_id) if eng is not None and eng.primary_id is not None else None
            if p is not None and getattr(p, "values", None):
                steps.append((int(res.frame.index), p.view, {k: float(v) for k, v in p.values.items()
                                                             if isinstance(v, (int, float))}))
        result = pipe.run(video, on_step=on_step)
    out = {"name": name, "label": label_row(video.name, truth), "measured": measure(result.summary(), result.report),
        "rules": _trace_rules(exercise, steps, truth), "report": result.report}
    res_path.parent.mkdir(parents=True, exist_ok=True)
    res_path.write_text(json.dumps(out, separators=(",", ":"), default=str) + "\n", encoding="utf-8")
    log.info("%s: %s", name, [e.get("faults") for p in (result.report or {}).get("people", [])
                              for e in p.get("rep_events", [])][:4])
    return out


def run_set(out_dir: Path, jobs: int = 2, only: list[str] | None = None, force: bool = False) -> list[dict]:
    """Every clip of the set (or those named in ``only``), in ``jobs`` processes; writes ``labels.csv``."""
    import multiprocessing as mp

    specs = [(n, s) for n, s in eval_set_specs() if not only or n in only]
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(run_clip, n, s, out_dir, force): n for n, s in specs}
        for fut in as_completed(futures):
            try:
                results[futures[fut]] = fut.result()
            except Exception:  # one broken clip must not lose the others
                log.exception("%s failed", futures[fut])
    ordered = [results[n] for n, _ in specs if n in results]
    write_labels(out_dir, ordered)
    return ordered


def write_labels(out_dir: Path, results: list[dict]) -> Path:
    """``OUT/labels.csv`` for ``formcheck evaluate OUT`` (rewritten)."""
    path = out_dir / "labels.csv"
    path.unlink(missing_ok=True)
    append_labels(path, [r["label"] for r in results])
    return path


def score(out_dir: Path, results: list[dict]) -> tuple[list[dict], dict, dict[str, dict[str, Any]]]:
    """``formcheck evaluate``'s rows and aggregate, and per-code tp/fp/fn with precision, recall, F1."""
    from exercises.eval_scoring import OK, aggregate, fault_code_counts, score_clip
    from exercises.labels import read_labels

    labels = {lab.file: lab for lab in read_labels(write_labels(out_dir, results))}
    rows, codes = [], {}
    for r in results:
        lab, m = labels[r["label"]["file"]], r["measured"]
        rows.append(score_clip(lab, OK, measured=m))
        for c, counts in fault_code_counts(lab, m).items():
            d = codes.setdefault(c, {"tp": 0, "fp": 0, "fn": 0})
            for k in d:
                d[k] += counts[k]
    for d in codes.values():
        p = d["tp"] / (d["tp"] + d["fp"]) if d["tp"] + d["fp"] else None
        rc = d["tp"] / (d["tp"] + d["fn"]) if d["tp"] + d["fn"] else None
        d.update(precision=p, recall=rc, f1=2 * p * rc / (p + rc) if p and rc else 0.0 if p is not None and
                 rc is not None else None)
    return rows, aggregate(rows), dict(sorted(codes.items()))


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def markdown(results: list[dict], rows: list[dict], agg: dict, codes: dict, command: str = "") -> list[str]:
    """Counts, per-code F1, per-clip outcome and the rule trace of every missed or false fault."""
    lines = [f"{agg['clips']} clips. Reps exact {_f(agg['exact_count_accuracy'])} ({agg['rep_items']} clips), "
             f"holds within tolerance {_f(agg['hold_accuracy'])} ({agg['hold_items']}); faults precision "
             f"{_f(agg['fault_precision'])}, recall {_f(agg['fault_recall'])}, F1 {_f(agg['fault_f1'])} "
             f"(tp {agg['fault_tp']}, fp {agg['fault_fp']}, fn {agg['fault_fn']}); detection "
             f"{_f(agg['detection_rate'])}."]
    if command:
        lines.append(f"Command: `{command}`")
    lines += ["", "| fault code | injected | tp | fp | fn | precision | recall | F1 |",
              "|---|---|---|---|---|---|---|---|"]
    for c, d in codes.items():
        lines.append(f"| {c} | {d['tp'] + d['fn']} | {d['tp']} | {d['fp']} | {d['fn']} | {_f(d['precision'])} | "
                     f"{_f(d['recall'])} | {_f(d['f1'])} |")
    lines += ["", "| clip | detection | expected | counted | injected | found per rep (or during the hold) |",
              "|---|---|---|---|---|---|"]
    for r, row in zip(results, rows, strict=True):
        people = r["measured"]["people"]
        key = "reps" if row["kind"] == "reps" else "hold_s"
        person = min(people, key=lambda p: (-p[key], -p["frames"], p["id"])) if people else None
        found = ("; ".join(",".join(f) or "–" for f in person["rep_faults"]) if row["kind"] == "reps"
                 else ",".join(person["hold_faults"]) or "–") if person else "nobody"
        expected = row["expected"][0] if row["expected"] else "–"
        lines.append(f"| {r['name']} | {_f(row['detection_rate'])} | {expected} | "
                     f"{row['counted'][0] if row['counted'] else '–'} | {r['label']['faults'] or '–'} | {found} |")
    lines += ["", "Rule metrics of the injected fault and of every false alarm (extreme per true rep; for holds "
              "0 = before the fault, 1 = with it; view ok = share of frames in the rule's view):", "",
              "| clip | code | metric | threshold | per rep | view ok |", "|---|---|---|---|---|---|"]
    for r in results:
        injected = {c.split(":")[-1] for c in r["label"]["faults"].split("|") if c}
        key = "hold_s" if r["label"]["hold_s"] else "reps"
        people = sorted(r["measured"]["people"], key=lambda p: (-p[key], -p["frames"], p["id"]))[:1]
        seen = {c for p in people for f in (p["rep_faults"] or [p["hold_faults"]]) for c in f}
        for fault in sorted(injected) + sorted(seen - injected):
            lines += _rep_trace(r, fault)
            for rule in r.get("rules", {}).get(fault, []):
                ext = " ".join(f"{k}:{v:g}" for k, v in rule["extreme"].items())
                vok = " ".join(f"{k}:{v:g}" for k, v in rule["view_ok"].items()) if rule["view"] != "any" else "any"
                tag = "" if fault in injected else " (false)"
                lines.append(f"| {r['name']} | {fault}{tag} | {rule['metric']} | {rule['compare']} "
                             f"{rule['threshold']:g} ({rule['view']}) | {ext} | {vok} |")
    return lines


def _rep_trace(r: dict, fault: str) -> list[str]:
    """Rows for faults judged per rep rather than by a rule: ROM (too_shallow) and rushed reps (jerky)."""
    from exercises.definition import load_exercise

    ex = load_exercise(r["label"]["exercise"])
    if fault and fault not in ex.fault_codes:
        return [f"| {r['name']} | {fault} | – | no rule for it in the engine's {ex.id} definition | – | – |"]
    reps = ex.reps
    report = r.get("report") or {}
    person = next((p for p in report.get("people", []) if p["id"] == report.get("primary_id")), None)
    if reps is None or person is None or fault not in ("too_shallow", reps.fast_code):
        return []
    events = person.get("rep_events", [])
    if fault == "too_shallow":
        per = " ".join(f"{k + 1}:{e['peak']:g}" for k, e in enumerate(events) if e.get("peak") is not None)
        return [f"| {r['name']} | too_shallow | {reps.signal} peak | ROM target {reps.rom_target:g} | {per} | – |"]
    per = " ".join(f"{k + 1}:{e['tempo']['total_s']:g}s" for k, e in enumerate(events))
    return [f"| {r['name']} | {fault} | rep duration | < {reps.fast_ratio:g} × median of the others | {per} | – |"]


def main(argv: list[str] | None = None) -> int:
    """Command line: render + analyse the fault set, write ``faults.md`` and ``faults.json``."""
    parser = argparse.ArgumentParser(prog="python -m synth.faultset", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the clips, labels.csv and tables")
    parser.add_argument("--only", help="comma-separated clip names (e.g. squat_clean_side)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--force", action="store_true", help="re-render and re-analyse")
    parser.add_argument("--tables-only", action="store_true", help="only rewrite the tables from OUT/results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    only = args.only.split(",") if args.only else None
    if args.tables_only:
        names = [n for n, _ in eval_set_specs() if not only or n in only]
        paths = [args.out / "results" / f"{n}.json" for n in names]
        results = [json.loads(p.read_text(encoding="utf-8")) for p in paths if p.exists()]
    else:
        results = run_set(args.out, args.jobs, only, args.force)
    rows, agg, codes = score(args.out, results)
    command = "python -m synth.faultset " + " ".join(a for a in (argv if argv is not None else sys.argv[1:])
                                                      if a != "--tables-only")
    (args.out / "faults.md").write_text("\n".join(markdown(results, rows, agg, codes, command)) + "\n",
                                        encoding="utf-8")
    (args.out / "faults.json").write_text(json.dumps({"aggregate": agg, "codes": codes, "rows": rows}, indent=1,
                                                     default=str) + "\n", encoding="utf-8")
    log.info("faults: P %s R %s F1 %s; %s", agg["fault_precision"], agg["fault_recall"], agg["fault_f1"],
             args.out / "faults.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
