"""Burn-in overlay: wall-clock time, location, camera and GPS drawn into decoded frames.

Evidence footage must show who/when/where in the picture itself. The text changes once a
second, so the bitmap is rendered with Pillow only then; every frame just blends the cached
alpha masks into the YUV planes inside the text rectangle (integer math, no RGB round trip,
no whole-frame copy), which keeps the per-frame cost in the tens of microseconds at 1080p.
"""

from __future__ import annotations

import logging
import math
import shutil
import string
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import numpy as np
from av.video.plane import VideoPlane
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from segments.errors import SegmentError

log = logging.getLogger(__name__)

DEFAULT_TEMPLATE = "{time}  {camera}\n{location}  {gps}"
"""Recorded with every segment. Fields: {time} (`YYYY-MM-DD HH:MM:SS +HH:MM`, local),
{location}, {camera}, {gps} (`lat,lon` with 6 decimals, empty without GPS); `\n` starts a
new line. Trailing whitespace of each line is stripped, so an empty {gps} leaves no gap.
Two lines because time, a Chinese site name and GPS on one line overflow a 16:9 frame."""

TEMPLATE_FIELDS = frozenset({"time", "location", "camera", "gps"})
DEBIAN_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
FONT_PACKAGE = "fonts-wqy-zenhei"
SUPPORTED_FORMATS = frozenset({"yuv420p", "yuvj420p", "nv12"})
MIN_FONT_PX = 12
MIN_FRAME_PX = 16
_NOTDEF_PROBE = "\U0010fffd"  # private-use codepoint no font maps: renders .notdef
_CJK_PROBE = "中"


@dataclass(frozen=True, kw_only=True)
class OverlaySpec:
    """What the overlay says; `template` is the stable string recorded in the ledger."""

    template: str = DEFAULT_TEMPLATE
    location: str
    camera: str
    gps: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        try:
            parsed = string.Formatter().parse(self.template)
            names = {name for _, name, _, _ in parsed if name is not None}
        except ValueError as e:
            raise SegmentError(f"overlay template {self.template!r} is malformed: {e}") from e
        unknown = names - TEMPLATE_FIELDS
        if unknown:
            raise SegmentError(
                f"overlay template uses unknown fields {sorted(unknown)}; "
                f"allowed: {sorted(TEMPLATE_FIELDS)}"
            )
        if self.gps is not None:
            lat, lon = self.gps
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
                raise SegmentError(f"overlay GPS {self.gps} out of range (lat ±90, lon ±180)")


def format_time(wall_utc: float, tz: ZoneInfo) -> str:
    """`2026-11-27 14:03:07 +08:00`: local wall time of the whole second, with its offset."""
    local = datetime.fromtimestamp(math.floor(wall_utc), tz)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def format_text(spec: OverlaySpec, wall_utc: float, tz: ZoneInfo) -> str:
    """The overlay text shown at `wall_utc` (seconds since the epoch, UTC)."""
    gps = "" if spec.gps is None else f"{spec.gps[0]:.6f},{spec.gps[1]:.6f}"
    text = spec.template.format(
        time=format_time(wall_utc, tz), location=spec.location, camera=spec.camera, gps=gps
    )
    return "\n".join(line.rstrip() for line in text.rstrip().split("\n"))


def glyph_mask(font: ImageFont.FreeTypeFont, char: str) -> NDArray[np.uint8]:
    """The 8-bit coverage mask Pillow draws for one character."""
    left, top, right, bottom = _int_box(font.getbbox(char))
    img = Image.new("L", (max(1, right - left), max(1, bottom - top)))
    ImageDraw.Draw(img).text((-left, -top), char, font=font, fill=255)
    return np.asarray(img)


def missing_glyphs(font: ImageFont.FreeTypeFont, text: str) -> list[str]:
    """Characters of `text` the font would draw as its .notdef box (whitespace excluded)."""
    notdef = glyph_mask(font, _NOTDEF_PROBE)
    missing = []
    for char in dict.fromkeys(text):
        if char.isspace():
            continue
        mask = glyph_mask(font, char)
        if char == _NOTDEF_PROBE or not mask.any() or np.array_equal(mask, notdef):
            missing.append(char)
    return missing


def find_font(path: str | Path | None = None) -> Path:
    """Locate a CJK-capable font: `path`, else the Debian wqy-zenhei file, else fc-match."""
    if path is not None:
        candidate = Path(path)
        if not candidate.is_file():
            raise SegmentError(
                f"overlay font {candidate} does not exist; fix the path or "
                f"apt-get install {FONT_PACKAGE}"
            )
        return candidate
    if DEBIAN_FONT.is_file():
        return DEBIAN_FONT
    found = _fc_match_cjk()
    if found is None:
        raise SegmentError(f"no CJK font found for the overlay; apt-get install {FONT_PACKAGE}")
    return found


