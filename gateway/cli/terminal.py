"""What reaches a terminal is text, never commands to the terminal: every command's output
passes through `evgw.text.SafeText`."""

from __future__ import annotations

from typing import TextIO

from evgw.text import terminal

CLEAR_SCREEN = "\x1b[H\x1b[2J"


def clear_screen(out: TextIO) -> None:
    """A terminal command evgw sends on purpose: the live monitor's redraw."""
    terminal(out).write(CLEAR_SCREEN)
