"""The exercise engine on the *true* landmarks of a rendered clip: a perfect pose estimator.

Feeding :class:`exercises.engine.ExerciseEngine` the truth's projected joints instead of
MediaPipe's says whether a missed fault is the pose estimator's doing (found here, missed
through the pipeline) or the engine's and the renderer's (missed here too: the threshold,
the view, or the injected movement is too small).

    python -m synth.oracle out/faultset          # every clip with a truth file -> out/faultset-oracle/oracle.md
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from synth.truth import load_truth
from vision.frame import Frame
from vision.landmarks import Landmark

log = logging.getLogger(__name__)

HIPS = [Landmark.LEFT_HIP, Landmark.RIGHT_HIP]


def truth_frames(truth: dict, person: int = 0) -> list[Frame]:
    """Frames carrying person ``person`` as a perfect estimator would report them.

    ``xy`` are the true projections; ``world`` the true 3D joints in camera axes (x right,
    y down, z away from the camera) about the mid-hip, as MediaPipe's world landmarks;
    ``z`` the depth about the hips in pixels; visibility 0.99 where the joint is visible and
    0.5 where another surface hides it.
    """
    cam = truth["camera"]
    rot, trans = np.array(cam["rot_world_to_cam"]), np.array(cam["trans_world_to_cam"])
    out = []
    for f in truth["frames"]:
        fr = Frame(index=f["index"], t_ms=round(f["t_s"] * 1000), width=truth["width"], height=truth["height"])
        entry = next((p for p in f["people"] if p["id"] == person), None)
        if entry is not None:
            xy = np.array(entry["joints_2d"], np.float32)
            c = np.array(entry["joints_3d"]) @ rot.T + trans
            world = c - c[HIPS].mean(axis=0)
            z = world[:, 2] * cam["fx"] / max(float(c[HIPS, 2].mean()), 1e-6)
            vis = np.where(np.array(entry["visible"]) > 0, 0.99, 0.5)
            fr = fr.with_people(xy[None], z[None].astype(np.float32), vis[None].astype(np.float32),
                                world[None].astype(np.float32), np.array([1]))
        out.append(fr)
    return out


def oracle_measure(truth_path: str | Path, trace: list | None = None) -> dict[str, Any]:
    """:func:`exercises.eval_scoring.measure` of the engine run on the true landmarks of one clip.

    ``trace``: a list that receives ``(frame, view, metric values)`` of the person per frame.
    """
    from exercises.engine import ExerciseEngine
    from exercises.eval_scoring import measure
    from exercises.report import build_report

    truth = load_truth(truth_path)
    frames = truth_frames(truth)
    eng = ExerciseEngine(exercise=truth["exercise"], lang="en", live=True)
    for fr in frames:
        eng.update(fr)
        p = eng.people.get(eng.primary_id) if eng.primary_id is not None else None
        if trace is not None and p is not None and getattr(p, "values", None):
            trace.append((fr.index, p.view, {k: float(v) for k, v in p.values.items() if isinstance(v, (int, float))}))
    eng.finish(frames[-1].t_ms + 1000 / truth["fps"])
    report = build_report(eng, video=str(truth_path), fps=truth["fps"], frames=len(frames))
    n = len(frames)
    summary = {"frames": n, "per_frame_people": [1] * n, "detection_rate": 1.0, "max_people_in_frame": 1,
               "tracks": [{"id": 1, "frames": n}], "duration_s": frames[-1].t_ms / 1000, "source_fps": truth["fps"]}
    return measure(summary, report)


def main(argv: list[str] | None = None) -> int:
    """Run the engine on the truth of every clip in a fault-set folder; write ``oracle.md``/``oracle.json``."""
    from synth.cli import label_row
    from synth.faultset import _trace_rules, markdown, score
    from synth.samples import eval_set_specs

    parser = argparse.ArgumentParser(prog="python -m synth.oracle", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="a folder written by python -m synth.faultset")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    out = args.folder.parent / f"{args.folder.name}-oracle"  # beside, so `formcheck evaluate FOLDER` does not see it
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for name, _ in eval_set_specs():
        path = args.folder / f"{name}.json.gz"
        if not path.exists():
            continue
        (out / f"{name}.mp4").touch()  # labels.csv names the clip; the engine reads only the truth
        truth, steps = load_truth(path), []
        measured = oracle_measure(path, steps)
        results.append({"name": name, "label": label_row(f"{name}.mp4", truth), "measured": measured,
                        "rules": _trace_rules(truth["exercise"], steps, truth), "report": None})
    rows, agg, codes = score(out, results)
    command = "python -m synth.oracle " + " ".join(argv if argv is not None else sys.argv[1:])
    (out / "oracle.md").write_text("\n".join(markdown(results, rows, agg, codes, command)) + "\n", encoding="utf-8")
    (out / "oracle.json").write_text(json.dumps({"aggregate": agg, "codes": codes, "rows": rows}, indent=1,
                                                default=str) + "\n", encoding="utf-8")
    log.info("oracle: P %s R %s F1 %s; %s", agg["fault_precision"], agg["fault_recall"], agg["fault_f1"], out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
