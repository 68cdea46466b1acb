"""The model resolver: checksum verification, overrides and clear errors."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest

from vision import model as model_mod
from vision.model import ENV_VAR, ModelError, bundled_model, resolve_model, verify_model


def test_bundled_model_resolves_and_matches_its_checksum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    path = resolve_model()
    expected = Path(str(path) + ".sha256").read_text().split()[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected
    with zipfile.ZipFile(path) as zf:
        assert set(zf.namelist()) == {"pose_detector.tflite", "pose_landmarks_detector.tflite"}


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    src = bundled_model()
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    shutil.copy(str(src) + ".sha256", str(dst) + ".sha256")
    return dst


def test_corrupt_model_fails_checksum(model_copy: Path) -> None:
    data = bytearray(model_copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match the expected"):
        verify_model(model_copy, require_checksum=True)


def test_truncated_model_fails_checksum(model_copy: Path) -> None:
    model_copy.write_bytes(model_copy.read_bytes()[:1000])
    with pytest.raises(ModelError, match=str(model_copy.name)):
        verify_model(model_copy, require_checksum=True)


def test_missing_checksum_file_is_an_error_for_the_bundle(model_copy: Path) -> None:
    Path(str(model_copy) + ".sha256").unlink()
    with pytest.raises(ModelError, match="checksum file"):
        verify_model(model_copy, require_checksum=True)


def test_missing_bundled_model_names_where_it_looked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(model_mod, "_CANDIDATE_DIRS", (tmp_path / "nowhere",))
    with pytest.raises(ModelError, match="nowhere"):
        resolve_model()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip at all", "not a MediaPipe .task bundle"),
        (None, "lacks pose_landmarks_detector.tflite"),
    ],
)
def test_override_must_be_a_pose_bundle(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "other.task"
    if content is None:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("pose_detector.tflite", b"x")
    else:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        resolve_model(path)


def test_override_path_and_environment_variable(monkeypatch: pytest.MonkeyPatch, model_copy: Path) -> None:
    assert resolve_model(model_copy) == model_copy.resolve()
    monkeypatch.setenv(ENV_VAR, str(model_copy))
    assert resolve_model() == model_copy.resolve()
    monkeypatch.setenv(ENV_VAR, str(model_copy.parent / "missing.task"))
    with pytest.raises(ModelError, match=r"missing\.task: pose model not found"):
        resolve_model()


def test_override_with_wrong_sidecar_checksum_fails(model_copy: Path) -> None:
    Path(str(model_copy) + ".sha256").write_text("0" * 64 + "  x\n")
    with pytest.raises(ModelError, match="does not match"):
        resolve_model(model_copy)
