"""Glyph drawing and line composition, exactly as Pillow draws outlined multi-line text.

Pillow's stroked text costs milliseconds, so each character is drawn alone once per subpixel
pen offset (`GlyphCache`) and lines are composed from those masks with Pillow's own blending
and rounding: pixel-identical to drawing the whole text, at a fraction of the cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from .font import int_box, stroke_px


@dataclass(frozen=True)
class Glyph:
    """One character's outline and fill coverage at one subpixel pen offset, as Pillow draws
    it; (x, y) place each mask relative to the whole pixel under the pen and the line top."""

    stroke: NDArray[np.uint8]
    stroke_x: int
    stroke_y: int
    fill: NDArray[np.uint8]
    fill_x: int
    fill_y: int


@dataclass(kw_only=True)
class Line:
    """One text line on the canvas: its glyphs and its own outline and fill coverage."""

    text: str
    shape: tuple[str, int, int]
    x: int
    y: int
    pens: list[float]
    glyphs: list[Glyph | None]
    stroke: NDArray[np.uint8]
    fill: NDArray[np.uint8]
    rows: tuple[int, int] = (0, 0)
    """Canvas rows its glyphs cover, widened to even."""
    spans: list[tuple[int, int]] = field(default_factory=list)
    """Canvas columns each glyph covers (empty for a space)."""


def draw_glyph(font: ImageFont.FreeTypeFont, char: str, frac: float) -> Glyph | None:
    """Draw `char` alone with the pen `frac` of a pixel right, as Pillow does inside a line."""
    stroked = draw_coverage(font, char, frac, stroke_px(font))
    if stroked is None:  # a space
        return None
    filled = draw_coverage(font, char, frac, 0) or (np.zeros((1, 1), np.uint8), 0, 0)
    return Glyph(*stroked, *filled)


def draw_coverage(
    font: ImageFont.FreeTypeFont, char: str, frac: float, stroke: int
) -> tuple[NDArray[np.uint8], int, int] | None:
    left, top, right, bottom = int_box(font.getbbox(char, "L", stroke_width=stroke))
    ox, oy = 2 + max(0, -left), 2 + max(0, -top)
    img = Image.new("L", (ox + max(0, right) + 2, oy + max(0, bottom) + 2))
    ImageDraw.Draw(img).text((ox + frac, oy), char, 255, font, stroke_width=stroke, stroke_fill=255)
    box = img.getbbox()
    if box is None:
        return None
    return np.asarray(img.crop(box)), box[0] - ox, box[1] - oy


def glyph_box(line: Line, j: int) -> tuple[int, int, int, int]:
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


def meets(line: Line, r0: int, r1: int) -> bool:
    return line.rows[0] < r1 and line.rows[1] > r0


def chars_in(line: Line, c0: int, c1: int) -> tuple[tuple[int, str], ...]:
    """(index, character) of the glyphs of `line` that reach into columns c0..c1."""
    return tuple(
        (j, char)
        for j, (char, (left, right)) in enumerate(zip(line.text, line.spans, strict=True))
        if left < c1 and right > c0
    )


def compose(line: Line, region: tuple[int, int, int, int]) -> None:
    """Redraw `line`'s coverage inside `region` from its glyphs, in Pillow's order."""
    r0, r1, c0, c1 = region
    line.stroke[r0:r1, c0:c1] = 0
    line.fill[r0:r1, c0:c1] = 0
    for (left, right), pen, g in zip(line.spans, line.pens, line.glyphs, strict=True):
        if g is None or right <= c0 or left >= c1:
            continue
        x = line.x + math.floor(pen)
        over_at(line.stroke, g.stroke, x + g.stroke_x, line.y + g.stroke_y, region)
        over_at(line.fill, g.fill, x + g.fill_x, line.y + g.fill_y, region)


def over_at(
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
        dst[...] = over(dst, mask[top - y : bottom - y, left - x : right - x], 255)


def over(
    under: NDArray[np.uint8] | NDArray[np.uint16], alpha: NDArray[np.uint8], ink: int
) -> NDArray[np.uint16]:
    """Pillow's `ink` painted through `alpha` onto `under`, with its rounding (DIV255)."""
    a = alpha.astype(np.uint16)
    t = under * (255 - a) + ink * a + 128
    return ((t + (t >> 8)) >> 8).astype(np.uint16, copy=False)


def paint(
    lines: list[Line], region: tuple[int, int, int, int]
) -> tuple[NDArray[np.uint16], NDArray[np.uint16]]:
    """Red and green of Pillow drawing the lines with a red outline under yellow text.

    Red is all that is painted (outline and text), green the text as painted over the
    outlines: the next line's outline covers this line's text where they overlap.
    """
    r0, r1, c0, c1 = region
    red = green = None
    for line in lines:
        if not meets(line, r0, r1):
            continue
        stroke, fill = line.stroke[r0:r1, c0:c1], line.fill[r0:r1, c0:c1]
        if red is None or green is None:  # on black, the outline paints just itself
            red, green = over(stroke, fill, 255), fill.astype(np.uint16)
        else:
            red = over(over(red, stroke, 255), fill, 255)
            green = over(over(green, stroke, 0), fill, 255)
    if red is None or green is None:
        red = green = np.zeros((r1 - r0, c1 - c0), np.uint16)
    return red, green


class GlyphCache:
    """One font's glyphs, each drawn once per (character, subpixel pen offset)."""

    def __init__(self, font: ImageFont.FreeTypeFont) -> None:
        self.font = font
        self._glyphs: dict[tuple[str, float], Glyph | None] = {}
        self._extents: dict[str, tuple[int, int]] = {}

    def glyph(self, char: str, pen: float) -> Glyph | None:
        """The glyph of `char` for the pen's subpixel offset; None if it draws nothing."""
        frac = pen - math.floor(pen)
        key = (char, frac)
        if key not in self._glyphs:
            self._glyphs[key] = draw_glyph(self.font, char, frac)
        return self._glyphs[key]

    def extent(self, char: str) -> tuple[int, int]:
        """Top and bottom of `char`'s outlined box, as Pillow measures a line's box."""
        if char not in self._extents:
            _, top, _, bottom = self.font.getbbox(char, "L", stroke_width=stroke_px(self.font))
            self._extents[char] = (math.floor(top), math.ceil(bottom))
        return self._extents[char]
