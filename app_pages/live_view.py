"""Showing a :class:`~exercises.session.LiveSession` on a page: status, tiles and the summary.

Used by the live coaching and the group session pages. Everything shown comes from
:class:`~exercises.session.LiveUpdate` / :class:`~exercises.session.SessionSummary`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import charts
from app_pages.common import big, exercise_ids, exercise_name, lang, msgs, show_error, t
from exercises.session import (
    END_CAMERA_LOST,
    END_ERROR,
    END_SOURCE,
    LiveSession,
    LiveUpdate,
    PersonStatus,
    SessionConfig,
    SessionSummary,
)

SEVERITY_COLORS = {"error": "#c62828", "warning": "#e65100", "info": "#1565c0", "ok": "#2e7d32"}
#: Seconds without anybody in the picture before the page says so.
NO_PERSON_AFTER_S = 1.0


log = logging.getLogger("formcheck.app")

def pace_files() -> bool:
    """Play a video file given as a camera like a live camera (default), or as fast as possible."""
    return os.environ.get("FORMCHECK_LIVE_PACE_FILES", "1") != "0"


def open_session(config: SessionConfig, source: str, *, loop: bool = False) -> LiveSession:
    """A started session on a camera index, stream URL or video file (a file plays like a camera,
    with ``loop`` over and over until stopped).

    Raises what :meth:`LiveSession.start` raises (camera unavailable, not a video, bad model, ...).
    """
    session = LiveSession(config)
    src = source.strip()
    is_file = not src.isdigit() and "://" not in src
    session.start(src, pace=is_file and pace_files(), loop=is_file and loop and pace_files())
    return session


def start_stop(prefix: str, key: str, summary_key: str, make: Callable[[], LiveSession], *,
               can_start: bool = True) -> bool:
    """Start and Stop buttons for the session in ``st.session_state[key]``; True while one runs.

    Both act in ``on_click`` callbacks, before the page is drawn, so the page drawn after a click
    already shows the new state. ``make`` reads the current widget values from ``st.session_state``.
    A failed start shows its translated message; Stop keeps the summary in ``st.session_state[summary_key]``.
    """
    err_key = f"{key}__error"

    def on_start() -> None:
        st.session_state.pop(summary_key, None)
        try:
            st.session_state[key] = make()
        except Exception as exc:
            st.session_state[err_key] = exc

    def on_stop() -> None:
        session = st.session_state.pop(key, None)
        if session is not None:
            t0 = time.perf_counter()
            st.session_state[summary_key] = session.stop()
            log.info("%s session stopped in %.1f s", prefix, time.perf_counter() - t0)

    running = st.session_state.get(key) is not None
    c1, c2, _ = st.columns([1, 1, 3])
    c1.button(t("live.start"), type="primary", disabled=running or not can_start, key=f"{prefix}_start",
              on_click=on_start)
    c2.button(t("live.stop"), disabled=not running, key=f"{prefix}_stop", on_click=on_stop)
    exc = st.session_state.pop(err_key, None)
    if exc is not None:
        show_error(exc)
    return running


def person_status(person: PersonStatus | None, update: LiveUpdate | None, *, key: str, size: str = "6rem",
                  show_name: bool = False) -> None:
    """The big rep counter / hold clock, the one correction that matters most, and praise."""
    ov: dict[str, Any] = person.overlay if person is not None else {}
    hold = ov.get("kind") == "hold"
    if show_name and person is not None:
        st.markdown(f"**{person.name or t('group.person', id=person.track_id)}** · {exercise_name(person.exercise)}")
    st.caption(t("live.hold_label") if hold else t("live.reps_label"))
    big(ov.get("big", "0"), key=f"{key}-counter", size=size)
    if hold and ov.get("target_s"):
        st.caption(t("live.hold_target", s=f"{ov['target_s']:g}"))
    if update is not None and update.num_people == 0 and update.no_person_s >= NO_PERSON_AFTER_S:
        st.warning(t("live.no_person"), icon=":material/person_search:")
    if ov.get("correction"):
        color = SEVERITY_COLORS.get(ov.get("severity") or "warning", "#e65100")
        big(ov["correction"], key=f"{key}-correction", size="2rem" if size == "6rem" else "1.3rem", color=color)
    elif ov.get("setup"):
        big(ov["setup"], key=f"{key}-setup", size="1.6rem" if size == "6rem" else "1.1rem", color="#1565c0")
    if ov.get("paused_reason"):
        st.info(ov["paused_reason"])
    if ov.get("praise"):
        st.success(ov["praise"], icon=":material/thumb_up:")


def tile(session: LiveSession, person: PersonStatus, update: LiveUpdate) -> None:
    """One person's tile in a group session: name, exercise, counter, hold time and correction."""
    tid = person.track_id
    name_key, ex_key = f"group_name_{tid}", f"group_ex_{tid}_{lang()}"  # see common.exercise_select
    ids = exercise_ids()

    def _renamed() -> None:
        session.set_name(tid, st.session_state[name_key])

    def _assigned() -> None:
        session.assign(tid, st.session_state[ex_key])

    with st.container(border=True, key=f"tile-{tid}"):
        st.markdown(f"**{t('group.person', id=tid)}**" + ("" if person.visible else f" · {t('group.away')}"))
        # Initial values come from the session (not from st.session_state), so a tile that comes back shows them.
        st.text_input(t("group.name"), value=person.name, key=name_key, on_change=_renamed,
                      placeholder=t("group.name_placeholder"))
        st.selectbox(t("group.exercise"), ids, index=ids.index(person.exercise), format_func=msgs().exercise,
                     key=ex_key, on_change=_assigned)
        person_status(person, None, key=f"tile-{tid}", size="3rem")
        ov = person.overlay
        if ov.get("kind") != "hold" and ov.get("hold_s"):
            st.caption(t("live.hold_time", s=f"{ov['hold_s']:.1f}"))


