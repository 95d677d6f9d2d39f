"""Read the fleet from the desk tables: gateways with their cameras and active alarm counts,
one gateway's samples for the plots. A few whole-table reads, so the fleet page costs the
same handful of queries for 5 gateways or 500.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import (
    desk_alarms,
    desk_cameras,
    desk_gateway_samples,
    desk_gateways,
)

from .reports import CameraStatus, GatewayStatus, camera_status, gateway_status

DAY_S = 86400.0


@dataclass(frozen=True)
class Fleet:
    gateways: list[GatewayStatus]
    cameras: dict[str, list[CameraStatus]]


@dataclass(frozen=True)
class GatewaySamples:
    ts: list[float]
    backlog_count: list[float | None]
    minutes_left: list[float | None]
    disk_free_gb: list[float | None]


def read_fleet(
    catalogue: Catalogue,
    now: float,
    stale_after_s: float,
    gateway: str | None = None,
    *,
    cameras_too: bool = True,
) -> Fleet:
    """Every gateway (or only `gateway`), by name, with its cameras unless not `cameras_too`
    (then only from gateways whose health lacks the camera counts)."""
    gateways = select(desk_gateways).order_by(desk_gateways.c.gateway)
    cameras = select(desk_cameras).order_by(desk_cameras.c.gateway, desk_cameras.c.camera)
    alarms = (
        select(desk_alarms.c.gateway, desk_alarms.c.camera, func.count())
        .where(desk_alarms.c.cleared_at.is_(None))
        .group_by(desk_alarms.c.gateway, desk_alarms.c.camera)
    )
    if gateway is not None:
        gateways = gateways.where(desk_gateways.c.gateway == gateway)
        cameras = cameras.where(desk_cameras.c.gateway == gateway)
        alarms = alarms.where(desk_alarms.c.gateway == gateway)
    with catalogue.transaction() as tx:
        gateway_rows = tx.c.execute(gateways).all()
        if not cameras_too:
            cameras = cameras.where(desk_cameras.c.gateway.in_(_uncounted(gateway_rows)))
        camera_rows = tx.c.execute(cameras).all()
        alarm_rows = tx.c.execute(alarms).all()
    per_camera = {(gw, cam): int(n) for gw, cam, n in alarm_rows}
    per_gateway: Counter[str] = Counter()
    for (gw, _), n in per_camera.items():
        per_gateway[gw] += n
    by_gateway: dict[str, list[CameraStatus]] = {}
    for row in camera_rows:
        status = camera_status(
            row.gateway,
            row.camera,
            row.health,
            row.last_seen,
            per_camera.get((row.gateway, row.camera), 0),
            now,
            stale_after_s,
        )
        by_gateway.setdefault(row.gateway, []).append(status)
    statuses = [
        gateway_status(
            row.gateway,
            row.state,
            row.health,
            row.last_seen,
            by_gateway.get(row.gateway, []),
            per_gateway[row.gateway],
            now,
            stale_after_s,
        )
        for row in gateway_rows
    ]
    return Fleet(statuses, by_gateway)


def _uncounted(gateway_rows: Sequence[Row[Any]]) -> list[str]:
    """Gateways whose health report does not count its cameras (an old or silent gateway)."""
    return [
        row.gateway for row in gateway_rows if not row.health or '"cameras_total"' not in row.health
    ]


def read_samples(catalogue: Catalogue, gateway: str, now: float) -> GatewaySamples:
    """The gateway's samples of the last 24 hours, oldest first."""
    s = desk_gateway_samples.c
    query = (
        select(s.ts, s.backlog_count, s.minutes_left, s.disk_free_bytes)
        .where(s.gateway == gateway, s.ts >= now - DAY_S, s.ts <= now)
        .order_by(s.ts)
    )
    with catalogue.transaction() as tx:
        rows = tx.c.execute(query).all()
    return GatewaySamples(
        ts=[r.ts for r in rows],
        backlog_count=[None if r.backlog_count is None else float(r.backlog_count) for r in rows],
        minutes_left=[r.minutes_left for r in rows],
        disk_free_gb=[None if r.disk_free_bytes is None else r.disk_free_bytes / 1e9 for r in rows],
    )
