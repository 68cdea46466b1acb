"""Overlapping stages of :meth:`exercises.pipeline.Pipeline.run`, and their per-stage timer.

Offline analysis runs as four stages with bounded queues between them, so each waits
only for the slowest, never for the sum::

    decode (capture prefetch thread) → pose (PoseThread) → tracking, filter, engine,
    drawing, recording (calling thread) → encode (SinkThread)

MediaPipe, PyAV and OpenCV release the GIL while they work, so on two cores pose
inference of frame *t+1* runs while frame *t* is checked and drawn and frame *t−1* is
encoded.  Every queue is bounded: memory stays flat however long the video.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from vision.frame import Frame

log = logging.getLogger(__name__)

#: Stages :class:`StageTimer` reports, in pipeline order.
STAGES: tuple[str, ...] = ("decode", "pose", "tracking", "filter", "checking", "drawing", "record", "encode")


class StageTimer:
    """Per-stage wall time of the last ``keep`` frames (bounded: memory stays flat on long runs).

    ``decode`` is the time spent waiting for the next decoded frame (with prefetch, only
    the part decoding did not overlap); ``encode`` is measured in the encoder thread.
    """

    def __init__(self, keep: int = 20000) -> None:
        self._keep = keep
        self._ms: dict[str, deque[float]] = {s: deque(maxlen=keep) for s in STAGES}
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        """Record one frame's time in ``stage``."""
        with self._lock:
            self._ms.setdefault(stage, deque(maxlen=self._keep)).append(seconds * 1000.0)

    def samples(self, stage: str) -> np.ndarray:
        """The kept per-frame times of ``stage`` in milliseconds."""
        with self._lock:
            return np.array(self._ms.get(stage, ()), np.float64)

    def summary(self) -> dict[str, dict[str, float]]:
        """``{stage: {"median_ms", "p95_ms", "mean_ms", "n"}}`` for stages that ran."""
        out = {}
        for stage in list(self._ms):
            ms = self.samples(stage)
            if ms.size:
                out[stage] = {"median_ms": round(float(np.median(ms)), 3),
                              "p95_ms": round(float(np.percentile(ms, 95)), 3),
                              "mean_ms": round(float(ms.mean()), 3), "n": int(ms.size)}
        return out


class _Stop(Exception):
    """The consumer went away: the producer thread ends quietly."""


class PoseThread:
    """Run ``process(frame)`` over ``frames`` in a thread, ``depth`` results ahead.

    Iterate it for the processed frames, in order; an exception in the thread is raised
    in the consumer.  :meth:`close` stops and joins the thread (call it before freeing
    whatever ``process`` uses).
    """

    def __init__(self, frames: Iterator[Frame], process: Callable[[Frame], Frame], depth: int,
                 timer: StageTimer | None) -> None:
        self._frames, self._process, self._timer = frames, process, timer
        self._q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=max(depth, 1))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="formcheck-pose", daemon=True)
        self._thread.start()

    def _put(self, item: tuple[str, Any]) -> None:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.05)
                return
            except queue.Full:
                continue
        raise _Stop

    def _run(self) -> None:
        timer = self._timer
        try:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                frame = next(self._frames, None)
                if frame is None:
                    break
                t1 = time.perf_counter()
                posed = self._process(frame)
                if timer is not None:
                    timer.add("decode", t1 - t0)
                    timer.add("pose", time.perf_counter() - t1)
                self._put(("frame", posed))
            self._put(("end", None))
        except _Stop:
            return
        except BaseException as exc:  # handed to the consumer
            try:
                self._put(("error", exc))
            except _Stop:
                return

    def __iter__(self) -> Iterator[Frame]:
        while True:
            kind, value = self._q.get()
            if kind == "frame":
                yield value
            elif kind == "end":
                return
            else:
                raise value

    def close(self) -> None:
        """Stop the thread after its current frame and wait for it."""
        self._stop.set()
        self._thread.join()


class SinkThread:
    """Encode in a background thread behind a bounded queue, so encoding overlaps inference."""

    def __init__(self, sink: Any, depth: int, timer: StageTimer | None) -> None:
        self._sink, self._timer = sink, timer
        self._q: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=max(depth, 1))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="formcheck-encode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            image = self._q.get()
            if image is None:
                return
            if self._error is not None:
                continue  # drain, so the producer never blocks on a dead encoder
            t0 = time.perf_counter()
            try:
                self._sink.write(image)
            except BaseException as exc:  # handed to the producer thread
                self._error = exc
            if self._timer is not None:
                self._timer.add("encode", time.perf_counter() - t0)

    def write(self, image: np.ndarray) -> None:
        """Queue one image (blocks while the queue is full)."""
        if self._error is not None:
            raise self._error
        self._q.put(image)

    def close(self) -> None:
        """Encode what is queued, finish the file, re-raise an encoder error."""
        self._q.put(None)
        self._thread.join()
        self._sink.close()
        if self._error is not None:
            raise self._error
