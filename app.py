"""formcheck's face: a Streamlit app over the same pipeline objects as the CLI.

    streamlit run app.py        (or: make app)

Pages (``app_pages/``): video review (opens on a bundled sample, no camera needed), live
coaching (webcam through OpenCV or the browser's camera through WebRTC), group session and
settings. The app holds no domain logic: pages drive :class:`exercises.pipeline.Pipeline`
and :class:`exercises.session.LiveSession` and show what they return. See ``docs/app.md``.
"""

from __future__ import annotations

import logging

import streamlit as st

from app_pages.common import lang, t
from app_pages.i18n import LANGUAGE_NAMES

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

st.set_page_config(page_title="formcheck", page_icon="🧘", layout="wide")
# Streamlit's uploader prints its own (English) size note; the pages state the limit in the user's language.
st.html("<style>[data-testid='stFileUploaderDropzoneInstructions'] {display: none}</style>")


def _language_changed() -> None:
    st.session_state["lang"] = st.session_state["sidebar_lang"]


st.session_state.setdefault("lang", "de")
st.session_state["sidebar_lang"] = lang()
with st.sidebar:
    st.radio(t("settings.language"), list(LANGUAGE_NAMES), format_func=LANGUAGE_NAMES.get, key="sidebar_lang",
             on_change=_language_changed, horizontal=True)

pages = [
    st.Page("app_pages/review.py", title=t("nav.review"), icon=":material/movie:", url_path="review", default=True),
    st.Page("app_pages/live.py", title=t("nav.live"), icon=":material/videocam:", url_path="live"),
    st.Page("app_pages/group.py", title=t("nav.group"), icon=":material/groups:", url_path="group"),
    st.Page("app_pages/settings.py", title=t("nav.settings"), icon=":material/settings:", url_path="settings"),
]
st.navigation(pages).run()
with st.sidebar:
    st.caption(t("privacy.short"))
