"""Rebuild ``pose_landmarker_full.task`` from the official mediapipe 0.10.21 wheel.

mediapipe 1.x ships no pose model and its Tasks API needs a ``.task`` bundle.
The 0.10.21 wheel (Apache-2.0) contains the two TFLite graphs we need:
``pose_detection.tflite`` and ``pose_landmark_full.tflite``.  This script adds
image-input metadata to each, zips them under the names ``PoseLandmarker``
expects and fixes every zip timestamp, so the output is byte-for-byte
reproducible and matches ``pose_landmarker_full.task.sha256``.

It must run in an environment that has ``mediapipe==0.10.21`` installed; use
``models/rebuild.sh``, which makes such a throwaway environment.

Usage: python models/build_bundle.py OUT.task
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import logging
import pathlib
import time
import unittest.mock

log = logging.getLogger("build_bundle")

# 2025-01-01T00:00:00Z: a fixed zip timestamp makes the bundle reproducible.
FIXED_EPOCH = 1735689600


def _site_file(*parts: str) -> bytes:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or spec.origin is None:
        raise SystemExit("mediapipe==0.10.21 is not installed in this environment")
    path = pathlib.Path(spec.origin).parent.joinpath(*parts)
    if not path.is_file():
        raise SystemExit(f"{path} not found: this script needs the mediapipe==0.10.21 wheel")
    return path.read_bytes()


def build(out: pathlib.Path) -> str:
    """Write the bundle to ``out`` and return its sha256."""
    import mediapipe
    from mediapipe.tasks.python.metadata.metadata_writers import (
        metadata_writer,
        model_asset_bundle_utils,
    )

    if mediapipe.__version__ != "0.10.21":
        log.warning("expected mediapipe 0.10.21, found %s", mediapipe.__version__)

    def with_image_metadata(model: bytes, name: str) -> bytes:
        writer = metadata_writer.MetadataWriter.create(bytearray(model))
        writer.add_general_info(name, f"{name} from mediapipe 0.10.21 (Apache-2.0)")
        writer.add_image_input(norm_mean=[0], norm_std=[255])
        content, _ = writer.populate()
        return bytes(content)

    detector = with_image_metadata(
        _site_file("modules", "pose_detection", "pose_detection.tflite"), "pose_detector"
    )
    landmarks = with_image_metadata(
        _site_file("modules", "pose_landmark", "pose_landmark_full.tflite"),
        "pose_landmarks_detector",
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    with unittest.mock.patch("zipfile.time.time", return_value=FIXED_EPOCH), \
         unittest.mock.patch("zipfile.time.localtime", side_effect=lambda t=None: time.gmtime(FIXED_EPOCH)):
        model_asset_bundle_utils.create_model_asset_bundle(
            {"pose_detector.tflite": detector, "pose_landmarks_detector.tflite": landmarks},
            str(out),
        )
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    log.info("wrote %s (%d bytes, sha256 %s)", out, out.stat().st_size, digest)
    return digest


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=fmt)
    parser.add_argument("out", type=pathlib.Path)
    args = parser.parse_args()
    build(args.out)


if __name__ == "__main__":
    main()
