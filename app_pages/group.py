"""Group session: one camera or video with several people; one tile per tracked person.

The therapist names each tile and can give each person their own exercise; the
:class:`~exercises.session.LiveSession` routes every person to the engine of their exercise.
Track ids come from the tracker, which keeps them when people cross.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from app_pages.common import (
    LIVE_MAX_FPS,
    LIVE_PROCESS,
    LIVE_REFRESH_S,
    default_sample,
    exercise_select,
    labels,
    lang,
    model_path,
    page_guard,
    profile,
    sample_label,
    sample_videos,
    t,
    video_upload,
)
from app_pages.live_view import open_session, start_stop, summary_view, tile
from exercises.session import LiveSession, LiveUpdate, SessionConfig

KEY = "group_session"
TILES_PER_ROW = 2
#: a tile stays this long after its person left the picture (detection flickers; people step out briefly)
TILE_KEEP_S = 10.0


def _tiles_for(update: LiveUpdate) -> list:
    """People with a tile: everyone seen in the last seconds, plus those who exercised or were named (by id)."""
    keep = [p for p in update.people
            if p.away_s <= TILE_KEEP_S or p.name or p.overlay.get("reps") or p.overlay.get("hold_s")]
    return sorted(keep, key=lambda p: p.track_id)


@st.fragment(run_every=LIVE_REFRESH_S)
def _group_view() -> None:
    session: LiveSession | None = st.session_state.get(KEY)
    if session is None:
        return
    update = session.poll()
    if session.finished:
        st.session_state["group_summary"] = st.session_state.pop(KEY).stop()
        st.rerun()
    if update is None:
        st.info(t("live.waiting"))
        return
    col_img, col_tiles = st.columns([1, 1])
    with col_img:
        if update.image is not None:
            st.image(update.image, channels="BGR", width="stretch")
        st.caption(t("live.fps", fps=f"{update.fps:.1f}", people=update.num_people))
    people = _tiles_for(update)
    with col_tiles:
        if not people:
            st.warning(t("live.no_person"), icon=":material/person_search:")
        for row in range(0, len(people), TILES_PER_ROW):
            cols = st.columns(TILES_PER_ROW)
            for col, person in zip(cols, people[row:row + TILES_PER_ROW], strict=False):
                with col:
                    tile(session, person, update)


def _source() -> str | None:
    """A camera index / stream URL, a bundled sample or an uploaded video (as a path)."""
    kind = st.radio(t("group.source"), ["sample", "camera", "upload"], horizontal=True, key="group_source",
                    format_func=labels("group.source_"))
    if kind == "camera":
        return st.text_input(t("live.camera"), value="0", help=t("live.camera_help"), key="group_camera")
    if kind == "sample":
        samples = sample_videos()
        default = default_sample(group=True)
        idx = samples.index(default) if default in samples else 0
        return str(st.selectbox(t("review.sample"), samples, index=idx, format_func=sample_label, key="group_sample"))
    up = video_upload("group_upload")
    if up is None:
        return None
    # Kept only in a temporary folder for this browser session; removed when the session is stopped.
    tmp = st.session_state.setdefault("group_tmp", tempfile.TemporaryDirectory(prefix="formcheck-group-"))
    path = Path(tmp.name) / Path(up.name).name
    if not path.exists():
        path.write_bytes(up.getvalue())
    return str(path)


def _make() -> LiveSession:
    """The session for the current choices (read from the widgets' state at click time)."""
    ss = st.session_state
    kind = ss.get("group_source", "sample")
    source = {"camera": lambda: ss.get("group_camera", "0"), "sample": lambda: str(ss.get("group_sample", "")),
              "upload": lambda: ss.get("group_upload_path") or ""}[kind]()
    config = SessionConfig(exercise=ss["group_exercise"], lang=lang(), people=int(ss["group_people"]),
                           model=model_path(), profile=profile(), idle_timeout_s=30.0, target_fps=LIVE_MAX_FPS,
                           process=LIVE_PROCESS)
    return open_session(config, source, loop=kind == "sample")  # a short sample repeats like a live class


with page_guard():
    st.title(t("group.title"))
    st.caption(t("group.intro"))
    running = st.session_state.get(KEY) is not None
    source = _source()
    st.session_state["group_upload_path"] = source if st.session_state.get("group_source") == "upload" else None
    c_ex, c_people = st.columns([2, 1])
    with c_ex:
        exercise_select("group.default_exercise", "group_exercise")
    with c_people:
        st.number_input(t("group.people"), min_value=2, max_value=6, value=4, key="group_people", disabled=running)
    if start_stop("group", KEY, "group_summary", _make, can_start=bool(source)):
        _group_view()
    summary = st.session_state.get("group_summary")
    if summary is not None:
        summary_view(summary, group=True, key="group-summary")
