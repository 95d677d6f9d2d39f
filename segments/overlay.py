"""Burn-in overlay: wall-clock time, location, camera and GPS drawn into decoded frames.

Evidence footage must show who/when/where in the picture itself. Every frame blends cached
blend terms into the YUV planes inside the text rectangle (integer math, no RGB round trip).
The text changes once a second, and Pillow's outlined text costs ~5 ms, so only the first
frame draws with Pillow, glyph by glyph; later seconds re-compose just the changed digits
from those cached glyphs with Pillow's own blending (pixel-identical to drawing the whole
text), and reuse regions drawn in an earlier minute: tens of µs per second.
"""

from __future__ import annotations

import logging
import math
import shutil
import string
import subprocess
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
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
MAX_PATCHES = 512
"""Redrawn regions kept for reuse (a 1080p digit's is ~17 kB); all dropped when full."""
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
    return _fill(spec, format_time(wall_utc, tz))


def _fill(spec: OverlaySpec, time: str) -> str:
    gps = "" if spec.gps is None else f"{spec.gps[0]:.6f},{spec.gps[1]:.6f}"
    text = spec.template.format(time=time, location=spec.location, camera=spec.camera, gps=gps)
    return "\n".join(line.rstrip() for line in text.rstrip().split("\n"))


_SECONDS_MARK = "\ue000"  # private use: stands for the seconds in a per-minute template


def _minute_parts(spec: OverlaySpec, start: int, tz: ZoneInfo) -> list[str] | None:
    """format_text of the minute starting at `start`, split where its seconds go; None if
    local seconds do not run 00..59 within it (an offset change, an offset with seconds)."""
    first, last = datetime.fromtimestamp(start, tz), datetime.fromtimestamp(start + 59, tz)
    if first.second != 0 or first.utcoffset() != last.utcoffset():
        return None
    time = format_time(start, tz)
    parts = _fill(spec, time[:17] + _SECONDS_MARK + time[19:]).split(_SECONDS_MARK)
    return parts if "00".join(parts) == format_text(spec, start, tz) else None


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
    """Blend terms for the drawn text: out = (bg * inv + add) >> 8, per plane.

    Updated in place, region by region, when the text changes within one layout.
    """

    x: int
    y: int
    luma_inv: NDArray[np.uint16]
    luma_add: NDArray[np.uint16]
    chroma_inv: NDArray[np.uint16]
    chroma_add: NDArray[np.uint16]
    luma_buf: NDArray[np.uint16] = field(repr=False)
    chroma_buf: NDArray[np.uint16] = field(repr=False)


@dataclass(frozen=True)
class _Glyph:
    """One character's outline and fill coverage at one subpixel pen offset, as Pillow draws
    it; (x, y) place each mask relative to the whole pixel under the pen and the line top."""

    stroke: NDArray[np.uint8]
    stroke_x: int
    stroke_y: int
    fill: NDArray[np.uint8]
    fill_x: int
    fill_y: int


