"""Ground truth of a rendered clip: per-frame joints, angles, phase, rep and faults; JSON I/O.

File layout (``format = "formcheck-synth-truth/1"``)::

    {format, generator, seed, exercise, view, fps, width, height, n_frames, duration_s,
     camera: {fx, fy, cx, cy, rot_world_to_cam, trans_world_to_cam, position, ...},
     room, light, landmarks: [33 Landmark names, in Landmark order],
     angle_definitions: {...},
     people: [{id, exercise, kind, reps, hold_s, rep_definition, faults_by_rep, labels_faults,
               view, azimuth_deg, heading_deg, position, body, appearance, options}],
     frames: [{index, t_s, people: [{id, joints_3d: 33×[x,y,z] (m, world y up),
               joints_2d: 33×[u,v] (px), visible: 33×0/1, angles: {...}, angles_sagittal: {...},
               angles_2d: {...},
               phase, s, rep_index, reps_done, faults_active: [...]}]}]}

``joints_3d``/``joints_2d`` are lists in :class:`~vision.landmarks.Landmark` order
(index = ``Landmark.X``), exactly like ``Frame.xy``.  ``angles`` are the true 3D
angles, ``angles_sagittal`` knee/hip/trunk in the person's sagittal plane (what an
ideal side view shows) and ``angles_2d`` the angles of the true 2D projection (what a
perfect 2D detector would measure); all use :data:`vision.geometry.STANDARD_ANGLES`
plus a few model-only values (``spine_flexion``, ``trunk_twist``, ``knee_gap_ratio``,
``hip_line_offset``, ``box_distance``).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

from vision.geometry import STANDARD_ANGLES, compute_angles
from vision.landmarks import Landmark

FORMAT = "formcheck-synth-truth/1"
_Y_DOWN = np.array([1.0, -1.0, 1.0])  # vision.geometry expects y down in 3D too

EXTRA_ANGLES = {
    "spine_flexion": "model lumbar + thoracic flexion, degrees (0 = neutral, negative = extension)",
    "trunk_twist": "rotation of the shoulder line against the hip line about the trunk axis, degrees",
    "knee_gap_ratio": "3D distance between the knees / distance between the ankles",
    "hip_line_offset": "mid-hip distance from the mid-shoulder–mid-ankle line, metres; + = towards the back "
                       "(piking), - = towards the belly side (sagging)",
    "box_distance": "floor lift: horizontal distance from the box centre to the mid-ankle point, metres",
}


class TruthError(ValueError):
    """A ground-truth file is missing, unreadable or not in the expected format."""


def _r(x: float, nd: int) -> float | None:
    return None if not np.isfinite(x) else round(float(x), nd)


def model_angles(lm: np.ndarray, pose_extra: dict[str, float]) -> dict[str, float | None]:
    """True 3D angles of one person from world landmarks ``(33, 3)`` (y up) plus model-only values."""
    out = {k: _r(float(v), 2) for k, v in compute_angles(lm * _Y_DOWN, STANDARD_ANGLES).items()}
    L = Landmark
    sh = (lm[L.LEFT_SHOULDER] + lm[L.RIGHT_SHOULDER]) / 2
    hp = (lm[L.LEFT_HIP] + lm[L.RIGHT_HIP]) / 2
    an = (lm[L.LEFT_ANKLE] + lm[L.RIGHT_ANKLE]) / 2
    axis = (sh - hp) / max(np.linalg.norm(sh - hp), 1e-9)

    def flat(v: np.ndarray) -> np.ndarray:
        return v - np.dot(v, axis) * axis

    a, b = flat(lm[L.LEFT_SHOULDER] - lm[L.RIGHT_SHOULDER]), flat(lm[L.LEFT_HIP] - lm[L.RIGHT_HIP])
    twist = np.degrees(np.arctan2(np.dot(np.cross(b, a), axis), np.dot(a, b)))
    gap = np.linalg.norm(lm[L.LEFT_KNEE] - lm[L.RIGHT_KNEE]) / max(
        np.linalg.norm(lm[L.LEFT_ANKLE] - lm[L.RIGHT_ANKLE]), 1e-9)
    line = an - sh
    rel = hp - sh
    perp = rel - np.dot(rel, line) / max(np.dot(line, line), 1e-9) * line
    back = pose_extra.get("back_dir")
    sign = 1.0 if back is None or np.dot(perp, back) >= 0 else -1.0
    out.update({"spine_flexion": _r(pose_extra.get("spine_flexion", np.nan), 2), "trunk_twist": _r(twist, 2),
                "knee_gap_ratio": _r(gap, 3), "hip_line_offset": _r(sign * np.linalg.norm(perp), 4)})
    if "box_distance" in pose_extra:
        out["box_distance"] = _r(pose_extra["box_distance"], 4)
    return out


SAGITTAL = ("left_knee", "right_knee", "left_hip", "right_hip", "trunk")


def sagittal_angles(lm: np.ndarray, lateral: np.ndarray) -> dict[str, float | None]:
    """Knee, hip and trunk angles in the person's sagittal plane (normal ``lateral``, the pelvis' left axis).

    This is what an ideal side view measures: out-of-plane parts (a shoulder wider
    than the hip, a thigh turned out) are removed, and so is camera perspective.
    """
    n = np.asarray(lateral, float) / np.linalg.norm(lateral)
    flat = lm - np.outer(lm @ n, n)
    angles = compute_angles(flat * _Y_DOWN, [d for d in STANDARD_ANGLES if d.name in SAGITTAL])
    return {k: _r(float(v), 2) for k, v in angles.items()}


def image_angles(xy: np.ndarray) -> dict[str, float | None]:
    """The standard angles on 2D pixel landmarks ``(33, 2)`` (image y down)."""
    return {k: _r(float(v), 1) for k, v in compute_angles(xy, STANDARD_ANGLES).items()}


def person_frame(pid: int, lm3: np.ndarray, xy: np.ndarray, visible: np.ndarray, angles: dict,
                 sagittal: dict, state: Any) -> dict:
    """One person's entry in one frame."""
    return {
        "id": pid,
        "joints_3d": np.round(lm3, 3).tolist(),
        "joints_2d": np.round(xy, 1).tolist(),
        "visible": visible.astype(int).tolist(),
        "angles": angles,
        "angles_sagittal": sagittal,
        "angles_2d": image_angles(xy),
        "phase": state.phase,
        "s": round(float(state.s), 4),
        "rep_index": state.rep_index,
        "reps_done": state.reps_done,
        "faults_active": state.active(),
    }