def _fc_match_cjk() -> Path | None:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        out = subprocess.run(
            [fc_match, "-f", "%{file}", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        log.warning("fc-match failed while looking for a CJK font: %s", e)
        return None
    return Path(out) if out and Path(out).is_file() else None


def load_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    """Open `path` at `size` px; refuse a font that cannot draw Chinese."""
    try:
        font = ImageFont.truetype(str(path), size)
    except OSError as e:
        raise SegmentError(
            f"cannot load overlay font {path}: {e}; apt-get install {FONT_PACKAGE}"
        ) from e
    if missing_glyphs(font, _CJK_PROBE):
        raise SegmentError(
            f"overlay font {path} has no Chinese glyphs; apt-get install {FONT_PACKAGE}"
        )
    return font


def font_size_for(height: int) -> int:
    """Font pixel size readable from 360p to 1080p: about 1/22 of the frame height."""
    return max(MIN_FONT_PX, round(height / 22))


def text_width(font: ImageFont.FreeTypeFont, text: str) -> int:
    """Width in pixels the (possibly multi-line) overlay text takes, outline included."""
    left, _, right, _ = _text_box(font, text)
    return right - left


def _margin_px(height: int) -> int:
    return 2 * (max(2, height // 60) // 2)  # even, so chroma blocks stay aligned


def _stroke_px(font: ImageFont.FreeTypeFont) -> int:
    return max(1, round(font.size / 10))


def _spacing_px(font: ImageFont.FreeTypeFont) -> int:
    return max(2, round(font.size / 5))


def _text_box(font: ImageFont.FreeTypeFont, text: str) -> tuple[int, int, int, int]:
    draw = ImageDraw.Draw(Image.new("L", (1, 1)))
    box = draw.textbbox(
        (0, 0), text, font, spacing=_spacing_px(font), stroke_width=_stroke_px(font)
    )
    return _int_box(box)


@dataclass(frozen=True)
class _Masks:
    """Blend terms for one rendered text: out = (bg * inv + add) >> 8, per plane."""

    x: int
    y: int
    luma_inv: NDArray[np.uint16]
    luma_add: NDArray[np.uint16]
    chroma_inv: NDArray[np.uint16]
    chroma_add: NDArray[np.uint16]
    luma_buf: NDArray[np.uint16] = field(repr=False)
    chroma_buf: NDArray[np.uint16] = field(repr=False)


class Overlay:
    """Draws the overlay into frames of one size and pixel format, in place."""

    def __init__(
        self,
        spec: OverlaySpec,
        tz: ZoneInfo,
        *,
        width: int,
        height: int,
        pix_fmt: str,
        font: ImageFont.FreeTypeFont,
    ) -> None:
        if width < MIN_FRAME_PX or height < MIN_FRAME_PX:
            raise SegmentError(f"frame size {width}x{height} is too small for an overlay")
        if pix_fmt not in SUPPORTED_FORMATS:
            raise SegmentError(
                f"overlay cannot draw on {pix_fmt}; supported: {sorted(SUPPORTED_FORMATS)} "
                "(convert the frame with frame.reformat(format='yuv420p'))"
            )
        self.spec = spec
        self.tz = tz
        self.width = width
        self.height = height
        self.pix_fmt = pix_fmt
        self.font = font
        self.render_count = 0
        self._margin = _margin_px(height)
        full_range = pix_fmt == "yuvj420p"
        self._white = 255 if full_range else 235
        self._black = 0 if full_range else 16
        self._second: int | None = None
        self._masks: _Masks | None = None
        self._warn_missing()

    @classmethod
    def open(
        cls,
        spec: OverlaySpec,
        tz: ZoneInfo,
        *,
        width: int,
        height: int,
        pix_fmt: str,
        font_path: str | Path | None = None,
    ) -> Overlay:
        """Find and load the font sized for `height`, then build the overlay."""
        font = load_font(find_font(font_path), font_size_for(height))
        sample = format_text(spec, 0.0, tz)
        room = width - 2 * _margin_px(height)
        needed = text_width(font, sample)
        if needed > room:  # a long site name: shrink rather than cut evidence text off
            size = max(MIN_FONT_PX, math.floor(font.size * room / needed * 0.95))
            font = font.font_variant(size=size)
            if text_width(font, sample) > room:
                log.warning("overlay text is wider than the %d px frame and will be cut", width)
        return cls(spec, tz, width=width, height=height, pix_fmt=pix_fmt, font=font)

    @property
    def rect(self) -> tuple[int, int, int, int] | None:
        """(x, y, w, h) in luma pixels of the last drawn text; None before the first frame."""
        if self._masks is None:
            return None
        h, w = self._masks.luma_inv.shape
        return self._masks.x, self._masks.y, w, h

    def apply(self, frame: av.VideoFrame, wall_utc: float) -> None:
        """Draw the text for `wall_utc` into `frame`'s planes."""
        fmt = frame.format.name
        if (frame.width, frame.height, fmt) != (self.width, self.height, self.pix_fmt):
            raise SegmentError(
                f"frame is {frame.width}x{frame.height} {fmt} but the overlay was built for "
                f"{self.width}x{self.height} {self.pix_fmt}; build a new Overlay for it"
            )
        second = math.floor(wall_utc)
        if second != self._second or self._masks is None:
            self._masks = self._render(format_text(self.spec, wall_utc, self.tz))
            self._second = second
        m = self._masks
        frame.make_writable()  # the decoder may still reference this buffer
        planes = frame.planes
        _blend(planes[0], m.x, m.y, m.luma_inv, m.luma_add, m.luma_buf)
        cy = m.y // 2
        if self.pix_fmt == "nv12":
            _blend(planes[1], m.x, cy, m.chroma_inv, m.chroma_add, m.chroma_buf)
        else:
            cx = m.x // 2
            _blend(planes[1], cx, cy, m.chroma_inv, m.chroma_add, m.chroma_buf)
            _blend(planes[2], cx, cy, m.chroma_inv, m.chroma_add, m.chroma_buf)

    def _warn_missing(self) -> None:
        static = format_text(self.spec, 0.0, self.tz) + "0123456789"
        missing = missing_glyphs(self.font, static)
        if missing:
            log.warning(
                "overlay font %s cannot draw %s; they will show as boxes "
                "(apt-get install %s or choose another font)",
                self.font.path,
                "".join(missing),
                FONT_PACKAGE,
            )

    def _render(self, text: str) -> _Masks:
        """Rasterise `text` with its outline and precompute the integer blend terms."""
        self.render_count += 1
        x = y = self._margin
        font, stroke, spacing = self.font, _stroke_px(self.font), _spacing_px(self.font)
        left, top, right, bottom = _text_box(font, text)
        # Clip to the frame; even sizes keep the 2x2 chroma blocks aligned.
        w = min(right - left, self.width - x)
        h = min(bottom - top, self.height - y)
        w, h = max(2, w + (w & 1)), max(2, h + (h & 1))
        # One draw gives both masks: red = text plus stroke (all that is painted), green =
        # the text as Pillow paints it over the stroke. Same pass, so they line up exactly.
        canvas = Image.new("RGB", (w, h))
        ImageDraw.Draw(canvas).text(
            (-left, -top),
            text,
            (255, 255, 0),
            font,
            spacing=spacing,
            stroke_width=stroke,
            stroke_fill=(255, 0, 0),
        )
        rgb = np.asarray(canvas)
        # Alphas scaled 0..256 so that ">> 8" divides exactly.
        a_text = _to256(rgb[:, :, 1])
        a_all = np.maximum(_to256(rgb[:, :, 0]), a_text)
        luma_add = self._black * (a_all - a_text) + self._white * a_text + 128
        blocks = a_all[0::2, 0::2] + a_all[0::2, 1::2] + a_all[1::2, 0::2] + a_all[1::2, 1::2]
        a_chroma = (blocks + 2) >> 2
        if self.pix_fmt == "nv12":  # interleaved U,V: same alpha for both bytes
            a_chroma = np.repeat(a_chroma, 2, axis=1)
        # Clip again to what the frame really has (odd frame sizes, text wider than frame).
        lh, lw = min(h, self.height - y), min(w, self.width - x)
        cw_max = (self.width + 1) // 2 * (2 if self.pix_fmt == "nv12" else 1)
        cx = x if self.pix_fmt == "nv12" else x // 2
        ch = min(h // 2, (self.height + 1) // 2 - y // 2)
        cw = min(a_chroma.shape[1], cw_max - cx)
        a_all, luma_add, a_chroma = a_all[:lh, :lw], luma_add[:lh, :lw], a_chroma[:ch, :cw]
        return _Masks(
            x=x,
            y=y,
            luma_inv=np.ascontiguousarray(256 - a_all, dtype=np.uint16),
            luma_add=np.ascontiguousarray(luma_add, dtype=np.uint16),
            chroma_inv=np.ascontiguousarray(256 - a_chroma, dtype=np.uint16),
            chroma_add=np.ascontiguousarray(128 * a_chroma + 128, dtype=np.uint16),
            luma_buf=np.empty((lh, lw), np.uint16),
            chroma_buf=np.empty((ch, cw), np.uint16),
        )


def _int_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """Pixel box enclosing Pillow's (possibly fractional) bounding box."""
    left, top, right, bottom = box
    return math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)


def _to256(mask: NDArray[np.uint8]) -> NDArray[np.uint16]:
    """Map 0..255 coverage to 0..256 so fully opaque pixels replace the background exactly."""
    a = mask.astype(np.uint16)
    return a + (a >> 7)


def _blend(
    plane: VideoPlane,
    x: int,
    y: int,
    inv: NDArray[np.uint16],
    add: NDArray[np.uint16],
    buf: NDArray[np.uint16],
) -> None:
    """plane[y:, x:] = (plane * inv + add) >> 8 over inv's shape, through a strided view."""
    h, w = inv.shape
    stride = plane.line_size  # may exceed the visible width (alignment padding)
    region: NDArray[np.uint8] = np.ndarray(
        (h, w), np.uint8, buffer=memoryview(plane), offset=y * stride + x, strides=(stride, 1)
    )
    # Same-dtype passes: far faster than a mixed uint8*uint16 ufunc or a strided byte pick.
    np.copyto(buf, region)
    np.multiply(buf, inv, out=buf)
    np.add(buf, add, out=buf)
    np.right_shift(buf, 8, out=buf)
    np.copyto(region, buf, casting="unsafe")
