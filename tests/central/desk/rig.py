"""A desk's ingest on a real broker and catalogue, and a gateway's side to publish from."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import URL

from central.catalogue.db import Catalogue
from central.config.load import CentralConfig, load_central_config
from central.config.tables import EXAMPLE_KEY
from central.desk.ingest.service import Ingest, start_ingest
from testbeds.mosquitto import MosquittoServer
from tests.central.boxes import central_toml
from tests.support.waiting import wait_until

T0 = float(int(time.time()) - 86_400)  # past (never seen before it came), within history_days


def desk_config(
    folder: Path, broker: MosquittoServer, url: URL, desk: str = "sample_s = 0", mqtt: str = ""
) -> CentralConfig:
    """An archive configuration with [mqtt] at `broker` (and `mqtt` lines), [desk] `desk`."""
    extra = f"""
[mqtt]
host = "{broker.host}"
port = {broker.port}
keepalive_s = 5
{mqtt}
[desk]
{desk}
"""
    folder.mkdir(parents=True, exist_ok=True)
    database = url.render_as_string(hide_password=False)
    keys = {"gw-1": EXAMPLE_KEY}
    path = central_toml(folder, "http://127.0.0.1:9", "bucket", database, keys, extra=extra)
    return load_central_config(path)


@contextmanager
def running_ingest(config: CentralConfig) -> Iterator[tuple[Ingest, Catalogue]]:
    catalogue = Catalogue.open(config.database)
    ingest = start_ingest(config, catalogue)
    try:
        wait_until("ingest connected", ingest.connected.is_set, 30)
        yield ingest, catalogue
    finally:
        ingest.stop()
        catalogue.close()


def handled(ingest: Ingest) -> int:
    """Messages stored or refused so far."""
    counts = ingest.counts()
    return counts.stored + sum(counts.refused.values())


def wait_handled(ingest: Ingest, count: int) -> None:
    wait_until(f"{count} messages handled", lambda: handled(ingest) >= count, 30)


def rows(catalogue: Catalogue, table: Table, order: str = "id") -> list[dict[str, Any]]:
    column = table.c.get(order)
    query = select(table) if column is None else select(table).order_by(column)
    with catalogue.transaction() as tx:
        return [dict(row._mapping) for row in tx.c.execute(query)]


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def health(ts: float, backlog: int = 2, recording: int = 2) -> dict[str, Any]:
    """The README's example health report."""
    return {
        "ts": ts,
        "version": "0.1.0",
        "uptime_s": 3600.0,
        "disk": {"free_bytes": 83899789312, "used_bytes": 5230000000, "quota_bytes": 5 * 10**11},
        "upload": {
            "backlog_count": backlog,
            "backlog_bytes": 1579,
            "oldest_unconfirmed_age_s": 4.0,
            "state": "connected",
        },
        "minutes_left": 5120.5,
        "clock": {"synced": True, "est_error_s": 0.004},
        "cameras_recording": recording,
        "cameras_total": 2,
        "dropped_events": 0,
    }


def camera_health(ts: float, camera: str, online: bool = True) -> dict[str, Any]:
    """The README's example camera health report."""
    return {
        "ts": ts,
        "camera": camera,
        "online": online,
        "recording": online,
        "fps": 25.0 if online else 0.0,
        "bitrate_bps": 2063081,
        "last_frame_age_s": 0.01,
        "last_segment_age_s": 4.2,
        "reconnects": 1,
        "clock_offset_s": -0.3,
        "last_error": None if online else "end of stream",
        "frozen": False,
        "segment_seconds": 60,
        "disk_paused": False,
        "rejected_input": 0,
        "identity_event": None,
        "identity_detail": None,
        "identity_event_age_s": None,
    }


def alarm_set(ts: float, *active: tuple[str, str | None, float]) -> dict[str, Any]:
    """The retained alarms: (alarm, camera, since) each."""
    return {
        "ts": ts,
        "active": [
            {"alarm": alarm, "camera": camera, "since": since, "detail": f"{alarm} detail"}
            for alarm, camera, since in active
        ],
    }
