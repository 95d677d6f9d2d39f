"""When `evgw run` tells systemd it is ready: every stream recovered, every camera settled.

Crash leftovers are sealed and each run's `boot` written before its camera process starts
(`Gateway.start`); READY=1 then waits until every camera process either records or has
declared why it cannot (an offline camera is a declared gap, not a reason to hold back start
forever), at most `READY_WAIT_S`, within systemd's default start timeout of 90 s.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from .liveness import CameraProgress
from .progress import ProgressTracker

log = logging.getLogger(__name__)

READY_WAIT_S = 60.0
POLL_S = 0.1


def settled(cameras: Sequence[CameraProgress]) -> bool:
    """Every camera process runs, and its camera records or is in a declared gap."""
    return all(c.alive and (c.online or c.gap_reason is not None) for c in cameras)


def wait_settled(
    tracker: ProgressTracker,
    stop: threading.Event,
    timeout_s: float = READY_WAIT_S,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Until the camera supervisor's latest observation is `settled`; False on stop or timeout."""
    deadline = clock() + timeout_s
    while not stop.is_set():
        latest = tracker.latest()
        if latest is not None and settled(latest.cameras):
            return True
        if clock() >= deadline:
            waiting = [c.camera for c in (latest.cameras if latest else ()) if not settled([c])]
            log.warning(
                "telling systemd ready after %.0f s although these cameras have neither "
                "connected nor declared a gap yet: %s",
                timeout_s, ", ".join(waiting) or "(not observed yet)",
            )  # fmt: skip
            return False
        stop.wait(POLL_S)
    return False
