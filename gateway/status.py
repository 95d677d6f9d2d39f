"""What is recorded, confirmed and waiting, and how long the disk will last.

One query over the index and the data dir's file system, shared by `evgw status` and the
daemon's health reports, so the site officer and the monitoring desk read the same figures.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from segments.index import Index
from segments.index_rows import Backlog
from segments.ringbuffer import Limits

RATE_WINDOW_S = 3600.0
NO_BACKLOG = Backlog(0, 0, None)


@dataclass(frozen=True)
class CameraStatus:
    camera: str
    local_segments: int
    local_bytes: int
    confirmed_segments: int
    evicted_segments: int  # removed by a signed purge after upload (declared)
    purged_segments: int  # removed by a signed purge before upload (declared)
    missing_segments: int  # gone without a purge record (not by us)
    backlog_count: int
    backlog_bytes: int
    oldest_unconfirmed_age_s: float | None
    bytes_per_minute: float


@dataclass(frozen=True)
class GatewayStatus:
    gateway: str
    data_dir: str
    cameras: list[CameraStatus]
    used_bytes: int
    quota_bytes: int
    free_bytes: int
    min_free_bytes: int
    backlog_count: int
    backlog_bytes: int
    oldest_unconfirmed_age_s: float | None
    minutes_left: float | None
    uploading: bool  # False: no [upload] section, nothing leaves the box, no backlog
    refused_uploads: int  # never sent: the local file was altered or vanished (tampering)


@dataclass(frozen=True)
class StatusScope:
    """Which gateway, cameras and limits a status is about (built by `gateway.wiring`)."""

    gateway: str
    data_dir: Path
    cameras: tuple[str, ...]
    limits: Limits
    uploading: bool = True


def gather(scope: StatusScope, index: Index, now: float | None = None) -> GatewayStatus:
    """The status; with uploading off there is no backlog (the index's queue waits unsent)."""
    now = time.time() if now is None else now
    stats = {s.stream: s for s in index.stream_stats(now - RATE_WINDOW_S)}
    cameras = []
    for camera in scope.cameras:
        s = stats.get(camera)
        backlog = index.backlog(camera) if scope.uploading else NO_BACKLOG
        rate = _per_minute(s.recent_bytes, s.recent_seconds) if s else 0.0
        cameras.append(
            CameraStatus(
                camera=camera,
                local_segments=s.local_count if s else 0,
                local_bytes=s.local_bytes if s else 0,
                confirmed_segments=s.confirmed_count if s else 0,
                evicted_segments=s.evicted_count if s else 0,
                purged_segments=s.purged_count if s else 0,
                missing_segments=s.missing_count if s else 0,
                backlog_count=backlog.count,
                backlog_bytes=backlog.bytes,
                oldest_unconfirmed_age_s=_age(backlog.oldest_start_ts, now),
                bytes_per_minute=round(rate),
            )
        )
    used = sum(c.local_bytes for c in cameras)
    rate = sum(c.bytes_per_minute for c in cameras)
    return GatewayStatus(
        gateway=scope.gateway,
        data_dir=str(scope.data_dir),
        cameras=cameras,
        **asdict(_outlook(scope, index, used, rate, now)),
        uploading=scope.uploading,
        refused_uploads=len(index.refused()),
    )


@dataclass(frozen=True)
class Outlook:
    """What the daemon's health reports need of a status: disk, backlog, time left."""

    used_bytes: int
    quota_bytes: int
    free_bytes: int
    min_free_bytes: int
    backlog_count: int
    backlog_bytes: int
    oldest_unconfirmed_age_s: float | None
    minutes_left: float | None


def outlook(scope: StatusScope, index: Index, now: float | None = None) -> Outlook:
    """`gather`'s gateway-wide figures from indexed queries only, for a report every few
    seconds: `gather` also counts every segment ever recorded (confirmed, evicted, purged,
    missing), which cost 0.09 s of CPU at 60,000 segments and grows with every day kept."""
    now = time.time() if now is None else now
    local = index.local_bytes_by_stream()
    rates = index.recent_rates(now - RATE_WINDOW_S)
    used = sum(local.get(camera, 0) for camera in scope.cameras)
    rate = sum(_per_minute(*rates[camera]) for camera in scope.cameras if camera in rates)
    return _outlook(scope, index, used, rate, now)


def _outlook(scope: StatusScope, index: Index, used: int, rate: float, now: float) -> Outlook:
    """The gateway-wide figures of `used` bytes recorded at `rate` bytes a minute."""
    total = index.backlog() if scope.uploading else NO_BACKLOG
    try:
        free = free_bytes(scope.data_dir)
    except OSError:
        free = 0
    return Outlook(
        used_bytes=used,
        quota_bytes=scope.limits.quota_bytes,
        free_bytes=free,
        min_free_bytes=scope.limits.min_free_bytes,
        backlog_count=total.count,
        backlog_bytes=total.bytes,
        oldest_unconfirmed_age_s=_age(total.oldest_start_ts, now),
        minutes_left=minutes_left(scope.limits, used, free, rate),
    )


def _per_minute(recent_bytes: int, recent_seconds: float) -> float:
    return round(recent_bytes / (recent_seconds / 60)) if recent_seconds > 0 else 0.0


def minutes_left(limits: Limits, used: int, free: int, rate: float) -> float | None:
    """Minutes of recording until the ring buffer must evict, at the current rate."""
    if rate <= 0:
        return None
    room = free - limits.min_free_bytes
    if limits.quota_bytes:
        room = min(room, limits.quota_bytes - used)
    return round(max(0, room) / rate, 1)


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged process can still write on the file system holding `path`."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _age(ts: float | None, now: float) -> float | None:
    return None if ts is None else round(max(0.0, now - ts), 1)
