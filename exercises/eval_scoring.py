"""Scoring for ``formcheck evaluate``: one clip's analysis against its label, and aggregates.

Definitions (docs/evaluation.md has the long form):

* **Counting.** The report's people are ranked by what they did (reps or held seconds,
  then frames seen); the top ``people`` of them are the counted persons, missing ones
  count 0.  Expected and counted values are paired largest with largest.  Every labelled
  person is one *item*: exact-count accuracy is the share of rep items with
  ``counted == expected``, off-by-one accuracy the share within ±1, MAE the mean
  ``|counted - expected|``.  A clip that failed to analyse counts as wrong in the
  accuracies and is left out of the MAE.
* **Holds** are right when within ``max(HOLD_TOL_S, HOLD_TOL_REL × expected)`` seconds.
* **Faults** are compared per rep (rep *k* of the label against the *k*-th counted rep;
  a missed rep's faults are false negatives, an extra rep's faults false positives) and
  for holds as the set of fault codes fed back.  Precision, recall and F1 are micro
  averages over the rows whose faults are known.
* **Detection rate**: the share of analysed frames in which someone was tracked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from exercises.labels import HOLD, ClipLabel

HOLD_TOL_S = 1.0
HOLD_TOL_REL = 0.2
FAULT_SEVERITIES = ("info", "warning", "error")

OK, SKIPPED, BAD_LABEL, ERROR = "ok", "skipped", "bad label", "error"


def measure(summary: dict[str, Any], report: dict[str, Any] | None) -> dict[str, Any]:
    """The part of an analysis that scoring needs (plain JSON; the same from every engine)."""
    per_frame = np.asarray(summary.get("per_frame_people") or [0], np.int64)
    frames_by_id = {t["id"]: t["frames"] for t in summary.get("tracks", [])}
    people = []
    for p in (report or {}).get("people", []):
        people.append({
            "id": p["id"],
            "reps": int(p.get("reps", 0)),
            "hold_s": float(p.get("hold_s") or 0.0),
            "frames": int(frames_by_id.get(p["id"], 0)),
            "rep_faults": [sorted(ev.get("faults", [])) for ev in p.get("rep_events", [])],
            "hold_faults": sorted({f["code"] for f in p.get("feedback", []) if f.get("severity") in FAULT_SEVERITIES}),
        })
    return {
        "frames": int(summary.get("frames", 0)),
        "duration_s": summary.get("duration_s"),
        "fps": summary.get("source_fps"),
        "detection_rate": float(summary.get("detection_rate", 0.0)),
        "people_seen": int(np.percentile(per_frame, 90, method="lower")),
        "max_people": int(summary.get("max_people_in_frame", 0)),
        "tracks": len(frames_by_id),
        "people": people,
    }


def score_clip(label: ClipLabel, status: str, note: str = "", measured: dict[str, Any] | None = None,
               wall_s: float | None = None) -> dict[str, Any]:
    """One row of the results table."""
    row: dict[str, Any] = {
        "file": label.file, "exercise": label.exercise or "", "kind": label.kind, "view": label.view or "",
        "people": label.people, "status": status, "note": note, "expected": list(label.expected),
        "counted": None, "errors": None, "exact": None, "off_by_one": None, "hold_ok": None,
        "fault_tp": None, "fault_fp": None, "fault_fn": None, "detection_rate": None, "people_seen": None,
        "frames": None, "duration_s": None, "wall_s": round(wall_s, 2) if wall_s is not None else None,
    }
    if label.kind in ("reps", "hold") and status == ERROR:
        row.update(exact=False, off_by_one=False, hold_ok=False if label.kind == "hold" else None)
    if status != OK or measured is None:
        return row
    row.update(detection_rate=round(measured["detection_rate"], 4), people_seen=measured["people_seen"],
               frames=measured["frames"], duration_s=measured["duration_s"])
    if label.kind == "detect":
        row["exact"] = measured["people_seen"] == label.people
        return row
    key = "reps" if label.kind == "reps" else "hold_s"
    pairs = _paired_people(label, measured)
    counted = [(p[key] if p else 0) for _, p in pairs]
    errors = [round(c - e, 2) for (e, _), c in zip(pairs, counted, strict=True)]
    row.update(counted=counted, errors=errors)
    if label.kind == "reps":
        row.update(exact=all(e == 0 for e in errors), off_by_one=all(abs(e) <= 1 for e in errors))
    else:
        row["hold_ok"] = all(abs(err) <= hold_tolerance(e) for (e, _), err in zip(pairs, errors, strict=True))
    if label.faults is not None:
        tp = fp = fn = 0
        for n_exp, person in pairs:
            a, b, c = _fault_counts(label, person, int(n_exp))
            tp, fp, fn = tp + a, fp + b, fn + c
        row.update(fault_tp=tp, fault_fp=fp, fault_fn=fn)
    return row


def hold_tolerance(expected_s: float) -> float:
    """How far a measured hold may be off and still count as right."""
    return max(HOLD_TOL_S, HOLD_TOL_REL * expected_s)


def _paired_people(label: ClipLabel, measured: dict[str, Any]) -> list[tuple[float, dict[str, Any] | None]]:
    """Each labelled person's expected value with the counted person it is compared with (None: missing)."""
    key = "reps" if label.kind == "reps" else "hold_s"
    ranked = sorted(measured["people"], key=lambda p: (-p[key], -p["frames"], p["id"]))[: label.people]
    ranked += [None] * (label.people - len(ranked))
    return list(zip(label.expected, sorted(ranked, key=lambda p: -(p[key] if p else 0)), strict=True))


