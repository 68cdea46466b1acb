"""``formcheck bench``: where the time goes, measured on this machine (a script, not a test).

Every figure comes from one invocation on the same machine, so ratios compare like with
like.  Clips are built from the bundled samples into a temporary folder:

* ``720p-1`` — 1280×720, 30 fps H.264, one person (a crop of ``pose2sim_singleperson_cam01``
  on a plain backdrop), the reference for the real-time target;
* ``720p-4`` — the same with four people side by side;
* ``phone-60``/``phone-30`` — ``pose2sim_singleperson_cam01.mp4`` itself: portrait 1080×1920,
  60 fps, H.264, analysed at 60 fps and at ``--target-fps 30``;
* ``phone120-30`` — the same upscaled to 1440×1920 at 120 fps (a phone's slow-motion
  setting), analysed at 30 fps: four frames decoded per frame analysed.

Reported per clip: per-stage milliseconds per frame (median and p95) inside the pipeline
(decode wait, pose, tracking, filter, checking, drawing, record, encode); each stage's
own rate measured alone (decode, raw pose inference = one MediaPipe landmarker on the
whole frame, encode); end-to-end fps and ×real time; the pipeline's overhead over raw
inference (wall time per analysed frame over one raw model call, the issue's measure) and
over the time spent inside the MediaPipe calls it makes (finding and following people
costs more than one call per frame); throughput as a share of the slowest stage's own
rate.  Then peak RSS and RSS growth over a long looped run (``--minutes`` of
video, default 10).  ``--profile`` adds a cProfile of the ``720p-1`` run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import platform
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
PHONE_SAMPLE = "pose2sim_singleperson_cam01.mp4"


# ----------------------------------------------------------------------------- clips
def _sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        raise FileNotFoundError(f"bench needs the bundled sample {path} (run from a full checkout)")
    return path


def make_clips(folder: Path) -> dict[str, tuple[Path, float | None]]:
    """Build the benchmark clips; returns run name -> (path, target_fps).

    ``720p-1`` runs with drawing and encoding (every stage); the other runs analyse only
    (``analyze --no-video``); ``@15``/``@10`` analyse at 15 or 10 of the 30 frames per second.
    """
    from vision.capture import open_video
    from vision.sink import VideoSink

    with open_video(_sample(PHONE_SAMPLE)) as src:
        frames = [f.image for f in src]
    person = [f[:, 200:1080] for f in frames]  # without the bystander at the left edge
    out: dict[str, tuple[Path, float | None]] = {}
    # a plain wall-and-floor backdrop: nothing in it a detector could take for a person
    backdrop = np.empty((720, 1280, 3), np.uint8)
    backdrop[:] = np.linspace(150, 90, 720, dtype=np.uint8)[:, None, None]
    for name, n_people in (("720p-1", 1), ("720p-4", 4)):
        path = folder / f"{name}.mp4"
        with VideoSink(path, fps=30, size=(1280, 720)) as sink:
            for i in range(len(frames)):
                canvas = backdrop.copy()
                h = 700 if n_people == 1 else 690
                for k in range(n_people):
                    crop = person[(i + 23 * k) % len(frames)]
                    w = round(crop.shape[1] * h / crop.shape[0])
                    tile = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
                    x0 = (1280 - w) // 2 if n_people == 1 else 10 + k * 318
                    tile = tile[:, : min(w, 1280 - x0)]
                    canvas[10:10 + h, x0:x0 + tile.shape[1]] = tile
                sink.write(canvas)
        out[name] = (path, None)
        if n_people == 1:
            out["720p-1 analysis"] = (path, None)
            out["720p-1 @15"] = (path, 15.0)
            out["720p-1 @10"] = (path, 10.0)
    out["phone-60"] = (_sample(PHONE_SAMPLE), None)
    out["phone-30"] = (_sample(PHONE_SAMPLE), 30.0)
    # a 1440x1920 120 fps phone clip (slow-motion setting), analysed at 30 fps
    path = folder / "phone-1440x1920-120.mp4"
    with VideoSink(path, fps=120, size=(1440, 1920)) as sink:
        for f in frames:
            big = cv2.resize(f, (1440, 2560), interpolation=cv2.INTER_CUBIC)
            sink.write(np.ascontiguousarray(big[320:2240]))
    out["phone120-30"] = (path, 30.0)
    return out


# ----------------------------------------------------------------------------- measurements
def _stats(ms: list[float] | np.ndarray) -> dict[str, float]:
    a = np.asarray(ms, np.float64)
    return {"median_ms": round(float(np.median(a)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2),
            "mean_ms": round(float(a.mean()), 2)}


def _looped(path: Path, n: int, target_fps: float | None = None, prefetch: int = 0) -> Any:
    from vision.capture import open_video

    src = open_video(path, loop=True, target_fps=target_fps, prefetch=prefetch)
    return src, (f for _, f in zip(range(n), src, strict=False))


def decode_alone(path: Path, n: int, target_fps: float | None) -> dict[str, float]:
    """Decode (threaded PyAV) and convert to BGR, nothing else; ms per delivered frame."""
    src, frames = _looped(path, n + 5, target_fps)
    with src:
        for _ in range(5):
            next(frames)
        ms, t = [], time.perf_counter()
        for _ in frames:
            now = time.perf_counter()
            ms.append((now - t) * 1000)
            t = now
    return _stats(ms)


def raw_inference(path: Path, n: int, target_fps: float | None) -> dict[str, float]:
    """One MediaPipe landmarker (VIDEO mode) on the whole frame: the model alone, no pipeline."""
    from vision.model import resolve_model
    from vision.pose import PoseConfig, _Landmarker

    src, frames = _looped(path, n, target_fps)
    images = [cv2.cvtColor(f.image, cv2.COLOR_BGR2RGB) for f in frames]
    src.close()
    lm = _Landmarker(resolve_model(None), "video", 1, PoseConfig())
    try:
        for i in range(5):
            lm.detect(images[i % len(images)], i)
        ms = []
        for i, img in enumerate(images):
            t = time.perf_counter()
            lm.detect(img, 1000 + i * 33)
            ms.append((time.perf_counter() - t) * 1000)
    finally:
        lm.close()
    return _stats(ms)


def encode_alone(path: Path, n: int) -> dict[str, float]:
    """H.264 encoding of annotated-size frames, nothing else."""
    from vision.sink import VideoSink

    src, frames = _looped(path, min(n, 120))
    images = [f.image for f in frames]
    src.close()
    h, w = images[0].shape[:2]
    ms = []
    with tempfile.TemporaryDirectory() as tmp, VideoSink(Path(tmp) / "e.mp4", fps=30, size=(w, h)) as sink:
        for i in range(n):
            t = time.perf_counter()
            sink.write(images[i % len(images)])
            ms.append((time.perf_counter() - t) * 1000)
    return _stats(ms)


class _ModelClock:
    """Wraps ``_Landmarker.detect`` to add up the time spent inside MediaPipe (bench only)."""

    def __init__(self) -> None:
        from vision import pose

        self._cls = pose._Landmarker
        self._orig = self._cls.detect
        self.seconds = 0.0
        self.calls = 0
        clock = self

        def timed(lm: Any, *a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return clock._orig(lm, *a, **kw)
            finally:
                clock.seconds += time.perf_counter() - t
                clock.calls += 1

        self._cls.detect = timed  # type: ignore[method-assign]

    def close(self) -> None:
        self._cls.detect = self._orig  # type: ignore[method-assign]


def pipeline_run(path: Path, n: int, target_fps: float | None, *, people: int, video: bool,
                 folder: Path, profile: bool = False) -> dict[str, Any]:
    """Pipeline.run on the first ``n`` analysed frames (a trimmed copy), timed per stage."""
    from exercises.pipeline import Pipeline, PipelineConfig, StageTimer

    trimmed = _trim(path, n, target_fps, folder)
    # a profile sees one thread only: profile with pose inference in the calling thread
    cfg = PipelineConfig(people=people, exercise="squat", lang="en", target_fps=target_fps, draw=video,
                         record=True, pose_thread=not profile)
    timer = StageTimer()
    clock = _ModelClock()
    prof = cProfile.Profile() if profile else None
    try:
        with Pipeline(cfg, timer=timer) as pipe:
            cpu0 = time.process_time()
            if prof is not None:
                prof.enable()
            res = pipe.run(trimmed, video_out=folder / "annotated.mp4" if video else None)
            if prof is not None:
                prof.disable()
            cpu = time.process_time() - cpu0
    finally:
        clock.close()
    frames = res.frames
    wall_ms = res.wall_s * 1000 / frames
    model_ms = clock.seconds * 1000 / frames
    out = {"frames": frames, "wall_ms_per_frame": round(wall_ms, 2), "fps": round(frames / res.wall_s, 2),
           "cpu_ms_per_frame": round(cpu * 1000 / frames, 2), "model_ms_per_frame": round(model_ms, 2),
           "model_calls_per_frame": round(clock.calls / frames, 2),
           "overhead_over_model": round(wall_ms / model_ms - 1, 3) if model_ms else None,
           "people_max": int(max(res.recorder.frame_people, default=0)),
           "stages": timer.summary()}
    src_fps = min(res.source_fps, target_fps or res.source_fps)
    out["x_realtime"] = round(out["fps"] / src_fps, 2)
    if prof is not None:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
        out["profile"] = buf.getvalue()
    return out


def _trim(path: Path, n: int, target_fps: float | None, folder: Path) -> Path:
    """A copy with enough source frames for ``n`` analysed ones (looping short samples)."""
    from vision.capture import open_video
    from vision.sink import VideoSink

    with open_video(path) as probe:
        fps, size = probe.fps, (probe.width, probe.height)
    n_src = int(np.ceil(n * fps / target_fps)) if target_fps and target_fps < fps else n
    out = folder / f"trim_{path.stem}_{n_src}.mp4"
    if not out.exists():
        src, frames = _looped(path, n_src)
        with src, VideoSink(out, fps=fps, size=size) as sink:
            for f in frames:
                sink.write(f.image)
    return out


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def long_run(path: Path, minutes: float, target_fps: float | None) -> dict[str, Any]:
    """Loop ``path`` for ``minutes`` of video through the live path (step) and watch the RSS."""
    from exercises.pipeline import Pipeline, PipelineConfig, Recorder
    from vision.capture import open_video

    cfg = PipelineConfig(people=4, exercise="squat", lang="en", target_fps=target_fps, draw=True)
    rec = Recorder(landmarks=False)
    samples: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    n = 0
    next_sample = 0.0
    with Pipeline(cfg) as pipe, open_video(path, loop=True, target_fps=target_fps, prefetch=8) as src:
        for frame in src:
            res = pipe.step(frame)
            rec.add(res.frame.without_image())
            n += 1
            if frame.t_s >= next_sample:
                samples.append((round(frame.t_s, 1), round(_rss_mb(), 1)))
                log.warning("bench: long run at %.0f s of video (%d frames, %.0f s), RSS %.1f MB", frame.t_s, n,
                            time.perf_counter() - t0, samples[-1][1])
                next_sample += 30.0
            if frame.t_s >= minutes * 60:
                break
        samples.append((round(frame.t_s, 1), round(_rss_mb(), 1)))  # still running: before anything is freed
    warm = next((r for t, r in samples if t >= min(60.0, minutes * 60 / 4)), samples[0][1])
    return {"video_s": round(frame.t_s, 1), "frames": n, "wall_s": round(time.perf_counter() - t0, 1),
            "rss_mb_after_warmup": warm, "rss_mb_end": samples[-1][1], "growth_mb": round(samples[-1][1] - warm, 1),
            # the process's peak, including the speed runs before this one
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rss_samples": samples}


# ----------------------------------------------------------------------------- report
def machine() -> dict[str, Any]:
    """Cores, CPU model, load and library versions."""
    import av
    import mediapipe

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cores": len(os.sched_getaffinity(0)), "cpu": model, "python": platform.python_version(),
            "mediapipe": mediapipe.__version__, "pyav": av.__version__, "opencv": cv2.__version__,
            "load_avg_start": [round(x, 2) for x in os.getloadavg()]}


def render(result: dict[str, Any]) -> str:
    """Markdown tables for docs/benchmarks.md."""
    m = result["machine"]
    lines = [f"Machine: {m['cores']} cores ({m['cpu']}); load average {m['load_avg_start']} at start, "
             f"{m.get('load_avg_end')} at end. mediapipe {m['mediapipe']}, PyAV {m['pyav']}, OpenCV {m['opencv']}.",
             "", "| clip | frames | e2e fps | × real time | over raw inference | over its MediaPipe calls | "
             "MediaPipe calls / frame | slowest own stage | throughput / slowest | people |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in result["clips"].items():
        lines.append(f"| {name} | {r['frames']} | {r['fps']} | {r['x_realtime']} | {r['overhead_over_raw']:+.0%} | "
                     f"{r['overhead_over_model']:+.0%} | {r['model_calls_per_frame']} | "
                     f"{r['slowest']['stage']} {r['slowest']['ms']:.1f} ms | {r['efficiency']:.0%} | "
                     f"{r['people_max']} |")
    stages = ("decode", "pose", "tracking", "filter", "checking", "drawing", "record", "encode")
    lines += ["", "Per-stage ms per frame inside the pipeline (median / p95), and each stage alone:", "",
              "| clip | " + " | ".join(stages) + " | decode alone | raw inference alone | encode alone |",
              "|---|" + "---|" * (len(stages) + 3)]
    for name, r in result["clips"].items():
        cells = [f"{r['stages'][s]['median_ms']:.1f} / {r['stages'][s]['p95_ms']:.1f}" if s in r["stages"] else "–"
                 for s in stages]
        alone = [f"{r[k]['median_ms']:.1f} / {r[k]['p95_ms']:.1f}" if r.get(k) else "–"
                 for k in ("decode_alone", "raw_inference", "encode_alone")]
        lines.append(f"| {name} | " + " | ".join(cells + alone) + " |")
    if "long_run" in result:
        lr = result["long_run"]
        lines += ["", f"Long run: {lr['video_s']:.0f} s of video ({lr['frames']} frames) in {lr['wall_s']:.0f} s; "
                  f"RSS {lr['rss_mb_after_warmup']} MB after warm-up → {lr['rss_mb_end']} MB at the end "
                  f"(growth {lr['growth_mb']:+.1f} MB); the process's peak RSS {lr['peak_rss_mb']} MB."]
    return "\n".join(lines) + "\n"


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """All measurements (see the module docstring)."""
    result: dict[str, Any] = {"command": "formcheck " + " ".join(sys.argv[1:]), "machine": machine(), "clips": {}}
    with tempfile.TemporaryDirectory(prefix="formcheck-bench-") as tmp:
        folder = Path(tmp)
        clips = make_clips(folder)
        for extra in args.video or []:
            clips[Path(extra).name] = (Path(extra), args.target_fps)
        for name, (path, tfps) in clips.items():
            if args.clips and name not in args.clips:
                continue
            log.warning("bench: %s", name)
            video = name == "720p-1"
            r = pipeline_run(path, args.frames, tfps, people=4, video=video, folder=folder,
                             profile=args.profile and name == "720p-1")
            r["decode_alone"] = decode_alone(path, args.frames, tfps)
            r["raw_inference"] = raw_inference(path, min(args.frames, 150), tfps)
            # the measure: end-to-end time per analysed frame over one raw model call
            r["overhead_over_raw"] = round(r["wall_ms_per_frame"] / r["raw_inference"]["mean_ms"] - 1, 3)
            if video:
                r["encode_alone"] = encode_alone(path, min(args.frames, 150))
            # each stage's own time per frame: decode and encode measured alone; pose and the
            # calling thread's share (tracking .. recording) measured inside this run
            st = r["stages"]
            rest = sum(st[s]["mean_ms"] for s in ("tracking", "filter", "checking", "drawing", "record") if s in st)
            own = {"decode": r["decode_alone"]["mean_ms"], "pose": st["pose"]["mean_ms"], "checking": rest}
            if video:
                own["encode"] = r["encode_alone"]["mean_ms"]
            slow = max(own, key=own.__getitem__)
            r["slowest"] = {"stage": slow, "ms": round(own[slow], 2)}
            r["efficiency"] = round(own[slow] / r["wall_ms_per_frame"], 3)
            result["clips"][name] = r
        if args.minutes > 0:
            log.warning("bench: long run, %.1f min of video", args.minutes)
            result["long_run"] = long_run(clips["720p-1"][0], args.minutes, args.long_fps)
    result["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def add_parser(sub: Any) -> None:
    """Register ``formcheck bench``."""
    p = sub.add_parser("bench", help="per-stage timings, fps, overhead and memory on this machine",
                       description="Measure decode, pose inference, tracking, checking, drawing and encoding per "
                       "frame, end-to-end fps with 1 and 4 people, a portrait 1080x1920 60 fps phone clip, and RSS "
                       "over a long looped run. Prints Markdown for docs/benchmarks.md.")
    p.add_argument("--frames", type=int, default=300, help="analysed frames per clip (default 300)")
    p.add_argument("--minutes", type=float, default=10.0, help="video minutes of the memory run (0: skip; default 10)")
    p.add_argument("--clips", nargs="*", default=None,
                   help="only these clips: 720p-1 720p-4 phone-60 phone-30 phone120-30")
    p.add_argument("--long-fps", type=float, default=None, help="analysis rate of the memory run (default: all 30)")
    p.add_argument("--video", action="append", type=Path, help="also measure this clip (repeatable)")
    p.add_argument("--target-fps", type=float, default=None, help="analysis rate for --video clips")
    p.add_argument("--profile", action="store_true", help="cProfile the 720p-1 run (pose in the calling thread, "
                   "so the profile sees it) and print the top functions")
    p.add_argument("--json", type=Path, default=Path("out/bench.json"), help="write all figures here")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run ``formcheck bench``."""
    if args.frames < 20:
        raise ValueError(f"--frames must be at least 20, got {args.frames}")
    for v in args.video or []:
        if not v.is_file():
            raise FileNotFoundError(f"--video {v}: file not found")
    result = run_bench(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(render(result))
    for r in result["clips"].values():
        if "profile" in r:
            sys.stdout.write("\ncProfile of the 720p-1 run (main thread, cumulative):\n" + r["profile"])
    sys.stdout.write(f"\nwritten        {args.json}\n")
    return 0
