"""A percentage line on stderr for long work (verify, export, archive sync), shown after a second.

Shared by the gateway's and the archive's commands, so neither imports the other's CLI. Short
work prints nothing; `unit` says what the total counts (megabytes by default, objects for sync).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

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
        self._out.write(f"\r{self._verb}: {100 * done // total:3d}% of {self._unit(total)}")
        self._out.flush()

    def finish(self) -> None:
        if self._shown:
            self._out.write("\n")
            self._out.flush()
