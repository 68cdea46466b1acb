"""The live coaching and group session pages, driven with ``streamlit.testing.v1.AppTest`` (no browser).

Start, stop and summary, the browser camera (with a stand-in for the WebRTC component), group tiles
with names and exercises, and every error path: camera unavailable, camera lost mid-session, nobody
in the picture, person too far away, an unusable model, a failed analysis, bad uploads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_app import SAMPLE, TIMEOUT, _find_big, _page, _watch

from app_pages.i18n import table
from exercises.session import LiveSession, SessionConfig


# ----------------------------------------------------------------------------- live coaching
def test_live_camera_unavailable_shows_a_message() -> None:
    at = _page("app_pages/live.py")
    at.text_input(key="live_camera").set_value("9").run()
    at.button(key="live_start").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [table()["error.camera_unavailable"]["de"]]
    assert "live_session" not in at.session_state
    assert not at.button(key="live_start").disabled


def test_live_shows_counter_and_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORMCHECK_LIVE_PACE_FILES", "0")  # a file as camera, every frame analysed
    at = _page("app_pages/live.py")
    assert "von vorn oder seitlich" in at.markdown[0].value  # camera placement for the squat
    at.text_input(key="live_camera").set_value(str(SAMPLE)).run()
    at.button(key="live_start").click().run()
    session: LiveSession = at.session_state["live_session"]
    assert at.button(key="live_stop").disabled is False and at.button(key="live_start").disabled
    assert _watch(session)
    at.run()  # the live view sees the end and shows the summary
    assert not at.exception
    summary = at.session_state["live_summary"]
    assert "live_session" not in at.session_state
    assert "Das Video ist zu Ende." in [i.value for i in at.info]
    assert summary.end_reason == "source_ended" and summary.frames > 0
    engaged = summary.engaged
    expected = str(engaged[0].reps) if engaged else None
    assert _find_big(at, "live-summary-total") == expected
    assert not at.button(key="live_start").disabled


def test_live_stop_ends_the_session_and_keeps_the_summary() -> None:
    at = _page("app_pages/live.py")
    at.text_input(key="live_camera").set_value(str(SAMPLE)).run()  # paced: plays like a camera
    at.button(key="live_start").click().run()
    session: LiveSession = at.session_state["live_session"]
    assert session.running
    at.button(key="live_stop").click().run()
    assert not at.exception and not session.running
    assert at.session_state["live_summary"].end_reason in ("stopped", "source_ended")
    assert at.subheader[-1].value == "Zusammenfassung"


def test_live_says_when_nobody_is_in_the_picture_and_when_the_person_is_too_far() -> None:
    from dataclasses import replace

    import numpy as np
    from test_session import ScriptedPipeline, _push_range, _wait_for_index, squat_motion

    motion = squat_motion()
    centre = np.array([motion.size[0] / 2, motion.size[1] / 2], np.float32)
    far = replace(motion, xy=(motion.xy - motion.xy.mean(axis=(0, 1, 2))) * 0.15 + centre)  # a small person
    with LiveSession(SessionConfig(exercise="squat"), pipeline_factory=ScriptedPipeline(far, [0])) as session:
        session.start_external()
        _push_range(session, far, 0, 30)
        _wait_for_index(session, 29)
        at = _page("app_pages/live.py", live_session=session)
        assert _find_big(at, "live-setup") == "Etwas näher zur Kamera"  # the engine's setup guidance, large
    with LiveSession(SessionConfig(exercise="squat"), pipeline_factory=ScriptedPipeline(None)) as session:
        session.start_external()
        _push_range(session, far, 0, 40)  # frames without anybody for 1.3 s
        _wait_for_index(session, 39)
        at = _page("app_pages/live.py", live_session=session)
        assert table()["live.no_person"]["de"] in [w.value for w in at.warning]
        assert _find_big(at, "live-counter") == "0"


def test_live_browser_camera_with_an_unusable_model_shows_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeWebRtc()
    fake.playing = True  # the browser plays: the page starts the session, which refuses the model
    monkeypatch.setattr("streamlit_webrtc.webrtc_streamer", fake)
    at = _page("app_pages/live.py", model_path="/nowhere/pose_landmarker_heavy.task")
    at.radio(key="live_source").set_value("browser").run()
    assert not at.exception
    assert [e.value for e in at.error] == [table()["error.model"]["de"]]
    assert "live_rtc_session" not in at.session_state


class _DyingCamera:
    """A live camera that delivers the frames of a clip and then stops (a pulled cable)."""

    is_live = True

    def __init__(self, clip: Path) -> None:
        self.clip = clip

    def __iter__(self) -> Any:
        from vision.capture import open_video

        with open_video(self.clip) as src:
            yield from src

    def close(self) -> None:
        pass


def test_live_camera_lost_mid_session_keeps_what_was_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("exercises.session.open_video", lambda source, **kw: _DyingCamera(SAMPLE))
    at = _page("app_pages/live.py")
    at.button(key="live_start").click().run()
    session: LiveSession = at.session_state["live_session"]
    assert _watch(session)
    at.run()
    assert not at.exception
    summary = at.session_state["live_summary"]
    assert summary.end_reason == "camera_lost" and summary.frames > 0
    assert [w.value for w in at.warning] == [table()["live.camera_lost"]["de"]]
    assert at.subheader[-1].value == "Zusammenfassung"


class _FakeWebRtc:
    """Stands in for ``streamlit_webrtc.webrtc_streamer`` (which needs a browser): records its arguments
    and reports ``playing`` as the test sets it."""

    def __init__(self) -> None:
        self.playing = False
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kw: Any) -> Any:
        from types import SimpleNamespace

        self.calls.append(kw)
        return SimpleNamespace(state=SimpleNamespace(playing=self.playing))


def test_live_browser_camera_starts_and_stops_with_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    import av
    import numpy as np

    fake = _FakeWebRtc()
    monkeypatch.setattr("streamlit_webrtc.webrtc_streamer", fake)
    at = _page("app_pages/live.py")
    at.radio(key="live_source").set_value("browser").run()
    assert not at.exception and not at.error
    kw = fake.calls[-1]
    assert kw["rtc_configuration"] == {"iceServers": []}  # no STUN/TURN server: nothing leaves the network
    assert kw["media_stream_constraints"] == {"video": {"width": {"ideal": 640}, "frameRate": {"ideal": 15.0}},
                                              "audio": False}
    assert kw["translations"]["start"] == "Start" and kw["translations"]["select_device"] == "Kamera wählen"
    session: LiveSession = at.session_state["live_rtc_session"]
    assert not session.started  # starts when the browser plays
    fake.playing = True
    at.run()
    assert session.running and not at.exception
    callback = fake.calls[-1]["video_frame_callback"]
    img = np.full((120, 160, 3), 80, np.uint8)
    out = callback(av.VideoFrame.from_ndarray(img, format="bgr24"))
    assert isinstance(out, av.VideoFrame)
    assert session.poll(timeout=TIMEOUT) is not None  # the pushed frame was analysed
    fake.playing = False
    at.run()
    assert not session.running and "live_rtc_session" not in at.session_state
    assert at.session_state["live_summary"].frames == 1
    assert at.subheader[-1].value == "Zusammenfassung"


class _FailingPipeline:
    """A pipeline whose analysis fails on the third frame (a bug, a native crash in the child)."""

    def __init__(self, config: Any) -> None:
        self.n = 0

    def step(self, frame: Any) -> Any:
        from exercises.pipeline import StepResult

        self.n += 1
        if self.n == 3:
            raise RuntimeError("the pose model crashed")
        return StepResult(frame=frame)

    def close(self) -> None:
        pass


def test_live_browser_camera_keeps_the_summary_when_the_analysis_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    fake = _FakeWebRtc()
    monkeypatch.setattr("streamlit_webrtc.webrtc_streamer", fake)
    monkeypatch.setattr("app_pages.common.LIVE_PROCESS", False)  # the failing pipeline runs in this process
    at = _page("app_pages/live.py")
    at.radio(key="live_source").set_value("browser").run()
    session = LiveSession(at.session_state["live_rtc_session"].config, pipeline_factory=_FailingPipeline)
    at.session_state["live_rtc_session"] = session
    fake.playing = True
    at.run()
    assert session.running
    for i in range(3):
        session.push(np.zeros((48, 64, 3), np.uint8), t_ms=i * 100, wait=True)
    assert session.wait(TIMEOUT)
    at.run()  # the page sees the failed session: its summary with a message, and a new session for the camera
    assert not at.exception
    assert at.session_state["live_summary"].end_reason == "error"
    assert [e.value for e in at.error] == [table()["error.unexpected"]["de"]]
    at.run()
    assert at.session_state["live_rtc_session"] is not session and at.session_state["live_rtc_session"].running
    assert at.session_state["live_summary"].end_reason == "error"  # still shown while the camera plays on
    fake.playing = False
    at.run()
    assert at.session_state["live_summary"].end_reason == "stopped"


# ----------------------------------------------------------------------------- group session
def test_group_tiles_names_and_exercises_reach_the_session() -> None:
    from test_session import ScriptedPipeline, _push_range, _wait_for_index, squat_motion

    motion = squat_motion()
    session = LiveSession(SessionConfig(exercise="squat", people=2), pipeline_factory=ScriptedPipeline(motion))
    session.start_external()
    third = motion.n // 3
    _push_range(session, motion, 0, third)
    _wait_for_index(session, third - 1)
    at = _page("app_pages/group.py", group_session=session)
    assert {"tile-0", "tile-1"} <= {b.key for b in at.get("flex_container")}
    at.text_input(key="group_name_0").set_value("Anna").run()
    at.selectbox(key="group_ex_1_de").set_value("plank").run()
    assert not at.exception
    _push_range(session, motion, third, motion.n)
    _wait_for_index(session, motion.n - 1)
    at.button(key="group_stop").click().run()
    assert not at.exception
    rows = at.dataframe[-1].value.to_dict("records")
    assert {"Person": "Anna", "Übung": "Kniebeuge"}.items() <= rows[0].items()
    assert rows[0]["Wiederholungen"] == 2
    people = {(p.track_id, p.exercise) for p in at.session_state["group_summary"].people}
    assert people == {(0, "squat"), (1, "squat"), (1, "plank")}  # person 1 moved to the plank


def test_group_sample_runs_and_ends_with_a_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORMCHECK_LIVE_PACE_FILES", "0")
    at = _page("app_pages/group.py")
    at.button(key="group_start").click().run()
    session: LiveSession = at.session_state["group_session"]
    assert session.config.people == 4
    assert _watch(session)
    at.run()
    assert not at.exception
    assert at.session_state["group_summary"].end_reason == "source_ended"
    assert at.subheader[-1].value == "Zusammenfassung"


@pytest.mark.parametrize(("source", "key"), [("camera", "error.camera_unavailable"), ("upload", "error.not_a_video"),
                                            ("damaged", "error.undecodable"), ("oversize", "error.too_large")])
def test_group_errors_show_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, key: str) -> None:
    from factories_video import make_clip, truncate

    monkeypatch.setenv("FORMCHECK_MAX_UPLOAD_MB", "0.1")
    at = _page("app_pages/group.py")
    if source == "camera":
        at.radio(key="group_source").set_value("camera").run()
        at.text_input(key="group_camera").set_value("9").run()
    else:
        data = {"upload": b"this is not a video, just some text\n" * 20,
                "damaged": truncate(make_clip(tmp_path / "full.mp4", n=30), tmp_path / "cut.mp4", 0.3).read_bytes()
                if source == "damaged" else b"",
                "oversize": b"\0" * 300_000}[source]
        at.radio(key="group_source").set_value("upload").run()
        at.file_uploader(key="group_upload").set_value((f"{source}.mp4", data, "video/mp4")).run()
    if not at.button(key="group_start").disabled:
        at.button(key="group_start").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].split("(")[0] == table()[key]["de"].split("(")[0]
    assert "group_session" not in at.session_state
