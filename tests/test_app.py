"""The Streamlit app's pages, driven with ``streamlit.testing.v1.AppTest`` (no browser).

Each page's logic: what it shows comes from the pipeline / session objects, errors become
translated messages (never a traceback), and every visible string exists in both languages.
Strings, video review and settings here; live coaching and the group session in ``test_app_live.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.common import default_sample, guess_exercise
from app_pages.i18n import table
from exercises.session import LiveSession

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
SAMPLE = ROOT / "samples" / "pose2sim_singleperson_cam01.mp4"
PAGES = ("app_pages/review.py", "app_pages/live.py", "app_pages/group.py", "app_pages/settings.py")
TIMEOUT = 180


def _app(**state: Any) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def _page(page: str, **state: Any) -> AppTest:
    at = _app(**state)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> list[str]:
    """Every string the page shows (titles, text, labels, options, messages, table headers)."""
    out: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning", "error", "success"):
        out += [str(e.value) for e in at.get(kind)]
    for kind in ("button", "download_button", "radio", "selectbox", "text_input", "number_input", "toggle",
                 "file_uploader", "multiselect", "checkbox"):
        for w in at.get(kind):
            out.append(str(w.label))
            if kind in ("radio", "selectbox", "multiselect"):
                out += [str(o) for o in w.options]
    for df in at.dataframe:
        out += [str(c) for c in df.value.columns]
    return out


def _big(at: AppTest, key: str) -> str:
    """The text of a big number/text block (``common.big``) by its key."""
    for b in at.get("flex_container"):
        if b.key == key and b.markdown:
            return b.markdown[0].value.split(">", 1)[1].rsplit("</div>", 1)[0]
    raise AssertionError(f"no big text {key!r}")


def _watch(session: LiveSession, timeout: float = TIMEOUT) -> bool:
    """Wait for the session to end while polling it as the open page does (else it stops as unwatched)."""
    deadline = timeout
    while deadline > 0:
        if session.wait(0.5):
            return True
        session.poll()
        deadline -= 0.5
    return False


def _truth(clip: Path) -> dict[str, Any] | None:
    """The ground truth of a rendered clip (``NAME.json.gz`` or ``NAME.json`` beside it), if any."""
    import gzip

    for path, opener in ((clip.with_suffix(".json.gz"), gzip.open), (clip.with_suffix(".json"), open)):
        if path.is_file():
            with opener(path, "rt", encoding="utf-8") as fh:
                return json.load(fh)
    return None


def _exercise_box(at: AppTest) -> Any:
    """The review page's exercise selectbox (its key depends on the sample)."""
    return next(s for s in at.selectbox if s.key and s.key.startswith("review_exercise"))


def _find_big(at: AppTest, key: str) -> str | None:
    try:
        return _big(at, key)
    except AssertionError:
        return None


# ----------------------------------------------------------------------------- strings and languages
def test_every_string_has_both_languages_with_the_same_placeholders() -> None:
    import string

    for key, entry in table().items():
        assert entry["de"].strip() and entry["en"].strip(), key
        fields = [{f for _, f, _, _ in string.Formatter().parse(entry[lang]) if f} for lang in ("de", "en")]
        assert fields[0] == fields[1], f"{key}: placeholders differ {fields}"


def test_every_string_the_code_asks_for_exists() -> None:
    import re

    keys = table()
    code = "\n".join(p.read_text(encoding="utf-8") for p in [APP, *sorted((ROOT / "app_pages").glob("*.py"))])
    used = set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_]+)["']""", code))
    used |= set(re.findall(r"""(?:exercise_select|_tile_text)\(\s*["']([a-z_]+\.[a-z_]+)["']""", code))
    assert used, "the scan found no string keys"
    assert not sorted(k for k in used if k not in keys)


def test_every_charted_metric_has_a_name() -> None:
    from app_pages.charts import chart_metrics
    from exercises.definition import list_exercises, load_exercise

    missing = {m for ex_id, _, _ in list_exercises() for m in chart_metrics(load_exercise(ex_id))
               if f"metric.{m}" not in table()}
    assert not missing, f"add these to [metric] in app_pages/strings.toml: {sorted(missing)}"


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("page", PAGES)
def test_pages_render_without_errors_or_missing_strings(page: str, lang: str) -> None:
    at = _page(page, lang=lang)
    texts = _texts(at)
    assert texts and not [s for s in texts if "⟦" in s]
    assert not at.error
    nav = {"de": "Video-Auswertung", "en": "Video review"}[lang]
    assert page != PAGES[0] or at.title[0].value == nav


def test_opens_in_german_on_the_default_sample_and_switches_to_english() -> None:
    at = _app()
    assert at.title[0].value == "Video-Auswertung"
    assert at.selectbox(key="review_sample").value == default_sample()
    assert any("Nichts wird ins Internet hochgeladen" in c.value for c in at.caption)
    assert any("nicht gespeichert" in c.value or "verworfen" in c.value for c in at.caption)
    at.radio(key="sidebar_lang").set_value("en").run()
    assert at.session_state["lang"] == "en"
    assert at.title[0].value == "Video review"
    assert at.button(key="review_analyse").label == "Analyse"
    assert _exercise_box(at).format_func("squat") == "Squat"


