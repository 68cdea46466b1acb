"""Find and verify the pose landmarker model, offline.

The bundled model is ``pose_landmarker_full.task``: MediaPipe's BlazePose GHUM
"full" detector and landmark graphs (Apache-2.0), rebuilt reproducibly from the
``mediapipe==0.10.21`` wheel by ``models/build_bundle.py``.  Its sha256 is
checked before every load, so a truncated or tampered file fails loudly instead
of producing wrong landmarks.

Resolution order:

1. an explicit path (``--model PATH``), or
2. the ``FORMCHECK_MODEL`` environment variable, or
3. the bundled model: ``vision/_models/`` inside an installed wheel, else
   ``models/`` in a source checkout.

An override may point at another official variant (such as *heavy*).  It is
checked for being a readable ``.task`` zip bundle with the two graphs that
PoseLandmarker needs; its checksum is verified only if a ``PATH.sha256`` file
sits beside it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

MODEL_NAME = "pose_landmarker_full.task"
ENV_VAR = "FORMCHECK_MODEL"
REQUIRED_MEMBERS = ("pose_detector.tflite", "pose_landmarks_detector.tflite")

_PKG_DIR = Path(__file__).resolve().parent
_CANDIDATE_DIRS = (_PKG_DIR / "_models", _PKG_DIR.parent / "models")


class ModelError(RuntimeError):
    """The pose model is missing, unreadable or does not match its checksum."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _expected_digest(model: Path) -> str | None:
    side = model.with_name(model.name + ".sha256")
    if not side.is_file():
        return None
    text = side.read_text(encoding="utf-8").split()
    if not text or len(text[0]) != 64:
        raise ModelError(f"{side}: not a sha256 checksum file (expected '<64 hex digits>  {model.name}')")
    return text[0].lower()


def verify_model(path: Path, *, require_checksum: bool) -> Path:
    """Check that ``path`` is a usable PoseLandmarker bundle; return it resolved."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelError(f"{path}: pose model not found. Pass an existing .task file with --model or {ENV_VAR}.")
    if not path.is_file():
        raise ModelError(f"{path}: is not a file; --model expects a MediaPipe pose landmarker .task bundle.")
    expected = _expected_digest(path)
    if expected is None and require_checksum:
        raise ModelError(
            f"{path}: checksum file {path.name}.sha256 is missing; the bundled model cannot be verified. "
            "Reinstall formcheck or rebuild the model with models/rebuild.sh."
        )
    if expected is not None:
        actual = sha256_of(path)
        if actual != expected:
            raise ModelError(
                f"{path}: sha256 {actual[:12]}… does not match the expected {expected[:12]}…; the file is "
                "corrupt or was replaced. Reinstall formcheck or rebuild it with models/rebuild.sh."
            )
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"{path}: not a MediaPipe .task bundle (not a readable zip archive: {exc}).") from None
    missing = [m for m in REQUIRED_MEMBERS if m not in names]
    if missing:
        raise ModelError(
            f"{path}: not a pose landmarker bundle; it lacks {', '.join(missing)}. "
            "Use an official pose_landmarker_{lite,full,heavy}.task."
        )
    return path.resolve()


def bundled_model() -> Path:
    """Path of the bundled model (not yet verified)."""
    for d in _CANDIDATE_DIRS:
        candidate = d / MODEL_NAME
        if candidate.exists():
            return candidate
    searched = ", ".join(str(d) for d in _CANDIDATE_DIRS)
    raise ModelError(
        f"bundled pose model {MODEL_NAME} not found (looked in {searched}). "
        "Reinstall formcheck, or rebuild it with models/rebuild.sh."
    )


def resolve_model(path: str | os.PathLike[str] | None = None) -> Path:
    """Return a verified model path: explicit path, then ``$FORMCHECK_MODEL``, then the bundle."""
    if path is not None:
        return verify_model(Path(path), require_checksum=False)
    env = os.environ.get(ENV_VAR)
    if env:
        log.info("using pose model from $%s: %s", ENV_VAR, env)
        return verify_model(Path(env), require_checksum=False)
    return verify_model(bundled_model(), require_checksum=True)
