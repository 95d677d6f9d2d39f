"""What the desk shows of a gateway and a camera, from their stored reports. Pure.

The reports are untrusted JSON as ingest received them: a value of the wrong type reads as
absent, and text that is not JSON reads as an empty report. A gateway whose last will said
`offline` is offline; one not heard from for `stale_after_s` is stale, whatever it said last.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from uplink.report_fields import flag, integer, number, text

ONLINE, OFFLINE, STALE = "online", "offline", "stale"
MAX_REPORT_CHARS = 256 * 1024


@dataclass(frozen=True)
class CameraStatus:
    gateway: str
    camera: str
    state: str  # online | offline | stale
    recording: bool | None
    fps: float | None
    bitrate_bps: float | None
    last_frame_age_s: float | None
    last_error: str | None
    last_seen: float
    active_alarms: int


@dataclass(frozen=True)
class GatewayStatus:
    gateway: str
    site: str
    state: str  # online | offline | stale
    last_seen: float
    cameras_recording: int | None
    cameras_total: int | None
    backlog_count: int | None
    oldest_unconfirmed_age_s: float | None
    minutes_left: float | None
    clock_synced: bool | None
    active_alarms: int


def parse_report(stored: str | None) -> Mapping[str, Any]:
    if not stored or len(stored) > MAX_REPORT_CHARS:
        return {}
    try:
        value = json.loads(stored)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
        return {}
    return _object(value)


def gateway_state(said: str, last_seen: float, now: float, stale_after_s: float) -> str:
    if said == OFFLINE:
        return OFFLINE
    if now - last_seen > stale_after_s:
        return STALE
    return ONLINE


def camera_status(
    gateway: str,
    camera: str,
    health_text: str,
    last_seen: float,
    alarms: int,
    now: float,
    stale_after_s: float,
) -> CameraStatus:
    health = parse_report(health_text)
    online = flag(health, "online")
    if now - last_seen > stale_after_s:
        state = STALE
    elif online is False:
        state = OFFLINE
    else:
        state = ONLINE
    return CameraStatus(
        gateway=gateway,
        camera=camera,
        state=state,
        recording=flag(health, "recording"),
        fps=number(health, "fps"),
        bitrate_bps=number(health, "bitrate_bps"),
        last_frame_age_s=number(health, "last_frame_age_s"),
        last_error=text(health, "last_error"),
        last_seen=last_seen,
        active_alarms=alarms,
    )


def gateway_status(
    gateway: str,
    said: str,
    health_text: str | None,
    last_seen: float,
    cameras: list[CameraStatus],
    alarms: int,
    now: float,
    stale_after_s: float,
) -> GatewayStatus:
    """The gateway's row. Camera counts are the gateway's own (its health report), or, from
    a gateway that sends none, counted from `cameras` (recording, and not stale); the fleet
    page passes no cameras, so it never parses thousands of camera reports."""
    health = parse_report(health_text)
    upload, clock = _object(health.get("upload")), _object(health.get("clock"))
    recording = integer(health, "cameras_recording")
    total = integer(health, "cameras_total")
    if (recording is None or total is None) and cameras:
        recording = sum(1 for c in cameras if c.recording and c.state == ONLINE)
        total = len(cameras)
    return GatewayStatus(
        gateway=gateway,
        site=text(health, "site") or "",
        state=gateway_state(said, last_seen, now, stale_after_s),
        last_seen=last_seen,
        cameras_recording=recording,
        cameras_total=total,
        backlog_count=integer(upload, "backlog_count"),
        oldest_unconfirmed_age_s=number(upload, "oldest_unconfirmed_age_s"),
        minutes_left=number(health, "minutes_left"),
        clock_synced=flag(clock, "synced"),
        active_alarms=alarms,
    )


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}  # JSON objects are dicts (faster than ABCs)
