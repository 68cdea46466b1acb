"""Live coaching: pick an exercise, place the camera, exercise; counter, correction and praise at camera rate.

Two camera sources: this computer's camera (or a stream URL) through OpenCV, or the browser's
camera through WebRTC (works when the app runs on another machine). Either way the frames
go through a :class:`~exercises.session.LiveSession`: capture → queue → analysis → queue → page.
"""

from __future__ import annotations

import logging
import os

import streamlit as st

from app_pages import rtc
from app_pages.common import (
    LIVE_MAX_FPS,
    LIVE_PROCESS,
    LIVE_REFRESH_S,
    camera_guidance,
    exercise_select,
    labels,
    lang,
    model_path,
    page_guard,
    profile,
    show_error,
    t,
)
from app_pages.live_view import open_session, person_status, start_stop, summary_view
from exercises.session import END_ERROR, LiveSession, SessionConfig

log = logging.getLogger("formcheck.app")
#: seconds between refreshes of the status beside the browser camera's picture
RTC_REFRESH_S = max(LIVE_REFRESH_S, 0.5)


def _config(exercise: str) -> SessionConfig:
    return SessionConfig(exercise=exercise, lang=lang(), people=int(os.environ.get("FORMCHECK_LIVE_PEOPLE", "1")),
                         model=model_path(), profile=profile(), idle_timeout_s=30.0, target_fps=LIVE_MAX_FPS,
                         process=LIVE_PROCESS)


def _finish(key: str) -> None:
    """Stop the session in ``st.session_state[key]`` and keep its summary for the page."""
    session: LiveSession | None = st.session_state.pop(key, None)
    if session is not None:
        summary = st.session_state["live_summary"] = session.stop()
        log.info("live session ended (%s): %d frames analysed at %.1f/s, %d dropped, %.1f s",
                 summary.end_reason, summary.frames, summary.fps, summary.dropped, summary.duration_s)


def _live_view(key: str, show_image: bool) -> None:
    """The newest picture and status of the running session (refreshed by the fragments below)."""
    session: LiveSession | None = st.session_state.get(key)
    if session is None:
        return
    update = session.poll()
    if session.finished:
        _finish(key)
        st.rerun()
    if update is None:
        st.info(t("live.waiting"))
        return
    person = update.person()
    if show_image:
        col_img, col_status = st.columns([3, 2])
        with col_img:
            if update.image is not None:
                st.image(update.image, channels="BGR", width="stretch")
        with col_status:
            person_status(person, update, key="live")
    else:
        person_status(person, update, key="live")
    st.caption(t("live.fps", fps=f"{update.fps:.1f}", people=update.num_people))


@st.fragment(run_every=LIVE_REFRESH_S)
def _camera_view(key: str) -> None:
    """This computer's camera: the picture comes from the session, so refresh at camera rate."""
    _live_view(key, show_image=True)


@st.fragment(run_every=RTC_REFRESH_S)
def _rtc_status(key: str) -> None:
    """The browser's camera: the picture comes back over WebRTC; the counter needs fewer refreshes, and each one
    costs the server's event loop, which also carries the camera's connection."""
    _live_view(key, show_image=False)


def _opencv() -> None:
    key = "live_session"
    running = st.session_state.get(key) is not None
    st.text_input(t("live.camera"), value="0", help=t("live.camera_help"), key="live_camera", disabled=running)

    def make() -> LiveSession:
        return open_session(_config(st.session_state["live_exercise"]), st.session_state["live_camera"])

    if start_stop("live", key, "live_summary", make):
        _camera_view(key)


def _browser(exercise: str) -> None:
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    key = "live_rtc_session"
    session: LiveSession | None = st.session_state.get(key)
    config = _config(exercise)
    if session is None or (not session.started and session.config != config):
        session = st.session_state[key] = LiveSession(config)
    names = ("start", "stop", "select_device", "media_api_not_available", "device_ask_permission",
             "device_not_available", "device_access_denied", "turn_camera_on", "turn_camera_off",
             "select_camera")
    col_video, col_status = st.columns([3, 2])
    with col_video:
        ctx = webrtc_streamer(
            key="live-webrtc", mode=WebRtcMode.SENDRECV, video_frame_callback=rtc.frame_callback(session),
            rtc_configuration={"iceServers": rtc.ice_servers()},
            media_stream_constraints=rtc.CAMERA_CONSTRAINTS,
            translations={n: t(f"webrtc.{n}") for n in names}, async_processing=True,
        )
    rtc.watch_event_loop()
    if ctx.state.playing and not session.started:
        previous = st.session_state.get("live_summary")
        if previous is None or previous.end_reason != END_ERROR:  # after a failure the camera played on and a
            st.session_state.pop("live_summary", None)             # new session starts: keep what was counted
        try:
            session.start_external()
        except Exception as exc:
            show_error(exc)
            st.session_state.pop(key, None)
            return
    if session.started and (not ctx.state.playing or session.finished):
        _finish(key)
        return
    if session.running:
        with col_status:
            _rtc_status(key)


with page_guard():
    st.title(t("live.title"))
    exercise = exercise_select("live.exercise", "live_exercise")
    running = any(st.session_state.get(k) is not None and st.session_state[k].running
                  for k in ("live_session", "live_rtc_session"))
    with st.expander(t("live.camera_setup"), expanded=not running), page_guard():
        st.markdown("\n".join(f"- {line}" for line in camera_guidance(exercise)))
    source = st.radio(t("live.source"), ["opencv", "browser"], format_func=labels("live.source_"),
                      horizontal=True, key="live_source")
    st.caption(t("privacy.live"))
    if source == "opencv":
        _opencv()
    else:
        _browser(exercise)
    summary = st.session_state.get("live_summary")
    if summary is not None:
        summary_view(summary, group=False, key="live-summary")
