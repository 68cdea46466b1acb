"""Tables of ``formcheck evaluate``: plain text for the terminal, and CSV, JSON and Markdown files.

All four show the same rows (one per labelled clip) and the same aggregates; the
files are written by :func:`write_tables` as ``clips.csv``, ``aggregates.csv``,
``evaluation.json`` and ``evaluation.md``.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from exercises.eval_scoring import BAD_LABEL, ERROR, HOLD_TOL_REL, HOLD_TOL_S, OK, SKIPPED

log = logging.getLogger(__name__)

CLIP_COLUMNS = ("file", "exercise", "view", "expected", "counted", "result", "faults", "detection", "note")
CSV_COLUMNS = ("file", "exercise", "kind", "view", "people", "status", "expected", "counted", "errors", "exact",
               "off_by_one", "hold_ok", "fault_tp", "fault_fp", "fault_fn", "fault_precision", "fault_recall",
               "detection_rate", "people_seen", "frames", "duration_s", "wall_s", "note")
GROUP_COLUMNS = ("group", "clips", "exact", "±1", "MAE", "holds ok", "hold MAE s", "fault P", "fault R", "fault F1",
                 "detection")


def _num(v: float | None, fmt: str = ".2f") -> str:
    return "–" if v is None else format(v, fmt)


def _vals(vals: list[float] | None, kind: str) -> str:
    if vals is None:
        return "–"
    if kind == "hold":
        return "|".join(f"{v:.1f}s" for v in vals)
    return "|".join(f"{v:g}" for v in vals)


def result_text(row: dict[str, Any]) -> str:
    """What happened to one clip, in a few words."""
    status = row["status"]
    if status == SKIPPED:
        return "skipped: exercise not supported"
    if status == BAD_LABEL:
        return "bad label"
    if status == ERROR:
        return "error"
    if row["kind"] == "detect":
        return f"people {row['people_seen']}/{row['people']}" + ("" if row["exact"] else " (wrong)")
    errs = row["errors"] or []
    if row["kind"] == "hold":
        worst = max((abs(e) for e in errs), default=0.0)
        return ("ok" if row["hold_ok"] else "off") + f" ({worst:.1f}s)"
    if row["exact"]:
        return "exact"
    return "off by " + "|".join(f"{e:+g}" for e in errs)


def fault_text(row: dict[str, Any]) -> str:
    """``P 0.50 R 1.00`` for rows with known faults, else ``–``."""
    tp, fp, fn = row["fault_tp"], row["fault_fp"], row["fault_fn"]
    if tp is None:
        return "–"
    if tp + fp + fn == 0:
        return "none, right"
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    return f"P {_num(p)} R {_num(r)}"


def clip_cells(row: dict[str, Any]) -> list[str]:
    """One row of the clip table as text cells (see :data:`CLIP_COLUMNS`)."""
    det = row["detection_rate"]
    return [row["file"], row["exercise"] or "(detection)", row["view"] or "–",
            _vals(row["expected"] if row["kind"] != "detect" else None, row["kind"]),
            _vals(row["counted"], row["kind"]), result_text(row), fault_text(row),
            "–" if det is None else f"{det * 100:.0f}%", row["note"]]


def group_cells(name: str, agg: dict[str, Any]) -> list[str]:
    """One row of a per-exercise / per-view table."""
    return [name, str(agg["clips"]), _num(agg["exact_count_accuracy"]), _num(agg["off_by_one_accuracy"]),
            _num(agg["mean_abs_error_reps"]), _num(agg["hold_accuracy"]), _num(agg["mean_abs_error_hold_s"]),
            _num(agg["fault_precision"]), _num(agg["fault_recall"]), _num(agg["fault_f1"]),
            _num(agg["detection_rate"])]


def headline_lines(agg: dict[str, Any]) -> list[str]:
    """The aggregates as a few sentences."""
    n_rep, n_hold = agg["rep_items"], agg["hold_items"]
    exact = round((agg["exact_count_accuracy"] or 0) * n_rep)
    lines = [
        f"clips          {agg['clips']}: {agg['analysed']} analysed, {agg['skipped']} skipped (exercise not "
        f"supported), {agg['bad_labels']} bad labels, {agg['errors']} errors",
        f"reps           exact-count accuracy {_num(agg['exact_count_accuracy'])} ({exact}/{n_rep}), "
        f"off-by-one accuracy {_num(agg['off_by_one_accuracy'])}, MAE {_num(agg['mean_abs_error_reps'])} reps, "
        f"mean error {_num(agg['mean_error_reps'], '+.2f')}",
        f"holds          within ±max({HOLD_TOL_S:g} s, {HOLD_TOL_REL:.0%}) {_num(agg['hold_accuracy'])} "
        f"({round((agg['hold_accuracy'] or 0) * n_hold)}/{n_hold}), MAE {_num(agg['mean_abs_error_hold_s'])} s",
        f"faults         precision {_num(agg['fault_precision'])}, recall {_num(agg['fault_recall'])}, "
        f"F1 {_num(agg['fault_f1'])} (tp {agg['fault_tp']}, fp {agg['fault_fp']}, fn {agg['fault_fn']}; "
        f"{agg['fault_clips']} clips with known faults)",
        f"detection rate {_num(agg['detection_rate'])} of frames with a tracked person"
        + (f"; people count right {_num(agg['people_count_accuracy'])} on detection-only clips"
           if agg["people_count_accuracy"] is not None else ""),
    ]
    return lines


def text_table(header: tuple[str, ...] | list[str], rows: list[list[str]], max_note: int = 100) -> list[str]:
    """Left-aligned columns separated by two spaces; a long last column is cut."""
    rows = [[*r[:-1], (r[-1] if len(r[-1]) <= max_note else r[-1][: max_note - 1] + "…")] for r in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header).rstrip(), *(fmt.format(*r).rstrip() for r in rows)]


def markdown_table(header: tuple[str, ...] | list[str], rows: list[list[str]]) -> list[str]:
    """A GitHub Markdown table (pipes in cells escaped)."""
    def esc(c: str) -> str:
        return str(c).replace("|", "\\|")

    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(esc(c) for c in r) + " |" for r in rows)]


def render_text(result: dict[str, Any]) -> str:
    """The terminal report: clip table, headline, per-exercise table."""
    rows = result["clips"]
    out = text_table(CLIP_COLUMNS, [clip_cells(r) for r in rows])
    out += ["", *headline_lines(result["aggregates"]["all"])]
    by_ex = result["aggregates"]["by_exercise"]
    if by_ex:
        out += ["", *text_table(GROUP_COLUMNS, [group_cells(k, v) for k, v in by_ex.items()], max_note=12)]
    return "\n".join(out) + "\n"


def render_markdown(result: dict[str, Any]) -> str:
    """``evaluation.md``."""
    agg = result["aggregates"]
    meta = result["run"]
    out = [f"# formcheck evaluation: {meta['labels']}", "",
           f"`{meta['command']}` — engine {meta['engine']}, {meta['jobs']} jobs, {meta['wall_s']:.1f} s wall.", "",
           "## Summary", "", *(f"- {line.split(maxsplit=1)[0]}: {line.split(maxsplit=1)[1].strip()}"
                                for line in headline_lines(agg["all"])), "",
           "## Clips", "", *markdown_table(CLIP_COLUMNS, [clip_cells(r) for r in result["clips"]]), ""]
    for title, key in (("By exercise", "by_exercise"), ("By view", "by_view")):
        if agg[key]:
            out += [f"## {title}", "", *markdown_table(GROUP_COLUMNS, [group_cells(k, v) for k, v in agg[key].items()]),
                    ""]
    return "\n".join(out)


def _csv_value(row: dict[str, Any], col: str) -> Any:
    if col in ("fault_precision", "fault_recall"):
        tp, other = row["fault_tp"], row["fault_fp" if col == "fault_precision" else "fault_fn"]
        return "" if tp is None or tp + other == 0 else round(tp / (tp + other), 4)
    v = row.get(col)
    if isinstance(v, list):
        return "|".join(f"{x:g}" for x in v)
    return "" if v is None else v


def write_tables(result: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write ``clips.csv``, ``aggregates.csv``, ``evaluation.json``, ``evaluation.md``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / n for n in ("clips.csv", "aggregates.csv", "evaluation.json", "evaluation.md")]
    with paths[0].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for row in result["clips"]:
            w.writerow([_csv_value(row, c) for c in CSV_COLUMNS])
    agg = result["aggregates"]
    with paths[1].open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("group", "metric", "value"))
        groups = [("all", agg["all"])] + [(f"exercise:{k}", v) for k, v in agg["by_exercise"].items()] + [
            (f"view:{k}", v) for k, v in agg["by_view"].items()]
        for name, values in groups:
            for metric, value in values.items():
                w.writerow((name, metric, "" if value is None else value))
    paths[2].write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[3].write_text(render_markdown(result), encoding="utf-8")
    return paths


__all__ = ["CLIP_COLUMNS", "CSV_COLUMNS", "OK", "render_markdown", "render_text", "write_tables"]
