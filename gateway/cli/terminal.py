"""What reaches a terminal is text, never commands to the terminal: every command's output
passes through `SafeText` (see `evgw.text`)."""

from __future__ import annotations

import io
from typing import TextIO

from evgw.text import printable

CLEAR_SCREEN = "\x1b[H\x1b[2J"


class SafeText(io.TextIOBase):
    """A text stream that writes only printable text to the stream it wraps."""

    def __init__(self, raw: TextIO) -> None:
        super().__init__()
        self.raw = raw

    def write(self, text: str) -> int:
        self.raw.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.raw, "encoding", "utf-8")


def clear_screen(out: TextIO) -> None:
    """The one terminal command evgw sends on purpose (the live monitor's redraw)."""
    target = out.raw if isinstance(out, SafeText) else out
    target.write(CLEAR_SCREEN)
