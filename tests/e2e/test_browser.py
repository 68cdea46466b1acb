"""End to end in a real browser: Debian's Chromium driven by Playwright against ``streamlit run app.py``.

* Video review on an exercise clip: stopped half-way, then the rep count on the page.
* Live coaching through the browser's camera: Chromium's fake camera plays a real exercise clip
  (converted to ``.y4m``) and the counter on the page rises.
* Group session and settings; a screenshot of every page goes to ``test-artifacts/e2e/``.

The exercise clip is a rendered one from ``samples/synth/`` (with its ground truth) when present,
else a labelled squat from ``../shared/dev-clips/``, else the bundled real sample (then the
counter is only required to be shown, since that clip shows no counted exercise).
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
DEV_CLIPS = ROOT.parent / "shared" / "dev-clips"
FALLBACK = ROOT / "samples" / "pose2sim_singleperson_cam01.mp4"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                  "--disable-features=WebRtcHideLocalIpsWithMdns"]
log = logging.getLogger(__name__)
#: Stop joins the capture and analysis threads (10 s each at most) and fetches the child's summary
STOP_TIMEOUT_MS = 75_000

#: CI sets this (.ci/run): there a missing browser is a failure, not a skip.
REQUIRED = os.environ.get("FORMCHECK_REQUIRE_BROWSER") == "1"


def _need_browser() -> None:
    problem = None
    if not CHROMIUM.is_file():
        problem = f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium); CI installs it"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "needs the playwright package (pip install -e '.[dev]')"
    if problem and REQUIRED:
        pytest.fail(f"FORMCHECK_REQUIRE_BROWSER=1 but the browser test cannot run: {problem}")
    if problem:
        pytest.skip(problem)


@dataclass(frozen=True)
class Clip:
    path: Path
    reps: int | None  # complete reps in the clip (None: not an exercise clip)
    bundled: bool  # listed as a sample on the review page


@pytest.fixture(scope="module", autouse=True)
def _browser_available() -> None:
    _need_browser()


def exercise_clip() -> Clip:
    """A squat clip with known reps: rendered (samples/synth) > labelled dev clip > bundled real sample."""
    synth = ROOT / "samples" / "synth"
    clips = sorted(synth.glob("squat*.mp4"), key=lambda p: ("side" not in p.stem, p.name)) if synth.is_dir() else []
    for path in clips:
        truth = path.with_suffix(".json.gz")
        if truth.is_file():
            with gzip.open(truth, "rt", encoding="utf-8") as fh:
                people = json.load(fh)["people"]
            if len(people) == 1:
                return Clip(path, int(people[0]["reps"]), True)
    labels = DEV_CLIPS / "labels.csv"
    if labels.is_file():
        rows = {r["file"]: r for r in csv.DictReader(labels.open(encoding="utf-8"))}
        for name in ("squat_correct_015.mp4", "squat_incorrect_004.mp4", "squat_correct_007.mp4"):
            if name in rows and (DEV_CLIPS / name).is_file():
                return Clip(DEV_CLIPS / name, int(rows[name]["reps"]), False)
    return Clip(FALLBACK, None, True)


def write_y4m(src: Path, dst: Path, width: int = 640, min_duration_s: float = 24.0) -> float:
    """Convert a video to Y4M (4:2:0) for Chromium's fake camera, which plays it in a loop.

    At most 30 frames per second are kept. A clip shorter than ``min_duration_s`` is declared at a
    lower frame rate, i.e. played in slow motion (an 8 s clip of 3 squats lasts 24 s), so that a
    rep spans enough analysed frames even when a busy machine analyses only a few per second.
    Returns the slow-motion factor.
    """
    import math

    import av
    import cv2

    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 30)
        keep = max(1, round(fps / 30))
        frames = []
        for i, f in enumerate(container.decode(stream)):
            if i % keep == 0:
                img = f.to_ndarray(format="bgr24")
                h = round(img.shape[0] * width / img.shape[1] / 2) * 2
                frames.append(cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA))
    rate = fps / keep
    slow = max(1, math.ceil(min_duration_s / (len(frames) / rate)))
    with dst.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{frames[0].shape[0]} F{round(rate * 1000)}:{1000 * slow} Ip A1:1 "
                  "C420jpeg\n".encode())
        for img in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420).tobytes())
    return slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def clip() -> Clip:
    return exercise_clip()


@pytest.fixture(scope="module")
def server(clip: Clip) -> Iterator[str]:
    """``streamlit run app.py`` on a free port; yields its URL."""
    port = _free_port()
    env = {**os.environ, "FORMCHECK_LIVE_PEOPLE": "1", "PYTHONUNBUFFERED": "1"}
    if clip.bundled:
        env["FORMCHECK_APP_SAMPLE"] = str(clip.path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # the server writes its log straight into the artefacts
    logfile = (ARTIFACTS / "streamlit-server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                             str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=logfile,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"streamlit did not start; see {logfile.name}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        logfile.close()


@pytest.fixture(scope="module")
def browser(clip: Clip, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A fresh headless Chromium whose fake camera plays the exercise clip in a loop."""
    from playwright import sync_api
    tmp = tmp_path_factory.mktemp("chromium")
    y4m = tmp / "camera.y4m"
    write_y4m(clip.path, y4m)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp / "profile"), executable_path=str(CHROMIUM), headless=True,
            args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={y4m}"],
            viewport={"width": 1400, "height": 2200}, permissions=["camera"], locale="de-DE")
        try:
            yield ctx
        finally:
            ctx.close()


