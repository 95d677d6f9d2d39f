"""A percentage line on stderr for long work (verify, export, archive sync), shown after a second.

Shared by the gateway's and the archive's commands, so neither imports the other's CLI. Short
work prints nothing; `unit` says what the total counts (megabytes by default, objects for sync).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from .i18n import _
from .text import printable, terminal

SHOW_AFTER_S = 1.0
REFRESH_S = 0.2


def megabytes(total: int) -> str:
    return f"{total / 1e6:.0f} MB"


class Progress:
    def __init__(self, out: TextIO, verb: str, unit: Callable[[int], str] = megabytes) -> None:
        self._out = out
        self._verb = verb
        self._unit = unit
        self._started = time.monotonic()
        self._shown = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._started < SHOW_AFTER_S or now - self._shown < REFRESH_S or not total:
            return
        self._shown = now
        line = printable(
            _("{verb}: {percent:3d}% of {total}").format(
                verb=self._verb, percent=100 * done // total, total=self._unit(total)
            )
        )
        screen = terminal(self._out)
        screen.write("\r" + line)  # the line itself is made printable: a verb may name a gateway
        screen.flush()

    def finish(self) -> None:
        if self._shown:
            self._out.write("\n")
            self._out.flush()
