"""`GET /metrics`: the fleet in the Prometheus text format (version 0.0.4), for Grafana and
alerting beside the desk.

A scraper needs no session but must come from a `[desk] metrics_allow` network or send
`Authorization: Bearer <metrics_token_file's token>`; a logged-in user may look too. Label
values are names the gateways chose: they are escaped as the format requires, so a hostile
name cannot add a line.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from .context import client_address, desk_of
from .fleet_data import Fleet, read_fleet
from .guard import current_session, same_token
from .reports import ONLINE

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

GATEWAY_METRICS = (
    ("evgw_gateway_up", "1 when the gateway is online and heard within stale_after_s"),
    ("evgw_gateway_last_seen_age_seconds", "seconds since the desk last heard the gateway"),
    ("evgw_gateway_cameras_recording", "cameras recording"),
    ("evgw_gateway_cameras_total", "cameras configured"),
    ("evgw_gateway_upload_backlog_count", "segments waiting for upload"),
    ("evgw_gateway_oldest_unconfirmed_age_seconds", "age of the oldest unconfirmed segment"),
    ("evgw_gateway_minutes_left", "minutes of recording the disk still holds"),
    ("evgw_gateway_active_alarms", "active alarms of the gateway and its cameras"),
)
CAMERA_METRICS = (
    ("evgw_camera_up", "1 when the camera is online and heard within stale_after_s"),
    ("evgw_camera_recording", "1 when the camera records"),
    ("evgw_camera_fps", "frames per second received"),
    ("evgw_camera_active_alarms", "active alarms of the camera"),
)


async def metrics(request: Request) -> Response:
    desk = desk_of(request)
    if not _admitted(request) and await current_session(request) is None:
        return PlainTextResponse(
            "metrics: scrape from a [desk] metrics_allow address or with the bearer token\n",
            status_code=403,
        )
    fleet = await desk.db(read_fleet, desk.now(), desk.settings.stale_after_s)
    return Response(render_metrics(fleet, desk.now()), media_type=CONTENT_TYPE)


def _admitted(request: Request) -> bool:
    desk = desk_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if desk.metrics_token and scheme.lower() == "bearer":
        return same_token(token.strip(), desk.metrics_token)
    return allowed(client_address(request), desk.settings.metrics_allow)


def allowed(address: str, networks: Sequence[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


def render_metrics(fleet: Fleet, now: float) -> str:
    """The exposition text of `fleet`. Pure."""
    values: dict[str, list[str]] = {name: [] for name, _ in GATEWAY_METRICS + CAMERA_METRICS}
    for g in fleet.gateways:
        labels = f'gateway="{label(g.gateway)}"'
        row = {
            "evgw_gateway_up": 1.0 if g.state == ONLINE else 0.0,
            "evgw_gateway_last_seen_age_seconds": max(0.0, now - g.last_seen),
            "evgw_gateway_cameras_recording": g.cameras_recording,
            "evgw_gateway_cameras_total": g.cameras_total,
            "evgw_gateway_upload_backlog_count": g.backlog_count,
            "evgw_gateway_oldest_unconfirmed_age_seconds": g.oldest_unconfirmed_age_s,
            "evgw_gateway_minutes_left": g.minutes_left,
            "evgw_gateway_active_alarms": g.active_alarms,
        }
        _add(values, labels, row.items())
        for c in fleet.cameras.get(g.gateway, []):
            up = c.state == ONLINE and g.state == ONLINE
            camera_row = {
                "evgw_camera_up": 1.0 if up else 0.0,
                "evgw_camera_recording": None if c.recording is None else float(c.recording and up),
                "evgw_camera_fps": c.fps,
                "evgw_camera_active_alarms": c.active_alarms,
            }
            _add(values, f'{labels},camera="{label(c.camera)}"', camera_row.items())
    lines = []
    for name, help_text in GATEWAY_METRICS + CAMERA_METRICS:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *values[name]]
    return "\n".join(lines) + "\n"


def _add(
    values: dict[str, list[str]], labels: str, row: Iterable[tuple[str, float | int | None]]
) -> None:
    for name, value in row:
        if value is not None:
            values[name].append(f"{name}{{{labels}}} {_number(value)}")


def label(value: str) -> str:
    """A label value escaped per the text format: backslash, double quote, line feed."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float | int) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))