def write_truth(path: str | Path, header: dict, frames: list[dict]) -> None:
    """Write the truth JSON (one frame per line for readable diffs); gzip-compressed if ``path`` ends in .gz."""
    doc = dict(header, format=FORMAT)
    body = json.dumps({k: v for k, v in doc.items() if k != "frames"}, indent=1)
    lines = ",\n".join(json.dumps(f, separators=(",", ":")) for f in frames)
    text = body[:-2] + ',\n "frames": [\n' + lines + "\n ]\n}\n"
    p = Path(path)
    if p.suffix == ".gz":
        # mtime=0: the same truth gives the same bytes
        with p.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
            f.write(text.encode("utf-8"))
    else:
        p.write_text(text, encoding="utf-8")


def load_truth(path: str | Path) -> dict:
    """Read and check a truth file (TruthError naming the file and the problem)."""
    p = Path(path)
    try:
        raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        doc = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise TruthError(f"{p}: ground-truth file not found") from None
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TruthError(f"{p}: cannot read ground truth: {e}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise TruthError(f"{p}: not a formcheck synthetic ground-truth file (format {FORMAT!r} expected)")
    if len(doc.get("frames", [])) != doc.get("n_frames"):
        raise TruthError(f"{p}: has {len(doc.get('frames', []))} frames but says n_frames={doc.get('n_frames')}")
    return doc


def series(doc: dict, key: str, person: int = 0, field: str = "angles") -> np.ndarray:
    """One per-frame value of one person as a float array (NaN where missing), e.g. ``series(d, "left_knee")``."""
    out = []
    for f in doc["frames"]:
        entry = next((p for p in f["people"] if p["id"] == person), None)
        v = None if entry is None else (entry.get(field) or {}).get(key)
        out.append(np.nan if v is None else float(v))
    return np.array(out)


def landmarks(doc: dict, person: int = 0, field: str = "joints_2d") -> np.ndarray:
    """``(F, 33, 2|3)`` landmarks of one person over the clip (NaN where absent)."""
    dim = 3 if field == "joints_3d" else 2
    out = np.full((len(doc["frames"]), len(Landmark), dim), np.nan)
    for i, f in enumerate(doc["frames"]):
        entry = next((p for p in f["people"] if p["id"] == person), None)
        if entry is not None:
            out[i] = entry[field]
    return out
