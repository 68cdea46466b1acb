"""Test factories: tiny synthetic videos, bad input files, people-bearing frames and a fake clock.

Videos are written with PyAV directly (not ``vision.sink``) so capture tests do not depend
on the sink under test.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vision.frame import Frame
from vision.landmarks import NUM_LANDMARKS

W, H = 64, 48
SQUARE = 8


def square_x(i: int, width: int = W) -> int:
    """Left edge of the moving square in frame ``i``."""
    return (2 * i) % (width - SQUARE)


def moving_square(i: int, size: tuple[int, int] = (W, H), marker: bool = True) -> np.ndarray:
    """BGR frame ``i``: a white square moving right along y=20 and, with ``marker``, a fixed
    red block in the top-left corner that shows which way up the picture is."""
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    x = square_x(i, w)
    img[20:20 + SQUARE, x:x + SQUARE] = 255
    if marker:
        img[:12, :12] = (0, 0, 255)
    return img


def make_clip(path: Path, n: int = 20, fps: int = 30, size: tuple[int, int] = (W, H), *,
              rotation: int | None = None, pts_ms: Sequence[int] | None = None, codec: str = "libx264",
              faststart: bool = True) -> Path:
    """Write ``n`` moving-square frames. ``rotation`` sets the display matrix (degrees
    counter-clockwise, as ``VideoFrame.rotation`` reads it back); ``pts_ms`` gives explicit
    presentation times in milliseconds (variable frame rate)."""
    options = {"movflags": "+faststart"} if faststart and path.suffix == ".mp4" else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(moving_square(i, size), format="bgr24")
            if pts_ms is not None:
                frame.pts, frame.time_base = int(pts_ms[i]), Fraction(1, 1000)
            else:
                frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def noisy_clip(path: Path, n: int = 30, fps: int = 30) -> Path:
    """A clip of random noise (large packets, so truncating the file cuts through frames)."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": "10"})
        stream.width, stream.height = W, H
        stream.pix_fmt = "yuv420p"
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


# --------------------------------------------------------------------------- bad inputs
def bad_missing(tmp: Path) -> Path:
    return tmp / "does_not_exist.mp4"


def bad_text_as_mp4(tmp: Path) -> Path:
    p = tmp / "notes.mp4"
    p.write_text("Knie beugen, nicht den Rücken.\n" * 20, encoding="utf-8")
    return p


def bad_jpeg(tmp: Path) -> Path:
    p = tmp / "photo.jpg"
    cv2.imwrite(str(p), moving_square(0))
    return p


def bad_jpeg_as_mp4(tmp: Path) -> Path:
    p = tmp / "photo_renamed.mp4"
    p.write_bytes(bad_jpeg(tmp).read_bytes())
    return p


def bad_directory(tmp: Path) -> Path:
    p = tmp / "clips.mp4"
    p.mkdir()
    return p


def bad_empty(tmp: Path) -> Path:
    p = tmp / "empty.mp4"
    p.write_bytes(b"")
    return p


def bad_truncated_no_index(tmp: Path) -> Path:
    """An mp4 with its index (moov) at the end, cut in half: the index is gone."""
    return truncate(make_clip(tmp / "full.mp4", faststart=False), tmp / "cut_no_moov.mp4", 0.5)


def bad_truncated_header_only(tmp: Path) -> Path:
    """A faststart mp4 cut right after its index: streams are known but no frame survives."""
    src = make_clip(tmp / "full_fs.mp4")
    data = src.read_bytes()
    end_of_moov = data.index(b"mdat") + 4
    dst = tmp / "cut_header_only.mp4"
    dst.write_bytes(data[:end_of_moov + 8])
    return dst


# --------------------------------------------------------------------------- frames and clocks
def person_frame(points: dict[int, tuple[float, float]], *, size: tuple[int, int] = (200, 160),
                 visibility: dict[int, float] | None = None, track_id: int = -1) -> Frame:
    """A black frame with one person: the given landmark indices at pixel positions, all other
    landmarks NaN; visibility 1.0 unless overridden."""
    w, h = size
    xy = np.full((1, NUM_LANDMARKS, 2), np.nan, np.float32)
    vis = np.ones((1, NUM_LANDMARKS), np.float32)
    for k, p in points.items():
        xy[0, k] = p
    for k, v in (visibility or {}).items():
        vis[0, k] = v
    frame = Frame(index=0, t_ms=0, image=np.zeros((h, w, 3), np.uint8))
    return frame.with_people(xy, np.zeros((1, NUM_LANDMARKS)), vis, np.zeros((1, NUM_LANDMARKS, 3)),
                             track_id=np.array([track_id]))


class FakeClock:
    """A monotonic clock that only moves when someone sleeps or calls :meth:`advance`."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds
