"""The browser's camera (streamlit-webrtc): the frame callback, ICE servers and a health log.

The WebRTC connection lives on the Streamlit server's event loop. The callback only hands the
browser's frame to the :class:`~exercises.session.LiveSession` and returns the newest annotated
picture; the analysis runs elsewhere and takes what it can (see ``docs/app.md``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

from app_pages.common import LIVE_MAX_FPS
from exercises.session import LiveSession

log = logging.getLogger("formcheck.app.rtc")

#: the server's event loop is reported in the log when it reacts later than this (seconds)
LAG_WARN_S = 0.25
#: ask the browser for what the analysis can use: every extra frame costs the server's event loop (receive,
#: decode, send the annotated picture back), and a starved loop loses the connection
CAMERA_CONSTRAINTS: dict[str, Any] = {"video": {"width": {"ideal": 640}, "frameRate": {"ideal": LIVE_MAX_FPS}},
                                      "audio": False}
_watch_lock = threading.Lock()
_watched: set[int] = set()


def ice_servers() -> list[dict[str, Any]]:
    """No STUN/TURN by default (nothing leaves the local network); FORMCHECK_ICE_SERVERS adds some."""
    urls = [u.strip() for u in os.environ.get("FORMCHECK_ICE_SERVERS", "").split(",") if u.strip()]
    return [{"urls": [u]} for u in urls]


def frame_callback(session: LiveSession) -> Any:
    """The WebRTC frame callback: hand the browser's frame to the session, return the newest annotated one."""
    import av

    size: list[tuple[int, int]] = []

    def callback(frame: av.VideoFrame) -> av.VideoFrame:
        if not size or size[-1] != (frame.width, frame.height):  # the browser lowers it when the link is poor
            (log.warning if size else log.info)("browser camera frames: %dx%d", frame.width, frame.height)
            size[:] = [(frame.width, frame.height)]
        session.push(frame.to_ndarray(format="bgr24"))
        out = session.fetch_image()
        return frame if out is None else av.VideoFrame.from_ndarray(out, format="bgr24")

    return callback


def watch_event_loop() -> None:
    """Log (once per process and loop) when the event loop that carries the WebRTC connection lags."""
    try:
        from streamlit_webrtc.eventloop import get_global_event_loop

        loop = get_global_event_loop()
    except Exception:  # not inside a running Streamlit server (AppTest)
        return
    with _watch_lock:
        if id(loop) in _watched:
            return
        _watched.add(id(loop))

    async def watch() -> None:
        period, worst, since = 0.1, 0.0, time.monotonic()
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(period)
            lag = time.monotonic() - t0 - period
            worst = max(worst, lag)
            if time.monotonic() - since >= 5.0:
                if worst >= LAG_WARN_S:
                    log.warning("server event loop lagged up to %.2f s in the last 5 s", worst)
                worst, since = 0.0, time.monotonic()

    loop.call_soon_threadsafe(lambda: loop.create_task(watch()))
