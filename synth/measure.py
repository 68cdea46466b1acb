"""One rendered clip through the real pipeline, measured against its ground truth.

:func:`measure_clip` runs :class:`exercises.pipeline.Pipeline` (pose → tracking →
One-Euro filter → engine) on a clip written by :func:`synth.generate.write_clip` and
compares what it found with the truth file:

* **detection**: the share of frames in which someone is tracked (``any``, what
  ``formcheck evaluate`` calls the detection rate) and in which a tracked person lies
  *on the rendered one* (``found``: the mean distance of shoulders and hips to their true
  projections is under :data:`ON_TARGET` × the person's size, as seen or with left and
  right swapped, ``mirrored``); ``fit``: found with the 12 limb joints on target too;
* **where frames are lost**: the person's size in pixels (bounding box of the true
  2D joints), the motion phase and the longest gap;
* **counts**: reps or correctly held seconds of the primary person against the truth;
* **angles** (side views): near-side knee, hip and the trunk from the pipeline's live
  (One-Euro) and offline-smoothed landmarks against the true sagittal-plane angles.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from synth.truth import landmarks as truth_landmarks
from synth.truth import load_truth
from vision.geometry import compute_angles

log = logging.getLogger(__name__)

#: shoulders, elbows, wrists, hips, knees, ankles (Landmark indices)
LIMB_JOINTS = np.array([11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])
#: the same joints with left and right swapped (a person seen mirrored: facing the other way)
MIRRORED = np.array([12, 11, 14, 13, 16, 15, 24, 23, 26, 25, 28, 27])
#: shoulders and hips: where the person is
TORSO = np.array([11, 12, 23, 24])
TORSO_MIRRORED = np.array([12, 11, 24, 23])
#: a tracked person is on the rendered one when the mean distance of the joints compared is below this
#: share of the person's size (diagonal of the true joints' bounding box)
ON_TARGET = 0.2
ANGLES = ("knee", "hip", "trunk")


def person_box(gt2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Height and width (px) of the bounding box of each frame's true 2D joints, ``gt2`` of shape (F, 33, 2)."""
    lo, hi = np.nanmin(gt2, axis=1), np.nanmax(gt2, axis=1)
    return hi[:, 1] - lo[:, 1], hi[:, 0] - lo[:, 0]


