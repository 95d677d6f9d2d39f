"""The burn-in `Overlay`: keeps one frame format's text drawn and blends it into each frame.

Per frame it only blends cached terms (`blend`). Once a second it brings them up to the new
text: the first time by laying out and composing every line from cached glyphs (`glyphs`);
later seconds by recomposing only the characters that changed, or by pasting a region drawn
in an earlier minute, since the seconds' digits repeat.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import av
import numpy as np
from numpy.typing import NDArray
from PIL import ImageFont

from ..errors import SegmentError
from .blend import SUPPORTED_FORMATS, BlendTerms
from .font import (
    DIGITS_TO_ZERO,
    FONT_PACKAGE,
    MIN_FONT_PX,
    find_font,
    font_size_for,
    load_font,
    missing_glyphs,
    spacing_px,
    stroke_px,
    tabular_digits,
    text_box,
    text_width,
)
from .glyphs import GlyphCache, Line, chars_in, compose, glyph_box, meets, paint
from .text import OverlaySpec, format_text, minute_parts

log = logging.getLogger(__name__)

MIN_FRAME_PX = 16
MAX_PATCHES = 512
"""Redrawn regions kept for reuse (a 1080p digit's is ~17 kB); all dropped when full."""


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
        self._nv12 = pix_fmt == "nv12"
        self._second: int | None = None
        self._masks: BlendTerms | None = None
        self._lines: list[Line] = []
        self._glyphs = GlyphCache(font)
        self._patches: dict[Hashable, list[NDArray[Any]]] = {}
        self._minute: tuple[int, OverlaySpec, ZoneInfo] | None = None
        self._minute_parts: list[str] | None = None
        self._tabular = tabular_digits(font)
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
        masks = self._terms(frame, wall_utc)
        frame.make_writable()  # the decoder may still reference this buffer
        masks.apply(frame, nv12=self._nv12)

    def apply_borrowed(self, frame: av.VideoFrame, wall_utc: float) -> Callable[[], None]:
        """Draw into a frame the decoder may still use as a reference, without copying it
        (`make_writable` copies the whole picture: ~0.4 ms at 720p, 3 % of an ultrafast
        encode); returns the undo, which puts the covered pixels back.

        Only when nothing reads the frame between this call and the undo but the encoder,
        which copies its input when it is given it (libx264, and PyAV's hardware upload): the
        decoder must not decode meanwhile (slice threads, not frame threads).
        """
        masks = self._terms(frame, wall_utc)
        saved = masks.save(frame, nv12=self._nv12)
        masks.apply(frame, nv12=self._nv12)
        return lambda: masks.restore(frame, saved, nv12=self._nv12)

    def _terms(self, frame: av.VideoFrame, wall_utc: float) -> BlendTerms:
        """The blend terms for `wall_utc`'s text, for a frame of this overlay's format."""
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
        assert self._masks is not None
        return self._masks

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
            self._minute_parts = minute_parts(self.spec, minute * 60, self.tz)
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
        text = line.translate(DIGITS_TO_ZERO) if self._tabular else line
        extents = [self._glyphs.extent(c) for c in line]
        top = min((e[0] for e in extents), default=0)
        return text, top, max((e[1] for e in extents), default=0)

    def _layout(self, text: str, lines: list[str]) -> None:
        """Size the canvas for `text`, compose every line and compute all blend terms."""
        font, stroke, spacing = self.font, stroke_px(self.font), spacing_px(self.font)
        left, top, right, bottom = text_box(font, text)
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
            placed = Line(
                text=line,
                shape=self._shape(line),
                x=-left,
                y=-top + i * round(pitch),
                pens=pens,
                glyphs=[self._glyphs.glyph(c, pen) for c, pen in zip(line, pens, strict=True)],
                stroke=np.zeros((h, w), np.uint8),
                fill=np.zeros((h, w), np.uint8),
            )
            boxes = [glyph_box(placed, j) for j in range(len(line))]
            r0 = min((b[0] for b in boxes if b[0] < b[1]), default=0)
            r1 = max((b[1] for b in boxes if b[0] < b[1]), default=0)
            placed.rows = (max(0, r0 & ~1), min(h, r1 + (r1 & 1)))
            placed.spans = [(b[2], b[3]) for b in boxes]
            compose(placed, (0, h, 0, w))
            self._lines.append(placed)
        self._masks = BlendTerms.for_canvas(
            x, y, h, w, width=self.width, height=self.height, nv12=self._nv12
        )
        self._update_terms((0, h, 0, w))

    def _retext(self, line: Line, text: str) -> tuple[int, int, int, int]:
        """Swap the changed characters of a same-layout line; returns the redrawn region."""
        changed = [j for j, (a, b) in enumerate(zip(line.text, text, strict=True)) if a != b]
        spans = [line.spans[j] for j in changed]
        for j in changed:
            line.glyphs[j] = self._glyphs.glyph(text[j], line.pens[j])
            box = glyph_box(line, j)
            line.spans[j] = (box[2], box[3])
            spans.append(line.spans[j])
        line.text = text
        w = line.stroke.shape[1]
        c0 = max(0, min((left for left, right in spans if left < right), default=0) & ~1)
        c1 = min(w, max((right for left, right in spans if left < right), default=0))
        return (*line.rows, c0, max(c0, c1 + (c1 & 1)))

    def _redraw(self, line: Line, region: tuple[int, int, int, int]) -> None:
        """Recompose `line` and the blend terms inside `region`, or paste them from an earlier
        second that drew the same characters there (the seconds' digits repeat every minute)."""
        r0, r1, c0, c1 = region
        m = self._masks
        assert m is not None
        crossing = tuple(o.text for o in self._lines if o is not line and meets(o, r0, r1))
        key = (region, chars_in(line, c0, c1), crossing)
        luma = (slice(r0, r1), slice(c0, c1))
        cols = slice(c0, c1) if self._nv12 else slice(c0 // 2, c1 // 2)
        chroma = (slice(r0 // 2, r1 // 2), cols)
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
            compose(line, region)
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
        red, green = paint(self._lines, region)
        m.update(red, green, (r0, c0), nv12=self._nv12, black=self._black, white=self._white)


def _margin_px(height: int) -> int:
    return 2 * (max(2, height // 60) // 2)  # even, so chroma blocks stay aligned