def _shot(page: object, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _number(text: str) -> int:
    m = re.search(r"\d+", text)
    return int(m.group()) if m else -1


def test_video_review_shows_the_rep_count(server: str, browser: object, clip: Clip) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(server)
    page.get_by_role("heading", name="Video-Auswertung").wait_for(timeout=60_000)
    _shot(page, "01-review-start")
    if not clip.bundled:
        page.get_by_text("Eigenes Video hochladen").click()
        page.locator("input[type=file]").set_input_files(str(clip.path))
        page.locator("[data-testid=stFileChip]").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Analysieren").click()  # first stopped half-way, then to the end
    page.get_by_role("button", name="Auswertung abbrechen").click(timeout=60_000)
    page.get_by_text("Die Auswertung wurde abgebrochen.").wait_for(timeout=60_000)
    assert not page.locator(".st-key-review-reps").count()
    page.get_by_role("button", name="Analysieren").click()
    counter = page.locator(".st-key-review-reps")
    counter.wait_for(timeout=170_000)
    page.get_by_text("Herunterladen").wait_for()
    page.locator("[data-testid=stVegaLiteChart], .vega-embed").first.wait_for(timeout=30_000)
    count = _number(counter.inner_text())
    _shot(page, "02-review-result")
    log.info("review of %s: %d reps on the page (truth %s)", clip.path.name, count, clip.reps)
    if clip.reps is not None:
        assert count == clip.reps
    else:
        assert count >= 0
    page.close()


def test_live_browser_camera_counter_rises(server: str, browser: object, clip: Clip) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{server}/live")
    page.get_by_role("heading", name="Live-Training").wait_for(timeout=60_000)
    page.get_by_text("Kamera im Browser").click()
    frame = page.frame_locator("iframe[title*='streamlit_webrtc']")
    frame.get_by_role("button", name="Start").click(timeout=60_000)
    counter = page.locator(".st-key-live-counter")
    counter.wait_for(timeout=90_000)

    def read() -> int:  # the live view redraws itself ten times a second: read without waiting
        return max([_number(x) for x in counter.all_inner_texts()] or [-1])

    # Watch at least 40 s: a starved server loses the connection after ~30 s of unanswered ICE consent checks.
    t0 = time.monotonic()
    deadline, watch_until = t0 + 180, t0 + 40
    first = read()
    while first < 0 and time.monotonic() < deadline:  # drawn, but not yet filled in
        page.wait_for_timeout(300)
        first = read()
    best, fps = first, []
    while time.monotonic() < deadline and (time.monotonic() < watch_until or not (
            (clip.reps and best > first) or (clip.reps is None and best >= 0))):
        page.wait_for_timeout(1000)
        best = max(best, read())
        fps += page.get_by_text(re.compile("Bilder/s ausgewertet")).all_inner_texts()
        # However slow the analysis, the app drops frames, never the connection: no second chance here.
        if frame.get_by_role("button", name="Start").count():
            _shot(page, "03-live-browser-camera")
            pytest.fail(f"the browser camera's WebRTC connection dropped (counter {first} -> {best}, {fps[-3:]}); "
                        "see test-artifacts/e2e/streamlit-server.log")
    log.info("live: counter %d -> %d; %s", first, best, fps[-3:])
    _shot(page, "03-live-browser-camera")
    if clip.reps:
        assert best > first >= 0, f"the counter should rise while the fake camera plays {clip.path.name}"
    frame.get_by_role("button", name="Stopp").click()
    page.get_by_role("heading", name="Zusammenfassung").wait_for(timeout=STOP_TIMEOUT_MS)
    _shot(page, "04-live-summary")
    page.close()


def test_group_and_settings_pages(server: str, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{server}/group")
    page.get_by_role("heading", name="Gruppenstunde").wait_for(timeout=60_000)
    page.get_by_role("button", name="Start").click()
    tile = page.locator("[class*='st-key-tile-']").filter(has=page.get_by_label("Name")).first
    try:
        tile.wait_for(timeout=150_000)
    finally:
        _shot(page, "05-group")
    name = tile.get_by_label("Name")
    name.fill("Anna")
    name.press("Enter")
    page.wait_for_timeout(2000)
    assert tile.get_by_label("Name").input_value() == "Anna"
    _shot(page, "05-group")
    page.get_by_role("button", name="Stopp").click()
    page.get_by_role("heading", name="Zusammenfassung").wait_for(timeout=STOP_TIMEOUT_MS)
    _shot(page, "06-group-summary")
    page.goto(f"{server}/settings")
    page.get_by_role("heading", name="Einstellungen").wait_for(timeout=60_000)
    _shot(page, "07-settings")
    page.get_by_text("English").first.click()
    page.get_by_role("heading", name="Settings").wait_for(timeout=30_000)
    # The sidebar note is drawn last: once it is English, the whole page is.
    page.get_by_text("Everything runs on this server").wait_for(timeout=60_000)
    page.get_by_role("heading", name="Pose model").wait_for(timeout=30_000)
    assert not page.get_by_text("Posenmodell").count()
    _shot(page, "08-settings-english")
    page.close()
