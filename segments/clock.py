"""The gateway's own clock: NTP sync state for every record, and detection of wall-clock steps.

Sync state comes from the kernel (adjtimex, read-only: no privileges, no D-Bus), which
chrony, ntpd and systemd-timesyncd all keep up to date.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

from .records import ClockStatus

STA_UNSYNC = 0x0040
TIME_ERROR = 5
STEP_THRESHOLD_S = 1.0


class _Timex(ctypes.Structure):
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_pad", ctypes.c_int * 11),
    ]


@functools.cache
def _libc() -> ctypes.CDLL:
    """Found and loaded once: `find_library` runs `ldconfig -p` in a subprocess (about 3 ms
    of CPU), and every record asks for the clock status."""
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def kernel_clock_status() -> ClockStatus:
    """Synced or not, and the kernel's estimated error; unknown where adjtimex is unavailable."""
    try:
        libc = _libc()
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return ClockStatus(synced=None, est_error_s=None, source="unknown")
    if state < 0:
        return ClockStatus(synced=None, est_error_s=None, source="adjtimex-failed")
    synced = state != TIME_ERROR and not tx.status & STA_UNSYNC
    return ClockStatus(synced=synced, est_error_s=tx.esterror / 1e6, source="adjtimex")


@dataclass(frozen=True)
class ClockStep:
    """Wall time jumped by `step_s` against the monotonic clock (positive: forward)."""

    step_s: float
    wall_before: float
    wall_after: float


class StepDetector:
    """A jump of wall against monotonic time between two checks; slow NTP slewing is no step."""

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        threshold_s: float = STEP_THRESHOLD_S,
    ) -> None:
        self._wall = wall
        self._monotonic = monotonic
        self._threshold = threshold_s
        self._last_wall = wall()
        self._offset = self._last_wall - monotonic()

    def check(self) -> ClockStep | None:
        return self.observe(self._wall(), self._monotonic())

    def observe(self, wall: float, monotonic: float) -> ClockStep | None:
        """`check` with clocks the caller read anyway (the camera loop reads both for every
        packet: reading them again here would double the clock calls)."""
        offset = wall - monotonic
        step = offset - self._offset
        before = self._last_wall
        self._last_wall, self._offset = wall, offset
        if -self._threshold <= step <= self._threshold:
            return None
        return ClockStep(step_s=step, wall_before=before, wall_after=wall)
