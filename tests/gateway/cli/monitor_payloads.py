"""MQTT payloads as a gateway publishes them, and views built from them, for the monitor tests."""

from __future__ import annotations

from typing import Any

from uplink.fleet import GatewayView, Received
from uplink.fleet_view import GatewayRow, build_view

NOW = 1_700_000_000.0


def received(payload: Any, received_at: float = NOW) -> Received:
    return Received(payload, received_at, retained=True)


def health_payload(ts: float, **extra: Any) -> dict[str, Any]:
    return {
        "ts": ts,
        "gateway": "gw",
        "version": "0.1.0",
        "uptime_s": 100,
        "disk": {"free_bytes": 10**9, "used_bytes": 10**8, "quota_bytes": 2 * 10**8},
        "upload": {
            "backlog_count": 3,
            "backlog_bytes": 4_500_000,
            "oldest_unconfirmed_age_s": 75.0,
            "state": "uploading",
        },
        "minutes_left": 812.4,
        "clock": {"synced": True, "est_error_s": 0.01},
        "cameras_recording": 1,
        "cameras_total": 2,
        **extra,
    }


def camera_payload(ts: float, camera: str = "gate-1", **extra: Any) -> dict[str, Any]:
    return {
        "ts": ts,
        "camera": camera,
        "online": True,
        "recording": True,
        "fps": 25.0,
        "bitrate_bps": 2_000_000,
        "last_frame_age_s": 0.04,
        "last_segment_age_s": 4.0,
        "reconnects": 0,
        "clock_offset_s": 0.2,
        "last_error": None,
        "frozen": False,
        **extra,
    }


def gateway_view(
    gw: str = "gw1",
    state: str | None = "online",
    health: Any = None,
    alarms: Any = None,
    cameras: dict[str, Any] | None = None,
) -> GatewayView:
    return GatewayView(
        gateway=gw,
        state=None if state is None else received(state),
        health=None if health is None else received(health),
        alarms=None if alarms is None else received(alarms),
        cameras={k: received(v) for k, v in (cameras or {}).items()},
    )


def gateway_row(view: GatewayView, stale_after: float = 30.0) -> GatewayRow:
    fleet = build_view({view.gateway: view}, NOW, stale_after)
    assert len(fleet.gateways) == 1
    return fleet.gateways[0]


# -- pure view -------------------------------------------------------------------------------
