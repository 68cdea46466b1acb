"""Golden test: the pose stage on a real clip against stored landmarks.

Like MediaPipe's own pose test: run the model on a bundled clip and compare with
landmarks stored in ``tests/golden``.  After a deliberate change to the model or
to person finding, regenerate them with ``pytest tests/test_golden_pose.py --regen-golden``
and review the diff of the summary it prints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vision.capture import open_video
from vision.pose import PoseEstimator
from vision.tracking import PersonTracker

GOLDEN = Path(__file__).parent / "golden" / "pose2sim_singleperson_cam01.npz"
CLIP = "pose2sim_singleperson_cam01.mp4"
FRAMES = 40
MAX_PEOPLE = 2
# Pixel tolerances on a 1080x1920 clip where the person is ~750 px tall.
MEAN_TOL_PX = 4.0
MAX_TOL_PX = 25.0
VIS_TOL = 0.1


def _run(video: Path) -> dict[str, np.ndarray]:
    xy = np.full((FRAMES, MAX_PEOPLE, 33, 2), np.nan, np.float32)
    vis = np.zeros((FRAMES, MAX_PEOPLE, 33), np.float32)
    ids = np.full((FRAMES, MAX_PEOPLE), -1, np.int64)
    tracker = PersonTracker()
    with PoseEstimator(num_poses=MAX_PEOPLE) as pose, open_video(video) as src:
        for i, frame in enumerate(src):
            if i == FRAMES:
                break
            out = tracker.update(pose.process(frame))
            order = np.argsort(out.track_id)[:MAX_PEOPLE]
            k = len(order)
            xy[i, :k], vis[i, :k], ids[i, :k] = out.xy[order], out.visibility[order], out.track_id[order]
    return {"xy": xy, "visibility": vis, "track_id": ids}


def test_pose_landmarks_match_golden(sample, regen_golden: bool) -> None:
    got = _run(sample(CLIP))
    if regen_golden:
        GOLDEN.parent.mkdir(exist_ok=True)
        np.savez_compressed(GOLDEN, **got)
        people = (got["track_id"] >= 0).sum(axis=1)
        print(f"regenerated {GOLDEN}: people per frame {np.bincount(people)}")
        return
    want = dict(np.load(GOLDEN))
    np.testing.assert_array_equal(got["track_id"], want["track_id"], err_msg="people or ids per frame changed")
    both = (want["visibility"] > 0.5) & (got["visibility"] > 0.5)
    assert both.sum() > FRAMES * 20, "too few confidently visible landmarks to compare"
    err = np.linalg.norm(got["xy"] - want["xy"], axis=-1)[both]
    assert float(err.mean()) < MEAN_TOL_PX, f"mean landmark error {err.mean():.2f} px"
    assert float(err.max()) < MAX_TOL_PX, f"max landmark error {err.max():.2f} px"
    present = want["track_id"] >= 0
    dv = np.abs(got["visibility"] - want["visibility"])[present]
    assert float(np.median(dv)) < VIS_TOL


def test_worker_threads_do_not_change_the_result(sample) -> None:
    """MediaPipe calls run on PoseConfig.workers threads; one or two must give the same people."""
    from vision.pose import PoseConfig

    def run(workers: int) -> list[np.ndarray]:
        out = []
        cfg = PoseConfig(max_people=4, workers=workers)
        with PoseEstimator(config=cfg) as pose, open_video(sample("sports2d_demo.mp4")) as src:
            for i, frame in enumerate(src):
                if i == 90:  # both people are in view from about 2 s
                    break
                if i >= 60:
                    f = pose.process(frame)
                    out.append(f.xy[np.argsort(f.track_id)])
                else:
                    pose.process(frame)
        return out

    one, two = run(1), run(2)
    assert max(len(x) for x in two) == 2
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)
