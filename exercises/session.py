"""Live sessions: a camera (or pushed frames) analysed in the background, one exercise per person.

UI-free; the Streamlit app and the tests drive it the same way::

    session = LiveSession(SessionConfig(exercise="squat", lang="de"))
    session.start(0)                         # camera index, stream URL or file; raises CaptureError / ModelError
    while session.running:
        update = session.poll(timeout=0.1)   # newest LiveUpdate: annotated picture, per-person status
    summary = session.stop()                 # SessionSummary: what was counted and why it ended

Frames cross threads only through bounded queues::

    capture thread ─► frames queue ─► pipeline thread ─► results queue ─► UI (poll)
    push(image) ────┘ (browser camera)                └─► images queue ─► fetch_image() (browser camera)

With a camera, a stream or a paced file the frames queue drops its *oldest* frame when the
analysis falls behind, so the picture stays live; an unpaced file has every frame analysed.

Each tracked person has an exercise (the session's default until :meth:`LiveSession.assign`)
and an optional name (:meth:`LiveSession.set_name`); both reach the pipeline thread through a
command queue. What happens to a frame (one :class:`~exercises.engine.ExerciseEngine` per exercise
in use, each person's rows routed to the engine of their exercise) is
:class:`~exercises.session_analysis.SessionAnalyser`; with ``SessionConfig(process=True)`` it runs
in a child process (:mod:`exercises.session_worker`) and the pipeline thread only hands frames
over. A live source that stops delivering ends the session with ``end_reason == "camera_lost"``;
what was counted until then stays in the summary.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from exercises.pipeline import Pipeline, PipelineConfig
from exercises.session_analysis import SessionAnalyser
from exercises.session_types import (
    END_CAMERA_LOST,
    END_ERROR,
    END_SOURCE,
    END_STOPPED,
    LiveUpdate,
    PersonStatus,
    PersonSummary,
    SessionConfig,
    SessionSummary,
)
from exercises.session_worker import AnalysisCancelled, RemoteAnalyser
from vision.capture import CaptureError, VideoSource, open_video
from vision.frame import Frame

log = logging.getLogger(__name__)

__all__ = ["END_CAMERA_LOST", "END_ERROR", "END_SOURCE", "END_STOPPED", "LiveSession", "LiveUpdate", "PersonStatus",
           "PersonSummary", "SessionConfig", "SessionSummary"]


PipelineFactory = Callable[[PipelineConfig], Any]


def _put_newest(q: queue.Queue, item: Any) -> bool:
    """Put without waiting; when full, drop the oldest item first. True if a *frame* was dropped."""
    dropped = False
    while True:
        try:
            q.put_nowait(item)
            return dropped
        except queue.Full:
            try:
                old = q.get_nowait()
                dropped = dropped or (isinstance(old, tuple) and old[0] == "frame")
            except queue.Empty:
                pass


class LiveSession:
    """Capture and analysis in background threads; the UI calls :meth:`poll` and :meth:`stop`."""

    def __init__(self, config: SessionConfig | None = None, *, pipeline_factory: PipelineFactory | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = c = config or SessionConfig()
        self._factory, self._clock = pipeline_factory or Pipeline, clock
        self._frames: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=c.frame_queue)
        self._results: queue.Queue[LiveUpdate] = queue.Queue(maxsize=c.result_queue)
        self._images: queue.Queue[np.ndarray] = queue.Queue(maxsize=1)
        self._commands: queue.Queue[tuple[str, int, str]] = queue.Queue()
        self._stop, self._done = threading.Event(), threading.Event()
        self._threads: list[threading.Thread] = []
        self._source: VideoSource | None = None
        self._pipe: Any = None
        self._drop_when_full = True
        self._pace = False
        self._started = False
        self.end_reason: str | None = None
        self.error: str | None = None
        self._dropped = 0
        # Owned by the pipeline thread while it runs; read by others only after it ended.
        self._an: SessionAnalyser | RemoteAnalyser | None = None
        # Owned by the UI thread (poll) and by the pushing thread (push, fetch_image).
        self._last: LiveUpdate | None = None
        self._last_poll = clock()
        self._push_t0: float | None = None
        self._push_index = 0
        self._last_image: np.ndarray | None = None

    # ------------------------------------------------------------------ starting
    def start(self, source: int | str | Path, *, pace: bool = False, loop: bool = False) -> None:
        """Open ``source`` (camera index, stream URL or video file) and start analysing.

        Capture errors (:class:`~vision.capture.CaptureError`: camera unavailable, not found, not a
        video, undecodable) and :class:`~vision.model.ModelError` are raised here, in the caller's thread.
        """
        self._check_fresh()
        try:
            # Files are paced here, not by open_video: its pacing never yields while decoding runs slower
            # than real time (a busy machine, a looped 60 fps clip), see docs/app.md.
            src = open_video(source, loop=loop, target_fps=self.config.target_fps, prefetch=0)
            try:
                self._pipe = self._make_pipeline()
            except BaseException:
                src.close()
                raise
        except BaseException as exc:
            self._failed(exc)
            raise
        self._source, self._drop_when_full, self._pace = src, src.is_live or pace, pace and not src.is_live
        self._spawn("formcheck-session-capture", self._capture_loop)
        self._spawn("formcheck-session-pipeline", self._pipeline_loop)

    def start_external(self) -> None:
        """Start without a source of our own: frames arrive through :meth:`push` (the browser's camera)."""
        self._check_fresh()
        try:
            self._pipe = self._make_pipeline()
        except BaseException as exc:
            self._failed(exc)
            raise
        self._spawn("formcheck-session-pipeline", self._pipeline_loop)

    def _check_fresh(self) -> None:
        if self._started:
            raise RuntimeError("a LiveSession can be started once; create a new one")
        self._started = True
        self._last_poll = self._clock()

    def _failed(self, exc: BaseException) -> None:
        self.error, self.end_reason = f"{type(exc).__name__}: {exc}", END_ERROR
        self._done.set()

    def _make_pipeline(self) -> Any:
        c = self.config
        if c.process:  # the child process runs pipeline and analyser; its handle is closed like a pipeline
            remote = RemoteAnalyser(c)
            self._an = remote
            return remote
        # the pipeline finds and tracks people; the session's engines do the checking
        pipe = self._factory(PipelineConfig(people=c.people, model=c.model, exercise=None, lang=c.lang, draw=False))
        self._an = SessionAnalyser(c, pipe, self._clock)
        return pipe

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    # ------------------------------------------------------------------ state
    @property
    def started(self) -> bool:
        """:meth:`start` or :meth:`start_external` was called."""
        return self._started

    @property
    def running(self) -> bool:
        """Started and not yet ended."""
        return self._started and not self._done.is_set()

    @property
    def finished(self) -> bool:
        """Ended: stopped, source ended, camera lost or failed."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the session has ended; False on timeout."""
        return self._done.wait(timeout)

    # ------------------------------------------------------------------ UI side
    def poll(self, timeout: float | None = None) -> LiveUpdate | None:
        """The newest update (older ones are skipped), or the previous one if nothing new arrived
        (within ``timeout`` seconds). Call from one thread, the UI."""
        newest = None
        try:
            newest = self._results.get(timeout=timeout) if timeout else self._results.get_nowait()
            while True:
                newest = self._results.get_nowait()
        except queue.Empty:
            pass
        self._last = newest or self._last
        self._last_poll = self._clock()
        return self._last

    def set_name(self, track_id: int, name: str) -> None:
        """Show ``name`` for this person (tile, picture, summary); an empty name removes it."""
        self._commands.put(("name", int(track_id), name.strip()))

    def assign(self, track_id: int, exercise: str) -> None:
        """Check this person for ``exercise`` from now on; what was counted before stays with the old one.

        An unknown exercise raises :class:`~exercises.definition.DefinitionError` here.
        """
        from exercises.definition import load_exercise

        load_exercise(exercise)
        self._commands.put(("assign", int(track_id), exercise))

    def exercise_of(self, track_id: int) -> str:
        """The exercise this person is checked for."""
        an = self._an
        return self.config.exercise if an is None else an.exercise_of(track_id)

    # ------------------------------------------------------------------ push side (browser camera)
    def push(self, image: np.ndarray, t_ms: int | None = None, *, wait: bool = False) -> bool:
        """Hand one BGR frame to the analysis. If it is busy the oldest waiting frame is dropped
        (with ``wait``: wait for room instead). False once the session has ended. One thread only."""
        if self._stop.is_set() or self._done.is_set():
            return False
        now = self._clock()
        self._push_t0 = now if self._push_t0 is None else self._push_t0
        t = round((now - self._push_t0) * 1000) if t_ms is None else int(t_ms)
        self._offer(("frame", Frame(index=self._push_index, t_ms=t, image=image)), block=wait)
        self._push_index += 1
        return True

    def fetch_image(self) -> np.ndarray | None:
        """The newest annotated picture for the pushing thread (the last one again if none is new)."""
        try:
            self._last_image = self._images.get_nowait()
        except queue.Empty:
            pass
        return self._last_image

    def end_external(self) -> None:
        """The pushed stream ended (the browser stopped its camera)."""
        _put_newest(self._frames, ("end", END_SOURCE))

    # ------------------------------------------------------------------ stopping
    def stop(self, timeout: float = 10.0) -> SessionSummary:
        """Stop capture and analysis, join the threads and return the summary. Idempotent."""
        if self._started and not self._done.is_set():
            self._stop.set()
            self._dropped += _put_newest(self._frames, ("end", END_STOPPED))
            if isinstance(self._an, RemoteAnalyser):
                self._an.cancel()  # do not wait for a child that is still loading the model
        for t in self._threads:
            t.join(timeout)
            if t.is_alive():
                log.warning("%s did not stop within %.0f s", t.name, timeout)
        if self._source is not None:
            self._source.close()
        self._done.set()
        return self.summary()

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ threads
    def _offer(self, item: tuple[str, Any], block: bool | None = None) -> None:
        """Into the frames queue: when full, drop the oldest frame, or (``block``; default for unpaced
        files) wait for room until the session stops."""
        if not ((not self._drop_when_full) if block is None else block):
            self._dropped += _put_newest(self._frames, item)
            return
        while not (self._stop.is_set() or self._done.is_set()):
            try:
                self._frames.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _capture_loop(self) -> None:
        src = self._source
        assert src is not None
        reason = END_SOURCE
        wall0: float | None = None
        try:
            for frame in src:
                if self._pace:  # a file played like a camera: wait for each frame's time, never skip ahead
                    now = self._clock()
                    wall0 = now - frame.t_s if wall0 is None else wall0
                    if wall0 + frame.t_s > now:
                        self._stop.wait(wall0 + frame.t_s - now)
                if self._stop.is_set():
                    return
                self._offer(("frame", frame))
            reason = END_CAMERA_LOST if src.is_live else END_SOURCE
        except Exception as exc:  # a broken camera or file: keep what was counted, say what happened
            log.warning("capture ended: %s", exc, exc_info=not isinstance(exc, CaptureError))
            self.error = f"{type(exc).__name__}: {exc}"
            reason = END_CAMERA_LOST if src.is_live else END_ERROR
        finally:
            src.close()
        self._offer(("end", reason))  # behind the last frame

    def _pipeline_loop(self) -> None:
        reason = END_STOPPED
        try:
            while not self._abandoned():
                try:
                    kind, value = self._frames.get(timeout=0.2)
                except queue.Empty:
                    if self._stop.is_set():
                        break
                    continue
                if kind == "end":
                    reason = value
                    break
                self._apply_commands()
                assert self._an is not None
                update = self._an.analyse(value, self._dropped)
                _put_newest(self._results, update)
                if update.image is not None:
                    _put_newest(self._images, update.image)
        except Exception as exc:
            if self._stop.is_set() and isinstance(exc, AnalysisCancelled):
                reason = END_STOPPED  # stopped while the analysis process was still starting
            else:
                log.exception("live analysis failed")
                self.error, reason = f"{type(exc).__name__}: {exc}", END_ERROR
        finally:
            try:
                if self._an is not None:
                    self._an.finish()
                if self._pipe is not None:
                    self._pipe.close()
            except Exception:
                log.exception("finishing the live session failed")
            self.end_reason = reason
            self._done.set()

    def _abandoned(self) -> bool:
        limit = self.config.idle_timeout_s
        if limit is not None and self._clock() - self._last_poll > limit:
            log.info("nobody looked at the live session for %.0f s: stopping it", limit)
            self._stop.set()
            return True
        return False

    def _apply_commands(self) -> None:
        while True:
            try:
                cmd, tid, value = self._commands.get_nowait()
            except queue.Empty:
                return
            if self._an is not None:
                self._an.command(cmd, tid, value)

    # ------------------------------------------------------------------ summary
    def summary(self) -> SessionSummary:
        """What was counted: per person and exercise (filled in once the session has ended)."""
        ended = self._done.is_set() and not any(t.is_alive() for t in self._threads)
        if ended:
            self._apply_commands()  # names given after the last frame
        if self._an is None:
            return SessionSummary(end_reason=self.end_reason, error=self.error, frames=0, dropped=self._dropped,
                                  duration_s=0.0, fps=0.0, people=())
        return self._an.summary(ended=ended, end_reason=self.end_reason, error=self.error, dropped=self._dropped)
