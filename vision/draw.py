"""Drawing on BGR images: skeletons, joint angles and text panels. No exercise logic lives here.

Every ``draw_*`` function draws **in place** on the ``image`` it is given and returns that
same array (so calls chain). Never pass ``frame.image`` itself: frames are shared between
stages and threads. :func:`annotate` is the convenience that copies ``frame.image`` once
and draws everything on the copy.

Text goes through :class:`TextRenderer` (Pillow + FreeType) because OpenCV's Hershey fonts
cannot draw umlauts or ß. Each string is rasterised once into a cached alpha mask and
blended straight into the numpy image, so no frame pixels ever make a PIL round-trip.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vision.frame import Frame
from vision.landmarks import SKELETON

logger = logging.getLogger(__name__)

__all__ = ["SEVERITY_COLORS", "TextRenderer", "annotate", "default_renderer", "draw_angles", "draw_panel",
           "draw_skeleton", "find_font", "track_color"]

BGR = tuple[int, int, int]
WHITE: BGR = (255, 255, 255)
BLACK: BGR = (0, 0, 0)
UNTRACKED: BGR = (80, 220, 80)  # green, for people without a track id or with colors_by_track=False
#: Distinct BGR colours, one per track id (``track_id % len``).
PALETTE: tuple[BGR, ...] = (
    (255, 160, 40), (40, 200, 255), (200, 80, 255), (80, 255, 160), (60, 90, 255),
    (255, 255, 80), (180, 130, 70), (160, 255, 255), (255, 120, 200), (120, 180, 0),
)
#: Background colour of the correction line per severity (BGR).
SEVERITY_COLORS: dict[str, BGR] = {
    "ok": (60, 160, 40), "info": (170, 110, 20), "warning": (0, 140, 235), "error": (40, 40, 210),
}
_SEVERITY_ALIASES = {"good": "ok", "success": "ok", "hint": "info", "warn": "warning", "bad": "error",
                     "critical": "error", "danger": "error"}
#: Characters the UI needs; the renderer warns if its font lacks any of them.
_REQUIRED_GLYPHS = "äöüÄÖÜß°"
_CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
_SYSTEM_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/Library/Fonts/Arial Unicode.ttf", "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:/Windows/Fonts/arial.ttf", "C:/Windows/Fonts/segoeui.ttf",
)


# --------------------------------------------------------------------------- text
def find_font() -> Path | None:
    """A TrueType font with German glyphs: ``$FORMCHECK_FONT``, else matplotlib's bundled
    DejaVuSans (matplotlib is a mediapipe dependency, so it is always installed with us),
    else a common system font. None if nothing is found."""
    env = os.environ.get("FORMCHECK_FONT")
    if env and Path(env).is_file():
        return Path(env)
    spec = importlib.util.find_spec("matplotlib")  # locate the package without importing it
    for base in (spec.submodule_search_locations or []) if spec else []:
        path = Path(base) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return path
    return next((Path(p) for p in _SYSTEM_FONTS if Path(p).is_file()), None)


class TextRenderer:
    """Unicode text on BGR images with Pillow/FreeType; fonts cached per size, masks per string.

    ``font_path=None`` uses :func:`find_font`; if no font is found Pillow's built-in font is
    used, which lacks umlauts (a warning is logged).
    """

    _MASK_CACHE_SIZE = 1024

    def __init__(self, font_path: str | os.PathLike[str] | None = None) -> None:
        self.font_path = Path(font_path) if font_path is not None else find_font()
        if self.font_path is None:
            logger.warning("no TrueType font found (set FORMCHECK_FONT); umlauts will render as boxes")
        self._fonts: dict[int, Any] = {}
        self._masks: dict[tuple[str, int, int], tuple[np.ndarray, int, int]] = {}
        missing = self.missing_glyphs(_REQUIRED_GLYPHS)
        if missing:
            logger.warning("font %s has no glyphs for %r; they will render as boxes", self.font_path, missing)

    def font(self, size: int) -> Any:
        """The font at ``size`` pixels (cached)."""
        size = max(1, int(size))
        font = self._fonts.get(size)
        if font is None:
            font = (ImageFont.truetype(str(self.font_path), size) if self.font_path
                    else ImageFont.load_default(size=size))
            self._fonts[size] = font
        return font

    def missing_glyphs(self, text: str, size: int = 24) -> str:
        """The characters of ``text`` the font draws as its 'missing glyph' box."""
        font = self.font(size)
        notdef = np.asarray(font.getmask("\U000f0000"))  # a private-use code point no font maps
        return "".join(c for c in dict.fromkeys(text) if not c.isspace()
                       and np.array_equal(np.asarray(font.getmask(c)), notdef))

    def measure(self, text: str, size: int) -> tuple[int, int]:
        """``(width, height)`` of a line of ``text``: advance width and the font's line height."""
        font = self.font(size)
        ascent, descent = font.getmetrics()
        return int(np.ceil(font.getlength(text))), ascent + descent

    def mask(self, text: str, size: int, stroke: int = 0) -> tuple[np.ndarray, int, int]:
        """Alpha mask (uint8, H×W) of ``text`` and the ``(dx, dy)`` offset of its top-left corner
        relative to the top-left of the text line (negative: margins for overhang and outline)."""
        key = (text, int(size), int(stroke))
        hit = self._masks.get(key)
        if hit is not None:
            return hit
        font = self.font(size)
        width, height = self.measure(text, size)
        pad = stroke + max(1, size // 8)
        img = Image.new("L", (width + 2 * pad, height + 2 * pad), 0)
        ImageDraw.Draw(img).text((pad, pad), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
        result = (np.asarray(img), -pad, -pad)
        if len(self._masks) >= self._MASK_CACHE_SIZE:
            self._masks.clear()
        self._masks[key] = result
        return result

    def put(self, image: np.ndarray, text: str, org: tuple[float, float], *, size: int = 20,
            color: BGR = WHITE, outline: BGR | None = None, outline_width: int | None = None) -> np.ndarray:
        """Draw one line of ``text`` with its top-left at ``org`` (in place; returns ``image``).
        ``outline`` draws a contrasting border so the text reads on any background."""
        x, y = math.floor(org[0] + 0.5), math.floor(org[1] + 0.5)
        if outline is not None:
            sw = outline_width if outline_width is not None else max(1, size // 12)
            m, dx, dy = self.mask(text, size, sw)
            _blend(image, m, x + dx, y + dy, outline)
        m, dx, dy = self.mask(text, size)
        _blend(image, m, x + dx, y + dy, color)
        return image


def _blend(image: np.ndarray, mask: np.ndarray, x: int, y: int, color: BGR, opacity: float = 1.0) -> None:
    """Alpha-blend ``color`` into ``image`` through ``mask`` placed at ``(x, y)``, clipped to the image."""
    h, w = image.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + mask.shape[1], w), min(y + mask.shape[0], h)
    if x0 >= x1 or y0 >= y1:
        return
    a = mask[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32)[..., None] * (opacity / 255.0)
    roi = image[y0:y1, x0:x1]
    roi[:] = (roi * (1.0 - a) + np.asarray(color, np.float32) * a + 0.5).astype(np.uint8)


@functools.lru_cache(maxsize=1)
def default_renderer() -> TextRenderer:
    """A shared :class:`TextRenderer` with the default font."""
    return TextRenderer()


def _scale(image: np.ndarray) -> float:
    """Size factor for lines and text: 1.0 for a 480-pixel short side."""
    return max(0.5, min(image.shape[:2]) / 480.0)


# --------------------------------------------------------------------------- skeleton and angles
def track_color(track_id: int) -> BGR:
    """The stable colour of a tracked person (``UNTRACKED`` green for ids < 0)."""
    return PALETTE[int(track_id) % len(PALETTE)] if track_id >= 0 else UNTRACKED


_SKELETON_IDX = np.array([(int(a), int(b)) for a, b in SKELETON], np.intp)
_JOINTS = np.unique(_SKELETON_IDX)


def draw_skeleton(image: np.ndarray, frame: Frame, *, min_visibility: float = 0.5, colors_by_track: bool = True,
                  color: BGR = UNTRACKED, thickness: int | None = None, labels: bool = True,
                  renderer: TextRenderer | None = None) -> np.ndarray:
    """Draw every person's bones and joints (in place; returns ``image``).

    Points that are NaN or below ``min_visibility`` are skipped together with their bones.
    With ``colors_by_track`` each person gets :func:`track_color` of its ``track_id`` and an
    ``ID n`` label above the head (``labels``); otherwise everyone is drawn in ``color``.
    Frame coordinates are scaled if ``image`` is not the frame's size.
    """
    h, w = image.shape[:2]
    sx = w / frame.width if frame.width else 1.0
    sy = h / frame.height if frame.height else 1.0
    s = _scale(image)
    thick = thickness or max(1, round(2 * s))
    radius = max(2, round(3 * s))
    for row in range(frame.num_people):
        xy = frame.xy[row].astype(np.float64) * (sx, sy)
        ok = np.isfinite(xy).all(axis=1) & (frame.visibility[row] >= min_visibility)
        pts = np.clip(np.nan_to_num(xy), -1e5, 1e5).round().astype(np.int64)
        tid = int(frame.track_id[row])
        col = track_color(tid) if colors_by_track else color
        for a, b in _SKELETON_IDX:
            if ok[a] and ok[b]:
                cv2.line(image, tuple(map(int, pts[a])), tuple(map(int, pts[b])), col, thick, cv2.LINE_AA)
        for j in _JOINTS:
            if ok[j]:
                cv2.circle(image, tuple(map(int, pts[j])), radius, col, -1, cv2.LINE_AA)
        if labels and colors_by_track and tid >= 0 and ok.any():
            size = max(10, round(14 * s))
            top = pts[ok]
            x, y = top[:, 0].min(), top[:, 1].min()
            (renderer or default_renderer()).put(image, f"ID {tid}", (x, y - size * 1.6), size=size,
                                                 color=col, outline=BLACK)
    return image


def draw_angles(image: np.ndarray, angles: Mapping[str, tuple[tuple[float, float], float]], *,
                show_names: bool = False, size: int | None = None, color: BGR = WHITE,
                renderer: TextRenderer | None = None) -> np.ndarray:
    """Write angle values next to joints (in place; returns ``image``).

    ``angles`` maps a name (e.g. ``"Knie"``) to ``((x, y), degrees)``; entries with a NaN
    position or angle are skipped. With ``show_names`` the label is ``"Knie 95°"``.
    """
    s = _scale(image)
    size = size or max(10, round(16 * s))
    r = renderer or default_renderer()
    for name, ((x, y), deg) in angles.items():
        if not (np.isfinite(x) and np.isfinite(y) and np.isfinite(deg)):
            continue
        text = f"{name} {deg:.0f}°" if show_names else f"{deg:.0f}°"
        r.put(image, text, (x + 6 * s, y - size * 0.5), size=size, color=color, outline=BLACK)
    return image


# --------------------------------------------------------------------------- panel
def _severity_color(severity: Any) -> BGR:
    if isinstance(severity, tuple):
        return severity
    key = str(getattr(severity, "name", severity)).lower()
    key = _SEVERITY_ALIASES.get(key, key)
    if key not in SEVERITY_COLORS:
        raise ValueError(f"unknown severity {severity!r}; use one of {sorted(SEVERITY_COLORS)} or a BGR tuple")
    return SEVERITY_COLORS[key]


def draw_panel(image: np.ndarray, lines: Sequence[str] = (), *, corner: str = "top-left",
               big_line: str | None = None, correction: str | None = None, severity: Any = "warning",
               size: int | None = None, alpha: float = 0.55, renderer: TextRenderer | None = None,
               ) -> np.ndarray:
    """A semi-transparent text panel in a corner (in place; returns ``image``).

    From top to bottom: ``big_line`` at twice the text size (rep counter, hold clock), the
    ``lines``, and ``correction`` on a bar coloured by ``severity`` (``"ok"``, ``"info"``,
    ``"warning"``, ``"error"``, an enum with such a name, or a BGR tuple). ``alpha`` is the
    darkening of the panel background. The panel is clipped to the image.
    """
    if corner not in _CORNERS:
        raise ValueError(f"corner must be one of {_CORNERS}, got {corner!r}")
    r = renderer or default_renderer()
    s = _scale(image)
    size = size or max(10, round(18 * s))
    pad, gap = round(size * 0.5), round(size * 0.3)
    rows: list[tuple[str, int, str]] = []  # (text, size, kind)
    if big_line:
        rows.append((big_line, 2 * size, "big"))
    rows += [(t, size, "line") for t in lines]
    if correction:
        rows.append((correction, size, "correction"))
    if not rows:
        return image
    dims = [r.measure(t, sz) for t, sz, _ in rows]
    pw = max(d[0] for d in dims) + 2 * pad
    ph = sum(d[1] for d in dims) + gap * (len(rows) - 1) + 2 * pad
    h, w = image.shape[:2]
    margin = round(8 * s)
    x0 = margin if corner.endswith("left") else w - margin - pw
    y0 = margin if corner.startswith("top") else h - margin - ph
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + pw, w), min(y0 + ph, h)
    if cx0 < cx1 and cy0 < cy1:
        roi = image[cy0:cy1, cx0:cx1]
        roi[:] = (roi * (1.0 - alpha) + 0.5).astype(np.uint8)
    y = y0 + pad
    sev = _severity_color(severity)
    for (text, sz, kind), (_, lh) in zip(rows, dims, strict=True):
        color = WHITE
        if kind == "correction":
            bar = np.full((lh + gap, pw), 255, np.uint8)
            _blend(image, bar, x0, y - gap // 2, sev, 0.9)
            color = BLACK if sum(sev) > 500 else WHITE
        r.put(image, text, (x0 + pad, y), size=sz, color=color)
        y += lh + gap
    return image


def annotate(frame: Frame, *, lines: Sequence[str] = (), big_line: str | None = None,
             correction: str | None = None, severity: Any = "warning",
             angles: Mapping[str, tuple[tuple[float, float], float]] | None = None, skeleton: bool = True,
             corner: str = "top-left", min_visibility: float = 0.5,
             renderer: TextRenderer | None = None) -> np.ndarray:
    """A **copy** of ``frame.image`` with skeletons, angle labels and a panel drawn on it."""
    image = frame.image.copy()
    if skeleton:
        draw_skeleton(image, frame, min_visibility=min_visibility, renderer=renderer)
    if angles:
        draw_angles(image, angles, renderer=renderer)
    draw_panel(image, lines, corner=corner, big_line=big_line, correction=correction, severity=severity,
               renderer=renderer)
    return image