def match_rows(frames: np.ndarray, xy: np.ndarray, gt2: np.ndarray, n_frames: int,
               joints: np.ndarray = LIMB_JOINTS, truth_joints: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the pipeline row closest to the rendered person and its mean joint error (px).

    ``frames``/``xy`` are the recorder's long format (one row per tracked person per frame);
    frames without a row get row -1 and error ``inf``.  The estimate's ``joints`` are compared
    with the true ``truth_joints`` (default the same; :data:`MIRRORED` against :data:`LIMB_JOINTS`
    compares left with right: a person found but seen mirrored).
    """
    best_row = np.full(n_frames, -1)
    best_err = np.full(n_frames, np.inf)
    if len(frames) == 0:
        return best_row, best_err
    tj = joints if truth_joints is None else truth_joints
    err = np.nanmean(np.linalg.norm(xy[:, joints] - gt2[frames][:, tj], axis=2), axis=1)
    for r in range(len(frames)):
        f = frames[r]
        if 0 <= f < n_frames and err[r] <= best_err[f]:
            best_row[f], best_err[f] = r, err[r]
    return best_row, best_err


def detection(arrays: dict[str, np.ndarray], gt2: np.ndarray) -> dict[str, np.ndarray]:
    """Per frame, from the pipeline's long-format ``arrays`` and the true 2D joints ``gt2`` (F, 33, 2):

    ``found``: a tracked person's shoulders and hips lie on the rendered person's (as seen, or
    ``mirrored``: left and right swapped); ``row``: that person's row; ``fit``: found with all 12
    limb joints on target too (``err``: their mean distance, px); ``height``/``width``: the true
    joints' bounding box (px).
    """
    n = len(gt2)
    frames, xy = arrays["frame"], arrays["xy"].astype(float)
    height, width = person_box(gt2)
    limit = ON_TARGET * np.hypot(height, width)
    rows, torso = match_rows(frames, xy, gt2, n, TORSO)
    rows_m, torso_m = match_rows(frames, xy, gt2, n, TORSO_MIRRORED, TORSO)
    mirrored = (torso >= limit) & (torso_m < limit)
    row = np.where(mirrored, rows_m, rows)
    found = (torso < limit) | mirrored
    err = np.full(n, np.inf)
    ok = row >= 0
    limbs = np.where(mirrored[ok, None], MIRRORED, LIMB_JOINTS)
    sel = xy[row[ok][:, None], limbs]
    err[ok] = np.nanmean(np.linalg.norm(sel - gt2[ok][:, LIMB_JOINTS], axis=2), axis=1)
    return {"row": row, "err": err, "found": found, "fit": found & (err < limit), "mirrored": mirrored,
            "height": height, "width": width}


def _runs(mask: np.ndarray) -> int:
    """Length of the longest run of True in ``mask``."""
    best = cur = 0
    for m in mask:
        cur = cur + 1 if m else 0
        best = max(best, cur)
    return best


def _stats(err: np.ndarray) -> dict[str, float | int | None]:
    e = err[np.isfinite(err)]
    if not e.size:
        return {"n": 0, "bias": None, "mae": None, "p95": None}
    return {"n": int(e.size), "bias": round(float(e.mean()), 2), "mae": round(float(np.abs(e).mean()), 2),
            "p95": round(float(np.percentile(np.abs(e), 95)), 2)}


def angle_errors(truth: dict, xy: np.ndarray, rows: np.ndarray) -> dict[str, list[float | None]]:
    """Estimated minus true sagittal angle per frame (None where not found), near-side knee/hip and trunk.

    ``xy`` are pipeline landmarks, ``rows[i]`` the row matched to frame ``i`` (-1: none).
    """
    near = "left" if truth["people"][0]["azimuth_deg"] > 0 else "right"
    names = {"knee": f"{near}_knee", "hip": f"{near}_hip", "trunk": "trunk"}
    found = rows >= 0
    est = compute_angles(xy[rows[found]]) if found.any() else {}
    out: dict[str, list[float | None]] = {}
    for key, name in names.items():
        vals: list[float | None] = [None] * len(rows)
        for j, i in enumerate(np.flatnonzero(found)):
            entry = truth["frames"][i]["people"][0]
            t = (entry.get("angles_sagittal") or {}).get(name)
            e = float(est[name][j]) if name in est else np.nan
            if t is not None and np.isfinite(e):
                vals[i] = round(e - float(t), 2)
        out[key] = vals
    return out


def measure_clip(video: str | Path, truth_path: str | Path, *, people: int = 2,
                 keep: str | Path | None = None) -> dict[str, Any]:
    """Run the pipeline on ``video`` and measure it against ``truth_path`` (see the module docstring).

    ``keep``: also save the pipeline's landmarks there (``.npz``), to re-measure without re-running.
    """
    from exercises.offline import add_smoothed
    from exercises.pipeline import Pipeline, PipelineConfig

    truth = load_truth(truth_path)
    p0 = truth["people"][0]
    t0 = time.perf_counter()
    with Pipeline(PipelineConfig(people=people, exercise=p0["exercise"], lang="en", draw=False)) as pipe:
        result = pipe.run(video)
    wall = time.perf_counter() - t0
    arrays = add_smoothed(result.recorder.arrays())
    if keep is not None:
        np.savez_compressed(keep, **{k: arrays[k] for k in ("frame", "track_id", "xy", "xy_smooth", "visibility",
                                                            "frame_people")})
    report = result.report or {}
    person = next((p for p in report.get("people", []) if p["id"] == report.get("primary_id")), None)
    if p0["kind"] == "hold":
        counts = {"expected": p0["hold_correct_s"], "counted": round(float(person["hold_s"]), 2) if person else 0.0}
    else:
        counts = {"expected": p0["reps"], "counted": int(person["reps"]) if person else 0}
    out = summarise(truth, arrays, str(video))
    out.update(counts, wall_s=round(wall, 1))
    log.info("%s: found %.1f%% (any %.1f%%), %d px tall, %s %s/%s", Path(video).name, 100 * out["found"],
             100 * out["any"], out["height_px"], "counted", out["counted"], out["expected"])
    return out


def summarise(truth: dict, arrays: dict[str, np.ndarray], video: str = "") -> dict[str, Any]:
    """Detection, where frames are lost, and side-view angle errors of the pipeline's ``arrays`` against ``truth``."""
    p0 = truth["people"][0]
    n = int(truth["n_frames"])
    gt2 = truth_landmarks(truth, 0)
    det = detection(arrays, gt2)
    rows, err, found, height, width = det["row"], det["err"], det["found"], det["height"], det["width"]
    any_person = np.zeros(n, bool)
    per_frame = np.asarray(arrays["frame_people"][:n])
    any_person[: len(per_frame)] = per_frame > 0
    phases = [f["people"][0]["phase"] for f in truth["frames"]]
    lost = ~found
    out: dict[str, Any] = {
        "video": video, "exercise": p0["exercise"], "view": truth["view"], "seed": truth["seed"],
        "frames": n, "fps": truth["fps"], "size": [truth["width"], truth["height"]],
        "found": round(float(found.mean()), 4), "any": round(float(any_person.mean()), 4),
        "mirrored": round(float(det["mirrored"].mean()), 4), "fit": round(float(det["fit"].mean()), 4),
        "lost_frames": int(lost.sum()), "longest_gap_s": round(_runs(lost) / truth["fps"], 2),
        "lost_phases": dict(Counter(p for p, m in zip(phases, lost, strict=True) if m)),
        "height_px": round(float(np.median(height)), 1), "width_px": round(float(np.median(width)), 1),
        "height_px_lost": round(float(np.median(height[lost])), 1) if lost.any() else None,
        "width_px_lost": round(float(np.median(width[lost])), 1) if lost.any() else None,
        "joint_err_px": round(float(np.median(err[found])), 2) if found.any() else None,
        "misfit_phases": dict(Counter(p for p, m in zip(phases, found & ~det["fit"], strict=True) if m)),
    }
    if truth["view"] == "side":
        match = np.where(found & ~det["mirrored"], rows, -1)
        live = angle_errors(truth, arrays["xy"].astype(float), match)
        smooth = angle_errors(truth, arrays["xy_smooth"].astype(float), match)
        out["angle_errors"] = {"live": live, "smooth": smooth}
        out["angles"] = {kind: {k: _stats(np.array([np.nan if v is None else v for v in vals]))
                                for k, vals in errs.items()} for kind, errs in out["angle_errors"].items()}
    return out


def pooled_angle_stats(results: list[dict[str, Any]], kind: str = "live") -> dict[str, dict[str, Any]]:
    """Bias, mean absolute error and 95th percentile per angle over every side-view result."""
    out = {}
    for key in ANGLES:
        errs = [v for r in results if "angle_errors" in r for v in r["angle_errors"][kind][key] if v is not None]
        out[key] = _stats(np.array(errs, float))
    return out
