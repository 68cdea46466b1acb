"""Tables and Altair charts from the engine's report and metric samples (no Streamlit calls here).

Column headers and labels are translated by the caller's ``t`` (app strings) and ``m``
(the engine's messages), so the functions stay testable without a running app.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd

from exercises.definition import Condition, ExerciseDef
from exercises.messages import Messages

T = Callable[..., str]
#: Metric types measured in degrees.
DEGREE_TYPES = {"angle", "inclination", "rotation", "valgus"}
BAND_COLORS = {"start": "#2e7d32", "turn": "#1565c0", "hold": "#2e7d32", "fault": "#c62828"}


def fault_names(codes: list[str], m: Messages) -> str:
    """Fault codes as short translated names, comma-separated."""
    return ", ".join(m.fault(c) for c in codes)


def rep_table(person: dict[str, Any], t: T, m: Messages, signal: str | None = None) -> pd.DataFrame:
    """One row per counted rep: number, start, duration, range of motion (the peak of the rep signal,
    named ``signal``), whether the target was reached, faults."""
    rows = []
    for ev in person.get("rep_events", []):
        peak = ev.get("peak")
        rows.append({
            t("table.rep"): ev["index"],
            t("table.start_s"): round(ev["start_s"], 2),
            t("table.duration_s"): round(ev["end_s"] - ev["start_s"], 2),
            (t("table.rom_of", metric=signal) if signal else t("table.rom")): None if peak is None else round(peak, 3),
            t("table.rom_reached"): {True: t("table.yes"), False: t("table.no")}.get(ev.get("rom_reached"), "–"),
            t("table.faults"): fault_names(ev.get("faults", []), m) or t("table.clean"),
        })
    return pd.DataFrame(rows)


def hold_table(person: dict[str, Any], t: T) -> pd.DataFrame:
    """One row per held stretch: start, end, seconds held."""
    return pd.DataFrame([{t("table.start_s"): h["start_s"], t("table.end_s"): h["end_s"],
                          t("table.held_s"): h["held_s"]} for h in person.get("holds", [])])


def feedback_table(person: dict[str, Any], t: T) -> pd.DataFrame:
    """The feedback the person got, in order (time, message)."""
    return pd.DataFrame([{t("table.time_s"): f["t_s"], t("table.message"): f["message"]}
                         for f in person.get("feedback", [])])


def chart_metrics(ex: ExerciseDef) -> list[str]:
    """Metrics worth a chart: the rep signal first, then those with phase, hold or rule thresholds."""
    out: list[str] = []
    if ex.reps is not None:
        out.append(ex.reps.signal)
        out += [c.metric for ph in (ex.reps.start_phase, ex.reps.turn_phase) for c in ph.conditions]
    if ex.hold is not None:
        out += [c.metric for c in ex.hold.pose]
    out += [r.metric for r in ex.rules if r.enabled]
    return list(dict.fromkeys(out))


def bands(ex: ExerciseDef, metric: str, t: T, m: Messages) -> list[dict[str, Any]]:
    """Threshold bands of one metric: start and turn phase, hold pose, and each rule's fault region.

    Each band is ``{"lo", "hi", "label", "kind"}``; an open side is ±inf.
    """
    out: list[dict[str, Any]] = []

    def add(conds: tuple[Condition, ...], label: str, kind: str) -> None:
        for c in conds:
            if c.metric == metric:
                out.append({"lo": -math.inf if c.above is None else c.above,
                            "hi": math.inf if c.below is None else c.below, "label": label, "kind": kind})

    if ex.reps is not None:
        add(ex.reps.start_phase.conditions, t("chart.band_start"), "start")
        add(ex.reps.turn_phase.conditions, t("chart.band_turn"), "turn")
    if ex.hold is not None:
        add(ex.hold.pose, t("chart.band_hold"), "hold")
    for r in ex.rules:
        if r.enabled and r.metric == metric:
            lo, hi = (r.threshold, math.inf) if r.compare == "above" else (-math.inf, r.threshold)
            out.append({"lo": lo, "hi": hi, "label": t("chart.band_fault", fault=m.fault(r.code)), "kind": "fault"})
    return out


def metric_label(ex: ExerciseDef, metric: str, t: T) -> str:
    """Translated metric name with its unit."""
    from app_pages.i18n import table

    key = f"metric.{metric}"
    name = t(key) if key in table() else metric.replace("_", " ")
    mdef = ex.metrics.get(metric)
    return f"{name} (°)" if mdef is not None and mdef.type in DEGREE_TYPES else name


def metric_chart(samples: list[dict[str, Any]], track_id: int, ex: ExerciseDef, metric: str, t: T, m: Messages,
                 reps: list[dict[str, Any]] | None = None) -> alt.LayerChart | None:
    """The metric over time for one person, with threshold bands and the counted reps shaded."""
    rows = [{"t": s["t_s"], "v": s[metric]} for s in samples
            if s["track_id"] == track_id and isinstance(s.get(metric), int | float) and math.isfinite(s[metric])]
    if not rows:
        return None
    data = pd.DataFrame(rows)
    label = metric_label(ex, metric, t)
    bs = bands(ex, metric, t, m)
    finite = [x for b in bs for x in (b["lo"], b["hi"]) if math.isfinite(x)]
    lo = min([data["v"].min(), *finite])
    hi = max([data["v"].max(), *finite])
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad
    band_df = pd.DataFrame([{**b, "lo": max(b["lo"], lo), "hi": min(b["hi"], hi)} for b in bs]) if bs else None
    x = alt.X("t:Q", title=t("chart.time_s"))
    y_scale = alt.Scale(domain=[lo, hi], nice=False)
    layers: list[alt.Chart] = []
    if reps:
        rep_df = pd.DataFrame([{"start": r["start_s"], "end": r["end_s"], "rep": f"{t('table.rep')} {r['index']}"}
                               for r in reps])
        layers.append(alt.Chart(rep_df).mark_rect(opacity=0.08, color="#555").encode(
            x="start:Q", x2="end:Q", tooltip=["rep:N"]))
    if band_df is not None:
        color = alt.Color("label:N", title=t("chart.bands"),
                          scale=alt.Scale(domain=list(band_df["label"]),
                                          range=[BAND_COLORS[k] for k in band_df["kind"]]))
        layers.append(alt.Chart(band_df).mark_rect(opacity=0.15).encode(
            y=alt.Y("lo:Q", scale=y_scale, title=label), y2="hi:Q", color=color, tooltip=["label:N"]))
    layers.append(alt.Chart(data).mark_line(color="#222").encode(
        x=x, y=alt.Y("v:Q", scale=y_scale, title=label),
        tooltip=[alt.Tooltip("t:Q", title=t("chart.time_s"), format=".2f"),
                 alt.Tooltip("v:Q", title=label, format=".3g")]))
    return alt.layer(*layers).properties(height=260, title=label)


def samples_frame(samples: list[dict[str, Any]], t: T) -> pd.DataFrame:
    """All metric samples as a long table (for the CSV download)."""
    df = pd.DataFrame(samples)
    return df.rename(columns={"t_s": t("table.time_s"), "track_id": t("table.person")})
