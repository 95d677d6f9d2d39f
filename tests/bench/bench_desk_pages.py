"""Desk page times for a big fleet: `python -m tests.bench.bench_desk_pages [--gateways 500]
[--cameras 8] [--alarms 100] [--requests 100] [--database sqlite|postgresql]`.

The desk tables are filled as ingest leaves them for G gateways x C cameras (each gateway's and
camera's newest report in the gateways' own format, `bench_desk_ingest`'s payloads), `--alarms`
active alarms, and 24 h of samples for one gateway and its cameras (what its page plots). Then
the desk app (`create_app`) answers a logged-in officer's requests in process, through
Starlette's TestClient, one after another: the time of each request from send to the last byte
of its answer, server-side work plus the in-process client's small overhead, no network.
Printed per page: p50 and p95 (target: fleet page p95 < 300 ms), and the answer's size.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import insert
from starlette.testclient import TestClient

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import (
    desk_alarms,
    desk_camera_samples,
    desk_cameras,
    desk_gateway_samples,
    desk_gateways,
)
from central.config.load import load_central_config
from central.config.tables import EXAMPLE_KEY
from central.desk.web.accounts import save_user
from central.desk.web.app import create_app
from tests.bench.bench_archive_sync import catalogue_database
from tests.bench.bench_desk_ingest import _camera, _reports
from tests.central.boxes import central_toml

PAGES = ("/", "/fragments/fleet", "/alarms", "/metrics", "/gateways/gw-0000")
PASSWORD = "bench password 1"
DAY_S = 86400.0
SAMPLE_S = 60.0


def fill(catalogue: Catalogue, gateways: int, cameras: int, alarms: int, now: float) -> None:
    """The desk tables as ingest leaves them after a day of the fleet reporting."""
    with catalogue.transaction() as tx:
        gateway_rows, camera_rows = [], []
        for g in range(gateways):
            name = f"gw-{g:04d}"
            reports = {topic: body for topic, body, _ in _reports(g, cameras, 0, now)}
            health, alarmed = json.dumps(reports["health"]), json.dumps(reports["alarms"])
            gateway_rows.append(
                dict(gateway=name, state="online", state_at=now - 3600, health=health,
                     health_at=now, alarms=alarmed, last_seen=now)
            )  # fmt: skip
            camera_rows += [
                dict(gateway=name, camera=f"cam-{c}", last_seen=now,
                     health=json.dumps(_camera(now, f"cam-{c}", False)))
                for c in range(cameras)
            ]  # fmt: skip
        tx.c.execute(insert(desk_gateways), gateway_rows)
        tx.c.execute(insert(desk_cameras), camera_rows)
        tx.c.execute(insert(desk_alarms), [
            dict(gateway=f"gw-{a % gateways:04d}", camera=f"cam-{a % cameras}",
                 alarm="camera_offline", since=now - 60 - a, detail="end of stream",
                 raised_at=now - 60 - a)
            for a in range(alarms)
        ])  # fmt: skip
        times = [now - DAY_S + i * SAMPLE_S for i in range(int(DAY_S / SAMPLE_S))]
        tx.c.execute(insert(desk_gateway_samples), [
            dict(gateway="gw-0000", ts=t, backlog_count=i % 9, backlog_bytes=1579 * (i % 9),
                 oldest_unconfirmed_age_s=4.0, minutes_left=5120.0 - i / 60,
                 disk_free_bytes=8 * 10**10 - i, disk_used_bytes=5 * 10**9,
                 cameras_recording=cameras, cameras_total=cameras)
            for i, t in enumerate(times)
        ])  # fmt: skip
        tx.c.execute(insert(desk_camera_samples), [
            dict(gateway="gw-0000", camera=f"cam-{c}", ts=t, online=True, recording=True,
                 fps=25.0, bitrate_bps=2_000_000 + i, last_frame_age_s=0.01)
            for c in range(cameras) for i, t in enumerate(times)
        ])  # fmt: skip


def log_in(client: TestClient) -> None:
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    if found is None:
        raise SystemExit("the login page has no CSRF token: the desk changed, fix the benchmark")
    form = {"name": "bench", "password": PASSWORD, "csrf": found.group(1)}
    if client.post("/login", data=form, follow_redirects=False).status_code != 303:
        raise SystemExit("the benchmark user cannot log in")


def timed(client: TestClient, path: str, requests: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(requests):
        began = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - began)
        if answer.status_code != 200:
            raise SystemExit(f"GET {path} answered {answer.status_code}")
        size = len(answer.content)
    return times, size


def show(page: str, times: list[float], size: int) -> None:
    p50 = statistics.median(times) * 1000
    p95 = statistics.quantiles(times, n=20)[-1] * 1000
    print(f"  {page:<20} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {size / 1024:7.1f} KiB")


def measure(args: argparse.Namespace, root: Path) -> None:
    with catalogue_database(args.database, root) as (url, _):
        extra = "[desk]\ningest = false\nmetrics_allow = ['127.0.0.1/32', '::1/128']\n"
        path = central_toml(root, "http://127.0.0.1:9", "bench", url, {"gw-x": EXAMPLE_KEY},
                            extra=extra)  # fmt: skip
        config = load_central_config(path)
        catalogue = Catalogue.open(config.database)
        try:
            now = time.time()
            fill(catalogue, args.gateways, args.cameras, args.alarms, now)
            save_user(catalogue, "bench", "admin", PASSWORD, now)
            with TestClient(create_app(config, catalogue)) as client:
                log_in(client)
                print(
                    f"{args.gateways} gateways x {args.cameras} cameras, {args.alarms} active "
                    f"alarms, {args.database}; {args.requests} requests per page, in process:"
                )
                for page in PAGES:
                    timed(client, page, 3)  # warm the templates and the database's cache
                    show(page, *timed(client, page, args.requests))
        finally:
            catalogue.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateways", type=int, default=500)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--alarms", type=int, default=100)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="evgw-bench-desk-") as tmp:
        measure(args, Path(tmp))


if __name__ == "__main__":
    main(sys.argv[1:])
