#!/usr/bin/env bash
# Rebuild models/pose_landmarker_full.task from the official mediapipe==0.10.21 wheel
# in a throwaway environment, and check it against the committed sha256.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "mediapipe==0.10.21"
"$work/venv/bin/python" "$here/build_bundle.py" "$work/pose_landmarker_full.task"
cd "$work"
expected="$(cut -d' ' -f1 "$here/pose_landmarker_full.task.sha256")"
actual="$(sha256sum pose_landmarker_full.task | cut -d' ' -f1)"
if [ "$expected" != "$actual" ]; then
  echo "rebuilt bundle sha256 $actual differs from the committed $expected" >&2
  exit 1
fi
cp pose_landmarker_full.task "$here/pose_landmarker_full.task"
echo "rebuilt $here/pose_landmarker_full.task (sha256 $actual, matches)"
