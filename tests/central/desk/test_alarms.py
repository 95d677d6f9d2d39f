"""Alarm occurrences from raised to cleared: the retained set, the events, and the desk's own
`gateway_offline` from a real last will (a gateway process killed under the broker)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import URL

from central.catalogue.desk_schema import desk_alarms, desk_gateways
from central.desk.ingest.alarms import GATEWAY_OFFLINE
from testbeds.mosquitto import MosquittoServer
from tests.support.mqtt_fixtures import Probe, settings_for
from tests.support.paths import REPO
from tests.support.waiting import wait_until
from uplink.mqtt import GatewayLink
from uplink.settings import MqttSettings

from .rig import T0, alarm_set, desk_config, encode, handled, rows, running_ingest, wait_handled

pytestmark = pytest.mark.integration
ProbeFactory = Callable[[MqttSettings, list[str]], Probe]


def _open(alarms: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(a["camera"], a["alarm"]) for a in alarms if a["cleared_at"] is None]


def test_an_alarm_is_raised_cleared_and_keeps_its_acknowledgement(
    tmp_path: Path, mqtt_broker: MosquittoServer, probe_factory: ProbeFactory, catalogue_url: URL
) -> None:
    gw = probe_factory(settings_for(mqtt_broker), [])
    config = desk_config(tmp_path, mqtt_broker, catalogue_url)
    with running_ingest(config) as (ingest, catalogue):
        offline = ("camera_offline", "gate-1", T0)
        gw.publish("evgw/gw-1/alarms", encode(alarm_set(T0, offline)), retain=True)
        # the event for the same alarm comes with another time: still the same occurrence
        raised = {"ts": T0 + 0.3, "kind": "alarm_raised", "alarm": "camera_offline",
                  "camera": "gate-1", "detail": "end of stream"}  # fmt: skip
        gw.publish("evgw/gw-1/events", encode(raised))
        disk = {"ts": T0 + 1, "kind": "alarm_raised", "alarm": "disk_low", "camera": None}
        gw.publish("evgw/gw-1/events", encode(disk))
        wait_handled(ingest, 3)
        (first, second) = rows(catalogue, desk_alarms)
        assert _open([first, second]) == [("gate-1", "camera_offline"), ("", "disk_low")]
        assert (first["since"], first["detail"]) == (T0, "camera_offline detail")
        with catalogue.transaction() as tx:  # the web app acknowledges it
            ack = {"acked_at": T0 + 5, "acked_by": "desk-officer", "ack_comment": "sent a car"}
            tx.c.execute(update(desk_alarms).where(desk_alarms.c.id == first["id"]).values(ack))

        gw.publish("evgw/gw-1/alarms", encode(alarm_set(T0 + 10, ("disk_low", None, T0 + 1))))
        wait_handled(ingest, 4)
        first, second = rows(catalogue, desk_alarms)
        assert _open([first, second]) == [("", "disk_low")]
        assert first["cleared_at"] is not None and first["acked_by"] == "desk-officer"
        assert first["ack_comment"] == "sent a car"

        cleared = {"ts": T0 + 20, "kind": "alarm_cleared", "alarm": "disk_low", "camera": None}
        gw.publish("evgw/gw-1/events", encode(cleared))
        again = alarm_set(T0 + 30, ("camera_offline", "gate-1", T0 + 25))
        gw.publish("evgw/gw-1/alarms", encode(again))
        wait_handled(ingest, 6)
        alarms = rows(catalogue, desk_alarms)
        assert [(a["alarm"], a["since"]) for a in alarms] == [
            ("camera_offline", T0),
            ("disk_low", T0 + 1),
            ("camera_offline", T0 + 25),  # a new occurrence, not the acknowledged one reopened
        ]
        assert _open(alarms) == [("gate-1", "camera_offline")]


@pytest.fixture
def gateway_process(mqtt_broker: MosquittoServer) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    """Start a real `GatewayLink` (last will `offline`) in a process the test can kill."""
    started: list[subprocess.Popen[str]] = []
    script = f"""
import sys
from uplink.mqtt import GatewayLink
from uplink.settings import MqttSettings
link = GatewayLink(MqttSettings(host="{mqtt_broker.host}", port={mqtt_broker.port},
                                keepalive_s=5), "gw-1")
link.start()
assert link.wait_connected(30)
print("connected", flush=True)
sys.stdin.read()
"""

    def start() -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", script], cwd=REPO, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "connected"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_a_gateway_lost_raises_gateway_offline_until_it_is_back(
    tmp_path: Path,
    mqtt_broker: MosquittoServer,
    catalogue_url: URL,
    gateway_process: Callable[[], subprocess.Popen[str]],
) -> None:
    config = desk_config(tmp_path, mqtt_broker, catalogue_url)
    with running_ingest(config) as (ingest, catalogue):
        proc = gateway_process()
        wait_handled(ingest, 1)
        assert [g["state"] for g in rows(catalogue, desk_gateways, "gateway")] == ["online"]
        assert rows(catalogue, desk_alarms) == []

        killed_at = time.time()
        proc.kill()  # no DISCONNECT: the broker publishes the last will
        wait_handled(ingest, 2)
        (gateway,) = rows(catalogue, desk_gateways, "gateway")
        assert gateway["state"] == "offline" and gateway["state_at"] >= killed_at
        (alarm,) = rows(catalogue, desk_alarms)
        assert (alarm["camera"], alarm["alarm"], alarm["cleared_at"]) == ("", GATEWAY_OFFLINE, None)
        assert alarm["raised_at"] >= killed_at and "last will" in alarm["detail"]

    # a desk started later reads the retained `offline`: still one occurrence, still since then
    with running_ingest(config) as (ingest, catalogue):
        wait_handled(ingest, 1)
        assert [(a["id"], a["cleared_at"]) for a in rows(catalogue, desk_alarms)] == [
            (alarm["id"], None)
        ]
        (again,) = rows(catalogue, desk_gateways, "gateway")
        assert again["state_at"] == gateway["state_at"]  # offline since then, not since now

        gateway_process()
        wait_handled(ingest, 2)
        (back,) = rows(catalogue, desk_gateways, "gateway")
        assert back["state"] == "online" and back["last_seen"] >= killed_at
        (alarm,) = rows(catalogue, desk_alarms)
        assert alarm["cleared_at"] is not None and alarm["cleared_at"] >= alarm["raised_at"]


def test_a_clean_stop_is_offline_too(
    tmp_path: Path, mqtt_broker: MosquittoServer, catalogue_url: URL
) -> None:
    config = desk_config(tmp_path, mqtt_broker, catalogue_url)
    with running_ingest(config) as (ingest, catalogue):
        link = GatewayLink(settings_for(mqtt_broker), "gw-1")
        link.start()
        assert link.wait_connected(30)
        wait_handled(ingest, 1)
        link.stop()
        wait_until("offline stored", lambda: handled(ingest) >= 2)
        assert _open(rows(catalogue, desk_alarms)) == [("", GATEWAY_OFFLINE)]
