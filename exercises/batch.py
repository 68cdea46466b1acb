"""Run one function over many clips in parallel: local processes (default) or Ray tasks.

``formcheck evaluate`` and a batch ``formcheck analyze`` both call :func:`run_tasks`
with a *per-clip function* ``fn(item, progress) -> result``.  The very same function
runs in a local process pool or as a Ray task, so both engines give the same results:

* ``engine="local"``: a :class:`~concurrent.futures.ProcessPoolExecutor` with ``jobs``
  spawned workers.  Workers report frame progress through a queue, so one progress bar
  moves smoothly.  A worker that dies (a crash in native code) costs only the clip it
  was working on: the clips in flight are retried one at a time, and only the one that
  crashes again is reported as failed.
* ``engine="ray"``: ``ray.remote`` tasks with one CPU each.  Without ``ray_address``
  (and without ``RAY_ADDRESS`` in the environment) a local Ray instance with ``jobs``
  CPUs is started and stopped again; with it, the tasks go to that cluster, whose
  workers must have formcheck installed and see the clip paths (shared storage).

``fn`` must be a module-level function (or a :func:`functools.partial` of one) and
items and results must pickle.  If ``fn`` raises, ``on_error(item, message)`` makes the
item's result, so one bad clip never loses the others.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int, "int | None"], None]
TaskFn = Callable[[Any, Progress], Any]
ENGINES = ("local", "ray")

_QUEUE: Any = None  # the worker's progress queue (set by _init_worker)
_CURRENT: int = -1  # index of the item the worker is running


class BatchError(RuntimeError):
    """The parallel engine itself could not run (e.g. Ray not installed or unreachable)."""


def default_jobs() -> int:
    """Worker count: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_tasks(
    fn: TaskFn,
    items: Sequence[T],
    *,
    engine: str = "local",
    jobs: int | None = None,
    on_error: Callable[[T, str], R],
    progress: Callable[[float], None] | None = None,
    ray_address: str | None = None,
) -> list[R]:
    """``[fn(item, progress) for item in items]`` computed in parallel, in input order.

    ``progress(fraction_of_items_done)`` is called from the calling thread (fractions of
    a clip as frames progress with the local engine, whole clips with Ray).
    """
    if engine not in ENGINES:
        raise ValueError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    jobs = max(1, jobs or default_jobs())
    if not items:
        return []
    if engine == "ray":
        return _run_ray(fn, items, jobs, on_error, progress, ray_address)
    return _run_local(fn, items, jobs, on_error, progress)


# ----------------------------------------------------------------------------- local
def _init_worker(q: Any) -> None:
    global _QUEUE
    _QUEUE = q
    os.environ.setdefault("FORMCHECK_WORKER", "1")


def _report(done: int, total: int | None, _last: list[float] = [0.0]) -> None:  # noqa: B006 - throttle state
    if _QUEUE is None or not total:
        return
    now = time.monotonic()
    if done < total and now - _last[0] < 0.2:
        return
    _last[0] = now
    try:
        _QUEUE.put_nowait((_CURRENT, min(done / total, 1.0)))
    except Exception:  # a full or closed queue only costs a progress update
        pass


def _call_local(fn: TaskFn, index: int, item: Any) -> Any:
    global _CURRENT
    _CURRENT = index
    if _QUEUE is not None:
        _QUEUE.put((index, 0.0))  # "started": tells a crash victim from a clip that never ran
    return fn(item, _report)


def _run_local(fn: TaskFn, items: Sequence[T], jobs: int, on_error: Callable[[T, str], R],
               progress: Callable[[float], None] | None) -> list[R]:
    ctx = mp.get_context("spawn")  # no fork of a parent that holds threads or native state
    q = ctx.Queue()
    partial: dict[int, float] = {}
    results: dict[int, R] = {}
    stop = threading.Event()

    def tick() -> None:
        if progress is not None:
            progress(len(results) + sum(v for k, v in partial.items() if k not in results))

    def drain() -> None:
        while not stop.is_set():
            try:
                idx, frac = q.get(timeout=0.1)
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return
            if idx not in results:
                partial[idx] = frac

    reader = threading.Thread(target=drain, name="formcheck-batch-progress", daemon=True)
    reader.start()
    try:
        todo = list(range(len(items)))
        breaks: dict[int, int] = {}
        while todo:
            lost = _pool_pass(fn, items, todo, min(jobs, len(todo)), ctx, q, results, on_error, tick)
            if lost:
                log.warning("a worker process died; retrying the %d clip(s) it took down", len(lost))
            time.sleep(0.2 if lost else 0)  # let the reader thread see the last "started" messages
            todo, suspects = [], []
            for idx in lost:
                breaks[idx] = breaks.get(idx, 0) + 1
                (suspects if idx in partial or breaks[idx] >= 2 else todo).append(idx)
            for idx in suspects:  # clips in flight when a worker died: one at a time, alone
                if _pool_pass(fn, items, [idx], 1, ctx, q, results, on_error, tick):
                    results[idx] = on_error(items[idx], "the worker process crashed while analysing this clip")
                    tick()
    finally:
        stop.set()
        reader.join(timeout=1)
        q.close()
    return [results[i] for i in range(len(items))]


