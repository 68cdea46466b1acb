"""Video input: files, cameras and stream URLs as an iterator of :class:`~vision.frame.Frame`.

>>> with open_video("squat.mp4", target_fps=30) as video:   # doctest: +SKIP
...     for frame in video:
...         ...

Files are decoded with PyAV (multithreaded; rotation metadata applied so images are
upright). Cameras and stream URLs use ``cv2.VideoCapture``. Every frame carries its
*source* index and a strictly increasing ``t_ms``: stream PTS for files (falling back to
``index / fps``), a monotonic clock for live sources.

Pipeline inside a :class:`VideoSource` (the generic stages are in :mod:`vision.capture_stages`)::

    backend (decode) -> loop -> target_fps decimation -> [prefetch thread] -> pace -> Frame

This module holds the error classes, the PyAV file and OpenCV camera/stream backends,
:class:`VideoSource` and :func:`open_video`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from vision.capture_stages import Prefetcher, decimated, looped, paced, to_frames
from vision.frame import Frame

logger = logging.getLogger(__name__)

__all__ = ["CameraUnavailableError", "CaptureError", "NotAVideoError", "StreamUnavailableError",
           "UndecodableVideoError", "VideoNotFoundError", "VideoSource", "open_video"]

_DEFAULT_FPS = 30.0
_CV_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
_VIDEO_EXAMPLES = "a video such as .mp4, .mov, .mkv or .webm"


class CaptureError(Exception):
    """Base class for every error raised while opening or reading a video source."""


class VideoNotFoundError(CaptureError):
    """The video file does not exist."""


class NotAVideoError(CaptureError):
    """The path exists but is not a video (a directory, a text file, a still image, audio only)."""


class UndecodableVideoError(CaptureError):
    """A video container whose frames cannot be decoded (truncated, corrupt, zero frames)."""


class CameraUnavailableError(CaptureError):
    """A camera (or live stream) could not be opened or delivered no image."""


class StreamUnavailableError(CameraUnavailableError):
    """A stream URL (rtsp://, http://, ...) could not be opened or delivered no image."""


# --------------------------------------------------------------------------- raw frames
class _Raw:
    """A decoded frame whose BGR conversion is deferred until someone needs the pixels."""

    __slots__ = ("_src", "index", "rotation", "t_s")

    def __init__(self, index: int, t_s: float, src: Any, rotation: int = 0) -> None:
        self.index, self.t_s, self._src, self.rotation = index, t_s, src, rotation

    def image(self) -> np.ndarray:
        if not isinstance(self._src, np.ndarray):
            img = self._src.to_ndarray(format="bgr24")
            self._src = cv2.rotate(img, _CV_ROTATE[self.rotation]) if self.rotation else img
        return self._src


def _upright_cw(frame_rotation_ccw: int, tag: str | None) -> int:
    """Clockwise degrees (0/90/180/270) to turn decoded pictures upright."""
    cw = -int(frame_rotation_ccw or 0)
    if not cw and tag:  # legacy ``rotate`` tag (FFmpeg >= 5 turns it into a display matrix)
        try:
            cw = int(float(tag))
        except ValueError:
            cw = 0
    snapped = round(cw / 90.0) * 90 % 360
    if cw % 90:
        logger.warning("rotation %d° is not a multiple of 90°; using %d°", cw, snapped)
    return snapped


def _looks_like_video(path: Path) -> bool:
    """Sniff the first bytes for a video container signature (MP4/MOV, Matroska/WebM, AVI, FLV, MPEG-PS)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError:
        return False
    return (
        head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")
        or head.startswith(b"\x1a\x45\xdf\xa3")
        or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
        or head[:3] == b"FLV"
        or head[:4] == b"\x00\x00\x01\xba"
    )


def _undecodable(path: Path, detail: str) -> UndecodableVideoError:
    return UndecodableVideoError(
        f"'{path}' is a video file but it cannot be decoded: {detail}. It is probably truncated or corrupt "
        "(an interrupted recording, upload or copy); record, export or copy it again."
    )


# --------------------------------------------------------------------------- backends
class _AvBackend:
    """A video file decoded with PyAV. Opening decodes the first frame to validate the file."""

    live = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._open()
        s = self._stream
        rate = s.average_rate or s.guessed_rate or s.base_rate
        self.fps = float(rate) if rate else _DEFAULT_FPS
        self.frame_count: int | None = int(s.frames) if s.frames else None
        if s.duration and s.time_base:
            self.duration_s: float | None = float(s.duration * s.time_base)
        elif self._container.duration:
            self.duration_s = self._container.duration / av.time_base
        else:
            self.duration_s = None
        self.rotation = _upright_cw(getattr(self._first, "rotation", 0), s.metadata.get("rotate"))
        self._first_image: np.ndarray | None = _Raw(0, 0.0, self._first, self.rotation).image()
        self.height, self.width = self._first_image.shape[:2]

    def _open(self) -> None:
        path = self.path
        try:
            container = av.open(str(path), metadata_errors="ignore")
        except av.FFmpegError as e:
            if _looks_like_video(path):
                raise _undecodable(path, f"FFmpeg cannot open it ({e.strerror or e})") from None
            raise NotAVideoError(
                f"'{path}' is not a video file (FFmpeg does not recognise its format). Pass {_VIDEO_EXAMPLES}."
            ) from None
        fmt = container.format.name
        if fmt.endswith("_pipe") or fmt in ("image2", "image2pipe"):
            container.close()
            raise NotAVideoError(
                f"'{path}' is a still image ({fmt.removesuffix('_pipe')}), not a video. "
                f"Record the exercise as {_VIDEO_EXAMPLES} and pass that."
            )
        if not container.streams.video:
            has_streams = bool(container.streams)
            container.close()
            if not has_streams and _looks_like_video(path):
                raise _undecodable(path, "no readable streams (the index, e.g. the MP4 'moov' atom, is missing)")
            raise NotAVideoError(
                f"'{path}' contains no video stream (format {fmt}; audio or data only). Pass {_VIDEO_EXAMPLES}."
            )
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threads: large H.264 decodes several times faster
        self._container, self._stream = container, stream
        self._t0 = float(stream.start_time * stream.time_base) if stream.start_time is not None else None
        self._decoder = container.decode(stream)
        try:
            self._first = next(self._decoder)
        except StopIteration:
            self.close()
            raise _undecodable(path, "it contains no decodable frames (0 frames)") from None
        except Exception as e:  # wrap any PyAV/FFmpeg failure
            self.close()
            raise _undecodable(path, f"decoding frame 0 failed ({getattr(e, 'strerror', None) or e})") from None

    def reopen(self) -> None:
        self.close()
        self._open()

    def frames(self) -> Iterator[_Raw]:
        """Raw frames of one pass through the file (the first one was decoded when opening)."""
        fps, t0 = self.fps, self._t0
        frame: Any = self._first
        index = 0
        while True:
            t = frame.time
            if t is None:
                t_s = index / fps
            else:
                if t0 is None:
                    t0 = t
                t_s = t - t0
            src = self._first_image if index == 0 and self._first_image is not None else frame
            self._first_image = None
            yield _Raw(index, t_s, src, self.rotation)
            index += 1
            try:
                frame = next(self._decoder)
            except StopIteration:
                break
            except Exception as e:  # keep what was delivered, stop cleanly
                logger.warning("'%s': decoding stopped at frame %d (%s); keeping the %d frames before it",
                               self.path, index, e, index)
                return
        if self.frame_count and index < self.frame_count:
            logger.warning("'%s': only %d of %d frames could be decoded; the file may be truncated",
                           self.path, index, self.frame_count)

    def close(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            self._container = None
            container.close()


class _CvBackend:
    """A camera or stream URL read with ``cv2.VideoCapture``; timestamps from ``clock``."""

    live = True
    frame_count = duration_s = None
    rotation = 0

    def __init__(self, cap: cv2.VideoCapture, clock: Callable[[], float], label: str) -> None:
        self._cap, self._clock, self._label = cap, clock, label
        ok, img = cap.read()
        if not ok or img is None:
            cap.release()
            raise CaptureError(f"{label} opened but delivered no image")
        self._first: np.ndarray | None = img
        self.height, self.width = img.shape[:2]
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 0 < fps < 1000 else _DEFAULT_FPS

    def frames(self) -> Iterator[_Raw]:
        index, t0, img = 0, self._clock(), self._first
        self._first = None
        while img is not None:
            yield _Raw(index, self._clock() - t0 if index else 0.0, img)
            index += 1
            ok, img = self._cap.read()
            if not ok:
                logger.warning("%s stopped delivering images after %d frames", self._label, index)
                return

    def close(self) -> None:
        self._cap.release()


# --------------------------------------------------------------------------- public API
class VideoSource:
    """An open video source: a context manager and an iterator of :class:`Frame`.

    Attributes: ``fps`` (source frame rate), ``width``/``height`` (of delivered, upright
    images), ``frame_count`` (frames per pass, or None if unknown), ``rotation`` (clockwise
    degrees applied to make pictures upright), ``name``, ``duration_s`` (or None),
    ``is_live`` and ``dropped_frames`` (frames skipped by ``pace`` because the consumer was late).
    Use :func:`open_video` to create one. Resources are released when iteration ends,
    on :meth:`close`, or when leaving a ``with`` block.
    """

    def __init__(self, backend: Any, name: str, *, pace: bool, target_fps: float | None, loop: bool,
                 prefetch: int, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._backend = backend
        self.name = name
        self.fps: float = backend.fps
        self.width: int = backend.width
        self.height: int = backend.height
        self.frame_count: int | None = backend.frame_count
        self.rotation: int = backend.rotation
        self.duration_s: float | None = backend.duration_s
        self.is_live: bool = backend.live
        self.dropped_frames = 0
        items: Iterator[_Raw] = decimated(looped(backend, loop), target_fps, self.fps)
        self._prefetcher = Prefetcher(items, prefetch) if prefetch > 0 else None
        if self._prefetcher is not None:
            items = iter(self._prefetcher)
        if pace:
            items = paced(items, clock, sleep, self._count_drop)
        self._gen: Generator[Frame, None, None] | None = to_frames(items)

    def _count_drop(self) -> None:
        self.dropped_frames += 1

    def __iter__(self) -> VideoSource:
        return self

    def __next__(self) -> Frame:
        if self._gen is None:
            raise StopIteration
        try:
            return next(self._gen)
        except BaseException:  # end of stream or error: release the decoder / camera / thread
            self.close()
            raise

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the prefetch thread (if any) and release the decoder / camera. Idempotent."""
        stopped = True
        if self._prefetcher is not None:
            stopped = self._prefetcher.close()
            self._prefetcher = None
        if self._gen is not None:
            gen, self._gen = self._gen, None
            gen.close()
        if stopped:  # never pull the decoder out from under a thread that is still using it
            self._backend.close()

    def __del__(self) -> None:  # a forgotten source must not leave its prefetch thread running
        if getattr(self, "_gen", None) is not None:
            self.close()

    def __repr__(self) -> str:
        return (f"VideoSource({self.name!r}, {self.width}x{self.height} @ {self.fps:.3g} fps, "
                f"frames={self.frame_count}, rotation={self.rotation})")


def _open_live(source: int | str, clock: Callable[[], float]) -> _CvBackend:
    if isinstance(source, int):
        label, cls = f"Camera {source}", CameraUnavailableError
        hint = ("Check that a webcam is connected and not in use by another program (close video calls), "
                "try another index (0, 1, 2...) or pass a video file instead.")
    else:
        label, cls = f"Stream {source}", StreamUnavailableError
        hint = "Check the address, the network and that the stream is running, or pass a video file instead."
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        cap.release()
        raise cls(f"{label} could not be opened. {hint}")
    cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest image rather than a queue of stale ones
    try:
        return _CvBackend(cap, clock, label.lower() if isinstance(source, int) else label)
    except CaptureError:
        raise cls(f"{label} opened but delivered no image. {hint}") from None


def _open_file(path: Path) -> _AvBackend:
    if not path.exists():
        raise VideoNotFoundError(f"Video file not found: '{path}'. Check the path and spelling "
                                 f"(relative paths start from {Path.cwd()}).")
    if path.is_dir():
        raise NotAVideoError(f"'{path}' is a directory, not a video file. Pass {_VIDEO_EXAMPLES} inside it.")
    if path.stat().st_size == 0:
        raise NotAVideoError(f"'{path}' is empty (0 bytes), not a video; the recording or copy probably failed. "
                             "Record or copy it again.")
    return _AvBackend(path)


def open_video(
    source: int | str | os.PathLike[str],
    *,
    pace: bool = False,
    target_fps: float | None = None,
    loop: bool = False,
    prefetch: int = 0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> VideoSource:
    """Open a camera index (``0`` or ``"0"``), a video file or a stream URL.

    Args:
        source: camera index (int or digit string), file path, or ``rtsp://`` / ``http(s)://`` URL.
        pace: deliver a file at its own frame rate like a live camera (sleeping while early,
            skipping to the newest due frame while the consumer is late). Ignored for live sources.
        target_fps: analyse at most this many frames per second by dropping frames evenly;
            kept frames retain their source index and timestamp.
        loop: restart a file at its end, indices and timestamps continuing to increase.
        prefetch: decode up to this many frames ahead in a background thread (0 = no thread).
        clock, sleep: time source and sleep function used by ``pace`` and for camera
            timestamps (injectable for tests and simulation).

    Raises:
        VideoNotFoundError, NotAVideoError, UndecodableVideoError, CameraUnavailableError
        (all subclasses of :class:`CaptureError`); ValueError for bad arguments.
    """
    if target_fps is not None and not target_fps > 0:
        raise ValueError(f"target_fps must be > 0, got {target_fps}")
    if prefetch < 0:
        raise ValueError(f"prefetch must be >= 0, got {prefetch}")
    if isinstance(source, bool):
        raise TypeError("source must be a camera index, a path or a URL, not a bool")
    if isinstance(source, int) or (isinstance(source, str) and source.strip().isdigit()):
        backend: Any = _open_live(int(source), clock)
        name = f"camera {int(source)}"
    elif isinstance(source, str) and "://" in source and not source.startswith("file://"):
        backend, name = _open_live(source, clock), source
    else:
        path = Path(str(source).removeprefix("file://")).expanduser()
        backend, name = _open_file(path), path.name
    if backend.live and (pace or loop):
        logger.info("%s is live: pace/loop do not apply and are ignored", name)
        pace = loop = False
    logger.debug("opened %s: %dx%d @ %.3g fps, %s frames, rotation %d°", name, backend.width, backend.height,
                 backend.fps, backend.frame_count, backend.rotation)
    return VideoSource(backend, name, pace=pace, target_fps=target_fps, loop=loop, prefetch=prefetch,
                       clock=clock, sleep=sleep)