# ----------------------------------------------------------------------------- video review
def test_review_of_the_default_sample_shows_the_pipelines_own_count() -> None:
    from exercises.pipeline import Pipeline, PipelineConfig

    sample = default_sample()
    exercise = guess_exercise(sample) or "squat"
    at = _app()
    _exercise_box(at).set_value(exercise).run()
    at.button(key="review_analyse").click().run()
    assert not at.exception and not at.error
    res = at.session_state["review_result"]
    with Pipeline(PipelineConfig(people=2, exercise=exercise, lang="de", draw=False)) as pipe:
        direct = pipe.run(sample).report
    person = next((p for p in direct["people"] if p["id"] == direct["primary_id"]), None)
    expected = str(person["reps"]) if person else "0"
    assert _big(at, "review-reps") == expected
    assert res.report["people"] == direct["people"]
    truth = _truth(sample)
    if truth is not None:  # a rendered clip: its ground truth
        assert int(expected) == truth["people"][0]["reps"]
    labels = [d.label for d in at.get("download_button")]
    assert labels == ["Bericht (JSON)", "Tabelle (CSV)", "Messwerte (CSV)", "Annotiertes Video (MP4)"]
    assert at.get("vega_lite_chart"), "angle-over-time charts"
    assert res.video and res.video[4:8] == b"ftyp"
    if person and person["reps"]:
        table_ = at.dataframe[0].value
        assert list(table_.columns)[:3] == ["Wdh.", "Beginn (s)", "Dauer (s)"]
        assert len(table_) == person["reps"]


def test_review_upload_of_a_video_without_people(tmp_path: Path) -> None:
    from factories_video import make_clip

    clip = make_clip(tmp_path / "empty.mp4", n=12)
    at = _app()
    at.radio(key="review_source").set_value("upload").run()
    at.file_uploader(key="review_upload").set_value(("empty.mp4", clip.read_bytes(), "video/mp4")).run()
    at.button(key="review_analyse").click().run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["Im Video wurde keine Person gefunden. Ist der ganze Körper gut "
                                             "beleuchtet im Bild?"]
    assert _big(at, "review-reps") == "0"
    assert at.session_state["review_result"].source == "empty.mp4"


def test_review_says_when_the_person_is_too_far_away(tmp_path: Path) -> None:
    import cv2
    import numpy as np

    from vision.capture import open_video
    from vision.sink import VideoSink

    clip = tmp_path / "far.mp4"  # the sample's person, small in a big empty room
    with open_video(SAMPLE) as src, VideoSink(clip, fps=src.fps, size=(1280, 720)) as sink:
        for i, frame in enumerate(src):
            if i == 40:
                break
            canvas = np.full((720, 1280, 3), 120, np.uint8)
            canvas[400:656, 560:704] = cv2.resize(frame.image, (144, 256))
            sink.write(canvas)
    at = _app()
    at.radio(key="review_source").set_value("upload").run()
    at.file_uploader(key="review_upload").set_value(("far.mp4", clip.read_bytes(), "video/mp4")).run()
    at.button(key="review_analyse").click().run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["Etwas näher zur Kamera"]  # the engine's own setup message


@pytest.mark.parametrize(("name", "data", "key"), [
    ("notes.mp4", b"this is not a video, just some text\n" * 20, "error.not_a_video"),
    ("cut.mp4", None, "error.undecodable"),
    ("notes.txt", b"hello", "error.not_a_video"),
])
def test_review_broken_or_unsupported_upload_shows_a_message(tmp_path: Path, name: str, data: bytes | None,
                                                             key: str) -> None:
    from factories_video import make_clip, truncate

    if data is None:
        data = truncate(make_clip(tmp_path / "full.mp4", n=30), tmp_path / "cut.mp4", 0.3).read_bytes()
    at = _app()
    at.radio(key="review_source").set_value("upload").run()
    at.file_uploader(key="review_upload").set_value((name, data, "video/mp4")).run()
    if at.button(key="review_analyse").disabled:
        pass  # refused before analysis (wrong file type)
    else:
        at.button(key="review_analyse").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [table()[key]["de"]]


