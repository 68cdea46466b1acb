"""vision.sink: browser-playable codecs, exact durations, odd sizes, clear errors."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from factories_video import moving_square, square_x

from vision.capture import open_video
from vision.sink import SinkError, UnsupportedFormatError, VideoSink


def write_clip(path: Path, n: int = 15, fps: float = 30, size: tuple[int, int] = (64, 48), **kwargs) -> Path:
    with VideoSink(path, fps, size, **kwargs) as sink:
        for i in range(n):
            sink.write(moving_square(i, size))
    assert sink.frames_written == n
    return path


def probe(path: Path) -> dict:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "size": (stream.width, stream.height),
            "n": len(frames),
            "times": [f.time for f in frames],
            "duration": container.duration / av.time_base,
            "format": container.format.name,
        }


@pytest.mark.parametrize("suffix,codec,fmt", [(".mp4", "h264", "mov"), (".webm", "vp9", "matroska")])
def test_codec_per_extension_and_exact_duration(tmp_path: Path, suffix: str, codec: str, fmt: str) -> None:
    info = probe(write_clip(tmp_path / f"out{suffix}", n=15, fps=30))
    assert info["codec"] == codec
    assert info["pix_fmt"] == "yuv420p"
    assert fmt in info["format"]
    assert info["n"] == 15
    assert info["times"] == pytest.approx([i / 30 for i in range(15)], abs=1e-3)
    assert info["duration"] == pytest.approx(15 / 30, abs=2e-3)


def test_fractional_frame_rate(tmp_path: Path) -> None:
    fps = 30000 / 1001
    info = probe(write_clip(tmp_path / "ntsc.mp4", n=30, fps=fps))
    assert info["duration"] == pytest.approx(30 / fps, abs=2e-3)
    assert info["times"][-1] == pytest.approx(29 / fps, abs=1e-3)


def test_mp4_index_is_at_the_front_for_progressive_playback(tmp_path: Path) -> None:
    data = write_clip(tmp_path / "fs.mp4").read_bytes()
    assert 0 <= data.index(b"moov") < data.index(b"mdat")


@pytest.mark.parametrize("size", [(65, 47), (63, 48), (64, 49)])
def test_odd_sizes_are_padded_to_even_keeping_the_picture(tmp_path: Path, size: tuple[int, int]) -> None:
    path = tmp_path / "odd.mp4"
    with VideoSink(path, 30, size) as sink:
        for i in range(6):
            sink.write(moving_square(i, size))
    w, h = size
    assert sink.encoded_size == (w + w % 2, h + h % 2)
    assert probe(path)["size"] == sink.encoded_size
    with open_video(path) as video:
        frames = list(video)
    assert len(frames) == 6
    for i, f in enumerate(frames):
        original = moving_square(i, size).astype(int)
        assert np.abs(f.image[:h, :w].astype(int) - original).mean() < 8
        white = np.flatnonzero((f.image[..., 1] > 128).any(axis=0))
        assert abs(int(white[0]) - square_x(i, w)) <= 1


def test_size_taken_from_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "auto.mp4"
    with VideoSink(path, 25) as sink:
        assert sink.size is None
        for i in range(5):
            sink.write(moving_square(i, (80, 60)))
    assert sink.size == (80, 60)
    assert probe(path)["size"] == (80, 60)


def test_grayscale_frames_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "gray.mp4"
    with VideoSink(path, 10, (32, 32)) as sink:
        sink.write(np.full((32, 32), 200, np.uint8))
    with open_video(path) as video:
        assert abs(int(next(video).image.mean()) - 200) <= 3


@pytest.mark.parametrize("name", ["out.avi", "out.gif", "out", "out.MP3"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"\.mp4") as info:
        VideoSink(tmp_path / name, 30, (64, 48))
    assert name in str(info.value)
    assert isinstance(info.value, SinkError)


def test_unwritable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(SinkError, match="a_file"):
        VideoSink(blocker / "out.mp4", 30, (64, 48))


def test_directory_as_output_path(tmp_path: Path) -> None:
    (tmp_path / "x.mp4").mkdir()
    with pytest.raises(SinkError, match="directory"):
        VideoSink(tmp_path / "x.mp4", 30, (64, 48))


def test_missing_parent_directories_are_created(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "out" / "run1" / "a.mp4", n=3)
    assert probe(path)["n"] == 3


@pytest.mark.parametrize("bad", [
    np.zeros((48, 64, 3), np.float32), np.zeros((48, 64, 4), np.uint8), np.zeros((40, 64, 3), np.uint8),
])
def test_wrong_frames_are_rejected(tmp_path: Path, bad: np.ndarray) -> None:
    with VideoSink(tmp_path / "a.mp4", 30, (64, 48)) as sink, pytest.raises(ValueError):
        sink.write(bad)


def test_bad_fps(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        VideoSink(tmp_path / "a.mp4", 0, (64, 48))


def test_file_is_finalised_when_the_block_raises(tmp_path: Path) -> None:
    path = tmp_path / "partial.mp4"
    with pytest.raises(RuntimeError), VideoSink(path, 30, (64, 48)) as sink:
        for i in range(8):
            sink.write(moving_square(i))
        raise RuntimeError("pipeline crashed")
    assert probe(path)["n"] == 8
    with pytest.raises(SinkError, match="closed"):
        sink.write(moving_square(0))


def test_rate_is_kept_as_an_exact_fraction(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "r.mp4", n=4, fps=30000 / 1001)
    with av.open(str(path)) as c:
        assert c.streams.video[0].average_rate == Fraction(30000, 1001)
