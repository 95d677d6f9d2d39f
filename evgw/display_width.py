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


def wrap(text: str, columns: int) -> list[str]:
    """`text` in lines of at most `columns` display columns (a longer word stays whole):
    words break at spaces, Chinese text between any two characters."""
    tokens: list[str] = []
    word = ""
    for c in " ".join(text.split()):
        if c == " " or _char_width(c) == 2:
            tokens += [word, c] if word else [c]
            word = ""
        else:
            word += c
    tokens += [word] if word else []
    lines: list[str] = []
    line, space = "", False
    for token in tokens:
        if token == " ":
            space = bool(line)
            continue
        candidate = line + (" " if space else "") + token
        if line and width(candidate) > columns:
            lines.append(line)
            candidate = token
        line, space = candidate, False
    return [*lines, line] if line or not lines else lines