def _pool_pass(fn: TaskFn, items: Sequence[T], todo: list[int], jobs: int, ctx: Any, q: Any,
               results: dict[int, R], on_error: Callable[[T, str], R], tick: Callable[[], None]) -> list[int]:
    """Run ``todo`` in one pool; return the indices lost to a crashed worker."""
    crashed: list[int] = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(q,)) as pool:
        futures: dict[Future[Any], int] = {pool.submit(_call_local, fn, i, items[i]): i for i in todo}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for fut in done:
                idx = futures[fut]
                try:
                    results[idx] = fut.result()
                except BrokenProcessPool:
                    crashed.append(idx)
                except Exception as exc:  # fn itself failed: that clip's row says why
                    log.debug("task %d failed", idx, exc_info=True)
                    results[idx] = on_error(items[idx], f"{type(exc).__name__}: {exc}")
            tick()
    return crashed


# ----------------------------------------------------------------------------- ray
def _call_ray(fn: TaskFn, item: Any) -> Any:
    return fn(item, lambda done, total: None)


def _run_ray(fn: TaskFn, items: Sequence[T], jobs: int, on_error: Callable[[T, str], R],
             progress: Callable[[float], None] | None, address: str | None) -> list[R]:
    try:
        import ray
    except ImportError:
        raise BatchError("--engine ray needs Ray: pip install 'formcheck[ray]' (or pip install ray)") from None
    address = address or os.environ.get("RAY_ADDRESS") or None
    started = not ray.is_initialized()
    if started:
        try:
            if address:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False)
        except Exception as exc:
            raise BatchError(f"cannot start Ray{f' at {address}' if address else ''}: {exc}") from None
    try:
        remote = ray.remote(num_cpus=1, max_retries=1)(_call_ray)
        fn_ref = ray.put(fn)
        refs = {remote.remote(fn_ref, item): i for i, item in enumerate(items)}
        results: dict[int, R] = {}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1, timeout=1.0)
            for ref in done:
                idx = refs[ref]
                try:
                    results[idx] = ray.get(ref)
                except Exception as exc:  # task error or crashed worker: only this clip is lost
                    cause = getattr(exc, "cause", None) or exc
                    results[idx] = on_error(items[idx], f"{type(cause).__name__}: {cause}".splitlines()[0])
            if progress is not None:
                progress(len(results))
        return [results[i] for i in range(len(items))]
    finally:
        if started:
            ray.shutdown()


# ----------------------------------------------------------------------------- batch analyze
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")


def add_batch_arguments(p: Any) -> None:
    """``--engine``, ``--jobs``, ``--ray-address`` for a batch ``formcheck analyze``."""
    p.add_argument("--engine", choices=ENGINES, default="local",
                   help="batch: local worker processes (default) or Ray tasks (--ray-address or $RAY_ADDRESS "
                   "for a cluster)")
    p.add_argument("--jobs", type=int, default=None, help=f"batch: videos in parallel (default: CPUs, here "
                   f"{default_jobs()})")
    p.add_argument("--ray-address", default=None, help="batch: Ray cluster for --engine ray (default: a local one)")


def expand_videos(args: Sequence[str]) -> list[str]:
    """Command-line video arguments with folders replaced by the videos in them (sorted)."""
    from pathlib import Path

    out: list[str] = []
    for a in args:
        p = Path(a)
        if p.is_dir():
            found = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in VIDEO_SUFFIXES and f.is_file())
            if not found:
                raise ValueError(f"folder '{p}' holds no videos ({', '.join(VIDEO_SUFFIXES)})")
            out += found
        else:
            out.append(a)
    return out


def is_batch(args: Any) -> bool:
    """Does this ``formcheck analyze`` call need the batch path?"""
    from pathlib import Path

    videos = list(args.video) if isinstance(args.video, list | tuple) else [args.video]
    return len(videos) > 1 or args.engine != "local" or any(Path(v).is_dir() for v in videos)


