"""`evgw status`: what is recorded, confirmed and waiting, and how long the disk will last."""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from segments.index import Index

from .config import Config, load_config

INDEX_NAME = "index.sqlite3"
RATE_WINDOW_S = 3600.0


@dataclass(frozen=True)
class CameraStatus:
    camera: str
    local_segments: int
    local_bytes: int
    confirmed_segments: int
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
    refused_uploads: int


def index_path(config: Config) -> Path:
    return config.gateway.data_dir / INDEX_NAME


def gather(config: Config, index: Index, now: float | None = None) -> GatewayStatus:
    now = time.time() if now is None else now
    stats = {s.stream: s for s in index.stream_stats(now - RATE_WINDOW_S)}
    cameras = []
    for camera in config.cameras:
        s = stats.get(camera.id)
        backlog = index.backlog(camera.id)
        rate = s.recent_bytes / (s.recent_seconds / 60) if s and s.recent_seconds > 0 else 0.0
        cameras.append(
            CameraStatus(
                camera=camera.id,
                local_segments=s.local_count if s else 0,
                local_bytes=s.local_bytes if s else 0,
                confirmed_segments=s.confirmed_count if s else 0,
                backlog_count=backlog.count,
                backlog_bytes=backlog.bytes,
                oldest_unconfirmed_age_s=_age(backlog.oldest_start_ts, now),
                bytes_per_minute=round(rate),
            )
        )
    total = index.backlog()
    used = sum(c.local_bytes for c in cameras)
    free = _free_bytes(config.gateway.data_dir)
    return GatewayStatus(
        gateway=config.gateway.id,
        data_dir=str(config.gateway.data_dir),
        cameras=cameras,
        used_bytes=used,
        quota_bytes=config.storage.quota_bytes,
        free_bytes=free,
        min_free_bytes=config.storage.min_free_bytes,
        backlog_count=total.count,
        backlog_bytes=total.bytes,
        oldest_unconfirmed_age_s=_age(total.oldest_start_ts, now),
        minutes_left=minutes_left(config, used, free, sum(c.bytes_per_minute for c in cameras)),
        refused_uploads=len(index.refused()),
    )


def minutes_left(config: Config, used: int, free: int, rate: float) -> float | None:
    """Minutes of recording until the ring buffer must evict, at the current rate."""
    if rate <= 0:
        return None
    room = free - config.storage.min_free_bytes
    if config.storage.quota_bytes:
        room = min(room, config.storage.quota_bytes - used)
    return round(max(0, room) / rate, 1)


def _age(ts: float | None, now: float) -> float | None:
    return None if ts is None else round(max(0.0, now - ts), 1)


def _free_bytes(path: Path) -> int:
    try:
        st = os.statvfs(path)
    except OSError:
        return 0
    return st.f_bavail * st.f_frsize


def render(status: GatewayStatus) -> str:
    rows = [("camera", "on disk", "bytes", "confirmed", "backlog", "backlog bytes", "oldest")]
    for c in status.cameras:
        rows.append(
            (
                c.camera,
                str(c.local_segments),
                _mb(c.local_bytes),
                str(c.confirmed_segments),
                str(c.backlog_count),
                _mb(c.backlog_bytes),
                _duration(c.oldest_unconfirmed_age_s),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    quota = _mb(status.quota_bytes) if status.quota_bytes else "none"
    left = "unknown" if status.minutes_left is None else f"{status.minutes_left:.0f} min"
    lines += [
        "",
        f"gateway {status.gateway}: {_mb(status.used_bytes)} used of quota {quota}, "
        f"{_mb(status.free_bytes)} free (keep {_mb(status.min_free_bytes)})",
        f"upload backlog: {status.backlog_count} items, {_mb(status.backlog_bytes)}, "
        f"oldest {_duration(status.oldest_unconfirmed_age_s)}",
        f"recording left before eviction: {left}",
    ]
    if status.refused_uploads:
        lines.append(f"REFUSED uploads (tampered local files): {status.refused_uploads}")
    return "\n".join(lines)


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "status", help="recorded, confirmed and waiting segments; minutes of recording left"
    )
    parser.add_argument("--config", type=Path, required=True, help="the TOML configuration file")
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    index = Index.open(index_path(config))
    try:
        status = gather(config, index)
    finally:
        index.close()
    print(json.dumps(asdict(status), ensure_ascii=False, indent=2) if args.json else render(status))
    return 0
