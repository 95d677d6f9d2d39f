"""A payload as received → checked values for the desk's rows: pure, and all or nothing.

Payloads are untrusted bytes (anyone who may publish under the topic root can send them). A
report is either accepted whole or refused with `Refused` and a short reason, the kind the
service counts and logs once: never half a report in the tables. What is checked is what the
desk stores or computes with: `ts`, the numbers of the samples, the alarm names, cameras and
times. Numbers must be finite and fit the columns; text must be valid UTF-8 without NUL (which
PostgreSQL refuses); unknown keys are kept in the stored JSON and otherwise ignored, so a newer
gateway's additions pass. The JSON text is stored as received.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from .topics import is_id

MAX_PAYLOAD_BYTES = 64 * 1024  # a health report is ~500 bytes, an alarm set of 16 cameras ~4 KiB
MAX_ALARMS = 1000
MAX_DETAIL_CHARS = 1000
MAX_INTEGER = 2**53  # exact in a float, far inside BIGINT
_NAME = re.compile(r"[a-z0-9_]{1,64}")  # alarm names and event kinds


class Refused(ValueError):
    """The payload is not accepted; `reason` is its kind for counters and the log."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class GatewayHealth:
    ts: float
    body: str
    sample: dict[str, float | int | None]  # desk_gateway_samples columns


@dataclass(frozen=True)
class CameraHealth:
    ts: float
    body: str
    sample: dict[str, float | bool | None]  # desk_camera_samples columns


@dataclass(frozen=True)
class ActiveAlarm:
    camera: str  # '' for the gateway itself
    alarm: str
    since: float
    detail: str


@dataclass(frozen=True)
class AlarmSet:
    ts: float
    body: str
    active: tuple[ActiveAlarm, ...]


@dataclass(frozen=True)
class Event:
    ts: float
    kind: str
    camera: str  # '' when the event names none
    body: str
    alarm: str | None  # alarm_raised / alarm_cleared only
    detail: str


def parse_state(payload: bytes) -> bool:
    """`state`: True for ``online``, False for ``offline`` (the last will)."""
    text = payload.strip()
    if text not in (b"online", b"offline"):
        raise Refused("bad_state", f"state must be online or offline, got {text[:40]!r}")
    return text == b"online"


def parse_health(payload: bytes) -> GatewayHealth:
    obj, body = _object(payload)
    disk, upload = _part(obj, "disk"), _part(obj, "upload")
    sample = {
        "backlog_count": _integer(upload, "backlog_count"),
        "backlog_bytes": _integer(upload, "backlog_bytes"),
        "oldest_unconfirmed_age_s": _number(upload, "oldest_unconfirmed_age_s"),
        "minutes_left": _number(obj, "minutes_left"),
        "disk_free_bytes": _integer(disk, "free_bytes"),
        "disk_used_bytes": _integer(disk, "used_bytes"),
        "cameras_recording": _integer(obj, "cameras_recording"),
        "cameras_total": _integer(obj, "cameras_total"),
    }
    return GatewayHealth(_ts(obj), body, sample)


def parse_camera_health(payload: bytes) -> CameraHealth:
    obj, body = _object(payload)
    sample = {
        "online": _flag(obj, "online"),
        "recording": _flag(obj, "recording"),
        "fps": _number(obj, "fps"),
        "bitrate_bps": _number(obj, "bitrate_bps"),
        "last_frame_age_s": _number(obj, "last_frame_age_s"),
    }
    return CameraHealth(_ts(obj), body, sample)


def parse_alarms(payload: bytes) -> AlarmSet:
    """The retained set; an alarm listed twice (same camera and name) counts once."""
    obj, body = _object(payload)
    items = obj.get("active")
    if not isinstance(items, list) or len(items) > MAX_ALARMS:
        raise Refused("wrong_type", f"active must be a list of at most {MAX_ALARMS} alarms")
    active: dict[tuple[str, str], ActiveAlarm] = {}
    for item in items:
        if not isinstance(item, dict):
            raise Refused("wrong_type", "each active alarm must be an object")
        since = _number(item, "since")
        if since is None:
            raise Refused("wrong_type", "an active alarm needs a numeric since")
        alarm = ActiveAlarm(_camera(item), _name(item, "alarm"), since, _detail(item))
        active.setdefault((alarm.camera, alarm.alarm), alarm)
    return AlarmSet(_ts(obj), body, tuple(active.values()))


def parse_event(payload: bytes) -> Event:
    obj, body = _object(payload)
    kind = _name(obj, "kind")
    alarm = _name(obj, "alarm") if kind in ("alarm_raised", "alarm_cleared") else None
    return Event(_ts(obj), kind, _camera(obj), body, alarm, _detail(obj))


def _object(payload: bytes) -> tuple[dict[str, Any], str]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Refused("too_large", f"{len(payload)} bytes, at most {MAX_PAYLOAD_BYTES}")
    try:
        body = payload.decode("utf-8")
        obj = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise Refused("not_json", str(e)[:80]) from e
    if not isinstance(obj, dict):
        raise Refused("wrong_type", f"a JSON object expected, got {type(obj).__name__}")
    return obj, body


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _ts(obj: dict[str, Any]) -> float:
    ts = _number(obj, "ts")
    if ts is None or ts <= 0:
        raise Refused("wrong_type", "ts must be a positive number")
    return ts


def _part(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Refused("wrong_type", f"{key} must be an object")
    return value


def _number(obj: dict[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused("wrong_type", f"{key} must be a number")
    if not math.isfinite(value) or abs(value) > MAX_INTEGER:
        raise Refused("wrong_type", f"{key} out of range")
    return float(value)


def _integer(obj: dict[str, Any], key: str) -> int | None:
    value = _number(obj, key)
    if value is None:
        return None
    if not isinstance(obj[key], int):
        raise Refused("wrong_type", f"{key} must be an integer")
    return int(value)


def _flag(obj: dict[str, Any], key: str) -> bool | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, bool):
        raise Refused("wrong_type", f"{key} must be true or false")
    return value


def _name(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise Refused("wrong_type", f"{key} must be 1-64 characters of a-z 0-9 _")
    return value


def _camera(obj: dict[str, Any]) -> str:
    value = obj.get("camera")
    if value is None:
        return ""
    if not isinstance(value, str) or not is_id(value):
        raise Refused("wrong_type", "camera must be an id of letters, digits and _.-")
    return value


def _detail(obj: dict[str, Any]) -> str:
    """Free text, cut to `MAX_DETAIL_CHARS` (a long FFmpeg error is still worth showing)."""
    value = obj.get("detail")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Refused("wrong_type", "detail must be text")
    if "\x00" in value:
        raise Refused("bad_text", "detail holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise Refused("bad_text", "detail is not valid Unicode") from e
    return value if len(value) <= MAX_DETAIL_CHARS else value[: MAX_DETAIL_CHARS - 1] + "…"
