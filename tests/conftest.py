"""Shared fixtures and the ``--regen-golden`` switch."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DEV_CLIPS = ROOT.parent / "shared" / "dev-clips"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.npz from the current pose model instead of comparing against them",
    )


@pytest.fixture
def regen_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-golden"))


@pytest.fixture
def sample() -> callable:
    """Path of a bundled sample; fails (not skips) if the repository lost it."""

    def get(name: str) -> Path:
        path = SAMPLES / name
        assert path.is_file(), f"bundled sample {path} is missing from the repository"
        return path

    return get


@pytest.fixture
def dev_clips() -> Path:
    """``../shared/dev-clips``; skips, naming the folder, when it is absent."""
    if not (DEV_CLIPS / "labels.csv").is_file():
        pytest.skip(f"needs the labelled development clips in {DEV_CLIPS} (not present on this machine)")
    return DEV_CLIPS
