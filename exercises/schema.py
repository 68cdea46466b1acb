"""Strict validation of exercise definition documents (the TOML files' schema).

Every problem raises :class:`~exercises.definition.DefinitionError` naming the file and the
dotted key, e.g. ``squat.toml: key 'rules[2].severity': 'fatal' is not one of info, warning, error``.
"""

from __future__ import annotations

from typing import Any

from exercises.definition import (
    KINDS,
    METRIC_TYPES,
    RULE_VIEWS,
    SCALES,
    SEVERITIES,
    SIDES,
    SPACES,
    VIEWS,
    Condition,
    DefinitionError,
    ExerciseDef,
    HoldDef,
    MetricDef,
    PhaseDef,
    RepsDef,
    RuleDef,
    SetupDef,
    StartDef,
    SummaryDef,
    is_point_name,
)
from exercises.messages import known_key


class _Ctx:
    """Error context: file name + dotted key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> DefinitionError:
        return DefinitionError(f"{self.source}: key {key!r}: {problem}")

    def table(self, data: Any, key: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, f"must be a table, got {type(data).__name__}")
        return data

    def keys(self, data: dict[str, Any], key: str, allowed: set[str], required: set[str] = frozenset()) -> None:
        for k in data:
            if k not in allowed:
                raise self.fail(f"{key}.{k}" if key else k, f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for k in required:
            if k not in data:
                raise self.fail(f"{key}.{k}" if key else k, "missing required key")

    def num(self, data: dict[str, Any], key: str, path: str, default: float | None = None,
            lo: float | None = None, hi: float | None = None) -> float | None:
        if key not in data:
            return default
        v = data[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or v != v:
            raise self.fail(f"{path}.{key}", f"must be a number, got {v!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise self.fail(f"{path}.{key}", f"{v} is outside [{lo}, {hi}]")
        return float(v)

    def choice(self, data: dict[str, Any], key: str, path: str, options: tuple[str, ...], default: str) -> str:
        v = data.get(key, default)
        if v not in options:
            raise self.fail(f"{path}.{key}", f"{v!r} is not one of {', '.join(options)}")
        return str(v)

    def strings(self, data: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
        v = data.get(key, [])
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            raise self.fail(f"{path}.{key}", "must be a list of strings")
        return tuple(v)


def _conditions(ctx: _Ctx, raw: Any, path: str, metrics: dict[str, MetricDef]) -> tuple[Condition, ...]:
    if not isinstance(raw, list):
        raise ctx.fail(path, "must be a list of {metric, above/below} tables")
    out = []
    for i, c in enumerate(raw):
        p = f"{path}[{i}]"
        c = ctx.table(c, p)
        ctx.keys(c, p, {"metric", "above", "below"}, {"metric"})
        if c["metric"] not in metrics:
            raise ctx.fail(f"{p}.metric", f"unknown metric {c['metric']!r}")
        above, below = ctx.num(c, "above", p), ctx.num(c, "below", p)
        if above is None and below is None:
            raise ctx.fail(p, "needs 'above' and/or 'below'")
        if above is not None and below is not None and not above < below:
            raise ctx.fail(p, f"empty band: above={above} is not below below={below}")
        out.append(Condition(c["metric"], above, below))
    return tuple(out)


def _metric(ctx: _Ctx, name: str, raw: Any) -> MetricDef:
    path = f"metrics.{name}"
    raw = ctx.table(raw, path)
    allowed = {"type", "points", "of", "sides", "space", "scale", "axis", "flexion", "op", "order",
               "absolute", "window_s", "min_denominator", "direction", "valid", "decay_per_s"}
    ctx.keys(raw, path, allowed, {"type"})
    mtype = ctx.choice(raw, "type", path, tuple(METRIC_TYPES), "angle")
    npts = METRIC_TYPES[mtype]
    points = ctx.strings(raw, "points", path)
    of = ctx.strings(raw, "of", path)
    if npts is None:
        if points:
            raise ctx.fail(f"{path}.points", f"a {mtype} metric takes 'of', not 'points'")
        want = {"ratio": 2, "rate": 1, "drop": 1}.get(mtype)
        if (want and len(of) != want) or (not want and len(of) < 2 if mtype != "combine" else len(of) < 1):
            raise ctx.fail(f"{path}.of", f"wrong number of metrics for {mtype}: {len(of)}")
    else:
        if len(points) != npts:
            raise ctx.fail(f"{path}.points", f"a {mtype} metric needs {npts} points, got {len(points)}")
        for i, p in enumerate(points):
            if not is_point_name(p):
                raise ctx.fail(f"{path}.points[{i}]", f"unknown landmark name {p!r}")
    flexion = raw.get("flexion", False)
    absolute = raw.get("absolute", False)
    for k, v in (("flexion", flexion), ("absolute", absolute)):
        if not isinstance(v, bool):
            raise ctx.fail(f"{path}.{k}", "must be true or false")
    valid = raw.get("valid")
    if valid is not None and not (isinstance(valid, list) and len(valid) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in valid) and valid[0] < valid[1]):
        raise ctx.fail(f"{path}.valid", "must be [low, high] with low < high")
    order = raw.get("order", 1)
    if order not in (1, 2):
        raise ctx.fail(f"{path}.order", "must be 1 or 2")
    return MetricDef(
        name=name, type=mtype, points=tuple(p.lower() for p in points), of=of,
        sides=ctx.choice(raw, "sides", path, SIDES, "mean"),
        space=ctx.choice(raw, "space", path, SPACES, "auto"),
        scale=ctx.choice(raw, "scale", path, SCALES, "leg"),
        axis=ctx.choice(raw, "axis", path, ("any", "horizontal", "vertical", "trunk"), "any"),
        flexion=flexion, op=ctx.choice(raw, "op", path, ("mean", "max", "min", "sum", "diff"), "mean"),
        order=int(order), absolute=absolute,
        window_s=ctx.num(raw, "window_s", path, 2.0 if mtype == "drop" else 0.15, 0.01, 30.0) or 0.15,
        min_denominator=ctx.num(raw, "min_denominator", path, 1e-6, 0.0) or 1e-6,
        direction=ctx.choice(raw, "direction", path, ("down", "up"), "down"),
        decay_per_s=ctx.num(raw, "decay_per_s", path, 0.0, 0.0) or 0.0,
        valid=(float(valid[0]), float(valid[1])) if valid is not None else None,
    )


def _check_metric_refs(ctx: _Ctx, metrics: dict[str, MetricDef]) -> None:
    """Derived metrics must reference known metrics, without cycles."""
    for m in metrics.values():
        for i, o in enumerate(m.of):
            if o not in metrics:
                raise ctx.fail(f"metrics.{m.name}.of[{i}]", f"unknown metric {o!r}")
    state: dict[str, int] = {}

    def visit(n: str, trail: tuple[str, ...]) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            raise ctx.fail(f"metrics.{n}", f"circular reference: {' -> '.join((*trail, n))}")
        state[n] = 1
        for o in metrics[n].of:
            visit(o, (*trail, n))
        state[n] = 2

    for n in metrics:
        visit(n, ())


def _phase(ctx: _Ctx, name: str, raw: Any, path: str, metrics: dict[str, MetricDef]) -> PhaseDef:
    raw = ctx.table(raw, path)
    ctx.keys(raw, path, {"conditions", "dwell_s"}, {"conditions"})
    conds = _conditions(ctx, raw["conditions"], f"{path}.conditions", metrics)
    if not conds:
        raise ctx.fail(f"{path}.conditions", "needs at least one condition")
    return PhaseDef(name, conds, ctx.num(raw, "dwell_s", path, 0.0, 0.0, 10.0) or 0.0)


def _reps(ctx: _Ctx, raw: Any, metrics: dict[str, MetricDef]) -> RepsDef:
    raw = ctx.table(raw, "reps")
    allowed = {"signal", "start_phase", "turn_phase", "phases", "rom_target", "rom_message", "return_ratio",
               "fast_ratio", "fast_code", "fast_message", "min_rep_s", "max_rep_s", "shallow_min_rep_s"}
    ctx.keys(raw, "reps", allowed, {"signal", "start_phase", "turn_phase", "phases"})
    signal = raw["signal"]
    if signal not in metrics:
        raise ctx.fail("reps.signal", f"unknown metric {signal!r}")
    phases = ctx.table(raw["phases"], "reps.phases")
    names = {}
    for key in ("start_phase", "turn_phase"):
        n = raw[key]
        if n not in phases:
            raise ctx.fail(f"reps.{key}", f"unknown phase {n!r} (phases: {', '.join(phases)})")
        names[key] = n
    if names["start_phase"] == names["turn_phase"] or len(phases) != 2:
        raise ctx.fail("reps.phases", "needs exactly two distinct phases: the start phase and the turn phase")
    start = _phase(ctx, names["start_phase"], phases[names["start_phase"]], f"reps.phases.{names['start_phase']}",
                   metrics)
    turn = _phase(ctx, names["turn_phase"], phases[names["turn_phase"]], f"reps.phases.{names['turn_phase']}",
                  metrics)
    s_c = [c for c in start.conditions if c.metric == signal]
    t_c = [c for c in turn.conditions if c.metric == signal]
    if not s_c or not t_c:
        raise ctx.fail("reps.phases", f"both phases need a condition on the signal {signal!r}")
    # Hysteresis: the two phases must not overlap on the signal.
    s_lo, s_hi = s_c[0].above, s_c[0].below
    t_lo, t_hi = t_c[0].above, t_c[0].below
    down = s_lo is not None and t_hi is not None
    up = s_hi is not None and t_lo is not None
    if not (down or up):
        raise ctx.fail("reps.phases", "start and turn phase must bound the signal from opposite sides")
    if down and not t_hi < s_lo:  # type: ignore[operator]
        raise ctx.fail(f"reps.phases.{turn.name}", f"no hysteresis: below={t_hi} must be < start above={s_lo}")
    if up and not s_hi < t_lo:  # type: ignore[operator]
        raise ctx.fail(f"reps.phases.{turn.name}", f"no hysteresis: above={t_lo} must be > start below={s_hi}")
    min_rep = ctx.num(raw, "min_rep_s", "reps", 0.4, 0.0, 60.0) or 0.0
    max_rep = ctx.num(raw, "max_rep_s", "reps", 20.0, 0.5, 600.0) or 20.0
    if not min_rep < max_rep:
        raise ctx.fail("reps.max_rep_s", "must be greater than min_rep_s")
    rom_message = raw.get("rom_message", "fault.too_shallow")
    if not known_key(rom_message):
        raise ctx.fail("reps.rom_message", f"unknown message key {rom_message!r}")
    ret = ctx.num(raw, "return_ratio", "reps", 0.0, 0.0, 0.5) or 0.0
    fast = ctx.num(raw, "fast_ratio", "reps", 0.0, 0.0, 0.9) or 0.0
    fast_code = raw.get("fast_code", "jerky")
    fast_message = raw.get("fast_message", "fault.jerky")
    if not isinstance(fast_code, str) or not fast_code.isidentifier():
        raise ctx.fail("reps.fast_code", "must be an identifier such as 'jerky'")
    if not known_key(fast_message):
        raise ctx.fail("reps.fast_message", f"unknown message key {fast_message!r}")
    shallow_min = ctx.num(raw, "shallow_min_rep_s", "reps", 0.0, 0.0, 60.0) or 0.0
    return RepsDef(signal, start, turn, ctx.num(raw, "rom_target", "reps"), rom_message, ret, fast, fast_code,
                   fast_message, min_rep, shallow_min, max_rep)


def _rules(ctx: _Ctx, raw: Any, ex_phases: tuple[str, ...], metrics: dict[str, MetricDef]) -> tuple[RuleDef, ...]:
    if not isinstance(raw, list):
        raise ctx.fail("rules", "must be an array of tables ([[rules]])")
    out = []
    for i, r in enumerate(raw):
        p = f"rules[{i}]"
        r = ctx.table(r, p)
        ctx.keys(r, p, {"code", "metric", "above", "below", "severity", "message", "phase", "min_duration_s",
                        "view", "agg", "when", "pause_hold", "enabled"}, {"code", "metric", "message"})
        if r["metric"] not in metrics:
            raise ctx.fail(f"{p}.metric", f"unknown metric {r['metric']!r}")
        if ("above" in r) == ("below" in r):
            raise ctx.fail(p, "needs exactly one of 'above' or 'below' (the fault threshold)")
        compare = "above" if "above" in r else "below"
        phase = r.get("phase", "rep")
        if phase not in ex_phases:
            raise ctx.fail(f"{p}.phase", f"unknown phase {phase!r} (allowed: {', '.join(ex_phases)})")
        agg = r.get("agg")
        if agg is not None and agg not in ("max", "min", "mean"):
            raise ctx.fail(f"{p}.agg", f"{agg!r} is not one of max, min, mean")
        for k in ("pause_hold", "enabled"):
            if not isinstance(r.get(k, True), bool):
                raise ctx.fail(f"{p}.{k}", "must be true or false")
        if not isinstance(r["code"], str) or not r["code"].isidentifier():
            raise ctx.fail(f"{p}.code", "must be an identifier such as 'knee_valgus'")
        out.append(RuleDef(
            code=r["code"], metric=r["metric"], compare=compare, threshold=ctx.num(r, compare, p) or 0.0,
            severity=ctx.choice(r, "severity", p, SEVERITIES, "warning"), message=str(r["message"]),
            phase=phase, min_duration_s=ctx.num(r, "min_duration_s", p, 0.2, 0.0, 30.0) or 0.0,
            view=ctx.choice(r, "view", p, RULE_VIEWS, "any"), agg=agg,
            when=_conditions(ctx, r.get("when", []), f"{p}.when", metrics),
            pause_hold=r.get("pause_hold", True), enabled=r.get("enabled", True),
        ))
    return tuple(out)


def parse(data: dict[str, Any], source: str) -> ExerciseDef:
    """Validate a parsed TOML document into an :class:`ExerciseDef`; ``source`` names the file in errors."""
    ctx = _Ctx(source)
    ctx.keys(data, "", {"id", "kind", "view", "required_landmarks", "metrics", "start", "reps", "hold", "rules",
                        "setup", "praise", "description", "summary"}, {"id", "kind", "view", "metrics"})
    ex_id = data["id"]
    if not isinstance(ex_id, str) or not ex_id.isidentifier():
        raise ctx.fail("id", "must be an identifier such as 'squat'")
    kind = ctx.choice(data, "kind", "", KINDS, "reps")
    view = ctx.choice(data, "view", "", VIEWS, "either")
    req = ctx.strings(data, "required_landmarks", "")
    for i, n in enumerate(req):
        if not is_point_name(n):
            raise ctx.fail(f"required_landmarks[{i}]", f"unknown landmark name {n!r}")
    metrics = {n: _metric(ctx, n, m) for n, m in ctx.table(data["metrics"], "metrics").items()}
    _check_metric_refs(ctx, metrics)
    reps = hold = None
    if kind == "reps":
        if "reps" not in data or "hold" in data:
            raise ctx.fail("reps", "a 'reps' exercise needs a [reps] table and no [hold]")
        reps = _reps(ctx, data["reps"], metrics)
        phases: tuple[str, ...] = ("rep", "down", "up", reps.start_phase.name, reps.turn_phase.name)
    else:
        if "hold" not in data or "reps" in data:
            raise ctx.fail("hold", "a 'hold' exercise needs a [hold] table and no [reps]")
        h = ctx.table(data["hold"], "hold")
        ctx.keys(h, "hold", {"pose", "target_s", "dwell_s", "grace_s"}, {"pose"})
        hold = HoldDef(_conditions(ctx, h["pose"], "hold.pose", metrics),
                       ctx.num(h, "target_s", "hold", 30.0, 1.0, 3600.0) or 30.0,
                       ctx.num(h, "dwell_s", "hold", 0.3, 0.0, 10.0) or 0.0,
                       ctx.num(h, "grace_s", "hold", 0.5, 0.0, 10.0) or 0.0)
        phases = ("hold",)
    st = ctx.table(data.get("start", {}), "start")
    ctx.keys(st, "start", {"conditions", "dwell_s"})
    start = StartDef(_conditions(ctx, st.get("conditions", []), "start.conditions", metrics),
                     ctx.num(st, "dwell_s", "start", 0.2, 0.0, 10.0) or 0.0)
    su = ctx.table(data.get("setup", {}), "setup")
    ctx.keys(su, "setup", {"min_body_height", "max_body_height", "min_visibility"})
    setup = SetupDef(ctx.num(su, "min_body_height", "setup", 0.3, 0.0, 1.0) or 0.0,
                     ctx.num(su, "max_body_height", "setup", 0.98, 0.0, 2.0) or 0.98,
                     ctx.num(su, "min_visibility", "setup", 0.5, 0.0, 1.0) or 0.0)
    rules = _rules(ctx, data.get("rules", []), phases, metrics)
    summary = []
    for name, sd in ctx.table(data.get("summary", {}), "summary").items():
        path = f"summary.{name}"
        if name not in metrics:
            raise ctx.fail(path, f"unknown metric {name!r}")
        sd = ctx.table(sd, path)
        ctx.keys(sd, path, {"agg", "bands"})
        bands = sd.get("bands", [])
        if not isinstance(bands, list) or not all(isinstance(b, int | float) and not isinstance(b, bool)
                                                  for b in bands) or sorted(bands) != bands:
            raise ctx.fail(f"{path}.bands", "must be an ascending list of numbers")
        summary.append(SummaryDef(name, ctx.choice(sd, "agg", path, ("max", "min", "mean"), "max"),
                                  tuple(float(b) for b in bands)))
    praise = data.get("praise", "praise.clean_rep")
    for i, r in enumerate(rules):
        if not known_key(r.message):
            raise ctx.fail(f"rules[{i}].message", f"unknown message key {r.message!r} (see exercises/messages)")
    if not known_key(praise):
        raise ctx.fail("praise", f"unknown message key {praise!r}")
    return ExerciseDef(ex_id, kind, view, tuple(n.lower() for n in req), metrics, start, rules, reps, hold,
                       setup, praise, source, tuple(summary))
