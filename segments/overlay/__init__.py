"""Burn-in overlay: wall-clock time, location, camera and GPS drawn into decoded frames.

Evidence footage must show who/when/where in the picture itself. Every frame blends cached
blend terms into the YUV planes inside the text rectangle (integer math, no RGB round trip).
The text changes once a second, and Pillow's outlined text costs ~5 ms, so only the first
frame draws with Pillow, glyph by glyph; later seconds re-compose just the changed digits
from those cached glyphs with Pillow's own blending (pixel-identical to drawing the whole
text), and reuse regions drawn in an earlier minute: tens of µs per second.

    text      the template recorded in the ledger and the text of each second (no Pillow)
    font      finding and loading a CJK-capable font; its metrics
    glyphs    glyph drawing and line composition, as Pillow draws them
    blend     the YUV blend terms and blending them into a frame
    drawing   `Overlay`, which ties them together per frame format

Names are imported on first use, so describing an overlay (`OverlaySpec`) loads no Pillow,
numpy or PyAV.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .drawing import Overlay
    from .font import (
        DEBIAN_FONT,
        FONT_PACKAGE,
        find_font,
        font_size_for,
        glyph_mask,
        load_font,
        missing_glyphs,
        text_width,
    )
    from .text import DEFAULT_TEMPLATE, TEMPLATE_FIELDS, OverlaySpec, format_text, format_time

_HOME = {
    "Overlay": "drawing",
    "DEBIAN_FONT": "font",
    "FONT_PACKAGE": "font",
    "find_font": "font",
    "font_size_for": "font",
    "glyph_mask": "font",
    "load_font": "font",
    "missing_glyphs": "font",
    "text_width": "font",
    "DEFAULT_TEMPLATE": "text",
    "TEMPLATE_FIELDS": "text",
    "OverlaySpec": "text",
    "format_text": "text",
    "format_time": "text",
}

__all__ = [
    "DEBIAN_FONT",
    "DEFAULT_TEMPLATE",
    "FONT_PACKAGE",
    "TEMPLATE_FIELDS",
    "Overlay",
    "OverlaySpec",
    "find_font",
    "font_size_for",
    "format_text",
    "format_time",
    "glyph_mask",
    "load_font",
    "missing_glyphs",
    "text_width",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
