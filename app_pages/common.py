"""What every page shares: language and settings from the session, samples, error messages.

Settings live in plain ``st.session_state`` keys (not widget keys), so they survive page switches:

``lang``         ``"de"`` (default) or ``"en"``
``model_path``   a pose model ``.task`` file chosen in the settings, or None for the bundled one
``profile``      a validated :class:`~exercises.profile.Profile`, or None
``keep_videos``  store uploaded and annotated videos under ``out/app/`` (default: off)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import streamlit as st

from app_pages.i18n import DEFAULT_LANG, LANGUAGE_NAMES, messages, text
from exercises.definition import DefinitionError, list_exercises, load_exercise
from exercises.messages import Messages
from exercises.profile import Profile
from vision.capture import (
    CameraUnavailableError,
    NotAVideoError,
    StreamUnavailableError,
    UndecodableVideoError,
    VideoNotFoundError,
)
from vision.model import ModelError

log = logging.getLogger("formcheck.app")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = ROOT / "samples"
SYNTH_DIR = SAMPLES_DIR / "synth"
#: Fallback when no rendered exercise clip exists in samples/synth/ yet.
FALLBACK_SAMPLE = SAMPLES_DIR / "pose2sim_singleperson_cam01.mp4"
FALLBACK_GROUP_SAMPLE = SAMPLES_DIR / "pose2sim_multiperson_cam01.mp4"
VIDEO_TYPES = ("mp4", "mov", "m4v", "mkv", "webm", "avi")
#: How often live views refresh (seconds); the analysis itself runs at camera rate in the background.
LIVE_REFRESH_S = float(os.environ.get("FORMCHECK_LIVE_REFRESH_S", "0.1"))
#: Live analysis takes at most this many frames per second from a camera or file (2 cores rarely manage more;
#: fewer frames to convert and queue leave more time for the analysis).
LIVE_MAX_FPS = float(os.environ.get("FORMCHECK_LIVE_MAX_FPS", "15"))
#: Live analysis runs in a child process (0: in a thread of the server, which starves the server's event loop and
#: with it the browser camera's connection when the analysis is slower than the camera; see docs/app.md).
LIVE_PROCESS = os.environ.get("FORMCHECK_LIVE_PROCESS", "1") != "0"


# ----------------------------------------------------------------------------- language and settings
def lang() -> str:
    """The UI language of this browser session."""
    value = st.session_state.get("lang", DEFAULT_LANG)
    return value if value in LANGUAGE_NAMES else DEFAULT_LANG


def t(key: str, **params: object) -> str:
    """An app string in the session's language."""
    return text(key, lang(), **params)


def t_now() -> Callable[..., str]:
    """:func:`t` with the current language bound (for ``format_func``, which may be called later)."""
    current = lang()
    return lambda key, **params: text(key, current, **params)


def labels(prefix: str) -> Callable[[str], str]:
    """A ``format_func`` showing option ``k`` as the app string ``prefix + k`` in the current language."""
    tt = t_now()
    return lambda k: tt(f"{prefix}{k}")


def msgs() -> Messages:
    """The engine's messages in the session's language."""
    return messages(lang())


def model_path() -> str | None:
    """The pose model chosen in the settings (None: bundled)."""
    return st.session_state.get("model_path")


def profile() -> Profile | None:
    """The patient profile chosen in the settings."""
    return st.session_state.get("profile")


def keep_videos() -> bool:
    """Whether the user asked to store videos (default: no)."""
    return bool(st.session_state.get("keep_videos", False))


def store_dir() -> Path:
    """Where stored videos go when the user asks for it: ``$FORMCHECK_APP_STORE`` or ``out/app/``."""
    return Path(os.environ.get("FORMCHECK_APP_STORE") or ROOT / "out" / "app")


def max_upload_mb() -> float:
    """The app's own upload limit in MB (``$FORMCHECK_MAX_UPLOAD_MB``, default 500), checked with a
    translated message; Streamlit's hard ceiling (``server.maxUploadSize``) is higher."""
    return float(os.environ.get("FORMCHECK_MAX_UPLOAD_MB", "500"))


def video_upload(key: str) -> Any:
    """A video file uploader; None (with a translated message) for a wrong file type or an oversize file.

    The file type is checked here rather than with ``type=`` so that the message is translated
    (Streamlit's own refusal is in English and, server-side, not catchable by the page).
    """
    st.caption(t("review.upload_note", mb=f"{max_upload_mb():g}"))
    up = st.file_uploader(t("review.upload"), key=key)
    if up is None:
        return None
    if Path(up.name).suffix.lower().lstrip(".") not in VIDEO_TYPES:
        st.error(t("error.not_a_video"), icon=":material/warning:")
        return None
    limit = max_upload_mb()
    if up.size > limit * 1024 * 1024:
        st.error(t("error.too_large", mb=f"{limit:g}", size=f"{up.size / 1024 / 1024:.1f}"), icon=":material/warning:")
        return None
    return up


def exercise_ids() -> list[str]:
    """Ids of the bundled exercises."""
    return [ex_id for ex_id, _, _ in list_exercises()]


def exercise_name(ex_id: str) -> str:
    """Display name of an exercise in the session's language."""
    return msgs().exercise(ex_id)


def exercise_select(label_key: str, key: str, default: str | None = None) -> str:
    """A selectbox of the bundled exercises (names translated) starting at ``default``; returns the id.

    The choice is kept in ``st.session_state[key]``. The widget's own key includes the language:
    Streamlit's browser side keeps showing a selectbox's old option text when only the names change.
    """
    ids = exercise_ids()
    first = st.session_state.get(key, default)
    first = first if first in ids else ("squat" if "squat" in ids else ids[0])
    chosen = st.selectbox(t(label_key), ids, index=ids.index(first), format_func=msgs().exercise,
                          key=f"{key}__{lang()}")
    st.session_state[key] = chosen
    return chosen


