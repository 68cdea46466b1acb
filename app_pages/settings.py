"""Settings: language, patient profile (per-person thresholds), pose model variant, privacy and storage."""

from __future__ import annotations

import tomllib

import pandas as pd
import streamlit as st

from app_pages import charts
from app_pages.common import exercise_select, lang, msgs, page_guard, profile, show_error, store_dir, t
from app_pages.i18n import LANGUAGE_NAMES
from exercises.definition import load_exercise
from exercises.profile import profile_from_dict
from vision.model import MODEL_NAME, resolve_model


def _language() -> None:
    st.subheader(t("settings.language"))

    def changed() -> None:
        st.session_state["lang"] = st.session_state["settings_lang"]
        st.session_state["sidebar_lang"] = st.session_state["settings_lang"]

    st.session_state["settings_lang"] = lang()
    st.radio(t("settings.language"), list(LANGUAGE_NAMES), format_func=LANGUAGE_NAMES.get, key="settings_lang",
             on_change=changed, horizontal=True, label_visibility="collapsed")


def _model() -> None:
    st.subheader(t("settings.model"))
    current = st.session_state.get("model_path")
    st.caption(t("settings.model_current", name=current or t("settings.model_bundled", name=MODEL_NAME)))
    path = st.text_input(t("settings.model_path"), value=current or "", key="settings_model_path",
                         placeholder="/path/to/pose_landmarker_heavy.task", help=t("settings.model_help"))
    c1, c2, _ = st.columns([1, 1, 3])
    if c1.button(t("settings.model_apply"), key="settings_model_apply", disabled=not path.strip()):
        try:
            resolved = resolve_model(path.strip())
        except Exception as exc:
            show_error(exc)
        else:
            st.session_state["model_path"] = str(resolved)
            st.success(t("settings.model_ok", name=resolved.name))
    if c2.button(t("settings.model_reset"), key="settings_model_reset", disabled=current is None):
        st.session_state["model_path"] = None
        st.rerun()


def _thresholds(ex_id: str) -> pd.DataFrame:
    """The rules of one exercise as the engine will apply them: defaults and with the profile."""
    base = load_exercise(ex_id)
    prof = profile()
    applied = prof.apply(base) if prof is not None else base
    m = msgs()
    rows = []
    for b, a in zip(base.rules, applied.rules, strict=True):
        rows.append({
            t("table.fault"): m.fault(b.code),
            t("table.when"): t(f"settings.compare_{b.compare}", metric=charts.metric_label(base, b.metric, t)),
            t("table.default"): b.threshold if b.enabled else None,
            t("table.profile"): a.threshold if a.enabled else None,
            t("table.severity"): t(f"severity.{a.severity}"),
        })
    return pd.DataFrame(rows)


def _profile() -> None:
    st.subheader(t("settings.profile"))
    st.caption(t("settings.profile_help"))
    up = st.file_uploader(t("settings.profile_upload"), type=["toml"], key="settings_profile_upload")
    if up is not None and st.session_state.get("profile_file") != (up.name, up.size):
        try:
            data = tomllib.loads(up.getvalue().decode("utf-8"))
            st.session_state["profile"] = profile_from_dict(data, source=up.name)
            st.session_state["profile_file"] = (up.name, up.size)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            st.error(t("error.profile_toml"), icon=":material/warning:")
        except Exception as exc:
            show_error(exc)
    prof = profile()
    if prof is None:
        st.info(t("settings.profile_none"))
    else:
        st.success(t("settings.profile_active", name=prof.name or prof.source))
        if st.button(t("settings.profile_remove"), key="settings_profile_remove"):
            st.session_state["profile"] = None
            st.session_state.pop("profile_file", None)
            st.rerun()
    ex_id = exercise_select("settings.thresholds_for", "settings_exercise")
    st.dataframe(_thresholds(ex_id), hide_index=True, key="settings-thresholds")


def _privacy() -> None:
    st.subheader(t("settings.privacy"))
    st.markdown(t("privacy.long"))
    st.session_state.setdefault("keep_videos", False)
    st.session_state["settings_keep"] = st.session_state["keep_videos"]

    def changed() -> None:
        st.session_state["keep_videos"] = st.session_state["settings_keep"]

    st.toggle(t("settings.keep_videos", path=str(store_dir())), key="settings_keep", on_change=changed)
    st.caption(t("settings.keep_on") if st.session_state["keep_videos"] else t("settings.keep_off"))


with page_guard():
    st.title(t("settings.title"))
    _language()
    _privacy()
    _profile()
    _model()
