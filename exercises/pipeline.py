"""The one pipeline object that the CLI, the Streamlit app and the tests all drive.

    capture → pose (find + follow people) → tracking → One-Euro filter → exercise engine → drawing

:class:`Pipeline` processes one :class:`~vision.frame.Frame` at a time with
:meth:`Pipeline.step` (live use: webcam, app) and whole videos with
:meth:`Pipeline.run` (CLI, evaluation).  It holds no UI code and the UI holds
no domain logic: what a page shows comes from :class:`StepResult`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exercises.stages import STAGES, PoseThread, SinkThread, StageTimer
from vision.capture import open_video
from vision.filters import PersonFilterBank
from vision.frame import Frame
from vision.geometry import STANDARD_ANGLES, compute_angles
from vision.pose import PoseConfig, PoseEstimator
from vision.tracking import PersonTracker

log = logging.getLogger(__name__)

__all__ = ["ANGLE_NAMES", "STAGES", "AnalysisResult", "Pipeline", "PipelineConfig", "Recorder", "StageTimer",
           "StepResult"]

ANGLE_NAMES: tuple[str, ...] = tuple(d.name for d in STANDARD_ANGLES)

#: a track seen for less than this is listed but not counted as a person in the summary
MIN_PERSON_S = 1.0


@dataclass(frozen=True)
class PipelineConfig:
    """What to analyse and how."""

    people: int = 4
    model: str | None = None
    exercise: str | None = None
    lang: str = "de"
    profiles: str | Path | None = None
    #: analyse at most this many frames per second (None: every frame)
    target_fps: float | None = None
    smooth: bool = True
    draw: bool = True
    #: frames decoded ahead in a background thread, so decoding overlaps inference (0: decode inline)
    prefetch: int = 4
    #: keep per-frame landmarks for ``landmarks.npz`` (off: only per-frame person counts, flat memory)
    record: bool = True
    #: run pose inference in its own thread, overlapping the checking and drawing of the previous frame
    pose_thread: bool = True

    def __post_init__(self) -> None:
        if self.people < 1:
            raise ValueError(f"--people must be at least 1, got {self.people}")
        if self.lang not in ("de", "en"):
            raise ValueError(f"--lang must be 'de' or 'en', got {self.lang!r}")
        if self.target_fps is not None and self.target_fps <= 0:
            raise ValueError(f"--target-fps must be positive, got {self.target_fps}")
        if self.prefetch < 0:
            raise ValueError(f"prefetch must be >= 0, got {self.prefetch}")


@dataclass(frozen=True)
class StepResult:
    """Everything one processed frame produced."""

    frame: Frame  # tracked and (if enabled) smoothed; carries the source image
    events: tuple[Any, ...] = ()
    overlays: dict[int, dict[str, Any]] = field(default_factory=dict)
    image: np.ndarray | None = None  # annotated BGR image, when drawing is on


class Recorder:
    """Per-frame, per-person landmarks and angles, kept compactly for saving.

    With ``landmarks=False`` only the number of people and the time of each frame are kept.
    """

    def __init__(self, landmarks: bool = True) -> None:
        self.landmarks = landmarks
        self.frame_people: list[int] = []
        self.frame_t_ms: list[int] = []
        self._seen: dict[int, list[int]] = {}  # track id -> [first t_ms, last t_ms, frames]
        self._rows: dict[str, list[np.ndarray]] = {k: [] for k in ("frame", "t_ms", "track_id", "xy", "z",
                                                                     "visibility", "world")}

    def add(self, frame: Frame) -> None:
        self.frame_people.append(frame.num_people)
        self.frame_t_ms.append(frame.t_ms)
        p = frame.num_people
        for tid in frame.track_id.tolist():
            seen = self._seen.setdefault(int(tid), [frame.t_ms, frame.t_ms, 0])
            seen[1] = frame.t_ms
            seen[2] += 1
        if not p or not self.landmarks:
            return
        r = self._rows
        r["frame"].append(np.full(p, frame.index, np.int64))
        r["t_ms"].append(np.full(p, frame.t_ms, np.int64))
        r["track_id"].append(frame.track_id.copy())
        r["xy"].append(frame.xy.copy())
        r["z"].append(frame.z.copy())
        r["visibility"].append(frame.visibility.copy())
        r["world"].append(frame.world.copy())

    def arrays(self) -> dict[str, np.ndarray]:
        """Long-format arrays: one row per person per frame."""
        empty = {"frame": (0,), "t_ms": (0,), "track_id": (0,), "xy": (0, 33, 2), "z": (0, 33),
                 "visibility": (0, 33), "world": (0, 33, 3), "angles": (0, len(ANGLE_NAMES))}
        out = {k: (np.concatenate(v) if v else np.zeros(empty[k])) for k, v in self._rows.items()}
        # joint angles for all rows at once (vectorised), not per frame during the run
        angles = compute_angles(out["xy"], visibility=out["visibility"]) if len(out["xy"]) else {}
        out["angles"] = (np.stack([angles[n] for n in ANGLE_NAMES], axis=1).astype(np.float32) if angles
                         else np.zeros(empty["angles"]))
        out["angle_names"] = np.array(ANGLE_NAMES)
        out["frame_people"] = np.array(self.frame_people, np.int32)
        out["frame_t_ms"] = np.array(self.frame_t_ms, np.int64)
        return out

    def tracks(self) -> list[dict[str, Any]]:
        """Per track: id, first and last time seen, number of frames, and whether it was brief."""
        return [{"id": tid, "first_s": round(first / 1000, 3), "last_s": round(last / 1000, 3), "frames": n,
                 "brief": (last - first) / 1000 < MIN_PERSON_S}
                for tid, (first, last, n) in sorted(self._seen.items())]


@dataclass
class AnalysisResult:
    """What :meth:`Pipeline.run` measured; :meth:`summary` is the JSON summary."""

    video: str
    source_fps: float
    width: int
    height: int
    frames: int
    wall_s: float
    recorder: Recorder
    report: dict[str, Any] | None = None
    video_out: str | None = None

    @property
    def detection_rate(self) -> float:
        people = np.array(self.recorder.frame_people)
        return float((people > 0).mean()) if people.size else 0.0

    def summary(self) -> dict[str, Any]:
        """The JSON summary: ``people`` counts tracks seen for at least ``MIN_PERSON_S``."""
        people = self.recorder.frame_people
        tracks = self.recorder.tracks()
        return {
            "video": self.video,
            "width": self.width,
            "height": self.height,
            "source_fps": round(self.source_fps, 3),
            "frames": self.frames,
            "duration_s": round(self.recorder.frame_t_ms[-1] / 1000, 3) if people else 0.0,
            "people": sum(not t["brief"] for t in tracks),
            "tracks": tracks,
            "detection_rate": round(self.detection_rate, 4),
            "max_people_in_frame": int(max(people, default=0)),
            "per_frame_people": people,
            "fps_achieved": round(self.frames / self.wall_s, 2) if self.wall_s > 0 else None,
            "annotated_video": self.video_out,
        }


class Pipeline:
    """capture → pose → tracking → filter → engine → drawing, one frame at a time.

    Use as a context manager so native resources are freed::

        with Pipeline(PipelineConfig(exercise="squat")) as pipe:
            result = pipe.run("samples/synth/squat_front.mp4", video_out="out/annotated.mp4")
    """

    def __init__(self, config: PipelineConfig | None = None, *, timer: StageTimer | None = None) -> None:
        self.config = config or PipelineConfig()
        #: per-stage timings (``formcheck bench``); None: not measured
        self.timer = timer
        cfg = self.config
        self.engine = _make_engine(cfg) if cfg.exercise else None
        self.pose = PoseEstimator(cfg.model, num_poses=cfg.people, config=PoseConfig(max_people=cfg.people))
        self.tracker = PersonTracker()
        self.filters = PersonFilterBank() if cfg.smooth else None

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the pose models."""
        self.pose.close()

    # ------------------------------------------------------------------ live
    def step(self, frame: Frame) -> StepResult:
        """Process one captured frame (with image) and return the result."""
        t0 = time.perf_counter()
        posed = self.pose.process(frame)
        if self.timer is not None:
            self.timer.add("pose", time.perf_counter() - t0)
        return self._after_pose(posed)

    def _after_pose(self, posed: Frame) -> StepResult:
        """Tracking, filtering, the engine and drawing of a frame that already carries its poses."""
        timer = self.timer
        t1 = time.perf_counter()
        tracked = self.tracker.update(posed)
        t2 = time.perf_counter()
        if self.filters is not None:
            tracked = self.filters.apply(tracked)
        t3 = time.perf_counter()
        events: tuple[Any, ...] = ()
        overlays: dict[int, dict[str, Any]] = {}
        if self.engine is not None:
            events = tuple(self.engine.update(tracked) or ())
            overlays = {int(t): self.engine.overlay(int(t)) for t in tracked.track_id}
        t4 = time.perf_counter()
        image = None
        if self.config.draw:
            from exercises.overlay import render

            image = render(tracked, overlays, lang=self.config.lang)
        if timer is not None:
            t5 = time.perf_counter()
            for stage, dt in (("tracking", t2 - t1), ("filter", t3 - t2), ("checking", t4 - t3), ("drawing", t5 - t4)):
                timer.add(stage, dt)
        return StepResult(frame=tracked, events=events, overlays=overlays, image=image)

    # --------------------------------------------------------------- offline
    def run(
        self,
        source: str | int | Path,
        *,
        video_out: str | Path | None = None,
        on_step: Callable[[StepResult], None] | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> AnalysisResult:
        """Analyse a whole video and return what was found.

        ``video_out`` writes the annotated video (``.mp4`` H.264 or ``.webm`` VP9).
        ``progress(done, total)`` is called after each frame.

        Decoding (``config.prefetch`` frames ahead), pose inference (``config.pose_thread``)
        and encoding run in their own threads behind bounded queues (:mod:`exercises.stages`);
        the results are the same as stepping frame by frame.
        """
        from vision.sink import VideoSink

        cfg, timer = self.config, self.timer
        recorder = Recorder(landmarks=cfg.record)
        t0 = time.perf_counter()
        n = 0
        with open_video(source, target_fps=cfg.target_fps, prefetch=cfg.prefetch) as src:
            fps = src.fps if not cfg.target_fps else min(src.fps, cfg.target_fps)
            total = src.frame_count
            if total and cfg.target_fps and cfg.target_fps < src.fps:
                total = int(np.ceil(total * cfg.target_fps / src.fps))
            sink = posing = None
            if video_out:
                sink = SinkThread(VideoSink(video_out, fps=fps, size=(src.width, src.height)), 4, timer)
            try:
                if cfg.pose_thread:
                    posing = PoseThread(iter(src), self.pose.process, 2, timer)
                    results = (self._after_pose(posed) for posed in posing)
                else:
                    results = (self.step(frame) for frame in _timed_frames(src, timer))
                for res in results:
                    t_rec = time.perf_counter()
                    recorder.add(res.frame.without_image())
                    if timer is not None:
                        timer.add("record", time.perf_counter() - t_rec)
                    if sink is not None and res.image is not None:
                        sink.write(res.image)
                    if on_step is not None:
                        on_step(res)
                    n += 1
                    if progress is not None:
                        progress(n, total)
            finally:
                if posing is not None:
                    posing.close()
                if sink is not None:
                    sink.close()
            end_ms = recorder.frame_t_ms[-1] if recorder.frame_t_ms else 0
            report = None
            if self.engine is not None:
                from exercises.report import build_report

                self.engine.finish(end_ms)
                report = build_report(self.engine, video=str(source), fps=src.fps, frames=n)
            return AnalysisResult(
                video=str(source), source_fps=float(src.fps), width=src.width, height=src.height, frames=n,
                wall_s=time.perf_counter() - t0, recorder=recorder, report=report,
                video_out=str(video_out) if video_out else None,
            )


def _timed_frames(frames: Any, timer: StageTimer | None) -> Any:
    """``frames``, timing how long each took to arrive (the ``decode`` stage)."""
    it = iter(frames)
    while True:
        t0 = time.perf_counter()
        frame = next(it, None)
        if frame is None:
            return
        if timer is not None:
            timer.add("decode", time.perf_counter() - t0)
        yield frame


def _make_engine(cfg: PipelineConfig) -> Any:
    from exercises.engine import ExerciseEngine

    return ExerciseEngine(exercise=cfg.exercise, lang=cfg.lang, profiles=cfg.profiles, live=True)
