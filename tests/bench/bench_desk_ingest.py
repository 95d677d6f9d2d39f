"""Desk ingest under a fleet's load: `python -m tests.bench.bench_desk_ingest [--gateways 500]
[--cameras 8] [--interval 10] [--warmup 20] [--window 60] [--database sqlite|postgresql]
[--sample-s 60]`.

A local mosquitto; a publisher process speaks for G gateways, each reporting as a real gateway
does every `--interval` seconds (its health, the health of each of its C cameras, its retained
alarm set; one gateway in ten toggles a `camera_offline` alarm, with the alarm_raised /
alarm_cleared event), spread evenly over the interval; the desk's ingest (`start_ingest`) runs
in a process of its own, so its CPU (user + system from /proc, over a window after a warm-up)
is its alone. Printed: ingest CPU as a share of one core (target < 25 %), messages received
and stored per second, rows written, its RSS, and beside them the CPU of the publisher,
mosquitto and the database server (PostgreSQL only; SQLite works inside the ingest process).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import (
    desk_alarms,
    desk_camera_samples,
    desk_events,
    desk_gateway_samples,
)
from central.config.load import load_central_config
from central.config.tables import EXAMPLE_KEY
from testbeds.mosquitto import MosquittoServer
from tests.bench.bench_archive_sync import catalogue_database
from tests.central.boxes import central_toml

REPO = Path(__file__).resolve().parents[2]
TICKS = os.sysconf("SC_CLK_TCK")
HISTORY = (desk_gateway_samples, desk_camera_samples, desk_alarms, desk_events)


@dataclass(frozen=True)
class Figures:
    gateways: int
    cameras: int
    window_s: float
    published_per_s: float  # what the publisher's schedule sends
    received_per_s: float
    stored_per_s: float
    refused: int
    dropped: int
    batches_per_s: float
    rows: dict[str, int]  # history rows written in the window, by table
    ingest_cpu: float  # share of one core
    ingest_rss_mib: float
    publisher_cpu: float
    broker_cpu: float
    database_cpu: float  # PostgreSQL's server processes; 0 on SQLite


# -- the gateways' side ----------------------------------------------------------------------


def _reports(gateway: int, cameras: int, round_: int, now: float) -> list[tuple[str, Any, bool]]:
    """(subtopic, payload, retained) a gateway publishes in one health interval."""
    offline = gateway % 10 == 0 and round_ % 2 == 1
    cams = [f"cam-{c}" for c in range(cameras)]
    out: list[tuple[str, Any, bool]] = []
    for c, cam in enumerate(cams):
        down = offline and c == 0
        out.append((f"cameras/{cam}/health", _camera(now, cam, down), True))
    health = {
        "ts": now, "version": "0.1.0", "uptime_s": 3600.0 + round_,
        "disk": {"free_bytes": 8 * 10**10 - round_, "used_bytes": 5 * 10**9, "quota_bytes": 10**12},
        "upload": {"backlog_count": round_ % 7, "backlog_bytes": 1579 * (round_ % 7),
                   "oldest_unconfirmed_age_s": 4.0, "state": "connected"},
        "minutes_left": 5120.5, "clock": {"synced": True, "est_error_s": 0.004},
        "cameras_recording": cameras - offline, "cameras_total": cameras, "dropped_events": 0,
    }  # fmt: skip
    out.append(("health", health, True))
    if gateway % 10 == 0 and round_ > 0:
        kind = "alarm_raised" if offline else "alarm_cleared"
        event = {"ts": now, "kind": kind, "alarm": "camera_offline", "camera": cams[0]}
        out.append(("events", event | ({"detail": "end of stream"} if offline else {}), False))
    active = [{"alarm": "camera_offline", "camera": cams[0], "since": now, "detail": "eos"}]
    out.append(("alarms", {"ts": now, "active": active if offline else []}, True))
    return out


def _camera(now: float, camera: str, down: bool) -> dict[str, Any]:
    return {
        "ts": now, "camera": camera, "online": not down, "recording": not down,
        "fps": 0.0 if down else 25.0, "bitrate_bps": 0 if down else 2063081,
        "last_frame_age_s": 0.01, "last_segment_age_s": 4.2, "reconnects": 1,
        "clock_offset_s": -0.3, "last_error": "end of stream" if down else None, "frozen": False,
        "segment_seconds": 60, "disk_paused": False, "rejected_input": 0, "identity_event": None,
        "identity_detail": None, "identity_event_age_s": None,
    }  # fmt: skip


def publish_main(host: str, port: int, gateways: int, cameras: int, interval: float) -> None:
    """Child: publish for every gateway, evenly spread, until stdin closes."""
    client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-fleet")
    client.max_queued_messages_set(0)
    client.connect(host, port, 30)
    client.loop_start()
    stop = _stop_on_stdin_eof()
    for g in range(gateways):
        client.publish(f"evgw/gw-{g:04d}/state", b"online", qos=1, retain=True)
    print("ready", flush=True)
    start = time.monotonic()
    for tick in range(sys.maxsize):
        round_, g = divmod(tick, gateways)
        if stop.wait(max(0.0, start + tick * interval / gateways - time.monotonic())):
            break
        for subtopic, payload, retained in _reports(g, cameras, round_, time.time()):
            data = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
            client.publish(f"evgw/gw-{g:04d}/{subtopic}", data, qos=1, retain=retained)
    client.disconnect()
    client.loop_stop()


def _stop_on_stdin_eof() -> threading.Event:
    stop = threading.Event()

    def watch() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch, name="stdin", daemon=True).start()
    return stop


# -- the desk's side -------------------------------------------------------------------------


def ingest_main(config_path: Path) -> None:
    """Child: run ingest; a JSON line of its counts every 0.25 s until stdin closes."""
    from central.desk.ingest.service import start_ingest

    config = load_central_config(config_path)
    catalogue = Catalogue.open(config.database)
    ingest = start_ingest(config, catalogue)
    if not ingest.connected.wait(30):
        raise SystemExit(f"ingest did not connect: {ingest.last_error}")
    stop = _stop_on_stdin_eof()
    while not stop.wait(0.25):
        counts = ingest.counts()
        line = {"received": counts.received, "stored": counts.stored, "batches": counts.batches,
                "refused": sum(counts.refused.values()), "dropped": counts.dropped}  # fmt: skip
        print(json.dumps(line), flush=True)
    ingest.stop()
    catalogue.close()


class Child:
    """A benchmark child process; its newest stdout line is kept by a reader thread."""

    def __init__(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "tests.bench.bench_desk_ingest", *args]
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.last = ""
        self._first = threading.Event()
        threading.Thread(target=self._read, name="child-out", daemon=True).start()
        if not self._first.wait(60):
            self.close()
            raise SystemExit(f"benchmark child {args[0]} did not start")

    def _read(self) -> None:
        out: IO[str] | None = self.proc.stdout
        assert out is not None
        for line in out:
            self.last = line.strip()
            self._first.set()

    def counts(self) -> dict[str, int]:
        value: dict[str, int] = json.loads(self.last)
        return value

    def cpu_s(self) -> float:
        return process_tree_cpu_s(self.proc.pid)

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) / 1024

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def process_tree_cpu_s(pid: int | None) -> float:
    """User + system CPU of `pid`, its live children and its reaped ones (0 without a pid)."""
    if pid is None:
        return 0.0
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if stat.parent.name == str(pid):
            total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        elif fields[1] == str(pid):  # ppid
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def history_rows(catalogue: Catalogue) -> dict[str, int]:
    with catalogue.transaction() as tx:
        return {t.name: int(tx.c.scalar(select(func.count()).select_from(t)) or 0) for t in HISTORY}


def measure(args: argparse.Namespace, root: Path) -> Figures:
    """Run the fleet against one ingest; the figures of the window after the warm-up."""
    with (
        MosquittoServer(root / "mosquitto") as broker,
        catalogue_database(args.database, root) as (url, db_pid),
    ):
        extra = f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        extra += f"[desk]\nsample_s = {args.sample_s}\n"
        config = central_toml(
            root, "http://127.0.0.1:9", "bench", url, {"gw": EXAMPLE_KEY}, extra=extra
        )
        catalogue = Catalogue.open(load_central_config(config).database)
        ingest = Child("ingest", str(config))
        fleet = Child(
            "publish", broker.host, str(broker.port), str(args.gateways), str(args.cameras),
            str(args.interval),
        )  # fmt: skip
        try:
            time.sleep(args.warmup)  # the fleet's first round: every key's first sample
            before = _snapshot(ingest, fleet, broker.pid, db_pid, catalogue)
            time.sleep(args.window)
            after = _snapshot(ingest, fleet, broker.pid, db_pid, catalogue)
            rss = ingest.rss_mib()
        finally:
            fleet.close()
            ingest.close()
            catalogue.close()
    per_s = {k: (after[k] - before[k]) / args.window for k in before if k != "rows"}
    rows = {k: after["rows"][k] - before["rows"][k] for k in after["rows"]}
    per_gateway = args.cameras + 2 + 0.1  # cameras, health, alarms; an event from one in ten
    return Figures(
        gateways=args.gateways,
        cameras=args.cameras,
        window_s=args.window,
        published_per_s=args.gateways * per_gateway / args.interval,
        received_per_s=per_s["received"],
        stored_per_s=per_s["stored"],
        refused=after["refused"],
        dropped=after["dropped"],
        batches_per_s=per_s["batches"],
        rows=rows,
        ingest_cpu=per_s["ingest_cpu"],
        ingest_rss_mib=rss,
        publisher_cpu=per_s["publisher_cpu"],
        broker_cpu=per_s["broker_cpu"],
        database_cpu=per_s["database_cpu"],
    )


def _snapshot(
    ingest: Child, fleet: Child, broker_pid: int | None, db_pid: int | None, catalogue: Catalogue
) -> dict[str, Any]:
    counts = ingest.counts()
    return {
        **counts,
        "ingest_cpu": ingest.cpu_s(),
        "publisher_cpu": fleet.cpu_s(),
        "broker_cpu": process_tree_cpu_s(broker_pid),
        "database_cpu": process_tree_cpu_s(db_pid),
        "rows": history_rows(catalogue),
    }


def show(f: Figures, database: str) -> None:
    print(
        f"desk ingest, {f.gateways} gateways x {f.cameras} cameras, {database}, "
        f"{f.window_s:g} s window after the warm-up:"
    )
    print(f"  ingest CPU          {100 * f.ingest_cpu:6.1f} % of a core (target < 25 %)")
    print(f"  ingest RSS          {f.ingest_rss_mib:6.1f} MiB")
    print(
        f"  messages            {f.published_per_s:6.0f}/s published, {f.received_per_s:6.0f}/s "
        f"received, {f.stored_per_s:6.0f}/s stored, {f.refused} refused, {f.dropped} dropped"
    )
    per_batch = f.stored_per_s / f.batches_per_s if f.batches_per_s else 0.0
    print(f"  transactions        {f.batches_per_s:6.1f}/s ({per_batch:.0f} messages each)")
    print("  history rows        " + ", ".join(f"{n} {t}" for t, n in f.rows.items()))
    print(
        f"  beside it           publisher {100 * f.publisher_cpu:.1f} %, mosquitto "
        f"{100 * f.broker_cpu:.1f} %, database server {100 * f.database_cpu:.1f} % of a core"
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["publish"]:
        host, port, gateways, cameras, interval = argv[1:6]
        return publish_main(host, int(port), int(gateways), int(cameras), float(interval))
    if argv[:1] == ["ingest"]:
        return ingest_main(Path(argv[1]))
    parser = argparse.ArgumentParser(prog="bench_desk_ingest", description=__doc__)
    parser.add_argument("--gateways", type=int, default=500)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sample-s", type=float, default=60.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-desk-") as root:
        show(measure(args, Path(root)), args.database)


if __name__ == "__main__":
    main(sys.argv[1:])
