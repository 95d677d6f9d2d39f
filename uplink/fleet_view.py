"""The fleet as a monitoring desk sees it, from the MQTT values every gateway keeps retained.

Pure: a `FleetSnapshot` (what `uplink.fleet.FleetListener` holds) becomes typed rows with each
gateway's state and each camera's status. Staleness is judged by each payload's own ``ts``,
never by when it arrived: a desk that starts late receives every retained value at once,
however old. Payloads are untrusted JSON: a value of the wrong type reads as absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .fleet import FleetSnapshot, GatewayView, Received
from .report_fields import flag, integer, number, text

DEFAULT_STALE_AFTER_S = 30.0  # three missed updates at the gateway's 10 s health interval

# Gateway states and camera statuses, as shown and as put into the JSON.
ONLINE, OFFLINE, STALE, UNKNOWN = "online", "offline", "STALE", "unknown"
CAM_OK, CAM_OFFLINE, CAM_FROZEN, CAM_NOT_RECORDING = "OK", "OFFLINE", "FROZEN", "NOT RECORDING"
CAM_UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Alarm:
    alarm: str
    camera: str | None
    since: float | None
    detail: str | None


@dataclass(frozen=True)
class CameraRow:
    camera: str
    status: str
    age_s: float | None  # how old the newest payload is, by its own ts
    fps: float | None
    last_segment_age_s: float | None
    last_frame_age_s: float | None
    reconnects: int | None
    last_error: str | None


@dataclass(frozen=True)
class GatewayRow:
    gateway: str
    state: str
    age_s: float | None  # age of the newest payload of this gateway, by its own ts
    version: str | None
    backlog_count: int | None
    backlog_bytes: int | None
    oldest_unconfirmed_age_s: float | None
    minutes_left: float | None
    clock_synced: bool | None
    alarm_count: int
    alarms: tuple[Alarm, ...]
    cameras: tuple[CameraRow, ...]


@dataclass(frozen=True)
class FleetView:
    at: float
    stale_after_s: float
    gateways: tuple[GatewayRow, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _object(value: Any) -> Mapping[str, Any]:
    """Untrusted JSON: anything but an object reads as an empty one."""
    return value if isinstance(value, Mapping) else {}


def _payload(received: Received | None) -> Mapping[str, Any]:
    return _object(received.payload) if received is not None else {}


def _age(ts: float | None, now: float) -> float | None:
    return None if ts is None else round(now - ts, 1)


def _is_stale(age: float | None, stale_after: float) -> bool:
    return age is not None and age > stale_after


def camera_row(camera: str, received: Received, now: float, stale_after: float) -> CameraRow:
    p = _object(received.payload)
    age = _age(number(p, "ts"), now)
    online, frozen, recording = flag(p, "online"), flag(p, "frozen"), flag(p, "recording")
    # The worst fact wins; a stale payload's other facts are history, so STALE comes first.
    if _is_stale(age, stale_after):
        status = STALE
    elif online is None:
        status = CAM_UNKNOWN
    elif not online:
        status = CAM_OFFLINE
    elif frozen:
        status = CAM_FROZEN
    elif recording is False:
        status = CAM_NOT_RECORDING
    else:
        status = CAM_OK
    return CameraRow(
        camera=camera,
        status=status,
        age_s=age,
        fps=number(p, "fps"),
        last_segment_age_s=number(p, "last_segment_age_s"),
        last_frame_age_s=number(p, "last_frame_age_s"),
        reconnects=integer(p, "reconnects"),
        last_error=text(p, "last_error"),
    )


def _alarms(received: Received | None) -> tuple[Alarm, ...]:
    active = _payload(received).get("active")
    if not isinstance(active, list):
        return ()
    return tuple(
        Alarm(
            alarm=text(a, "alarm") or "?",
            camera=text(a, "camera"),
            since=number(a, "since"),
            detail=text(a, "detail"),
        )
        for a in map(_object, active)
    )


def gateway_row(view: GatewayView, now: float, stale_after: float) -> GatewayRow:
    health = _payload(view.health)
    upload, clock = _object(health.get("upload")), _object(health.get("clock"))
    stamps = [number(_payload(r), "ts") for r in (view.health, view.alarms)]
    stamps += [number(_object(r.payload), "ts") for r in view.cameras.values()]
    newest = max((ts for ts in stamps if ts is not None), default=None)
    age = _age(newest, now)
    said = view.state.payload if view.state is not None else None
    # The last will is the strongest fact; an `online` whose payloads stopped is STALE.
    if said == OFFLINE:
        state = OFFLINE
    elif _is_stale(age, stale_after):
        state = STALE
    elif said == ONLINE:
        state = ONLINE
    else:
        state = UNKNOWN
    alarms = _alarms(view.alarms)
    return GatewayRow(
        gateway=view.gateway,
        state=state,
        age_s=age,
        version=text(health, "version"),
        backlog_count=integer(upload, "backlog_count"),
        backlog_bytes=integer(upload, "backlog_bytes"),
        oldest_unconfirmed_age_s=number(upload, "oldest_unconfirmed_age_s"),
        minutes_left=number(health, "minutes_left"),
        clock_synced=flag(clock, "synced"),
        alarm_count=len(alarms),
        alarms=alarms,
        cameras=tuple(
            camera_row(cam, r, now, stale_after) for cam, r in sorted(view.cameras.items())
        ),
    )


def build_view(snapshot: FleetSnapshot, now: float, stale_after: float) -> FleetView:
    return FleetView(
        at=now,
        stale_after_s=stale_after,
        gateways=tuple(gateway_row(snapshot[gw], now, stale_after) for gw in sorted(snapshot)),
    )