def camera_guidance(ex_id: str) -> list[str]:
    """How to place the camera for an exercise, from its definition (view, rules that need a view)."""
    ex = load_exercise(ex_id)
    m = msgs()
    lines = [t(f"guide.view_{ex.view}"), t("guide.distance"), t("guide.light")]
    for view in ("side", "front"):
        faults = sorted({m.fault(r.code) for r in ex.rules if r.view == view and r.enabled})
        if faults and ex.view != view:
            lines.append(t("guide.rule_view", faults=", ".join(faults), view=m.text(f"view.{view}")))
    return lines


# ----------------------------------------------------------------------------- samples
def sample_videos() -> list[Path]:
    """Bundled clips: rendered exercise clips (``samples/synth/``) first, then the real ones.

    A file that is not a video yet (a placeholder being rendered, under 1 kB) is left out.
    """
    synth = sorted(SYNTH_DIR.rglob("*.mp4")) if SYNTH_DIR.is_dir() else []
    return [p for p in synth + sorted(SAMPLES_DIR.glob("*.mp4")) if p.stat().st_size >= 1024]


def sample_labels() -> dict[Path, dict[str, str]]:
    """Rows of the samples' ``labels.csv`` files (``file, exercise, reps, hold_s, people, ...``) by path."""
    import csv

    out: dict[Path, dict[str, str]] = {}
    for folder in (SAMPLES_DIR, SYNTH_DIR):
        labels = folder / "labels.csv"
        if labels.is_file():
            with labels.open(encoding="utf-8", newline="") as fh:
                out.update({folder / row["file"]: row for row in csv.DictReader(fh) if row.get("file")})
    return out


def guess_exercise(path: Path) -> str | None:
    """The exercise a sample shows: from ``labels.csv``, else from its file name (``group_squat_front.mp4``)."""
    row = sample_labels().get(path, {})
    if row.get("exercise") in exercise_ids():
        return row["exercise"]
    stem = f"_{path.stem.lower()}_"
    hits = [ex for ex in exercise_ids() if f"_{ex}_" in stem]
    return max(hits, key=len) if hits else None


def sample_people(path: Path) -> int:
    """People exercising in a sample (``labels.csv``; else 1, or 2 for a name that says group)."""
    row = sample_labels().get(path, {})
    try:
        return int(str(row.get("people", "")).split("|")[0])
    except ValueError:
        return 2 if any(w in path.stem.lower() for w in ("group", "multi")) else 1


def default_sample(group: bool = False) -> Path:
    """The clip a page opens on: a rendered squat clip (one person, or a group; filmed from the side if
    there is one), else a real sample. ``$FORMCHECK_APP_SAMPLE`` / ``$FORMCHECK_APP_GROUP_SAMPLE`` override it."""
    override = os.environ.get("FORMCHECK_APP_GROUP_SAMPLE" if group else "FORMCHECK_APP_SAMPLE")
    if override and Path(override).is_file():
        return Path(override)
    labels = sample_labels()
    synth = [p for p in sample_videos() if p.is_relative_to(SYNTH_DIR) and guess_exercise(p)]
    synth.sort(key=lambda p: labels.get(p, {}).get("view", "side" if "side" in p.stem else "") != "side")  # side first
    fitting = [p for p in synth if (sample_people(p) > 1) == group]
    squats = [p for p in fitting if guess_exercise(p) == "squat"]
    return (squats or fitting or [FALLBACK_GROUP_SAMPLE if group else FALLBACK_SAMPLE])[0]


def sample_label(path: Path) -> str:
    """How a sample is listed: its path below ``samples/``."""
    try:
        return str(path.relative_to(SAMPLES_DIR))
    except ValueError:
        return path.name


# ----------------------------------------------------------------------------- errors
_ERRORS: tuple[tuple[type[BaseException], str], ...] = (
    (VideoNotFoundError, "error.video_not_found"),
    (NotAVideoError, "error.not_a_video"),
    (UndecodableVideoError, "error.undecodable"),
    (StreamUnavailableError, "error.stream_unavailable"),
    (CameraUnavailableError, "error.camera_unavailable"),
    (ModelError, "error.model"),
    (DefinitionError, "error.definition"),
)


def error_key(exc: BaseException) -> str:
    """The string key of the translated message for an exception."""
    return next((key for cls, key in _ERRORS if isinstance(exc, cls)), "error.unexpected")


def show_error(exc: BaseException) -> None:
    """A clear, translated message on the page (the technical detail goes to the log, never a traceback)."""
    key = error_key(exc)
    if key == "error.unexpected":
        log.error("unexpected error", exc_info=exc)
    else:
        log.warning("%s: %s", type(exc).__name__, exc)
    st.error(t(key), icon=":material/warning:")


@contextmanager
def page_guard() -> Iterator[None]:
    """Run a page body; any error becomes a translated message instead of a traceback."""
    try:
        yield
    except Exception as exc:  # Streamlit's rerun/stop signals are BaseExceptions and pass through
        show_error(exc)


def big(text_: str, *, key: str, size: str = "4.5rem", color: str | None = None) -> None:
    """Large text (rep counter, hold clock, correction) in a container with a stable CSS class ``st-key-<key>``."""
    style = f"font-size:{size};font-weight:700;line-height:1.1;" + (f"color:{color};" if color else "")
    with st.container(key=key):
        st.markdown(f'<div style="{style}">{_escape(text_)}</div>', unsafe_allow_html=True)


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def session_value(key: str, factory: Any) -> Any:
    """``st.session_state[key]``, created with ``factory()`` on first use."""
    if key not in st.session_state:
        st.session_state[key] = factory()
    return st.session_state[key]
