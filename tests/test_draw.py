"""vision.draw: Unicode text, NaN-aware skeletons, angle labels and panels."""

from __future__ import annotations

from enum import Enum

import numpy as np
import pytest
from factories_video import person_frame

from vision.draw import (
    PALETTE,
    SEVERITY_COLORS,
    UNTRACKED,
    TextRenderer,
    annotate,
    default_renderer,
    draw_angles,
    draw_panel,
    draw_skeleton,
    find_font,
    track_color,
)
from vision.landmarks import Landmark as L

GERMAN = ["Rücken ß", "Hüfte", "Knie beugen, nicht den Rücken", "Größe", "ÄÖÜ äöü"]


@pytest.fixture(scope="module")
def renderer() -> TextRenderer:
    return default_renderer()


def changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.any(before != after, axis=-1)


# --------------------------------------------------------------------------- text
def test_a_font_with_german_glyphs_is_found(renderer: TextRenderer) -> None:
    assert find_font() is not None
    assert renderer.font_path is not None
    assert renderer.missing_glyphs("äöüÄÖÜß°") == ""


@pytest.mark.parametrize("text", GERMAN)
def test_text_changes_pixels(renderer: TextRenderer, text: str) -> None:
    img = np.zeros((60, 400, 3), np.uint8)
    out = renderer.put(img, text, (5, 5), size=24, color=(255, 255, 255))
    assert out is img  # in place
    assert changed(np.zeros_like(img), img).sum() > 50


@pytest.mark.parametrize("plain,accented", [("u", "ü"), ("a", "ä"), ("O", "Ö"), ("s", "ß"), ("ü", "ß")])
def test_umlauts_render_differently_from_plain_letters(renderer: TextRenderer, plain: str, accented: str) -> None:
    m1, _, _ = renderer.mask(plain, 32)
    m2, _, _ = renderer.mask(accented, 32)
    assert m1.shape != m2.shape or not np.array_equal(m1, m2)
    if plain.lower() == accented.lower().translate(str.maketrans("äöü", "aou")):
        # the umlaut adds ink (the dots) on top of the same base letter
        assert int((m2 > 128).sum()) > int((m1 > 128).sum())


def test_text_colour_is_bgr(renderer: TextRenderer) -> None:
    img = np.zeros((50, 200, 3), np.uint8)
    renderer.put(img, "Rücken", (5, 5), size=30, color=(255, 0, 0))  # pure blue in BGR
    ink = img[changed(np.zeros_like(img), img)]
    assert ink[:, 0].max() == 255 and ink[:, 1:].max() == 0


def test_outline_draws_around_the_text(renderer: TextRenderer) -> None:
    img = np.full((50, 200, 3), 128, np.uint8)
    renderer.put(img, "Hüfte", (5, 5), size=30, color=(255, 255, 255), outline=(0, 0, 0))
    assert (img == 0).all(axis=-1).any() and (img == 255).all(axis=-1).any()


@pytest.mark.parametrize("org", [(-30, -10), (180, 40), (1000, 1000)])
def test_text_is_clipped_at_the_image_edge(renderer: TextRenderer, org: tuple[int, int]) -> None:
    img = np.zeros((50, 200, 3), np.uint8)
    renderer.put(img, "Knie beugen", org, size=30)  # must not raise


def test_masks_are_cached(renderer: TextRenderer) -> None:
    assert renderer.mask("Wiederholung", 20)[0] is renderer.mask("Wiederholung", 20)[0]
    assert renderer.font(20) is renderer.font(20)


def test_measure_grows_with_text_and_size(renderer: TextRenderer) -> None:
    w1, h1 = renderer.measure("Rücken", 20)
    w2, _ = renderer.measure("Rücken gerade", 20)
    w3, h3 = renderer.measure("Rücken", 40)
    assert w2 > w1 and w3 > w1 and h3 > h1


# --------------------------------------------------------------------------- skeleton
def test_skeleton_draws_valid_bone_and_skips_nan_and_low_visibility_points() -> None:
    frame = person_frame(
        {L.LEFT_SHOULDER: (40, 30), L.LEFT_HIP: (40, 120), L.LEFT_KNEE: (160, 120)},
        visibility={L.LEFT_KNEE: 0.1},  # knee is below threshold: no hip-knee bone
    )
    img = np.zeros_like(frame.image)
    out = draw_skeleton(img, frame, labels=False)
    assert out is img
    drawn = changed(np.zeros_like(img), img)
    assert drawn[75, 38:43].any()  # middle of the shoulder-hip bone
    assert not drawn[120, 80:150].any()  # hip-knee bone skipped
    assert not drawn[110:131, 150:171].any()  # knee joint skipped
    assert not frame.image.any()  # the frame's own image is untouched


def test_skeleton_with_only_nan_points_draws_nothing() -> None:
    frame = person_frame({})
    img = np.zeros_like(frame.image)
    draw_skeleton(img, frame)
    assert not img.any()


def test_skeleton_of_frame_without_people() -> None:
    frame = person_frame({}).select(np.zeros(1, bool))
    assert frame.num_people == 0
    img = np.zeros_like(frame.image)
    assert draw_skeleton(img, frame) is img and not img.any()


@pytest.mark.parametrize("track_id,expected", [(3, PALETTE[3]), (3 + len(PALETTE), PALETTE[3]), (-1, UNTRACKED)])
def test_colour_is_stable_per_track(track_id: int, expected: tuple[int, int, int]) -> None:
    frame = person_frame({L.LEFT_SHOULDER: (40, 30), L.LEFT_HIP: (40, 120)}, track_id=track_id)
    img = np.zeros_like(frame.image)
    draw_skeleton(img, frame, labels=False, thickness=5)
    assert tuple(int(v) for v in img[75, 40]) == expected
    assert track_color(track_id) == expected