def analyze_video(job: dict[str, Any], progress: Progress | None = None) -> dict[str, Any]:
    """The per-video function of a batch ``analyze``: run the pipeline, write the same files as
    ``formcheck analyze`` into ``job["out"]``, return a one-line summary (never raises for a bad video)."""
    import json
    from pathlib import Path

    import numpy as np

    from exercises.pipeline import Pipeline, PipelineConfig

    out_dir = Path(job["out"])
    t0 = time.perf_counter()
    try:
        cfg = PipelineConfig(**job["config"])
        out_dir.mkdir(parents=True, exist_ok=True)
        video_out = out_dir / "annotated.mp4" if cfg.draw else None
        with Pipeline(cfg) as pipe:
            result = pipe.run(job["video"], video_out=video_out, progress=progress)
        summary = result.summary()
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        arrays = result.recorder.arrays()
        try:
            from exercises.offline import add_smoothed

            arrays = add_smoothed(arrays)
        except ImportError:  # pragma: no cover - older tree without offline smoothing
            pass
        np.savez_compressed(out_dir / "landmarks.npz", **arrays)
        people: list[dict[str, Any]] = []
        if result.report is not None:
            (out_dir / "report.json").write_text(json.dumps(result.report, indent=2, ensure_ascii=False),
                                                 encoding="utf-8")
            people = [{"id": p["id"], "reps": p["reps"], "hold_s": p["hold_s"]} for p in result.report["people"]]
    except Exception as exc:  # one bad video must not cost the others
        log.debug("%s failed", job["video"], exc_info=True)
        return {"video": job["video"], "out": str(out_dir), "status": "error",
                "note": f"{exc}".splitlines()[0] if str(exc) else type(exc).__name__}
    return {"video": job["video"], "out": str(out_dir), "status": "ok", "frames": summary["frames"],
            "people": summary["people"], "detection_rate": summary["detection_rate"], "exercise": people,
            "wall_s": round(time.perf_counter() - t0, 2)}


def analyze_batch(args: Any) -> int:
    """``formcheck analyze V1 V2 ...|FOLDER [--engine ray]``: every video into ``--out/<name>/``."""
    import json
    import sys
    from pathlib import Path

    videos = expand_videos(list(args.video) if isinstance(args.video, list | tuple) else [args.video])
    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {args.jobs}")
    if args.exercise is not None:
        from exercises.definition import load_exercise

        load_exercise(args.exercise)  # fail fast on an unknown exercise
    root = args.out or Path("out")
    config = {"people": args.people, "model": args.model, "exercise": args.exercise, "lang": args.lang,
              "profiles": str(args.profile) if args.profile else None, "target_fps": args.target_fps,
              "draw": not args.no_video}
    from exercises.pipeline import PipelineConfig

    PipelineConfig(**config)  # bad values: one error now, not one per video
    jobs, used = [], set()
    for v in videos:
        name = Path(v).stem or "video"
        stem, k = name, 2
        while name in used:
            name, k = f"{stem}_{k}", k + 1
        used.add(name)
        jobs.append({"video": v, "out": str(root / name), "config": config})
    from tqdm import tqdm

    with tqdm(total=len(jobs), desc="analyze", unit="video", file=sys.stderr, dynamic_ncols=True,
              bar_format="{l_bar}{bar}| {n:.1f}/{total} videos [{elapsed}<{remaining}]",
              mininterval=0.5 if sys.stderr.isatty() else 30.0) as bar:
        def on_progress(done: float) -> None:
            if done > bar.n:
                bar.update(min(done, bar.total) - bar.n)

        results = run_tasks(analyze_video, jobs, engine=args.engine, jobs=args.jobs, progress=on_progress,
                            ray_address=args.ray_address,
                            on_error=lambda job, msg: {"video": job["video"], "out": job["out"], "status": "error",
                                                       "note": msg})
    root.mkdir(parents=True, exist_ok=True)
    (root / "batch.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for r in results:
        if r["status"] != "ok":
            line = f"error: {r['note']}"
        else:
            counts = ", ".join(f"person {p['id']}: " + (f"hold {p['hold_s']:.1f} s" if p["hold_s"] else
                                                        f"{p['reps']} reps") for p in r["exercise"])
            line = (f"{r['frames']} frames, {r['people']} people, detection {r['detection_rate'] * 100:.0f}%"
                    + (f"; {counts}" if counts else ""))
        sys.stdout.write(f"{Path(r['video']).name:<32} {line}\n")
    failed = sum(r["status"] != "ok" for r in results)
    sys.stdout.write(f"written        {root}/ ({len(results) - failed} of {len(results)} videos; batch.json)\n")
    return 1 if failed else 0