def _fault_sets(label: ClipLabel, person: dict[str, Any] | None, n_expected: int) -> list[tuple[set[str], set[str]]]:
    """(expected, reported) fault codes per rep (rep k against the k-th counted rep), or once for a hold."""
    faults = label.faults or {}
    if label.kind == "hold":
        return [(set(faults.get(HOLD, ())), set(person["hold_faults"]) if person else set())]
    reps = person["rep_faults"] if person else []
    return [(set(faults.get(k, ())) if k <= n_expected else set(), set(reps[k - 1]) if k <= len(reps) else set())
            for k in range(1, max(n_expected, len(reps)) + 1)]


def _fault_counts(label: ClipLabel, person: dict[str, Any] | None, n_expected: int) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for exp, got in _fault_sets(label, person, n_expected):
        tp, fp, fn = tp + len(exp & got), fp + len(got - exp), fn + len(exp - got)
    return tp, fp, fn


def fault_code_counts(label: ClipLabel, measured: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per fault code ``{"tp", "fp", "fn"}`` for one analysed clip, paired as :func:`score_clip` pairs them."""
    codes: dict[str, dict[str, int]] = {}
    if label.kind not in ("reps", "hold") or label.faults is None:
        return codes
    for n_exp, person in _paired_people(label, measured):
        for exp, got in _fault_sets(label, person, int(n_exp)):
            for c in exp | got:
                d = codes.setdefault(c, {"tp": 0, "fp": 0, "fn": 0})
                d["tp" if c in exp and c in got else "fn" if c in exp else "fp"] += 1
    return codes


# ----------------------------------------------------------------------------- aggregates
def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def aggregate(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Headline numbers over result rows (see the module docstring for definitions)."""
    rows = list(rows)
    rep_items: list[tuple[bool, float | None]] = []  # (exact, |error| or None when the clip failed)
    hold_items: list[tuple[bool, float | None]] = []
    for r in rows:
        if r["kind"] == "reps" and r["status"] in (OK, ERROR):
            if r["errors"] is None:
                rep_items += [(False, None)] * r["people"]
            else:
                rep_items += [(e == 0, abs(e)) for e in r["errors"]]
        elif r["kind"] == "hold" and r["status"] in (OK, ERROR):
            if r["errors"] is None:
                hold_items += [(False, None)] * r["people"]
            else:
                tol = [hold_tolerance(e) for e in r["expected"]]
                hold_items += [(abs(err) <= t, abs(err)) for err, t in zip(r["errors"], tol, strict=True)]
    rep_abs = [a for _, a in rep_items if a is not None]
    hold_abs = [a for _, a in hold_items if a is not None]
    tp = sum(r["fault_tp"] or 0 for r in rows)
    fp = sum(r["fault_fp"] or 0 for r in rows)
    fn = sum(r["fault_fn"] or 0 for r in rows)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision and recall else (
        0.0 if precision is not None and recall is not None else None)
    analysed = [r for r in rows if r["status"] == OK]
    det = [r["detection_rate"] for r in analysed if r["detection_rate"] is not None]
    people_rows = [r for r in analysed if r["kind"] == "detect"]
    return {
        "clips": len(rows),
        "analysed": len(analysed),
        "skipped": sum(r["status"] == SKIPPED for r in rows),
        "bad_labels": sum(r["status"] == BAD_LABEL for r in rows),
        "errors": sum(r["status"] == ERROR for r in rows),
        "rep_items": len(rep_items),
        "exact_count_accuracy": _ratio(sum(e for e, _ in rep_items), len(rep_items)),
        "off_by_one_accuracy": _ratio(sum(a is not None and a <= 1 for _, a in rep_items), len(rep_items)),
        "mean_abs_error_reps": round(float(np.mean(rep_abs)), 4) if rep_abs else None,
        "mean_error_reps": _mean_signed(rows),
        "hold_items": len(hold_items),
        "hold_accuracy": _ratio(sum(ok for ok, _ in hold_items), len(hold_items)),
        "mean_abs_error_hold_s": round(float(np.mean(hold_abs)), 3) if hold_abs else None,
        "fault_clips": sum(r["fault_tp"] is not None for r in rows),
        "fault_tp": tp, "fault_fp": fp, "fault_fn": fn,
        "fault_precision": precision, "fault_recall": recall, "fault_f1": f1,
        "detection_rate": round(float(np.mean(det)), 4) if det else None,
        "people_count_accuracy": _ratio(sum(bool(r["exact"]) for r in people_rows), len(people_rows)),
        "analysed_s": round(sum(r["duration_s"] or 0 for r in analysed), 2),
        "wall_s": round(sum(r["wall_s"] or 0 for r in analysed), 2),
    }


def _mean_signed(rows: list[dict[str, Any]]) -> float | None:
    errs = [e for r in rows if r["kind"] == "reps" and r["errors"] for e in r["errors"]]
    return round(float(np.mean(errs)), 4) if errs else None


def grouped(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """:func:`aggregate` per value of ``key`` (``exercise`` or ``view``); detection-only rows excluded."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["kind"] in ("reps", "hold"):
            groups.setdefault(r[key] or "(none)", []).append(r)
    return {k: aggregate(v) for k, v in sorted(groups.items())}


#: ``--fail-under`` names -> aggregate keys (all "higher is better").
THRESHOLDS = {
    "exact": "exact_count_accuracy", "off_by_one": "off_by_one_accuracy", "hold": "hold_accuracy",
    "fault_precision": "fault_precision", "fault_recall": "fault_recall", "fault_f1": "fault_f1",
    "detection": "detection_rate", "people": "people_count_accuracy",
}


def check_thresholds(agg: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """One message per threshold the aggregates miss (an unmeasured metric misses too)."""
    out = []
    for name, limit in thresholds.items():
        key = THRESHOLDS[name]
        val = agg.get(key)
        if val is None or (isinstance(val, float) and math.isnan(val)):
            out.append(f"{key} was not measured (no labelled clip gives it), needed >= {limit:g}")
        elif val < limit:
            out.append(f"{key} {val:.4f} < {limit:g}")
    return out
