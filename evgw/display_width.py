"""How wide text is on a terminal: East Asian wide and fullwidth characters take two columns.

`len()` counts a Chinese camera name "北门" as 2 where a terminal draws 4 columns, so a table
padded by `len()` shifts every later column of that row.
"""

from __future__ import annotations

import unicodedata


def width(text: str) -> int:
    """Terminal columns of `text`: 2 per wide (W/F) character, 0 per combining mark."""
    return sum(_char_width(c) for c in text)


def ljust(text: str, columns: int) -> str:
    """`text` padded with spaces on the right to `columns` display columns."""
    return text + " " * max(0, columns - width(text))


def rjust(text: str, columns: int) -> str:
    """`text` padded with spaces on the left to `columns` display columns."""
    return " " * max(0, columns - width(text)) + text


def _char_width(c: str) -> int:
    if unicodedata.combining(c):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
