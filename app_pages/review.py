"""Video review: a bundled sample or an uploaded video → annotated video, per-rep table, charts, downloads."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import streamlit as st

from app_pages import charts
from app_pages.analysis import ReviewResult, analyse_video
from app_pages.common import (
    big,
    default_sample,
    exercise_select,
    guess_exercise,
    keep_videos,
    labels,
    lang,
    model_path,
    msgs,
    page_guard,
    profile,
    sample_label,
    sample_videos,
    show_error,
    store_dir,
    t,
    t_now,
    video_upload,
)


def _source() -> tuple[Path | None, str | None, bytes | None]:
    """The chosen video: (sample path, upload name, upload bytes)."""
    kind = st.radio(t("review.source"), ["sample", "upload"], format_func=labels("review.source_"),
                    horizontal=True, key="review_source")
    if kind == "sample":
        samples = sample_videos()
        default = default_sample()
        idx = samples.index(default) if default in samples else 0
        path = st.selectbox(t("review.sample"), samples, index=idx, format_func=sample_label, key="review_sample")
        return path, None, None
    up = video_upload("review_upload")
    return (None, None, None) if up is None else (None, up.name, up.getvalue())


def _analyse(path: Path | None, upload_name: str | None, data: bytes | None, exercise: str, people: int) -> None:
    bar = st.progress(0.0, text=t("review.progress_start"))

    def progress(done: int, total: int | None) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=t("review.progress", done=done, total=total))
        elif done % 10 == 0:
            bar.progress(0.0, text=t("review.progress_unknown", done=done))

    store = store_dir() if keep_videos() else None
    try:
        if data is not None and upload_name is not None:
            # The upload exists only in this temporary folder while it is analysed (unless the user keeps videos).
            with tempfile.TemporaryDirectory(prefix="formcheck-upload-") as tmp:
                src = Path(tmp) / Path(upload_name).name
                src.write_bytes(data)
                result = analyse_video(src, exercise=exercise, lang=lang(), people=people, model=model_path(),
                                       profile=profile(), progress=progress, store_dir=store)
                result.source = upload_name
        else:
            assert path is not None
            result = analyse_video(path, exercise=exercise, lang=lang(), people=people, model=model_path(),
                                   profile=profile(), progress=progress, store_dir=store)
            result.source = sample_label(path)
    except Exception as exc:
        bar.empty()
        show_error(exc)
        return
    bar.progress(1.0, text=t("review.progress_done"))
    st.session_state["review_result"] = result


def _results(res: ReviewResult) -> None:
    m = msgs()
    st.subheader(t("review.results", source=res.source, exercise=m.exercise(res.exercise)))
    if res.lang != lang():
        st.info(t("review.other_language"))
    person = res.person()
    if person is None:
        st.warning(t("error.no_person"), icon=":material/person_search:")
    else:
        for key in res.frequent_problems(person["id"]):
            st.warning(m.text(key), icon=":material/straighten:")
    hold = res.report.get("kind") == "hold"
    col_count, col_video = st.columns([1, 2])
    with col_count:
        st.caption(t("review.hold_label") if hold else t("review.reps_label"))
        value = f"{person['hold_s']:.1f} s" if (person and hold) else str(person["reps"] if person else 0)
        big(value, key="review-reps")
        if person is not None and len(res.report.get("people", [])) > 1:
            st.caption(t("review.primary", id=person["id"], n=len(res.report["people"])))
        st.caption(t("review.speed", frames=res.summary.get("frames", 0), fps=res.summary.get("fps_achieved") or 0))
        if res.stored_in:
            st.caption(t("review.stored", path=res.stored_in))
    with col_video:
        if res.video:
            st.video(res.video, format="video/mp4")
    if person is not None:
        _person_details(res, person, hold)
    _downloads(res, person, hold)


def _person_details(res: ReviewResult, person: dict, hold: bool) -> None:
    m = msgs()
    st.markdown(f"#### {t('review.table_holds') if hold else t('review.table_reps')}")
    ex = res.definitions.get(person["id"])
    signal = charts.metric_label(ex, ex.reps.signal, t) if ex is not None and ex.reps is not None else None
    table = charts.hold_table(person, t) if hold else charts.rep_table(person, t, m, signal=signal)
    if table.empty:
        st.info(t("review.none_counted"))
    else:
        st.dataframe(table, hide_index=True, key="review-table")
    fb = charts.feedback_table(person, t)
    if not fb.empty:
        with st.expander(t("review.feedback")):
            st.dataframe(fb, hide_index=True)
    if ex is None:
        return
    st.markdown(f"#### {t('review.charts')}")
    options = [k for k in charts.chart_metrics(ex) if any(k in s for s in res.samples)]
    tt = t_now()
    chosen = st.multiselect(t("review.chart_metrics"), options, default=options[:2],
                            format_func=lambda k: charts.metric_label(ex, k, tt), key="review_chart_metrics")
    for metric in chosen:
        chart = charts.metric_chart(res.samples, person["id"], ex, metric, t, m, reps=person.get("rep_events"))
        if chart is None:
            st.caption(t("review.no_values", metric=charts.metric_label(ex, metric, t)))
        else:
            st.altair_chart(chart, width="stretch")


def _downloads(res: ReviewResult, person: dict | None, hold: bool) -> None:
    st.markdown(f"#### {t('review.downloads')}")
    stem = Path(res.source).stem
    cols = st.columns(4)
    cols[0].download_button(t("review.dl_json"), json.dumps(res.report, indent=2, ensure_ascii=False),
                            file_name=f"{stem}-report.json", mime="application/json", key="dl-json")
    table = (charts.hold_table(person, t) if hold else charts.rep_table(person, t, msgs())) if person else None
    cols[1].download_button(t("review.dl_csv"), "" if table is None else table.to_csv(index=False),
                            file_name=f"{stem}-{'holds' if hold else 'reps'}.csv", mime="text/csv", key="dl-csv")
    cols[2].download_button(t("review.dl_samples"), charts.samples_frame(res.samples, t).to_csv(index=False),
                            file_name=f"{stem}-metrics.csv", mime="text/csv", key="dl-samples")
    if res.video:
        cols[3].download_button(t("review.dl_video"), res.video, file_name=f"{stem}-annotated.mp4",
                                mime="video/mp4", key="dl-video")


with page_guard():
    st.title(t("review.title"))
    st.caption(t("privacy.video"))
    path, upload_name, data = _source()
    guess = guess_exercise(path) if path is not None else None
    col_ex, col_people = st.columns([2, 1])
    with col_ex:
        # One choice per guessed exercise: choosing another sample starts at that sample's exercise.
        exercise = exercise_select("review.exercise", f"review_exercise_{guess}", default=guess)
    with col_people:
        people = st.number_input(t("review.people"), min_value=1, max_value=6, value=2, key="review_people")
    preview = st.empty()
    if path is not None and st.session_state.get("review_result") is None:
        with preview.container():
            st.video(str(path), width=480)
    ready = path is not None or data is not None
    if st.button(t("review.analyse"), type="primary", disabled=not ready, key="review_analyse"):
        preview.empty()
        st.session_state["review_result"] = None
        # Clicking it reruns the page: Streamlit interrupts this run at the next progress update, the
        # pipeline's threads and the temporary upload are cleaned up on the way out.
        stop = st.empty()
        stop.button(t("review.stop"), key="review_stop", icon=":material/stop:",
                    on_click=lambda: st.session_state.update(review_stopped=True))
        _analyse(path, upload_name, data, exercise, int(people))
        stop.empty()
    elif st.session_state.pop("review_stopped", False):
        st.info(t("review.stopped"), icon=":material/stop:")
    result = st.session_state.get("review_result")
    if result is not None:
        _results(result)
