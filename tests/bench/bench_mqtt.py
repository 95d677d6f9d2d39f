"""MQTT reporting cost: `python3 -m tests.bench.bench_mqtt [SECONDS]` from the repo root.

Publishes retained health for 16 cameras plus gateway health and alarms once a second (the
issue's target: ≤ 1% of a core) to a local mosquitto, then prints this process's CPU time
(all threads, paho's network thread included) and the broker's, as % of one core.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from testbeds.mosquitto import MosquittoServer
from uplink.mqtt import GatewayLink
from uplink.settings import MqttSettings

CAMERAS = 16


def _proc_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def camera_health(i: int, tick: int) -> dict[str, object]:
    return {
        "online": True,
        "recording": True,
        "fps": 25.0,
        "bitrate_kbps": 2048 + i,
        "last_frame_age_s": 0.04,
        "last_sealed_age_s": tick % 10,
        "reconnects": 0,
        "clock_offset_s": 0.012,
        "last_error": None,
    }


def run(seconds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, MosquittoServer(tmp) as broker:
        assert broker.pid is not None
        link = GatewayLink(MqttSettings(broker.host, broker.port), "bench")
        with link:
            if not link.wait_connected(60):
                sys.exit(f"cannot connect: {link.last_error}")
            cpu0, broker0, wall0 = time.process_time(), _proc_cpu_s(broker.pid), time.monotonic()
            for tick in range(seconds):
                for i in range(CAMERAS):
                    link.publish_retained(f"cameras/cam{i:02d}/health", camera_health(i, tick))
                link.publish_retained("health", {"disk_free_bytes": 10**12, "uptime_s": tick})
                link.publish_retained("alarms", {"active": []})
                time.sleep(max(0.0, wall0 + tick + 1 - time.monotonic()))
            wall = time.monotonic() - wall0
            cpu = time.process_time() - cpu0
            broker_cpu = _proc_cpu_s(broker.pid) - broker0
    print(
        f"{seconds} s, {CAMERAS} cameras at 1 Hz: gateway {cpu / wall * 100:.2f}% of a core "
        f"({cpu * 1000 / seconds:.1f} ms CPU/s), broker {broker_cpu / wall * 100:.2f}%"
    )


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
