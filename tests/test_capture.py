"""vision.capture: frames and timestamps, every error class, rotation.

Decimation, pacing, loop and prefetch (vision.capture_stages) are in test_capture_stages.py.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from factories_video import (
    bad_directory,
    bad_empty,
    bad_jpeg,
    bad_jpeg_as_mp4,
    bad_missing,
    bad_text_as_mp4,
    bad_truncated_header_only,
    bad_truncated_no_index,
    make_clip,
    noisy_clip,
    square_x,
    truncate,
)

from vision.capture import (
    CameraUnavailableError,
    CaptureError,
    NotAVideoError,
    UndecodableVideoError,
    VideoNotFoundError,
    VideoSource,
    open_video,
)

SHARED_SAMPLE = Path("/work/shared/samples/pose2sim_singleperson_cam01.mp4")


def square_left_edge(img: np.ndarray) -> int:
    """Column where the white square starts (red marker excluded: it has no green)."""
    white = img[..., 1] > 128
    return int(np.flatnonzero(white.any(axis=0))[0])


# --------------------------------------------------------------------------- basic reading
@pytest.mark.parametrize("suffix,codec", [(".mp4", "libx264"), (".webm", "libvpx-vp9")])
def test_reads_every_frame_with_increasing_pts_timestamps(tmp_path: Path, suffix: str, codec: str) -> None:
    path = make_clip(tmp_path / f"clip{suffix}", n=20, fps=30, codec=codec)
    with open_video(path) as video:
        assert isinstance(video, VideoSource)
        assert (video.width, video.height, video.rotation, video.name) == (64, 48, 0, path.name)
        assert video.fps == pytest.approx(30.0)
        assert video.duration_s == pytest.approx(20 / 30, abs=0.04)
        frames = list(video)
    assert [f.index for f in frames] == list(range(20))
    t = [f.t_ms for f in frames]
    assert all(b > a for a, b in itertools.pairwise(t))
    assert t == pytest.approx([round(i * 1000 / 30) for i in range(20)], abs=1)
    for i, f in enumerate(frames):
        assert f.image.shape == (48, 64, 3) and f.image.dtype == np.uint8
        assert abs(square_left_edge(f.image) - square_x(i)) <= 1


def test_frame_count_known_for_mp4(tmp_path: Path) -> None:
    with open_video(make_clip(tmp_path / "c.mp4", n=12)) as video:
        assert video.frame_count == 12


def test_timestamps_follow_pts_not_frame_index(tmp_path: Path) -> None:
    pts = [0, 100, 150, 500, 510]  # variable frame rate, as phones record
    with open_video(make_clip(tmp_path / "vfr.mp4", n=5, pts_ms=pts)) as video:
        assert [f.t_ms for f in video] == pts


def test_accepts_str_and_path(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "c.mp4", n=3)
    for source in (path, str(path)):
        with open_video(source) as video:
            assert len(list(video)) == 3


def test_close_ends_iteration_and_is_idempotent(tmp_path: Path) -> None:
    video = open_video(make_clip(tmp_path / "c.mp4", n=10))
    next(video)
    video.close()
    video.close()
    with pytest.raises(StopIteration):
        next(video)


# --------------------------------------------------------------------------- errors
ERROR_CASES = [
    (bad_missing, VideoNotFoundError, "not found"),
    (bad_text_as_mp4, NotAVideoError, "not a video"),
    (bad_jpeg, NotAVideoError, "still image"),
    (bad_jpeg_as_mp4, NotAVideoError, "still image"),
    (bad_directory, NotAVideoError, "directory"),
    (bad_empty, NotAVideoError, "empty"),
    (bad_truncated_no_index, UndecodableVideoError, "truncated"),
    (bad_truncated_header_only, UndecodableVideoError, "frame 0"),
]


@pytest.mark.parametrize("factory,error,words", ERROR_CASES, ids=[c[0].__name__ for c in ERROR_CASES])
def test_bad_files_raise_their_own_error_naming_the_file(tmp_path: Path, factory, error, words) -> None:
    path = factory(tmp_path)
    with pytest.raises(error) as info:
        open_video(path)
    assert isinstance(info.value, CaptureError)
    message = str(info.value)
    assert path.name in message
    assert words in message
    assert info.value.__cause__ is None  # PyAV/OpenCV internals are not chained into the traceback


@pytest.mark.parametrize("index", [99, "99"])
def test_unavailable_camera(index: int | str) -> None:
    with pytest.raises(CameraUnavailableError, match="Camera 99") as info:
        open_video(index)
    assert "webcam" in str(info.value)


@pytest.mark.parametrize("kwargs,error", [
    ({"target_fps": 0}, ValueError), ({"target_fps": -5}, ValueError), ({"prefetch": -1}, ValueError),
])
def test_bad_arguments(tmp_path: Path, kwargs: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        open_video(make_clip(tmp_path / "c.mp4", n=2), **kwargs)


def test_bool_is_not_a_camera_index() -> None:
    with pytest.raises(TypeError):
        open_video(True)  # type: ignore[arg-type]


def test_truncated_midway_keeps_decoded_frames_and_warns(tmp_path: Path, caplog) -> None:
    cut = truncate(noisy_clip(tmp_path / "noisy.mp4", n=30), tmp_path / "cut.mp4", 0.6)
    with caplog.at_level(logging.WARNING, logger="vision.capture"), open_video(cut) as video:
        frames = list(video)
    assert 0 < len(frames) < 30
    assert [f.index for f in frames] == list(range(len(frames)))
    assert any("cut.mp4" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


# --------------------------------------------------------------------------- rotation
def _corner_with_marker(img: np.ndarray) -> str:
    h, w = img.shape[:2]
    red = (img[..., 2] > 150) & (img[..., 1] < 100)
    corners = {"top-left": red[: h // 4, : w // 4], "top-right": red[: h // 4, -w // 4:],
               "bottom-left": red[-h // 4:, : w // 4], "bottom-right": red[-h // 4:, -w // 4:]}
    return max(corners, key=lambda k: corners[k].mean())


@pytest.mark.parametrize("ccw,cw,size,corner", [
    (90, 270, (48, 64), "bottom-left"),   # display turns the picture 90° counter-clockwise
    (-90, 90, (48, 64), "top-right"),     # a phone held upright: 'rotate=90' tag
    (180, 180, (64, 48), "bottom-right"),
])
def test_rotation_metadata_gives_upright_images(tmp_path: Path, ccw: int, cw: int, size, corner) -> None:
    path = make_clip(tmp_path / "rot.mp4", n=4, rotation=ccw)
    with open_video(path) as video:
        assert video.rotation == cw
        assert (video.width, video.height) == size
        frame = next(video)
    assert (frame.width, frame.height) == size
    assert _corner_with_marker(frame.image) == corner
    # OpenCV's own auto-rotation must agree pixel for pixel (within codec noise)
    cap = cv2.VideoCapture(str(path))
    ok, reference = cap.read()
    cap.release()
    assert ok and reference.shape == frame.image.shape
    assert np.abs(reference.astype(int) - frame.image.astype(int)).mean() < 3


# --------------------------------------------------------------------------- shared sample
@pytest.mark.skipif(not SHARED_SAMPLE.exists(), reason=f"needs {SHARED_SAMPLE}")
def test_shared_portrait_sample() -> None:
    with open_video(SHARED_SAMPLE, target_fps=30) as video:
        assert (video.width, video.height, video.rotation, video.frame_count) == (1080, 1920, 0, 100)
        assert video.fps == pytest.approx(60)
        frames = list(video)
    assert len(frames) == 50
    assert frames[0].image.shape == (1920, 1080, 3)