def end_message(summary: SessionSummary) -> None:
    """Why the session ended, when that needs saying."""
    if summary.end_reason == END_CAMERA_LOST:
        st.warning(t("live.camera_lost"), icon=":material/videocam_off:")
    elif summary.end_reason == END_ERROR:
        st.error(t("error.unexpected"), icon=":material/warning:")
    elif summary.end_reason == END_SOURCE:
        st.info(t("live.source_ended"))


def summary_view(summary: SessionSummary, *, group: bool, key: str) -> None:
    """The session summary: per person what was counted, rep details and a JSON download."""
    st.subheader(t("live.summary"))
    end_message(summary)
    st.caption(t("live.summary_stats", frames=summary.frames, s=f"{summary.duration_s:.1f}",
                  fps=f"{summary.fps:.1f}"))
    people = summary.engaged if not group else tuple(
        p for p in summary.people if p.engaged or p.name) or summary.engaged
    if not people:
        st.info(t("live.nothing_counted"))
    m = msgs()
    if group:
        rows = [{t("table.person"): p.name or t("group.person", id=p.track_id),
                 t("table.exercise"): p.exercise_name,
                 t("table.reps"): p.reps if p.kind == "reps" else None,
                 t("table.held_s"): p.hold_s if p.kind == "hold" else None,
                 t("table.faults"): charts.fault_names(sorted({f for ev in p.rep_events for f in ev["faults"]}), m)}
                for p in people]
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, key=f"{key}-table")
    else:
        for p in people[:1]:
            st.caption(t("live.hold_label") if p.kind == "hold" else t("live.reps_label"))
            big(f"{p.hold_s:.1f} s" if p.kind == "hold" else str(p.reps), key=f"{key}-total")
            entry = {"rep_events": list(p.rep_events), "feedback": list(p.feedback)}
            if p.kind == "reps" and p.rep_events:
                st.dataframe(charts.rep_table(entry, t, m), hide_index=True, key=f"{key}-table")
            fb = charts.feedback_table(entry, t)
            if not fb.empty:
                with st.expander(t("review.feedback")):
                    st.dataframe(fb, hide_index=True)
    st.download_button(t("review.dl_json"), json.dumps(summary.reports, indent=2, ensure_ascii=False),
                       file_name="formcheck-session.json", mime="application/json", key=f"{key}-download")
