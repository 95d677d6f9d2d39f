"""A percentage line on stderr for long work (verify, export), shown only after a second."""

from __future__ import annotations

import time
from typing import TextIO

SHOW_AFTER_S = 1.0
REFRESH_S = 0.2


class Progress:
    def __init__(self, out: TextIO, verb: str) -> None:
        self._out = out
        self._verb = verb
        self._started = time.monotonic()
        self._shown = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._started < SHOW_AFTER_S or now - self._shown < REFRESH_S or not total:
            return
        self._shown = now
        self._out.write(f"\r{self._verb}: {100 * done // total:3d}% of {total / 1e6:.0f} MB")
        self._out.flush()

    def finish(self) -> None:
        if self._shown:
            self._out.write("\n")
            self._out.flush()