def test_review_oversize_upload_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORMCHECK_MAX_UPLOAD_MB", "0.1")
    at = _app()
    at.radio(key="review_source").set_value("upload").run()
    at.file_uploader(key="review_upload").set_value(("big.mp4", b"\0" * 300_000, "video/mp4")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Die Datei ist zu groß (0.3 MB). Höchstens 0.1 MB sind möglich – bitte das Video kürzen."]
    assert at.button(key="review_analyse").disabled


def test_review_stores_videos_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from factories_video import make_clip

    monkeypatch.setenv("FORMCHECK_APP_STORE", str(tmp_path / "store"))
    data = make_clip(tmp_path / "c.mp4", n=6).read_bytes()
    for keep in (False, True):
        at = _app(keep_videos=keep)
        at.radio(key="review_source").set_value("upload").run()
        at.file_uploader(key="review_upload").set_value(("c.mp4", data, "video/mp4")).run()
        at.button(key="review_analyse").click().run()
        assert not at.exception
        stored = sorted(p.name for p in (tmp_path / "store").glob("*/*")) if (tmp_path / "store").exists() else []
        assert stored == ([] if not keep else ["annotated.mp4", "original.mp4", "report.json"])


class _Interrupt(BaseException):
    """Stands in for Streamlit's RerunException, raised in the script thread at the next update of the page."""


def test_review_can_be_stopped_and_leaves_nothing_running(tmp_path: Path) -> None:
    import threading

    from factories_video import make_clip

    from app_pages.analysis import analyse_video

    clip = make_clip(tmp_path / "c.mp4", n=40)
    done: list[int] = []

    def progress(n: int, total: int | None) -> None:  # what the page's progress bar does on a Stop click
        done.append(n)
        if n == 5:
            raise _Interrupt

    before = {t.name for t in threading.enumerate()}
    with pytest.raises(_Interrupt):
        analyse_video(clip, exercise="squat", progress=progress, store_dir=tmp_path / "store")
    assert done[-1] == 5
    assert not [t.name for t in threading.enumerate() if t.name.startswith("formcheck-") and t.name not in before]
    assert not (tmp_path / "store").exists()  # an interrupted analysis stores nothing
    at = _app(review_stopped=True)  # the run after the Stop click
    assert [i.value for i in at.info] == ["Die Auswertung wurde abgebrochen."]
    assert "review-reps" not in {b.key for b in at.get("flex_container")}  # no result shown
    at.run()
    assert not at.info  # said once


# ----------------------------------------------------------------------------- settings
def test_settings_model_variant_is_validated() -> None:
    at = _page("app_pages/settings.py")
    at.text_input(key="settings_model_path").set_value("/nowhere/pose_landmarker_heavy.task").run()
    at.button(key="settings_model_apply").click().run()
    assert [e.value for e in at.error] == [table()["error.model"]["de"]]
    assert at.session_state["model_path"] is None if "model_path" in at.session_state else True
    bundled = ROOT / "models" / "pose_landmarker_full.task"
    at.text_input(key="settings_model_path").set_value(str(bundled)).run()
    at.button(key="settings_model_apply").click().run()
    assert not at.error and at.session_state["model_path"] == str(bundled.resolve())


def test_settings_profile_changes_the_thresholds_shown() -> None:
    at = _page("app_pages/settings.py")
    before = at.dataframe[0].value
    toml = b'name = "Frau M."\n[squat.rules.knee_valgus]\nabove = 25\n'
    at.file_uploader(key="settings_profile_upload").set_value(("frau_m.toml", toml, "application/toml")).run()
    assert not at.exception and not at.error
    assert at.success[0].value == "Aktives Profil: Frau M."
    after = at.dataframe[0].value
    row = after[after["Prüfung"] == "Knieachse"].iloc[0] if "Knieachse" in set(after["Prüfung"]) else None
    changed = after[after["Mit Profil"] != after["Standard"]]
    assert len(changed) >= 1 and set(changed["Mit Profil"]) == {25.0}
    assert before["Mit Profil"].equals(before["Standard"])
    assert row is None or row["Mit Profil"] == 25.0


@pytest.mark.parametrize(("data", "key"), [(b"[squat\n", "error.profile_toml"),
                                            (b"[squat]\nnot_a_key = 1\n", "error.definition")])
def test_settings_bad_profile_shows_a_message(data: bytes, key: str) -> None:
    at = _page("app_pages/settings.py")
    at.file_uploader(key="settings_profile_upload").set_value(("p.toml", data, "application/toml")).run()
    assert not at.exception
    assert [e.value for e in at.error] == [table()[key]["de"]]
    assert at.session_state["profile"] is None if "profile" in at.session_state else True


def test_settings_language_and_storage_choice_persist_across_pages() -> None:
    at = _page("app_pages/settings.py")
    assert any("Videos werden nicht gespeichert" in c.value for c in at.caption)
    at.toggle(key="settings_keep").set_value(True).run()
    at.radio(key="settings_lang").set_value("en").run()
    assert at.session_state["keep_videos"] is True and at.session_state["lang"] == "en"
    at.switch_page("app_pages/review.py").run()
    assert at.title[0].value == "Video review" and at.radio(key="sidebar_lang").value == "en"
    at.switch_page("app_pages/settings.py").run()
    assert at.toggle(key="settings_keep").value is True
    assert at.radio(key="settings_lang").value == "en"