@dataclass(kw_only=True)
class _Line:
    """One text line on the canvas: its glyphs and its own outline and fill coverage."""

    text: str
    shape: tuple[str, int, int]
    x: int
    y: int
    pens: list[float]
    glyphs: list[_Glyph | None]
    stroke: NDArray[np.uint8]
    fill: NDArray[np.uint8]
    rows: tuple[int, int] = (0, 0)
    """Canvas rows its glyphs cover, widened to even."""
    spans: list[tuple[int, int]] = field(default_factory=list)
    """Canvas columns each glyph covers (empty for a space)."""


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
        self._lines: list[_Line] = []
        self._glyphs: dict[tuple[str, float], _Glyph | None] = {}
        self._extents: dict[str, tuple[int, int]] = {}
        self._patches: dict[Hashable, list[NDArray[Any]]] = {}
        self._minute: tuple[int, OverlaySpec, ZoneInfo] | None = None
        self._minute_parts: list[str] | None = None
        self._tabular = _tabular_digits(font)
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
            self._render(self._text(second))
            self._second = second
        m = self._masks
        assert m is not None
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

    def _text(self, second: int) -> str:
        """format_text for `second`, from a per-minute template: formatting a date costs
        more than redrawing the digit that changed."""
        minute, sec = divmod(second, 60)
        key = (minute, self.spec, self.tz)
        if key != self._minute:
            self._minute = key
            self._minute_parts = _minute_parts(self.spec, minute * 60, self.tz)
        if self._minute_parts is None:
            return format_text(self.spec, second, self.tz)
        return f"{sec:02d}".join(self._minute_parts)

    def _render(self, text: str) -> None:
        """Bring the blend terms up to `text`, redrawing only what changed since the last text.

        Pillow's stroked text costs milliseconds, so lines are composed from cached glyphs
        exactly as Pillow composes them; a new second then redraws the changed digits only.
        """
        self.render_count += 1
        lines = text.split("\n")
        if self._masks is not None and len(lines) == len(self._lines):
            changed = [
                (old, new) for old, new in zip(self._lines, lines, strict=True) if new != old.text
            ]
            if all(self._shape(new) == old.shape for old, new in changed):
                for old, new in changed:
                    self._redraw(old, self._retext(old, new))
                return
        self._layout(text, lines)

    def _shape(self, line: str) -> tuple[str, int, int]:
        """What fixes a line's layout: pen positions and box, so any tabular digit stands for
        any other, and the line's top and bottom (the union of its characters' boxes)."""
        text = line.translate(_DIGITS_TO_ZERO) if self._tabular else line
        extents = [self._extent(c) for c in line]
        top = min((e[0] for e in extents), default=0)
        return text, top, max((e[1] for e in extents), default=0)

    def _extent(self, char: str) -> tuple[int, int]:
        """Top and bottom of `char`'s outlined box, as Pillow measures a line's box."""
        if char not in self._extents:
            _, top, _, bottom = self.font.getbbox(char, "L", stroke_width=_stroke_px(self.font))
            self._extents[char] = (math.floor(top), math.ceil(bottom))
        return self._extents[char]

    def _layout(self, text: str, lines: list[str]) -> None:
        """Size the canvas for `text`, compose every line and compute all blend terms."""
        font, stroke, spacing = self.font, _stroke_px(self.font), _spacing_px(self.font)
        left, top, right, bottom = _text_box(font, text)
        # Clip to the frame; even sizes keep the 2x2 chroma blocks aligned.
        x = y = self._margin
        w = min(right - left, self.width - x)
        h = min(bottom - top, self.height - y)
        w, h = max(2, w + (w & 1)), max(2, h + (h & 1))
        # Pillow's multiline spacing: the stroked "A"'s bottom, the stroke, then `spacing`.
        pitch = font.getbbox("A", "L", stroke_width=stroke)[3] + stroke + spacing
        self._lines = []
        self._patches.clear()
        for i, line in enumerate(lines):
            pens = [font.getlength(line[:j], "L") for j in range(len(line))]
            placed = _Line(
                text=line,
                shape=self._shape(line),
                x=-left,
                y=-top + i * round(pitch),
                pens=pens,
                glyphs=[self._glyph(c, pen) for c, pen in zip(line, pens, strict=True)],
                stroke=np.zeros((h, w), np.uint8),
                fill=np.zeros((h, w), np.uint8),
            )
            boxes = [_glyph_box(placed, j) for j in range(len(line))]
            r0 = min((b[0] for b in boxes if b[0] < b[1]), default=0)
            r1 = max((b[1] for b in boxes if b[0] < b[1]), default=0)
            placed.rows = (max(0, r0 & ~1), min(h, r1 + (r1 & 1)))
            placed.spans = [(b[2], b[3]) for b in boxes]
            _compose(placed, (0, h, 0, w))
            self._lines.append(placed)
        # Clip again to what the frame really has (odd frame sizes, text wider than frame).
        nv12 = self.pix_fmt == "nv12"
        lh, lw = min(h, self.height - y), min(w, self.width - x)
        cw_max = (self.width + 1) // 2 * (2 if nv12 else 1)
        cx = x if nv12 else x // 2
        ch = min(h // 2, (self.height + 1) // 2 - y // 2)
        cw = min(w if nv12 else w // 2, cw_max - cx)
        self._masks = _Masks(
            x=x,
            y=y,
            luma_inv=np.empty((lh, lw), np.uint16),
            luma_add=np.empty((lh, lw), np.uint16),
            chroma_inv=np.empty((ch, cw), np.uint16),
            chroma_add=np.empty((ch, cw), np.uint16),
            luma_buf=np.empty((lh, lw), np.uint16),
            chroma_buf=np.empty((ch, cw), np.uint16),
        )
        self._update_terms((0, h, 0, w))

    def _glyph(self, char: str, pen: float) -> _Glyph | None:
        """The cached glyph of `char` for the pen's subpixel offset; None if it draws nothing."""
        frac = pen - math.floor(pen)
        key = (char, frac)
        if key not in self._glyphs:
            self._glyphs[key] = _draw_glyph(self.font, char, frac)
        return self._glyphs[key]

    def _retext(self, line: _Line, text: str) -> tuple[int, int, int, int]:
        """Swap the changed characters of a same-layout line; returns the redrawn region."""
        changed = [j for j, (a, b) in enumerate(zip(line.text, text, strict=True)) if a != b]
        spans = [line.spans[j] for j in changed]
        for j in changed:
            line.glyphs[j] = self._glyph(text[j], line.pens[j])
            box = _glyph_box(line, j)
            line.spans[j] = (box[2], box[3])
            spans.append(line.spans[j])
        line.text = text
        w = line.stroke.shape[1]
        c0 = max(0, min((left for left, right in spans if left < right), default=0) & ~1)
        c1 = min(w, max((right for left, right in spans if left < right), default=0))
        return (*line.rows, c0, max(c0, c1 + (c1 & 1)))

    def _redraw(self, line: _Line, region: tuple[int, int, int, int]) -> None:
        """Recompose `line` and the blend terms inside `region`, or paste them from an earlier
        second that drew the same characters there (the seconds' digits repeat every minute)."""
        r0, r1, c0, c1 = region
        m = self._masks
        assert m is not None
        crossing = tuple(o.text for o in self._lines if o is not line and _meets(o, r0, r1))
        key = (region, _chars_in(line, c0, c1), crossing)
        luma = (slice(r0, r1), slice(c0, c1))
        nv12 = self.pix_fmt == "nv12"
        chroma = (slice(r0 // 2, r1 // 2), slice(c0, c1) if nv12 else slice(c0 // 2, c1 // 2))
        targets: tuple[tuple[NDArray[Any], tuple[slice, slice]], ...] = (
            (line.stroke, luma),
            (line.fill, luma),
            (m.luma_inv, luma),
            (m.luma_add, luma),
            (m.chroma_inv, chroma),
            (m.chroma_add, chroma),
        )
        patch = self._patches.get(key)
        if patch is None:
            _compose(line, region)
            self._update_terms(region)
            if len(self._patches) >= MAX_PATCHES:
                self._patches.clear()
            self._patches[key] = [array[where].copy() for array, where in targets]
        else:
            for (array, where), saved in zip(targets, patch, strict=True):
                array[where] = saved

    def _update_terms(self, region: tuple[int, int, int, int]) -> None:
        """Recompute the blend terms inside `region` (even-aligned canvas rows and columns)."""
        r0, r1, c0, c1 = region
        m = self._masks
        if m is None or r0 >= r1 or c0 >= c1:
            return
        red, green = _paint(self._lines, region)
        # Alphas scaled 0..256 so that ">> 8" divides exactly.
        a_text = _to256(green)
        a_all = np.maximum(_to256(red), a_text)
        luma_add = self._black * (a_all - a_text) + self._white * a_text + 128
        blocks = a_all[0::2, 0::2] + a_all[0::2, 1::2] + a_all[1::2, 0::2] + a_all[1::2, 1::2]
        a_chroma = (blocks + 2) >> 2
        if self.pix_fmt == "nv12":  # interleaved U,V: same alpha for both bytes
            a_chroma = np.repeat(a_chroma, 2, axis=1)
            cc0 = c0
        else:
            cc0 = c0 // 2
        _put(m.luma_inv, r0, c0, 256 - a_all)
        _put(m.luma_add, r0, c0, luma_add)
        _put(m.chroma_inv, r0 // 2, cc0, 256 - a_chroma)
        _put(m.chroma_add, r0 // 2, cc0, 128 * a_chroma + 128)


_DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")


def _tabular_digits(font: ImageFont.FreeTypeFont) -> bool:
    """Whether all digits advance alike and span the same columns, so changing one never moves
    the others nor widens the text."""
    stroke = _stroke_px(font)
    metrics = set()
    for d in string.digits:
        left, _, right, _ = font.getbbox(d, "L", stroke_width=stroke)
        metrics.add((font.getlength(d, "L"), left, right))
    return len(metrics) == 1


def _draw_glyph(font: ImageFont.FreeTypeFont, char: str, frac: float) -> _Glyph | None:
    """Draw `char` alone with the pen `frac` of a pixel right, as Pillow does inside a line."""
    stroked = _draw_coverage(font, char, frac, _stroke_px(font))
    if stroked is None:  # a space
        return None
    filled = _draw_coverage(font, char, frac, 0) or (np.zeros((1, 1), np.uint8), 0, 0)
    return _Glyph(*stroked, *filled)


def _draw_coverage(
    font: ImageFont.FreeTypeFont, char: str, frac: float, stroke: int
) -> tuple[NDArray[np.uint8], int, int] | None:
    left, top, right, bottom = _int_box(font.getbbox(char, "L", stroke_width=stroke))
    ox, oy = 2 + max(0, -left), 2 + max(0, -top)
    img = Image.new("L", (ox + max(0, right) + 2, oy + max(0, bottom) + 2))
    ImageDraw.Draw(img).text((ox + frac, oy), char, 255, font, stroke_width=stroke, stroke_fill=255)
    box = img.getbbox()
    if box is None:
        return None
    return np.asarray(img.crop(box)), box[0] - ox, box[1] - oy


def _glyph_box(line: _Line, j: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) on the canvas covered by glyph `j` of `line`."""
    g = line.glyphs[j]
    if g is None:
        return 0, 0, 0, 0
    x = line.x + math.floor(line.pens[j])
    boxes = [
        (line.y + gy, line.y + gy + m.shape[0], x + gx, x + gx + m.shape[1])
        for m, gx, gy in ((g.stroke, g.stroke_x, g.stroke_y), (g.fill, g.fill_x, g.fill_y))
    ]
    (t0, b0, l0, r0), (t1, b1, l1, r1) = boxes
    return min(t0, t1), max(b0, b1), min(l0, l1), max(r0, r1)


def _meets(line: _Line, r0: int, r1: int) -> bool:
    return line.rows[0] < r1 and line.rows[1] > r0


def _chars_in(line: _Line, c0: int, c1: int) -> tuple[tuple[int, str], ...]:
    """(index, character) of the glyphs of `line` that reach into columns c0..c1."""
    return tuple(
        (j, char)
        for j, (char, (left, right)) in enumerate(zip(line.text, line.spans, strict=True))
        if left < c1 and right > c0
    )


def _compose(line: _Line, region: tuple[int, int, int, int]) -> None:
    """Redraw `line`'s coverage inside `region` from its glyphs, in Pillow's order."""
    r0, r1, c0, c1 = region
    line.stroke[r0:r1, c0:c1] = 0
    line.fill[r0:r1, c0:c1] = 0
    for (left, right), pen, g in zip(line.spans, line.pens, line.glyphs, strict=True):
        if g is None or right <= c0 or left >= c1:
            continue
        x = line.x + math.floor(pen)
        _over_at(line.stroke, g.stroke, x + g.stroke_x, line.y + g.stroke_y, region)
        _over_at(line.fill, g.fill, x + g.fill_x, line.y + g.fill_y, region)


def _over_at(
    canvas: NDArray[np.uint8],
    mask: NDArray[np.uint8],
    x: int,
    y: int,
    region: tuple[int, int, int, int],
) -> None:
    """Lay `mask` over `canvas` at (x, y), clipped to `region`."""
    r0, r1, c0, c1 = region
    top, bottom = max(y, r0), min(y + mask.shape[0], r1)
    left, right = max(x, c0), min(x + mask.shape[1], c1)
    if top < bottom and left < right:
        dst = canvas[top:bottom, left:right]
        dst[...] = _over(dst, mask[top - y : bottom - y, left - x : right - x], 255)


def _over(
    under: NDArray[np.uint8] | NDArray[np.uint16], alpha: NDArray[np.uint8], ink: int
) -> NDArray[np.uint16]:
    """Pillow's `ink` painted through `alpha` onto `under`, with its rounding (DIV255)."""
    a = alpha.astype(np.uint16)
    t = under * (255 - a) + ink * a + 128
    return ((t + (t >> 8)) >> 8).astype(np.uint16, copy=False)


def _paint(
    lines: list[_Line], region: tuple[int, int, int, int]
) -> tuple[NDArray[np.uint16], NDArray[np.uint16]]:
    """Red and green of Pillow drawing the lines with a red outline under yellow text.

    Red is all that is painted (outline and text), green the text as painted over the
    outlines: the next line's outline covers this line's text where they overlap.
    """
    r0, r1, c0, c1 = region
    red = green = None
    for line in lines:
        if not _meets(line, r0, r1):
            continue
        stroke, fill = line.stroke[r0:r1, c0:c1], line.fill[r0:r1, c0:c1]
        if red is None or green is None:  # on black, the outline paints just itself
            red, green = _over(stroke, fill, 255), fill.astype(np.uint16)
        else:
            red = _over(_over(red, stroke, 255), fill, 255)
            green = _over(_over(green, stroke, 0), fill, 255)
    if red is None or green is None:
        red = green = np.zeros((r1 - r0, c1 - c0), np.uint16)
    return red, green


def _put(dst: NDArray[np.uint16], row: int, col: int, values: NDArray[np.integer[Any]]) -> None:
    """dst[row:, col:] = values, clipped to dst."""
    h = min(values.shape[0], dst.shape[0] - row)
    w = min(values.shape[1], dst.shape[1] - col)
    if h > 0 and w > 0:
        dst[row : row + h, col : col + w] = values[:h, :w]


def _int_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """Pixel box enclosing Pillow's (possibly fractional) bounding box."""
    left, top, right, bottom = box
    return math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)


def _to256(mask: NDArray[np.uint8] | NDArray[np.uint16]) -> NDArray[np.uint16]:
    """Map 0..255 coverage to 0..256 so fully opaque pixels replace the background exactly."""
    a = mask.astype(np.uint16, copy=False)
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
