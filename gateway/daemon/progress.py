"""The daemon's one progress tracker: what each camera did, on the monotonic clock.

Seal times are observed (a sealed record's wall times may jump with the clock), and `since`
moves whenever a camera is seen going on- or offline, so a reconnect gets a fresh allowance
for its first frames and segment. The camera supervisor updates it every round; the systemd
watchdog reads the latest observation, and an observation gone stale means the supervisor
itself is stuck.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cameras.health import CameraHealth

from .liveness import CameraProgress


class _Record(Protocol):
    @property
    def seq(self) -> int: ...


class _Identity(Protocol):
    @property
    def camera(self) -> str: ...


class _Plan(Protocol):
    @property
    def segment_seconds(self) -> int: ...


class _Recorder(Protocol):
    @property
    def identity(self) -> _Identity: ...

    @property
    def plan(self) -> _Plan: ...

    @property
    def last_sealed(self) -> _Record | None: ...


class _Health(Protocol):
    def snapshot(self, now: float | None = None) -> CameraHealth: ...


class Observed(Protocol):
    """What the tracker reads of a camera: a camera process, or a worker thread in tests."""

    @property
    def recorder(self) -> _Recorder: ...

    @property
    def health(self) -> _Health: ...

    def is_alive(self) -> bool: ...


@dataclass(frozen=True)
class Observation:
    at: float  # time.monotonic() when observed
    cameras: tuple[CameraProgress, ...]


class ProgressTracker:
    def __init__(
        self, cameras: Sequence[Observed], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._cameras = cameras
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[bool, float, int | None, float | None]] = {}
        self._latest: Observation | None = None

    def observe(self) -> Observation:
        """Observe every camera now."""
        with self._lock:
            now = self._clock()
            progress = tuple(self._progress(camera, now) for camera in self._cameras)
            self._latest = Observation(now, progress)
            return self._latest

    def latest(self) -> Observation | None:
        """The newest observation, None before the first."""
        with self._lock:
            return self._latest

    def _progress(self, observed: Observed, now: float) -> CameraProgress:
        camera = observed.recorder.identity.camera
        health = observed.health.snapshot(now)
        sealed = observed.recorder.last_sealed
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
            segment_seconds=observed.recorder.plan.segment_seconds,
            alive=observed.is_alive(),
            online=health.online,
            gap_reason=None if health.online else health.last_error,
            since=since,
            last_frame_at=None if age is None else now - age,
            last_sealed_at=sealed_at,
        )
