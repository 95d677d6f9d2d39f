"""Feed systemd's watchdog only while every camera records or sits in a declared gap.

A camera that stops getting frames without recording a gap is exactly the failure nothing
else notices: then WATCHDOG=1 stops and systemd restarts the service, whose start-up recovery
seals what was left and records the gap. The feeder judges the progress tracker's latest
observation; one older than `MAX_OBSERVATION_AGE_S` means the camera supervisor is stuck,
which withholds the ping too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from .liveness import CameraProgress, ProgressLimits, progress_ok, status_line
from .progress import ProgressTracker
from .sdnotify import Notifier, watchdog_interval

log = logging.getLogger(__name__)

STATUS_PERIOD_S = 10.0
MAX_OBSERVATION_AGE_S = 15.0


class WatchdogFeeder(threading.Thread):
    """Every `period_s`: judge progress, feed the watchdog only if it is ok, update STATUS."""

    def __init__(
        self,
        notifier: Notifier,
        progress: Callable[[], Sequence[CameraProgress]],
        status: Callable[[Sequence[CameraProgress]], str],
        period_s: float,
        stop: threading.Event,
        limits: ProgressLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="watchdog", daemon=True)
        self._notifier = notifier
        self._progress = progress
        self._status = status
        self._period_s = period_s
        self._halt = stop
        self._limits = limits or ProgressLimits()
        self._clock = clock
        self._stalled = False

    def run(self) -> None:
        while not self._halt.is_set():
            self.check()
            self._halt.wait(self._period_s)
        self._notifier.stopping()

    def check(self) -> bool:
        """One round; True when the watchdog was fed."""
        try:
            cameras = self._progress()
            ok, why = progress_ok(cameras, self._clock(), self._limits)
            status = self._status(cameras)
        except Exception as e:
            log.exception("watchdog: cannot judge progress")
            ok, why, status = False, f"progress check failed: {e}", ""
        if ok:
            self._notifier.watchdog()
            self._notifier.status(status)
            if self._stalled:
                log.warning("watchdog: progress again; feeding the watchdog")
        else:
            self._notifier.status(f"stalled: {why}")
            if not self._stalled:
                log.error("watchdog: not feeding the watchdog: %s", why)
        self._stalled = not ok
        return ok


class StaleObservation(RuntimeError):
    """The camera supervisor has not observed progress recently: it is stuck."""


def supervise(
    tracker: ProgressTracker,
    stop: threading.Event,
    limits: ProgressLimits,
    backlog: Callable[[], int] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> WatchdogFeeder:
    """Tell systemd we are ready and start the feeder; it sends STOPPING=1 once `stop` is set.

    `backlog` (when uploads are configured) adds the upload backlog to the status line.
    """
    notifier = Notifier.from_env()
    interval = watchdog_interval()

    def progress() -> Sequence[CameraProgress]:
        latest = tracker.latest()
        if latest is None:
            raise StaleObservation("the camera supervisor has not observed the cameras yet")
        age = clock() - latest.at
        if age > MAX_OBSERVATION_AGE_S:
            raise StaleObservation(f"the camera supervisor is silent for {age:.0f} s")
        return latest.cameras

    def status(cameras: Sequence[CameraProgress]) -> str:
        return status_line(cameras, clock(), None if backlog is None else backlog(), limits)

    period = STATUS_PERIOD_S if interval is None else min(STATUS_PERIOD_S, interval / 2)
    feeder = WatchdogFeeder(notifier, progress, status, period, stop, limits, clock)
    notifier.ready()
    feeder.start()
    if interval is not None:
        log.info("systemd watchdog: %.1f s; checking progress every %.1f s", interval, period)
    return feeder