def test_distinct_tracks_get_distinct_colours() -> None:
    assert len({track_color(t) for t in range(len(PALETTE))}) == len(PALETTE)


def test_id_label_is_drawn_above_the_person() -> None:
    frame = person_frame({L.LEFT_SHOULDER: (80, 100), L.LEFT_HIP: (80, 150)}, track_id=7)
    with_label = draw_skeleton(np.zeros_like(frame.image), frame, labels=True)
    without = draw_skeleton(np.zeros_like(frame.image), frame, labels=False)
    diff = changed(without, with_label)
    assert diff.any() and np.flatnonzero(diff.any(axis=1)).max() < 100


def test_skeleton_scales_to_a_resized_image() -> None:
    frame = person_frame({L.LEFT_SHOULDER: (40, 30), L.LEFT_HIP: (40, 120)}, size=(200, 160))
    small = np.zeros((80, 100, 3), np.uint8)  # half size
    draw_skeleton(small, frame, labels=False)
    assert small[37, 20].any() and not small[75, 40].any()


# --------------------------------------------------------------------------- angles
def test_angles_are_written_next_to_joints_and_nan_skipped() -> None:
    img = np.zeros((200, 300, 3), np.uint8)
    out = draw_angles(img, {"Knie": ((50.0, 100.0), 93.4), "Hüfte": ((float("nan"), 10.0), 120.0),
                            "Rücken": ((200.0, 30.0), float("nan"))})
    assert out is img
    rows, cols = np.nonzero(img.any(axis=-1))
    assert rows.size
    assert cols.min() >= 50 and abs(np.median(rows) - 100) < 20  # only near the knee


# --------------------------------------------------------------------------- panel
def panel_bbox(before: np.ndarray, after: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(changed(before, after))
    return int(cols.min()), int(rows.min()), int(cols.max()), int(rows.max())


@pytest.mark.parametrize("corner", ["top-left", "top-right", "bottom-left", "bottom-right"])
def test_panel_sits_in_its_corner(corner: str) -> None:
    base = np.full((480, 640, 3), 200, np.uint8)
    img = base.copy()
    assert draw_panel(img, ["Kniebeuge", "Hüfte 95°"], corner=corner) is img
    x0, y0, x1, y1 = panel_bbox(base, img)
    assert (x0 < 320) == corner.endswith("left") and (x1 > 320) == corner.endswith("right")
    assert (y0 < 240) == corner.startswith("top") and (y1 > 240) == corner.startswith("bottom")


def test_panel_background_is_semi_transparent() -> None:
    img = np.full((480, 640, 3), 200, np.uint8)
    draw_panel(img, ["Wdh. 3"], alpha=0.5)
    x0, y0, _, _ = panel_bbox(np.full_like(img, 200), img)
    assert 90 <= int(img[y0 + 1, x0 + 1, 0]) <= 110  # darkened, not black


def test_big_line_makes_the_panel_taller() -> None:
    base = np.full((480, 640, 3), 200, np.uint8)
    a, b = base.copy(), base.copy()
    draw_panel(a, ["Kniebeuge"])
    draw_panel(b, ["Kniebeuge"], big_line="7")
    assert panel_bbox(base, b)[3] - panel_bbox(base, a)[3] > 20


class Sev(Enum):
    ERROR = 3


@pytest.mark.parametrize("severity,expected", [
    ("error", SEVERITY_COLORS["error"]), ("warn", SEVERITY_COLORS["warning"]), ("ok", SEVERITY_COLORS["ok"]),
    (Sev.ERROR, SEVERITY_COLORS["error"]), ((255, 0, 255), (255, 0, 255)),
])
def test_correction_bar_has_the_severity_colour(severity, expected) -> None:
    img = np.zeros((480, 640, 3), np.uint8)
    draw_panel(img, ["Kniebeuge"], correction="Knie beugen, nicht den Rücken", severity=severity)
    colours = img.reshape(-1, 3).astype(int)
    close = np.abs(colours - np.array(expected)).max(axis=1) <= int(0.1 * 255) + 1
    assert close.sum() > 500  # a solid bar of (nearly) that colour


@pytest.mark.parametrize("kwargs", [{"severity": "purple"}, {"corner": "middle"}])
def test_panel_rejects_bad_options(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        draw_panel(np.zeros((100, 100, 3), np.uint8), ["x"], correction="y", **kwargs)


def test_empty_panel_draws_nothing() -> None:
    img = np.zeros((100, 100, 3), np.uint8)
    draw_panel(img, [])
    assert not img.any()


def test_panel_larger_than_image_is_clipped() -> None:
    img = np.zeros((40, 60, 3), np.uint8)
    draw_panel(img, ["eine sehr lange Zeile, die nicht passt"] * 5, big_line="12.4 s", size=20)


# --------------------------------------------------------------------------- annotate
def test_annotate_returns_a_copy_and_leaves_the_frame_alone() -> None:
    frame = person_frame({L.LEFT_SHOULDER: (40, 30), L.LEFT_HIP: (40, 120)}, track_id=1)
    out = annotate(frame, lines=["Hüfte"], big_line="3", correction="Rücken gerade", severity="error",
                   angles={"Knie": ((100.0, 100.0), 90.0)})
    assert out is not frame.image and out.any()
    assert not frame.image.any()
