"""Feed systemd's watchdog only while every camera records or sits in a declared gap.

A worker that stops getting frames without recording a gap (a deadlock, a hung decoder) is
exactly the failure nothing else notices: the supervisor then stops sending WATCHDOG=1 and
systemd restarts the service, whose start-up recovery seals what was left and records the gap.
All times here are monotonic, so wall-clock steps never look like a hang.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from segments.index import Index

from .camera_worker import CameraWorker
from .config import RecordingConfig
from .sdnotify import Notifier, watchdog_interval

if TYPE_CHECKING:
    from .camera_process import CameraProcess

Worker: TypeAlias = "CameraWorker | CameraProcess"

log = logging.getLogger(__name__)

STATUS_PERIOD_S = 10.0


@dataclass(frozen=True)
class CameraProgress:
    """One camera as the watchdog sees it; every time is `time.monotonic()`."""

    camera: str
    segment_seconds: float
    alive: bool
    online: bool
    gap_reason: str | None
    since: float
    last_frame_at: float | None = None
    last_sealed_at: float | None = None


@dataclass(frozen=True)
class ProgressLimits:
    """How long each kind of silence may last before it counts as a hang."""

    frame_stall_s: float = 20.0
    seal_margin_s: float = 30.0
    connect_grace_s: float = 60.0

    @classmethod
    def for_recording(cls, recording: RecordingConfig) -> ProgressLimits:
        """Never stricter than the stream's own timeouts, which declare gaps first."""
        return cls(
            frame_stall_s=max(cls.frame_stall_s, 3 * recording.read_timeout_s),
            connect_grace_s=max(cls.connect_grace_s, 3 * recording.open_timeout_s),
        )


def camera_problem(cam: CameraProgress, now: float, limits: ProgressLimits) -> str | None:
    """Why this camera looks hung, or None while it records or is in a declared gap."""
    if not cam.alive:
        return f"{cam.camera}: worker is not running"
    if not cam.online:
        if cam.gap_reason is not None:
            return None
        waited = now - cam.since
        if waited > limits.connect_grace_s:
            return f"{cam.camera}: not connected after {waited:.0f} s and no gap recorded"
        return None
    frame_age = now - _latest(cam.since, cam.last_frame_at)
    if frame_age > limits.frame_stall_s:
        return f"{cam.camera}: no frame for {frame_age:.0f} s while online"
    seal_age = now - _latest(cam.since, cam.last_sealed_at)
    seal_limit = 2 * cam.segment_seconds + limits.seal_margin_s
    if seal_age > seal_limit:
        return f"{cam.camera}: no segment sealed for {seal_age:.0f} s (limit {seal_limit:.0f} s)"
    return None


def _latest(since: float, at: float | None) -> float:
    return since if at is None else max(since, at)


def progress_ok(
    cameras: Sequence[CameraProgress], now: float, limits: ProgressLimits | None = None
) -> tuple[bool, str]:
    """(True, "") when every camera makes progress or is in a declared gap; else the reasons."""
    limits = limits or ProgressLimits()
    problems = [p for cam in cameras if (p := camera_problem(cam, now, limits)) is not None]
    return not problems, "; ".join(problems)


def status_line(
    cameras: Sequence[CameraProgress],
    now: float,
    backlog: int | None,
    limits: ProgressLimits | None = None,
) -> str:
    """What `systemctl status` shows: e.g. "recording 3/4 cameras (yard-1: rtsp_timeout)"."""
    limits = limits or ProgressLimits()
    recording = [c for c in cameras if c.online and camera_problem(c, now, limits) is None]
    gaps = [f"{c.camera}: {c.gap_reason}" for c in cameras if not c.online and c.gap_reason]
    text = f"recording {len(recording)}/{len(cameras)} cameras"
    if gaps:
        text += f" ({', '.join(gaps)})"
    if backlog is not None:
        text += f", upload backlog {backlog}"
    return text


class ProgressTracker:
    """Turns live workers into `CameraProgress`, noting on the monotonic clock when they change.

    Seal times are observed (the sealed record's wall times may jump with the clock), and
    `since` moves whenever a camera is seen going on- or offline, so a reconnect gets a fresh
    allowance for its first frames and segment.
    """

    def __init__(
        self, workers: Sequence[Worker], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._workers = workers
        self._clock = clock
        self._seen: dict[str, tuple[bool, float, int | None, float | None]] = {}

    def __call__(self) -> list[CameraProgress]:
        now = self._clock()
        return [self._progress(worker, now) for worker in self._workers]

    def _progress(self, worker: Worker, now: float) -> CameraProgress:
        camera = worker.recorder.identity.camera
        health = worker.health.snapshot(now)
        sealed = worker.recorder.last_sealed
        seq = None if sealed is None else sealed.seq
        online, since, seen_seq, sealed_at = self._seen.get(camera, (health.online, now, seq, None))
        if online != health.online:
            since = now
        if seq is not None and (seq != seen_seq or sealed_at is None):
            sealed_at = now
        self._seen[camera] = (health.online, since, seq, sealed_at)
        age = health.last_frame_age_s
        return CameraProgress(
            camera=camera,
            segment_seconds=worker.recorder.plan.segment_seconds,
            alive=worker.is_alive(),
            online=health.online,
            gap_reason=None if health.online else health.last_error,
            since=since,
            last_frame_at=None if age is None else now - age,
            last_sealed_at=sealed_at,
        )


class Supervisor(threading.Thread):
    """Every `period_s`: judge progress, feed the watchdog only if it is ok, update STATUS."""

    def __init__(
        self,
        notifier: Notifier,
        progress: Callable[[], Sequence[CameraProgress]],
        status: Callable[[], str],
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
            ok, why = progress_ok(self._progress(), self._clock(), self._limits)
            status = self._status()
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


def supervise(
    workers: Sequence[Worker],
    stop: threading.Event,
    recording: RecordingConfig,
    index: Index | None = None,
) -> Supervisor:
    """Tell systemd we are ready and start the supervisor; it sends STOPPING=1 once `stop` is set.

    `index` (when uploads are configured) adds the upload backlog to the status line.
    """
    notifier = Notifier.from_env()
    interval = watchdog_interval()
    limits = ProgressLimits.for_recording(recording)
    tracker = ProgressTracker(workers)
    latest: list[CameraProgress] = []

    def progress() -> list[CameraProgress]:
        latest[:] = tracker()
        return latest

    def status() -> str:
        backlog = None if index is None else index.backlog().count
        return status_line(latest, time.monotonic(), backlog, limits)

    period = STATUS_PERIOD_S if interval is None else min(STATUS_PERIOD_S, interval / 2)
    supervisor = Supervisor(notifier, progress, status, period, stop, limits)
    notifier.ready()
    supervisor.start()
    if interval is not None:
        log.info("systemd watchdog: %.1f s; checking progress every %.1f s", interval, period)
    return supervisor
