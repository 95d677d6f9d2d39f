"""The overlay's font: finding a CJK-capable font, loading it, and its text metrics.

Evidence text must render Chinese site names, never boxes: a font without Chinese glyphs is
refused, and characters it cannot draw are named. The metrics (outline, line spacing, text
box) are Pillow's own, so the glyph composer reproduces Pillow's drawing exactly.
"""

from __future__ import annotations

import logging
import math
import shutil
import string
import subprocess
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from ..errors import SegmentError

log = logging.getLogger(__name__)

DEBIAN_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
FONT_PACKAGE = "fonts-wqy-zenhei"
MIN_FONT_PX = 12
_NOTDEF_PROBE = "\U0010fffd"  # private-use codepoint no font maps: renders .notdef
_CJK_PROBE = "中"
DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")


def glyph_mask(font: ImageFont.FreeTypeFont, char: str) -> NDArray[np.uint8]:
    """The 8-bit coverage mask Pillow draws for one character."""
    left, top, right, bottom = int_box(font.getbbox(char))
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
    left, _, right, _ = text_box(font, text)
    return right - left


def stroke_px(font: ImageFont.FreeTypeFont) -> int:
    return max(1, round(font.size / 10))


def spacing_px(font: ImageFont.FreeTypeFont) -> int:
    return max(2, round(font.size / 5))


def text_box(font: ImageFont.FreeTypeFont, text: str) -> tuple[int, int, int, int]:
    draw = ImageDraw.Draw(Image.new("L", (1, 1)))
    box = draw.textbbox((0, 0), text, font, spacing=spacing_px(font), stroke_width=stroke_px(font))
    return int_box(box)


def tabular_digits(font: ImageFont.FreeTypeFont) -> bool:
    """Whether all digits advance alike and span the same columns, so changing one never moves
    the others nor widens the text."""
    stroke = stroke_px(font)
    metrics = set()
    for d in string.digits:
        left, _, right, _ = font.getbbox(d, "L", stroke_width=stroke)
        metrics.add((font.getlength(d, "L"), left, right))
    return len(metrics) == 1


def int_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """Pixel box enclosing Pillow's (possibly fractional) bounding box."""
    left, top, right, bottom = box
    return math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)
