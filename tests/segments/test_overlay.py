"""Tests for the burn-in overlay: text format, in-place YUV blending, fonts and CJK glyphs."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from segments.errors import SegmentError
from segments.overlay import (
    Overlay,
    OverlaySpec,
    drawing,
    format_text,
    glyph_mask,
    glyphs,
    missing_glyphs,
)
from segments.overlay import font as ovfont
from tests.segments.clips import gradient_clip

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC_ZONE = ZoneInfo("UTC")
LOCATION = "某某检查站 一号卡口"
CAMERA = "一号摄像机"
# 2026-11-27 06:03:07.9 UTC = 14:03:07 in Shanghai
WALL = datetime(2026, 11, 27, 6, 3, 7, tzinfo=UTC).timestamp() + 0.9
SPEC = OverlaySpec(location=LOCATION, camera=CAMERA, gps=(31.230416, 121.473701))
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

Rect = tuple[int, int, int, int]


def random_frame(width: int, height: int, fmt: str = "yuv420p", seed: int = 0) -> av.VideoFrame:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (height * 3 // 2, width), dtype=np.uint8)
    return av.VideoFrame.from_ndarray(data, format=fmt)


def planes(frame: av.VideoFrame) -> list[NDArray[np.uint8]]:
    """Copies of every plane as (rows, line_size) byte arrays."""
    return [
        np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size).copy()
        for p in frame.planes
    ]


def plane_rects(rect: Rect, fmt: str) -> list[Rect]:
    """The overlay rectangle in each plane's byte coordinates."""
    x, y, w, h = rect
    if fmt == "nv12":
        return [rect, (x, y // 2, w, (h + 1) // 2)]
    chroma = (x // 2, y // 2, (w + 1) // 2, (h + 1) // 2)
    return [rect, chroma, chroma]


def inside(rect: Rect, shape: tuple[int, ...]) -> NDArray[np.bool_]:
    x, y, w, h = rect
    mask = np.zeros(shape[:2], dtype=bool)
    mask[y : y + h, x : x + w] = True
    return mask


def make(width: int, height: int, fmt: str = "yuv420p", spec: OverlaySpec = SPEC) -> Overlay:
    return Overlay.open(spec, SHANGHAI, width=width, height=height, pix_fmt=fmt)


# --- text formatting -------------------------------------------------------------------


def test_format_text_shanghai_with_gps() -> None:
    text = format_text(SPEC, WALL, SHANGHAI)
    assert (
        text == "2026-11-27 14:03:07 +08:00  一号摄像机\n某某检查站 一号卡口  31.230416,121.473701"
    )


def test_format_text_utc_without_gps_leaves_no_trailing_gap() -> None:
    spec = OverlaySpec(location=LOCATION, camera=CAMERA)
    assert (
        format_text(spec, WALL, UTC_ZONE)
        == "2026-11-27 06:03:07 +00:00  一号摄像机\n某某检查站 一号卡口"
    )


def test_format_text_custom_template_and_negative_offset() -> None:
    spec = OverlaySpec(template="{location} | {time}", location="Post 7", camera="c1")
    text = format_text(spec, WALL, ZoneInfo("America/New_York"))
    assert text == "Post 7 | 2026-11-27 01:03:07 -05:00"


@pytest.mark.parametrize("template", ["{time} {operator}", "{time} {}", "{time", "{0}"])
def test_bad_template_is_rejected(template: str) -> None:
    with pytest.raises(SegmentError, match="template"):
        OverlaySpec(template=template, location="x", camera="y")


def test_gps_out_of_range_is_rejected() -> None:
    with pytest.raises(SegmentError, match="GPS"):
        OverlaySpec(location="x", camera="y", gps=(91.0, 0.0))


# --- blending --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "fmt"),
    [(640, 360, "yuv420p"), (1920, 1080, "yuv420p"), (640, 360, "yuvj420p"), (640, 360, "nv12")],
)
def test_apply_changes_only_the_overlay_rectangle(width: int, height: int, fmt: str) -> None:
    overlay = make(width, height, fmt)
    frame = random_frame(width, height, fmt)
    before = planes(frame)
    overlay.apply(frame, WALL)
    after = planes(frame)
    assert overlay.rect is not None
    x, y, w, h = overlay.rect
    assert x + w <= width and y + h <= height
    for b, a, rect in zip(before, after, plane_rects(overlay.rect, fmt), strict=True):
        box = inside(rect, b.shape)
        assert np.array_equal(a[~box], b[~box]), "a pixel outside the overlay changed"
        assert np.count_nonzero(a[box] != b[box]) > 0.1 * box.sum()
    luma = after[0][y : y + h, x : x + w]
    white, black = (255, 0) if fmt == "yuvj420p" else (235, 16)
    assert (luma == white).any() and (luma == black).any()


def test_font_scales_with_frame_height() -> None:
    small, large = make(640, 360), make(1920, 1080)
    assert small.font.size == 16 and large.font.size == 49
    for overlay, (w, h) in ((small, (640, 360)), (large, (1920, 1080))):
        overlay.apply(random_frame(w, h), WALL)
        assert overlay.rect is not None
        assert overlay.rect[0] + overlay.rect[2] <= w


def test_long_text_shrinks_to_fit_the_frame() -> None:
    spec = OverlaySpec(
        location="某某省某某市某某区某某街道某某路某某号某某检查站第一号卡口东侧入口北侧停车场旁边空地",
        camera=CAMERA,
    )
    overlay = make(640, 360, spec=spec)
    assert overlay.font.size < 16
    overlay.apply(random_frame(640, 360), WALL)
    assert overlay.rect is not None
    assert ovfont.text_width(overlay.font, format_text(spec, WALL, SHANGHAI)) <= 640 - 2 * 6


def test_bitmap_is_rendered_once_per_second() -> None:
    overlay = make(640, 360)
    frame = random_frame(640, 360)
    second = float(int(WALL))
    for t in (second, second + 0.04, second + 0.5, second + 0.999):
        overlay.apply(frame, t)
    assert overlay.render_count == 1
    for t in (second + 1.0, second + 1.5, second + 2.0):
        overlay.apply(frame, t)
    assert overlay.render_count == 3


def test_frame_of_another_size_or_format_is_rejected() -> None:
    with pytest.raises(SegmentError, match="build a new Overlay"):
        make(640, 360).apply(random_frame(320, 240), WALL)
    with pytest.raises(SegmentError, match="build a new Overlay"):
        make(640, 360).apply(random_frame(640, 360, "nv12"), WALL)


def test_unsupported_pixel_format_is_rejected() -> None:
    with pytest.raises(SegmentError, match="reformat"):
        make(640, 360, "rgb24")


def _decode(
    packets: list[av.Packet], overlay: Overlay | None, borrowed: bool = False
) -> list[NDArray[np.uint8]]:
    codec = av.CodecContext.create("h264", "r")
    codec.thread_type = "SLICE"  # as the recorder's: it decodes only inside decode()
    out = []
    for i, frame in enumerate(itertools.chain.from_iterable(map(codec.decode, packets))):
        if overlay is None:
            out.append(np.asarray(frame.to_ndarray(), dtype=np.uint8))
        elif borrowed:  # a new second each frame: new digits each time
            undo = overlay.apply_borrowed(frame, WALL + i)
            out.append(np.asarray(frame.to_ndarray(), dtype=np.uint8))  # the encoder's copy
            undo()
        else:
            overlay.apply(frame, WALL + i)
            out.append(np.asarray(frame.to_ndarray(), dtype=np.uint8))
    return out


@pytest.mark.parametrize("borrowed", [False, True])
def test_decoder_reference_frames_are_not_corrupted(borrowed: bool) -> None:
    """Drawn into a copy, or into the decoder's own frame and taken out after encoding: the
    frames decoded from it later never show the overlay of an earlier one."""
    width, height, count = 320, 240, 8
    packets = gradient_clip(width, height, count, fps=25, gop=100)
    clean = _decode(packets, None)
    drawn = _decode(packets, make(width, height), borrowed)
    assert len(clean) == len(drawn) == count
    for i, (plain, got) in enumerate(zip(clean, drawn, strict=True)):
        expected = av.VideoFrame.from_ndarray(plain, format="yuv420p")
        make(width, height).apply(expected, WALL + i)
        assert np.array_equal(got, expected.to_ndarray()), f"frame {i} differs"


# --- cached rendering ------------------------------------------------------------------


def reference_alphas(overlay: Overlay, text: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(outline-and-text, text) alphas 0..256 of one straightforward Pillow draw of `text`."""
    font, stroke, spacing = (
        overlay.font,
        ovfont.stroke_px(overlay.font),
        ovfont.spacing_px(overlay.font),
    )
    left, top, right, bottom = ovfont.text_box(font, text)
    canvas = Image.new("RGB", (right - left + 2, bottom - top + 2))
    ImageDraw.Draw(canvas).text(
        (-left, -top),
        text,
        (255, 255, 0),
        font,
        spacing=spacing,
        stroke_width=stroke,
        stroke_fill=(255, 0, 0),
    )
    rgb = np.asarray(canvas).astype(np.int64)
    a_text = rgb[:, :, 1] + (rgb[:, :, 1] >> 7)
    a_all = np.maximum(rgb[:, :, 0] + (rgb[:, :, 0] >> 7), a_text)
    return a_all, a_text


def drawn_alphas(overlay: Overlay) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The same alphas as recovered from the overlay's luma blend terms."""
    m = overlay._masks
    assert m is not None
    a_all = 256 - m.luma_inv.astype(np.int64)
    black, white = overlay._black, overlay._white
    a_text = (m.luma_add.astype(np.int64) - 128 - black * a_all) // (white - black)
    return a_all, a_text


def assert_matches_pillow(overlay: Overlay, wall: float) -> None:
    ref_all, ref_text = reference_alphas(overlay, format_text(overlay.spec, wall, overlay.tz))
    got_all, got_text = drawn_alphas(overlay)
    h, w = got_all.shape
    assert ref_all[h:].max(initial=0) == 0 and ref_all[:, w:].max(initial=0) == 0, "text cut off"
    for ref, got in ((ref_all[:h, :w], got_all), (ref_text[:h, :w], got_text)):
        assert np.abs(ref - got).max() <= 1, f"differs from Pillow at {wall}"
    m = overlay._masks
    assert m is not None
    blocks = got_all[0::2, 0::2] + got_all[0::2, 1::2] + got_all[1::2, 0::2] + got_all[1::2, 1::2]
    chroma = (blocks + 2) >> 2
    if overlay.pix_fmt == "nv12":
        chroma = np.repeat(chroma, 2, axis=1)
    assert np.array_equal(
        256 - m.chroma_inv, chroma[: m.chroma_inv.shape[0], : m.chroma_inv.shape[1]]
    )


# Seconds that change one digit, several, the date, and the time zone offset's sign.
STEPS = (0, 1, 2, 9, 10, 52, 53, 3600, 86_400 * 35 + 7)


@pytest.mark.parametrize(
    ("width", "height", "fmt", "tz"),
    [
        (640, 360, "yuv420p", SHANGHAI),
        (1920, 1080, "yuv420p", SHANGHAI),
        (1280, 720, "nv12", ZoneInfo("America/New_York")),
        (333, 201, "yuvj420p", ZoneInfo("Europe/London")),
    ],
)
def test_incremental_rendering_matches_a_full_pillow_render(
    width: int, height: int, fmt: str, tz: ZoneInfo
) -> None:
    overlay = Overlay.open(SPEC, tz, width=width, height=height, pix_fmt=fmt)
    frame = av.VideoFrame(width, height, fmt)  # odd sizes too: the text is clipped to them
    for step in STEPS:
        overlay.apply(frame, WALL + step)
        assert_matches_pillow(overlay, WALL + step)


def test_offset_sign_change_relayouts_and_still_matches() -> None:
    spec = OverlaySpec(template="{camera} {time} end", location=LOCATION, camera=CAMERA)
    overlay = Overlay.open(spec, UTC_ZONE, width=640, height=360, pix_fmt="yuv420p")
    overlay.apply(random_frame(640, 360), WALL)
    assert_matches_pillow(overlay, WALL)
    overlay.tz = ZoneInfo("America/New_York")  # "+00:00" -> "-05:00": '-' is narrower
    overlay.apply(random_frame(640, 360), WALL + 1)
    assert_matches_pillow(overlay, WALL + 1)


@pytest.mark.parametrize("location", [LOCATION, "marker \ue000 in a field"])
def test_per_minute_text_equals_format_text_across_a_dst_change(location: str) -> None:
    new_york = ZoneInfo("America/New_York")
    spec = OverlaySpec(location=location, camera=CAMERA)
    overlay = Overlay.open(spec, new_york, width=640, height=360, pix_fmt="yuv420p")
    jump = int(datetime(2026, 3, 8, 7, 0, 0, tzinfo=UTC).timestamp())  # 02:00 EST -> 03:00 EDT
    for second in range(jump - 90, jump + 90, 7):
        assert overlay._text(second) == format_text(spec, second, new_york)


def test_outline_surrounds_the_text() -> None:
    overlay = make(1920, 1080)
    overlay.apply(random_frame(1920, 1080), WALL)
    a_all, a_text = drawn_alphas(overlay)
    solid = a_text >= 250
    assert solid.sum() > 1000
    outline = (a_all == 256) & (a_text == 0)
    assert outline.sum() > solid.sum() // 2, "the outline is missing or thin"
    rows, cols = np.nonzero(solid[1:-1, 1:-1])
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        assert (a_all[rows + 1 + dy, cols + 1 + dx] >= 128).all(), "text pixel on bare background"


def test_a_new_second_redraws_from_cached_glyphs(monkeypatch: pytest.MonkeyPatch) -> None:
    overlay = make(1280, 720)
    frame = random_frame(1280, 720)
    for i in range(12):  # every digit in every position the seconds use
        overlay.apply(frame, WALL - 7 + i)
    rect = overlay.rect

    def fail(*_: object) -> None:
        raise AssertionError("Pillow was asked to draw again")

    monkeypatch.setattr(glyphs, "draw_glyph", fail)
    monkeypatch.setattr(drawing, "text_box", fail)
    for i in range(12):
        overlay.apply(frame, WALL - 7 + i)
    assert overlay.rect == rect and overlay.render_count == 24
    monkeypatch.undo()
    assert_matches_pillow(overlay, WALL + 4)


# --- fonts and glyphs ------------------------------------------------------------------


def test_chinese_glyphs_are_real_and_distinct() -> None:
    font = make(1920, 1080).font
    notdef = glyph_mask(font, "\U0010fffd")
    chars = [c for c in dict.fromkeys("某某检查站 一号卡口") if not c.isspace()]
    masks = [glyph_mask(font, c) for c in chars]
    for char, mask in zip(chars, masks, strict=True):
        assert mask.any() and not np.array_equal(mask, notdef), char
    for a, b in itertools.combinations(masks, 2):
        assert not np.array_equal(a, b)
    assert missing_glyphs(font, LOCATION + CAMERA + "0123456789-:+,.") == []


def test_missing_glyphs_are_detected() -> None:
    font = make(640, 360).font
    assert missing_glyphs(font, "A\U0010fffd检\U0001fae8") == ["\U0010fffd", "\U0001fae8"]


def test_missing_glyph_warning_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    spec = OverlaySpec(location="检查站\U0001fae8", camera=CAMERA)
    with caplog.at_level(logging.WARNING, logger="segments.overlay"):
        overlay = make(640, 360, spec=spec)
        frame = random_frame(640, 360)
        for i in range(3):
            overlay.apply(frame, WALL + i)
    warnings = [r for r in caplog.records if "cannot draw" in r.getMessage()]
    assert len(warnings) == 1 and "\U0001fae8" in warnings[0].getMessage()


def test_explicit_font_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(SegmentError, match="fonts-wqy-zenhei"):
        ovfont.find_font(tmp_path / "nope.ttc")


def test_no_cjk_font_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ovfont, "DEBIAN_FONT", tmp_path / "absent.ttc")
    monkeypatch.setattr(ovfont, "_fc_match_cjk", lambda: None)
    with pytest.raises(SegmentError, match="apt-get install fonts-wqy-zenhei"):
        ovfont.find_font()


@pytest.mark.skipif(not DEJAVU.is_file(), reason="needs fonts-dejavu-core")
def test_font_without_chinese_is_refused() -> None:
    with pytest.raises(SegmentError, match="no Chinese glyphs"):
        ovfont.load_font(DEJAVU, 16)


def test_default_font_is_found() -> None:
    path = ovfont.find_font()
    assert path.is_file()
    assert ovfont.load_font(path, 20).size == 20
