"""vision.capture_stages through open_video: target_fps decimation, pacing, loop, prefetch thread."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from factories_video import FakeClock, make_clip

from vision.capture import open_video
from vision.capture_stages import Prefetcher, decimated, paced, to_frames


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "formcheck-capture-prefetch"]


# --------------------------------------------------------------------------- target_fps
@pytest.mark.parametrize("fps,target,expected", [
    (60, 30, list(range(0, 24, 2))),
    (30, 20, [0, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 23]),
    (30, 30, list(range(24))),
    (30, 60, list(range(24))),
    (30, 10, list(range(0, 24, 3))),
])
def test_target_fps_drops_frames_evenly_keeping_indices_and_times(tmp_path: Path, fps, target, expected) -> None:
    path = make_clip(tmp_path / "c.mp4", n=24, fps=fps)
    with open_video(path) as full:
        times = {f.index: f.t_ms for f in full}
    with open_video(path, target_fps=target) as video:
        frames = list(video)
    assert [f.index for f in frames] == expected
    assert [f.t_ms for f in frames] == [times[i] for i in expected]


# --------------------------------------------------------------------------- pace
def test_pace_fast_consumer_gets_every_frame_never_early(tmp_path: Path) -> None:
    clock = FakeClock()
    path = make_clip(tmp_path / "c.mp4", n=10, fps=10)
    with open_video(path, pace=True, clock=clock, sleep=clock.sleep) as video:
        start = None
        got = []
        for f in video:
            start = clock.now if start is None else start
            assert f.t_ms / 1000 <= clock.now - start + 1e-6  # never ahead of real time
            got.append(f.index)
    assert got == list(range(10))
    assert video.dropped_frames == 0
    assert sum(clock.slept) == pytest.approx(0.9, abs=0.01)


def test_pace_slow_consumer_skips_to_newest_due_frame(tmp_path: Path) -> None:
    clock = FakeClock()
    path = make_clip(tmp_path / "c.mp4", n=10, fps=10)
    got = []
    with open_video(path, pace=True, clock=clock, sleep=clock.sleep) as video:
        start = clock.now
        for f in video:
            elapsed = clock.now - start
            assert f.t_ms / 1000 <= elapsed + 1e-6                # not early
            assert f.t_ms / 1000 > elapsed - 0.1 - 1e-6           # and the newest frame due (< 1 frame old)
            got.append(f.index)
            clock.advance(0.25)  # inference slower than the 10 fps source
    assert got == [0, 2, 5, 7, 9]
    assert video.dropped_frames == 5
    assert clock.slept == []


def test_pace_with_target_fps(tmp_path: Path) -> None:
    clock = FakeClock()
    path = make_clip(tmp_path / "c.mp4", n=12, fps=30)
    with open_video(path, pace=True, target_fps=10, clock=clock, sleep=clock.sleep) as video:
        assert [f.index for f in video] == [0, 3, 6, 9]
    assert sum(clock.slept) == pytest.approx(0.3, abs=0.01)


# --------------------------------------------------------------------------- loop and prefetch
def test_loop_restarts_with_increasing_index_and_time(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "c.mp4", n=10, fps=20)
    with open_video(path, loop=True) as video:
        frames = [next(video) for _ in range(25)]
    assert [f.index for f in frames] == list(range(25))
    t = [f.t_ms for f in frames]
    assert all(b > a for a, b in itertools.pairwise(t))
    assert t[10] - t[9] == pytest.approx(50, abs=1)  # one frame interval across the seam
    assert np.array_equal(frames[10].image, frames[0].image)
    assert np.array_equal(frames[23].image, frames[3].image)


@pytest.mark.parametrize("depth", [1, 3])
def test_prefetch_gives_same_frames_and_stops_its_thread(tmp_path: Path, depth: int) -> None:
    path = make_clip(tmp_path / "c.mp4", n=15)
    with open_video(path) as plain:
        expected = [(f.index, f.t_ms, f.image) for f in plain]
    with open_video(path, prefetch=depth) as video:
        got = [(f.index, f.t_ms, f.image) for f in video]
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    assert all(np.array_equal(g[2], e[2]) for g, e in zip(got, expected, strict=True))
    assert prefetch_threads() == []


def test_prefetch_thread_stops_when_consumer_breaks_early(tmp_path: Path) -> None:
    path = make_clip(tmp_path / "c.mp4", n=30)
    with open_video(path, prefetch=2, loop=True) as video:
        for f in video:
            if f.index == 3:
                break
        assert prefetch_threads()
    assert prefetch_threads() == []


def test_forgotten_source_stops_its_prefetch_thread(tmp_path: Path) -> None:
    import gc

    video = open_video(make_clip(tmp_path / "c.mp4", n=30), prefetch=2, loop=True)
    next(video)
    assert prefetch_threads()
    del video
    gc.collect()
    assert prefetch_threads() == []


# --------------------------------------------------------------------------- stages without a decoder
@dataclass
class Item:
    index: int
    t_s: float

    def image(self) -> np.ndarray:
        return np.full((2, 2, 3), self.index, np.uint8)


def test_stages_work_on_any_timed_items() -> None:
    items = [Item(i, i / 60) for i in range(12)]
    assert [i.index for i in decimated(iter(items), 30, 60)] == list(range(0, 12, 2))
    clock = FakeClock()
    drops: list[int] = []
    assert [i.index for i in paced(iter(items), clock, clock.sleep, lambda: drops.append(1))] == list(range(12))
    assert drops == [] and sum(clock.slept) == pytest.approx(11 / 60)
    prefetcher = Prefetcher(iter(items), 2)
    assert list(prefetcher) == items
    assert prefetcher.close() and prefetch_threads() == []
    frames = list(to_frames(iter([Item(0, 0.0), Item(1, 0.0002), Item(2, 0.0004), Item(3, 0.5)])))
    assert [(f.index, f.t_ms) for f in frames] == [(0, 0), (1, 1), (2, 2), (3, 500)]  # strictly increasing
    assert frames[3].image[0, 0, 0] == 3


def _slow_decoder(clock: FakeClock, fps: float, decode_s: float) -> Any:
    """An endless (looped) clip at ``fps`` whose every frame takes ``decode_s`` of the clock to decode."""
    for i in itertools.count():
        if i > 5000:  # a pacer that chases the clock would decode for ever: fail instead of hanging
            raise AssertionError("paced() delivered nothing for 5000 decoded frames")
        clock.advance(decode_s)
        yield Item(i, i / fps)


@pytest.mark.parametrize("consumer_s", [0.0, 0.25])
def test_pace_keeps_delivering_when_decoding_is_slower_than_real_time(consumer_s: float) -> None:
    """Decoding at 20 frames per second of a 30 fps clip (in a loop): every decoded frame is already
    due, yet frames keep coming, in order, and each one is the newest decoded when it is delivered."""
    clock = FakeClock()
    decodes: list[int] = []

    def counted() -> Any:
        for item in _slow_decoder(clock, 30.0, 0.05):
            decodes.append(item.index)
            yield item

    drops: list[int] = []
    got: list[int] = []
    t0 = clock.now
    for item in paced(counted(), clock, clock.sleep, lambda: drops.append(1)):
        got.append(item.index)
        if len(got) == 40:
            break
        clock.advance(consumer_s)
    assert got == sorted(set(got))
    # every decoded frame was delivered, counted as dropped, or is the one waiting for its time
    assert len(decodes) - len(got) - len(drops) in (0, 1)
    # Never stuck chasing the clock: a frame at least every decode of one second of video plus the consumer's time.
    assert clock.now - t0 <= 40 * (consumer_s + 1.0)
    if consumer_s == 0.0:
        assert drops == []  # skipping cannot help when decoding is the bottleneck: nothing decoded is thrown away
