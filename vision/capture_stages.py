"""Generic stages of a frame stream, between a decoder backend and :class:`~vision.frame.Frame`.

:class:`vision.capture.VideoSource` chains them::

    backend.frames() -> looped -> decimated (target_fps) -> [Prefetcher thread] -> paced -> to_frames

The items are anything with a source ``index``, a time ``t_s`` in seconds and an
``image()`` method returning the BGR pixels (see :class:`TimedItem`); the stages know
nothing about PyAV or OpenCV.  They keep each item's index and time; only
:func:`to_frames` rounds times to strictly increasing milliseconds.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from vision.frame import Frame

logger = logging.getLogger(__name__)

__all__ = ["Prefetcher", "TimedItem", "decimated", "looped", "paced", "to_frames"]


class TimedItem(Protocol):
    """A decoded picture as the stages see it: source index, time in seconds, pixels on demand."""

    index: int
    t_s: float

    def image(self) -> np.ndarray: ...


T = TypeVar("T", bound=TimedItem)


def looped(backend: Any, loop: bool) -> Iterator[Any]:
    """Pass through the backend's frames; with ``loop`` restart at the end, continuing index and time.

    ``backend`` provides ``fps``, ``frames()`` (an iterator over one pass) and, for ``loop``, ``reopen()``.
    """
    index_offset, t_offset = 0, 0.0
    while True:
        last: Any = None
        for raw in backend.frames():
            raw.index += index_offset
            raw.t_s += t_offset
            last = raw
            yield raw
        if not loop or last is None:
            return
        index_offset, t_offset = last.index + 1, last.t_s + 1.0 / backend.fps
        backend.reopen()


def decimated(items: Iterator[T], target_fps: float | None, source_fps: float) -> Iterator[T]:
    """Keep the first frame of each ``1/target_fps`` time slot: 60 -> 30 keeps every other frame."""
    if target_fps is None or target_fps >= source_fps * 0.999:
        yield from items
        return
    eps = 0.25 / source_fps  # absorbs rounding of timestamps that sit exactly on a slot edge
    last_slot: int | None = None
    for raw in items:
        slot = math.floor((raw.t_s + eps) * target_fps)
        if last_slot is None or slot > last_slot:
            last_slot = slot
            yield raw


def paced(
    items: Iterator[T], clock: Callable[[], float], sleep: Callable[[float], None], dropped: Callable[[], None]
) -> Iterator[T]:
    """Deliver at media speed like a camera: wait for frames that are early, and when the
    consumer is late skip to the newest frame already due (so latency stays bounded).

    The skipping catches up to the moment the lateness was noticed, not to a moving "now": when
    decoding itself is slower than real time (a busy machine, a looped high-rate clip) every
    decoded frame is already due, and chasing the clock would never yield again. If the skip
    could not catch up, the schedule restarts from the frame delivered, so lateness never piles up.
    """
    it = iter(items)
    first = next(it, None)
    if first is None:
        return
    wall0, media0 = clock(), first.t_s
    yield first
    pending: T | None = None
    while True:
        cur = pending if pending is not None else next(it, None)
        pending = None
        if cur is None:
            return
        wait = wall0 + (cur.t_s - media0) - clock()
        if wait > 0:
            sleep(wait)
        else:
            target = clock()
            for nxt in it:
                if wall0 + (nxt.t_s - media0) <= target:
                    dropped()
                    cur = nxt
                else:
                    pending = nxt
                    break
            now = clock()
            behind = now - (wall0 + (cur.t_s - media0))
            if pending is not None and behind > pending.t_s - cur.t_s:  # decoding slower than real time
                wall0 = now - (cur.t_s - media0)
        yield cur


class Prefetcher(Generic[T]):
    """Decode (and convert to BGR) up to ``depth`` frames ahead in a background thread."""

    def __init__(self, items: Iterator[T], depth: int) -> None:
        self._items = items
        self._q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="formcheck-capture-prefetch", daemon=True)
        self._thread.start()

    def _put(self, msg: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(msg, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for raw in self._items:
                raw.image()
                if not self._put(("frame", raw)):
                    return
            self._put(("end", None))
        except BaseException as e:  # handed to the consumer thread
            self._put(("error", e))

    def __iter__(self) -> Iterator[T]:
        while True:
            kind, value = self._q.get()
            if kind == "frame":
                yield value
            elif kind == "end":
                return
            else:
                raise value

    def close(self) -> bool:
        """Stop and join the thread; False if it is still running (stuck in the decoder)."""
        self._stop.set()
        if threading.current_thread() is self._thread:  # garbage-collected from inside the thread
            return False
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            logger.warning("capture prefetch thread did not stop within 10 s")
            return False
        getattr(self._items, "close", lambda: None)()
        return True


def to_frames(items: Iterator[TimedItem]) -> Generator[Frame, None, None]:
    """:class:`Frame` per item, ``t_ms`` rounded from ``t_s`` and forced strictly increasing."""
    last = -1
    for raw in items:
        t_ms = max(round(raw.t_s * 1000.0), last + 1)
        last = t_ms
        yield Frame(index=raw.index, t_ms=t_ms, image=raw.image())
