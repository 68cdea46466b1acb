"""The annotated video that ``formcheck analyze`` writes must play in Chromium.

OpenCV's default ``mp4v`` does not; H.264 in MP4 does.  The test loads the file in a
``<video>`` element of headless Debian Chromium, waits for decoded data, draws the
current frame to a canvas and checks that real pixels came out.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--autoplay-policy=no-user-gesture-required", "--allow-file-access-from-files"]


def test_annotated_video_decodes_in_chromium(tmp_path: Path, sample) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM} (CI installs it in .ci/run)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (dev extra)")

    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "exercises.cli", "analyze", str(sample("pose2sim_singleperson_cam01.mp4")),
         "--out", str(out), "--target-fps", "20"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    shutil.copy(out / "annotated.mp4", tmp_path / "annotated.mp4")
    page_html = tmp_path / "play.html"
    page_html.write_text("<html><body><video id=v src='annotated.mp4' muted></video></body></html>")

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS,
                                    chromium_sandbox=False, headless=True)
        try:
            page = browser.new_page()
            page.goto(page_html.as_uri())
            info = page.evaluate(
                """async () => {
                    const v = document.getElementById('v');
                    await new Promise((ok, bad) => {
                        if (v.readyState >= 2) return ok();
                        v.addEventListener('loadeddata', ok);
                        v.addEventListener('error', () => bad(new Error('media error ' + (v.error && v.error.code))));
                        setTimeout(() => bad(new Error('timeout, readyState ' + v.readyState)), 20000);
                    });
                    v.currentTime = v.duration / 2;
                    await new Promise(ok => v.addEventListener('seeked', ok, {once: true}));
                    const c = document.createElement('canvas');
                    c.width = v.videoWidth; c.height = v.videoHeight;
                    const g = c.getContext('2d'); g.drawImage(v, 0, 0);
                    const d = g.getImageData(0, 0, c.width, c.height).data;
                    let sum = 0, sq = 0, n = 0;
                    for (let i = 0; i < d.length; i += 4 * 97) { const y = d[i]; sum += y; sq += y * y; n++; }
                    const mean = sum / n, std = Math.sqrt(sq / n - mean * mean);
                    return {w: v.videoWidth, h: v.videoHeight, duration: v.duration, mean, std};
                }"""
            )
        finally:
            browser.close()
    assert (info["w"], info["h"]) == (summary["width"], summary["height"])
    assert info["duration"] == pytest.approx(summary["duration_s"], abs=0.2)
    assert info["std"] > 10, f"decoded frame looks blank: {info}"
