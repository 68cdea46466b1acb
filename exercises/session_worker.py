"""A live session's analysis in a child process (``SessionConfig(process=True)``, what the app uses).

Why a process: the pose model, tracking, the engines and the drawing are mostly Python and hold
the interpreter lock for long stretches. In the Streamlit server the same interpreter runs the
event loop that carries the browser camera's WebRTC connection; starved of the lock, that loop
answered the browser's connectivity checks too late and the connection was closed ("Consent to
send expired"), and the incoming video piled up. In a child process the analysis can be as slow
as the machine makes it: the session drops frames, never the connection.

:class:`RemoteAnalyser` has the interface of :class:`~exercises.session_analysis.SessionAnalyser`
that :class:`~exercises.session.LiveSession` uses, so the session's threads and queues are the
same either way. One frame is in flight at a time; frames that arrive meanwhile wait in the
session's drop-oldest queue.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from exercises.session_types import LiveUpdate, SessionConfig, SessionSummary
from vision.frame import Frame

log = logging.getLogger(__name__)

__all__ = ["AnalysisCancelled", "AnalysisProcessError", "RemoteAnalyser"]

#: seconds the child may take to import the pose stack and load the model
START_TIMEOUT_S = 180.0
#: the child runs this much nicer than its parent: when the machine is short of CPU, the server that carries
#: the camera's connection (and the browser on the same machine) go first; the analysis drops frames instead
CHILD_NICE = 10


class AnalysisProcessError(RuntimeError):
    """The analysis process failed or died; the message says how."""


class AnalysisCancelled(AnalysisProcessError):
    """:meth:`RemoteAnalyser.cancel` was called while the child was still starting."""


def _child(rx: Connection, conn: Connection) -> None:  # pragma: no cover - runs in the child process
    """The child's main loop: the :class:`SessionConfig` first, then ``("frame", Frame, dropped, commands)`` ->
    ``("update", LiveUpdate)``, ``("end", commands)`` -> ``("summary", SessionSummary)``; failures ->
    ``("error", message)``."""
    from exercises.pipeline import Pipeline, PipelineConfig
    from exercises.session_analysis import SessionAnalyser

    try:
        config = c = rx.recv()
        pipe = Pipeline(PipelineConfig(people=c.people, model=c.model, exercise=None, lang=c.lang, draw=False))
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    an = SessionAnalyser(config, pipe, time.monotonic)
    conn.send(("ready", None))
    try:
        while True:
            msg = rx.recv()
            for cmd in msg[-1]:
                an.command(*cmd)
            if msg[0] == "end":
                break
            conn.send(("update", an.analyse(msg[1], msg[2])))
    except EOFError:  # the parent went away
        return
    except Exception as exc:
        log.exception("live analysis failed")
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        pipe.close()
    try:
        an.finish()
        conn.send(("summary", an.summary(ended=True, end_reason=None, error=None, dropped=0)))
    except (BrokenPipeError, EOFError):  # the parent went away
        pass
    except Exception as exc:
        log.exception("finishing the live session failed")
        conn.send(("error", f"{type(exc).__name__}: {exc}"))


class RemoteAnalyser:
    """The session's analysis, run by a child process; call from one thread (the session's pipeline thread)."""

    def __init__(self, config: SessionConfig) -> None:
        from vision.model import resolve_model

        resolve_model(config.model)  # a bad model is refused here, in the caller's thread
        self.config = config
        # A fresh interpreter (not multiprocessing: its "spawn" re-runs the parent's __main__, which under
        # Streamlit is the page script), talking through two pipes.
        p2c_r, p2c_w = os.pipe()
        c2p_r, c2p_w = os.pipe()
        try:
            root = str(Path(__file__).resolve().parent.parent)  # importable even when not installed
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
            self._proc = subprocess.Popen([sys.executable, "-m", "exercises.session_worker", str(p2c_r), str(c2p_w)],
                                          pass_fds=(p2c_r, c2p_w), stdin=subprocess.DEVNULL, env=env,
                                          start_new_session=True)  # Ctrl-C reaches the parent only
        except BaseException:
            for fd in (p2c_r, p2c_w, c2p_r, c2p_w):
                os.close(fd)
            raise
        os.close(p2c_r)
        os.close(c2p_w)
        self._tx, self._conn = Connection(p2c_w, readable=False), Connection(c2p_r, writable=False)
        self._tx.send(config)
        self._ready = False
        self._cancel = threading.Event()
        self._pending: list[tuple[str, int, str]] = []
        self._assigned: dict[int, str] = {}
        self._summary: SessionSummary | None = None
        self.frames = 0

    # ------------------------------------------------------------------ SessionAnalyser's interface
    def command(self, cmd: str, track_id: int, value: str) -> None:
        """Queued and handed over with the next frame."""
        if cmd == "assign":
            self._assigned[track_id] = value
        self._pending.append((cmd, track_id, value))

    def exercise_of(self, track_id: int) -> str:
        """The exercise this person is checked for."""
        return self._assigned.get(int(track_id), self.config.exercise)

    def analyse(self, frame: Frame, dropped: int) -> LiveUpdate:
        """Send one frame, wait for its update."""
        self._wait_ready()
        self._send(("frame", frame, dropped, self._take()))
        update: LiveUpdate = self._receive("update")
        self.frames = update.frames
        return update

    def cancel(self) -> None:
        """From any thread: stop waiting for a child that is still starting (it is then killed by :meth:`finish`)."""
        self._cancel.set()

    def finish(self) -> None:
        """End the analysis and fetch the summary (what was counted, even after an error)."""
        if self._summary is not None or (not self._alive() and not self._conn.poll()):
            return
        if not self._ready and self._cancel.is_set():  # nothing was analysed: no summary to wait for
            self._proc.kill()
            return
        try:
            self._wait_ready()
            self._send(("end", self._take()))
            self._summary = self._receive("summary", 60.0)
        except AnalysisProcessError as exc:
            log.warning("no summary from the analysis process: %s", exc)

    def summary(self, *, ended: bool, end_reason: str | None, error: str | None, dropped: int) -> SessionSummary:
        """The child's summary with the session's own ending (empty while running)."""
        if not ended or self._summary is None:
            return SessionSummary(end_reason=end_reason, error=error, frames=self.frames, dropped=dropped,
                                  duration_s=0.0, fps=0.0, people=())
        return replace(self._summary, end_reason=end_reason, error=error, dropped=dropped)

    def close(self) -> None:
        """Stop the child process (it ends by itself after :meth:`finish`)."""
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.warning("the analysis process did not end; terminating it")
            self._proc.kill()
            self._proc.wait(timeout=5)
        self._tx.close()
        self._conn.close()

    # ------------------------------------------------------------------ plumbing
    def _alive(self) -> bool:
        return self._proc.poll() is None

    def _take(self) -> list[tuple[str, int, str]]:
        out, self._pending = self._pending, []
        return out

    def _send(self, msg: tuple[Any, ...]) -> None:
        try:
            self._tx.send(msg)
        except (BrokenPipeError, EOFError, OSError) as exc:
            raise AnalysisProcessError(f"the analysis process is gone (exit code {self._proc.returncode})") from exc

    def _receive(self, kind: str, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._conn.poll(0.1):
            if kind == "ready" and self._cancel.is_set():
                raise AnalysisCancelled("stopped while the analysis process was starting")
            if not self._alive() and not self._conn.poll():
                raise AnalysisProcessError(f"the analysis process ended (exit code {self._proc.returncode})")
            if deadline is not None and time.monotonic() > deadline:
                raise AnalysisProcessError(f"no answer from the analysis process within {timeout:.0f} s")
        try:
            got, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise AnalysisProcessError(f"the analysis process is gone (exit code {self._proc.returncode})") from exc
        if got == "error":
            raise AnalysisProcessError(value)
        if got != kind:
            raise AnalysisProcessError(f"expected {kind!r} from the analysis process, got {got!r}")
        return value

    def _wait_ready(self) -> None:
        if not self._ready:
            self._receive("ready", START_TIMEOUT_S)
            self._ready = True


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - runs in the child process
    """``python -m exercises.session_worker READ_FD WRITE_FD`` (started by :class:`RemoteAnalyser`)."""
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s[analysis]: %(message)s")
    os.nice(CHILD_NICE)
    _child(Connection(int(args[0]), writable=False), Connection(int(args[1]), readable=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
