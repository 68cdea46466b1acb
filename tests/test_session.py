"""LiveSession: threads and queues, per-person exercises and names, stopping, camera loss, summaries.

Most tests drive the real exercise engines with exactly known motion: a scripted pipeline
hands the session the projected landmarks of people rendered by :mod:`synth` (no pixels,
no pose model), so rep counts are known. One test runs the real pipeline on a sample clip.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from exercises.pipeline import StepResult
from exercises.session import (
    END_CAMERA_LOST,
    END_ERROR,
    END_SOURCE,
    END_STOPPED,
    LiveSession,
    SessionConfig,
)
from vision.capture import CameraUnavailableError, CaptureError, VideoNotFoundError
from vision.frame import Frame
from vision.landmarks import NUM_LANDMARKS

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60.0  # safety net for waits; never an assertion about speed


@dataclass
class Motion:
    """Per frame: ``xy`` (P, 33, 2) of P people and the truth ``reps_done`` per person."""

    fps: int
    size: tuple[int, int]
    xy: np.ndarray  # (n_frames, P, 33, 2)
    reps_done: np.ndarray  # (n_frames, P)

    @property
    def n(self) -> int:
        return len(self.xy)


@functools.cache
def squat_motion() -> Motion:
    """Two people, each doing 2 squats filmed from the side, as a perfect 2D detector sees them."""
    from synth.generate import ClipRenderer, ClipSpec, PersonSpec

    spec = ClipSpec(people=(PersonSpec("squat", reps=2, position=(-0.7, 0.0)),
                            PersonSpec("squat", reps=2, position=(0.7, 0.0), delay_s=0.5)),
                    azimuth=90.0, view="side", fps=30, size=(640, 360), fill=0.8)
    r = ClipRenderer(spec)
    xy = np.array([[r.camera.project(seq[i].landmarks()) for seq in r.poses] for i in range(r.n_frames)],
                  np.float32)
    reps = np.array([[r.state(k, i).reps_done for k in range(2)] for i in range(r.n_frames)])
    return Motion(spec.fps, spec.size, xy, reps)


@pytest.fixture(scope="module")
def two_squatters() -> Motion:
    return squat_motion()


class ScriptedPipeline:
    """Stands in for :class:`~exercises.pipeline.Pipeline`: frame ``i`` carries the people of ``motion`` frame ``i``."""

    def __init__(self, motion: Motion | None, people: list[int] | None = None,
                 gate: threading.Event | None = None) -> None:
        self.motion, self.people, self.gate = motion, people, gate
        self.entered = threading.Event()
        self.done = threading.Semaphore(0)  # released after each analysed frame
        self.configs: list[Any] = []
        self.closed = False
        self.seen: list[int] = []
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, config: Any) -> ScriptedPipeline:  # the session's pipeline factory
        self.configs.append(config)
        return self

    def step(self, frame: Frame) -> StepResult:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(TIMEOUT)
        self.seen.append(frame.index)
        self.shapes.append(frame.image.shape)
        self.done.release()
        if self.motion is None or frame.index >= self.motion.n:
            return StepResult(frame=frame)
        rows = self.people if self.people is not None else list(range(self.motion.xy.shape[1]))
        p = len(rows)
        tracked = frame.replace(width=self.motion.size[0], height=self.motion.size[1]).with_people(
            xy=self.motion.xy[frame.index, rows], z=np.zeros((p, NUM_LANDMARKS)),
            visibility=np.ones((p, NUM_LANDMARKS)), world=np.full((p, NUM_LANDMARKS, 3), np.nan),
            track_id=np.array(rows, np.int64))
        return StepResult(frame=tracked)

    def close(self) -> None:
        self.closed = True


def _image(motion: Motion) -> np.ndarray:
    w, h = motion.size
    return np.full((h, w, 3), 90, np.uint8)


def _push_range(session: LiveSession, motion: Motion, start: int, stop: int) -> None:
    img = _image(motion)
    for i in range(start, stop):
        assert session.push(img, t_ms=round(i * 1000 / motion.fps), wait=True)


def _wait_for_index(session: LiveSession, index: int) -> Any:
    """Poll until the update of frame ``index`` has arrived (event-driven; the timeout is a safety net)."""
    update = None
    deadline = 200
    while deadline:
        update = session.poll(timeout=0.5)
        if update is not None and update.index >= index:
            return update
        deadline -= 1
    pytest.fail(f"no update for frame {index} (last: {update.index if update else None})")


def _by(summary: Any) -> dict[tuple[int, str], Any]:
    return {(p.track_id, p.exercise): p for p in summary.people}


def test_two_people_counted_separately(two_squatters: Motion) -> None:
    pipe = ScriptedPipeline(two_squatters)
    session = LiveSession(SessionConfig(exercise="squat", people=2), pipeline_factory=pipe)
    session.start_external()
    _push_range(session, two_squatters, 0, two_squatters.n)
    last = _wait_for_index(session, two_squatters.n - 1)
    summary = session.stop()
    assert summary.end_reason == END_STOPPED
    assert pipe.closed
    assert pipe.configs[0].exercise is None and pipe.configs[0].people == 2  # the session routes to its engines
    assert summary.frames == two_squatters.n and summary.dropped == 0
    people = _by(summary)
    assert set(people) == {(0, "squat"), (1, "squat")}
    truth = two_squatters.reps_done[-1]
    assert [people[(k, "squat")].reps for k in (0, 1)] == [int(truth[0]), int(truth[1])] == [2, 2]
    assert {p.track_id for p in last.people} == {0, 1} and all(p.visible for p in last.people)
    assert last.person(1).overlay["big"] == "2"
    assert set(summary.reports) == {"squat"}
    assert [p["reps"] for p in summary.reports["squat"]["people"]] == [2, 2]


def test_each_person_gets_their_own_exercise_and_name(two_squatters: Motion) -> None:
    pipe = ScriptedPipeline(two_squatters)
    session = LiveSession(SessionConfig(exercise="squat", people=2), pipeline_factory=pipe)
    session.assign(1, "plank")
    session.set_name(0, "  Anna ")
    session.start_external()
    _push_range(session, two_squatters, 0, two_squatters.n)
    last = _wait_for_index(session, two_squatters.n - 1)
    anna, other = last.person(0), last.person(1)
    assert (anna.name, anna.exercise, other.exercise) == ("Anna", "squat", "plank")
    assert anna.overlay["lines"][0] == "Anna"  # the name is drawn with the person's panel
    assert other.overlay["kind"] == "hold" and other.overlay["exercise"] == "plank"
    summary = session.stop()
    people = _by(summary)
    assert set(people) == {(0, "squat"), (1, "plank")}  # person 1 never went to the squat engine
    assert people[(0, "squat")].reps == 2 and people[(0, "squat")].name == "Anna"
    assert people[(1, "plank")].hold_s == 0.0 and not people[(1, "plank")].engaged
    assert set(summary.reports) == {"squat", "plank"}
    assert [p.track_id for p in summary.engaged] == [0]


def test_reassigning_mid_session_keeps_the_counts_so_far(two_squatters: Motion) -> None:
    m = two_squatters
    # A frame well after person 0's first rep and before their second one starts.
    after_first = int(np.flatnonzero(m.reps_done[:, 0] >= 1)[0]) + 3
    assert m.reps_done[after_first, 0] == 1
    session = LiveSession(SessionConfig(exercise="squat", people=2), pipeline_factory=ScriptedPipeline(m, [0]))
    session.start_external()
    _push_range(session, m, 0, after_first)
    assert _wait_for_index(session, after_first - 1).person(0).overlay["reps"] == 1
    session.assign(0, "lunge")
    _push_range(session, m, after_first, m.n)
    last = _wait_for_index(session, m.n - 1)
    assert last.person(0).exercise == "lunge"
    people = _by(session.stop())
    assert people[(0, "squat")].reps == 1  # what was counted before the switch stays
    assert (0, "lunge") in people


def test_unknown_exercise_is_refused_in_the_callers_thread() -> None:
    from exercises.definition import DefinitionError

    session = LiveSession(SessionConfig(), pipeline_factory=ScriptedPipeline(None))
    with pytest.raises(DefinitionError):
        session.assign(0, "handstand")


class _DyingCamera:
    """A live source that delivers ``n`` frames of ``motion`` and then stops (a pulled USB cable).

    It hands over the next frame only once the previous one was analysed (a camera exactly as
    fast as the analysis), so no frame is dropped and the counts are exact.
    """

    is_live = True

    def __init__(self, motion: Motion, n: int, error: bool, analysed: threading.Semaphore) -> None:
        self.motion, self.n, self.error, self.analysed = motion, n, error, analysed
        self.closed = False

    def __iter__(self) -> Any:
        img = _image(self.motion)
        for i in range(self.n):
            if i:
                assert self.analysed.acquire(timeout=TIMEOUT)
            yield Frame(index=i, t_ms=round(i * 1000 / self.motion.fps), image=img)
        if self.error:
            raise CaptureError("camera 0 stopped delivering images")

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("error", [False, True])
def test_camera_lost_ends_cleanly_and_keeps_the_counts(two_squatters: Motion, monkeypatch: pytest.MonkeyPatch,
                                                       error: bool) -> None:
    m = two_squatters
    n = int(np.flatnonzero(m.reps_done[:, 0] >= 1)[0]) + 5  # dies after person 0's first rep
    pipe = ScriptedPipeline(m, [0])
    camera = _DyingCamera(m, n, error, pipe.done)
    opened: list[dict[str, Any]] = []

    def fake_open(source: Any, **kw: Any) -> _DyingCamera:
        opened.append({"source": source, **kw})
        return camera

    monkeypatch.setattr("exercises.session.open_video", fake_open)
    session = LiveSession(SessionConfig(exercise="squat", people=2), pipeline_factory=pipe)
    session.start(0)
    assert session.wait(TIMEOUT), "the session should end by itself when the camera is lost"
    summary = session.stop()
    assert summary.end_reason == END_CAMERA_LOST
    assert (summary.error is not None) == error
    assert camera.closed
    assert opened[0]["source"] == 0 and opened[0]["prefetch"] == 0
    assert summary.frames == n
    assert _by(summary)[(0, "squat")].reps == 1


def test_camera_unavailable_is_raised_at_start() -> None:
    session = LiveSession(SessionConfig(), pipeline_factory=ScriptedPipeline(None))
    with pytest.raises(CameraUnavailableError):
        session.start(97)  # no such camera on any test machine
    assert session.finished and not session.running
    assert session.stop().end_reason == END_ERROR


def test_missing_file_is_raised_at_start(tmp_path: Path) -> None:
    session = LiveSession(SessionConfig(), pipeline_factory=ScriptedPipeline(None))
    with pytest.raises(VideoNotFoundError):
        session.start(tmp_path / "nope.mp4")
    assert session.finished


def test_a_busy_analysis_drops_the_oldest_frames_not_the_newest() -> None:
    gate = threading.Event()
    pipe = ScriptedPipeline(None, gate=gate)
    session = LiveSession(SessionConfig(frame_queue=2), pipeline_factory=pipe)
    session.start_external()
    img = np.zeros((48, 64, 3), np.uint8)
    assert session.push(img, t_ms=0)
    assert pipe.entered.wait(TIMEOUT)  # frame 0 is being analysed and holds the pipeline
    for i in range(1, 10):
        assert session.push(img, t_ms=i * 33)
    gate.set()
    assert _wait_for_index(session, 9).index == 9
    summary = session.stop()
    assert pipe.seen == [0, 8, 9]  # the newest frames, in order
    assert summary.dropped == 7 and summary.frames == 3
    assert not session.push(img), "a stopped session takes no more frames"


def test_no_person_time_and_pictures_for_the_browser() -> None:
    session = LiveSession(SessionConfig(image_width=32), pipeline_factory=ScriptedPipeline(None))
    assert session.fetch_image() is None
    session.start_external()
    img = np.full((48, 64, 3), 7, np.uint8)
    for i in range(4):
        session.push(img, t_ms=i * 500, wait=True)
    update = _wait_for_index(session, 3)
    assert update.num_people == 0 and update.no_person_s == pytest.approx(1.5)
    picture = session.fetch_image()
    assert picture is not None and picture.shape == (24, 32, 3)  # scaled to image_width
    assert session.fetch_image() is picture  # nothing new: the last one again
    session.stop()


def test_an_unwatched_session_stops_by_itself() -> None:
    now = [0.0]
    session = LiveSession(SessionConfig(idle_timeout_s=5.0), pipeline_factory=ScriptedPipeline(None),
                          clock=lambda: now[0])
    session.start_external()
    session.poll()
    assert not session.wait(0.5)  # watched recently: keeps running
    now[0] = 6.0
    assert session.wait(TIMEOUT)
    assert session.stop().end_reason == END_STOPPED


def test_started_once_only() -> None:
    session = LiveSession(SessionConfig(), pipeline_factory=ScriptedPipeline(None))
    session.start_external()
    with pytest.raises(RuntimeError):
        session.start_external()
    session.stop()


def test_real_pipeline_on_a_sample_clip() -> None:
    clip = ROOT / "samples" / "pose2sim_singleperson_cam01.mp4"
    from vision.capture import open_video

    with open_video(clip) as src:
        n = sum(1 for _ in src)
    with LiveSession(SessionConfig(exercise="squat", people=2, image_width=480)) as session:
        session.start(clip)  # unpaced file: every frame is analysed
        assert session.wait(TIMEOUT * 3)
        update = session.poll()
        summary = session.stop()
    assert summary.end_reason == END_SOURCE and summary.error is None
    assert summary.frames == n and summary.dropped == 0
    assert update is not None and update.frames == n and update.num_people >= 1
    assert update.image is not None and update.image.shape[1] == 480
    assert summary.fps > 0


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        SessionConfig(people=0)
    with pytest.raises(ValueError):
        replace(SessionConfig(), frame_queue=0)


@pytest.mark.parametrize("every", [18, 40])
def test_people_are_found_when_the_analysis_runs_at_a_few_frames_per_second(every: int) -> None:
    """A busy machine analyses only every n-th camera frame (300 ms / 670 ms apart): people are still reported."""
    from vision.capture import open_video

    with open_video(ROOT / "samples" / "pose2sim_singleperson_cam01.mp4") as src:
        frames = [f for f in src if f.index % every == 0]  # a 60 fps clip
    seen = []
    with LiveSession(SessionConfig(exercise="squat", people=1)) as session:
        session.start_external()
        for f in frames:
            session.push(f.image, t_ms=f.t_ms, wait=True)
            seen.append(_wait_for_index(session, len(seen)).num_people)
    assert sum(n > 0 for n in seen) >= len(seen) - 2, seen  # the tracker confirms a person on the 3rd sighting


class _SlowFile:
    """A video file that decodes slower than real time: each frame advances the clock by two frame periods."""

    is_live = False

    def __init__(self, n: int, clock: list[float]) -> None:
        self.n, self.clock = n, clock

    def __iter__(self) -> Any:
        img = np.zeros((36, 64, 3), np.uint8)
        for i in range(self.n):
            self.clock[0] += 2 / 30
            yield Frame(index=i, t_ms=round(i * 1000 / 30), image=img)

    def close(self) -> None:
        pass


def test_a_paced_file_that_decodes_slower_than_real_time_still_delivers(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr("exercises.session.open_video", lambda source, **kw: _SlowFile(60, now))
    pipe = ScriptedPipeline(None)
    session = LiveSession(SessionConfig(), pipeline_factory=pipe, clock=lambda: now[0])
    session.start("class.mp4", pace=True)
    assert session.wait(TIMEOUT), "pacing must not wait for a future that never comes"
    summary = session.stop()
    assert summary.end_reason == END_SOURCE
    assert pipe.seen and pipe.seen[-1] == 59  # frames flowed to the end; late ones may be dropped
    assert summary.frames + summary.dropped == 60


def test_big_frames_are_scaled_down_before_the_analysis() -> None:
    pipe = ScriptedPipeline(None)
    with LiveSession(SessionConfig(max_side=960), pipeline_factory=pipe) as session:
        session.start_external()
        session.push(np.zeros((1920, 1080, 3), np.uint8), t_ms=0, wait=True)  # a portrait phone video
        session.push(np.zeros((480, 640, 3), np.uint8), t_ms=40, wait=True)  # a webcam
        _wait_for_index(session, 1)
    assert pipe.shapes == [(960, 540, 3), (480, 640, 3)]


# ----------------------------------------------------------------------------- analysis in a child process
def test_analysis_in_a_child_process_counts_like_the_pipeline() -> None:
    """``process=True`` (the app's mode): same counts, names and summary as in-process, on a rendered clip."""
    import gzip
    import json

    clip = ROOT / "samples" / "synth" / "squat_side.mp4"
    truth = json.loads(gzip.open(clip.with_suffix(".json.gz"), "rt", encoding="utf-8").read())
    with LiveSession(SessionConfig(exercise="squat", people=1, image_width=320, process=True)) as session:
        session.set_name(0, "Frau M.")
        session.start(clip)  # unpaced file: every frame is analysed
        assert session.wait(TIMEOUT * 3)
        update = session.poll()
        summary = session.stop()
    assert summary.end_reason == END_SOURCE and summary.error is None
    assert summary.frames == truth["n_frames"] and summary.dropped == 0
    assert update is not None and update.image is not None and update.image.shape[1] == 320
    (person,) = summary.engaged
    assert person.reps == truth["people"][0]["reps"] and person.exercise == "squat"
    assert person.name == ("Frau M." if person.track_id == 0 else "")
    assert summary.reports["squat"]["people"][0]["reps"] == person.reps


def test_a_dead_analysis_process_ends_the_session_with_an_error() -> None:
    with LiveSession(SessionConfig(process=True)) as session:
        session.start_external()
        img = np.zeros((48, 64, 3), np.uint8)
        session.push(img, t_ms=0, wait=True)
        _wait_for_index(session, 0)
        session._an._proc.kill()  # type: ignore[union-attr]  # a crash of the child (out of memory, a native fault)
        session.push(img, t_ms=40, wait=True)
        assert session.wait(TIMEOUT), "the session must end, not hang, when its analysis process dies"
        summary = session.stop()
    assert summary.end_reason == END_ERROR and "analysis process" in (summary.error or "")
    assert summary.frames == 1


def test_stopping_while_the_analysis_process_starts_is_a_plain_stop() -> None:
    session = LiveSession(SessionConfig(process=True))
    session.start_external()
    session.push(np.zeros((48, 64, 3), np.uint8), t_ms=0, wait=True)
    summary = session.stop()  # at once: the child is still importing the pose stack
    assert summary.end_reason == END_STOPPED and summary.error is None
    assert not session.running
