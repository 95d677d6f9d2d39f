"""Wait for a condition, never for a number of seconds: a busy 2-core machine is slow."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(what: str, ok: Callable[[], bool], timeout: float = 60.0) -> float:
    """Poll `ok` until it holds; the seconds it took, or AssertionError naming `what`."""
    start = time.monotonic()
    while not ok():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - start
