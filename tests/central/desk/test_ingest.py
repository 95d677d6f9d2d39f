"""Ingest against a real mosquitto and the catalogue on SQLite and PostgreSQL: what a gateway
publishes (the README's formats) becomes the desk's rows."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import (
    desk_alarms,
    desk_camera_samples,
    desk_cameras,
    desk_events,
    desk_gateway_samples,
    desk_gateways,
)
from central.desk.ingest.changes import fleet_version
from central.desk.ingest.service import start_ingest
from testbeds.mosquitto import MosquittoServer
from testbeds.postgres import PostgresServer
from tests.support.mqtt_fixtures import Probe, settings_for
from tests.support.waiting import wait_until
from uplink.mqtt_client import NOT_AUTHORISED
from uplink.settings import MqttSettings

from .rig import (
    T0,
    alarm_set,
    camera_health,
    desk_config,
    encode,
    health,
    rows,
    running_ingest,
    wait_handled,
)

pytestmark = pytest.mark.integration
ProbeFactory = Callable[[MqttSettings, list[str]], Probe]


def test_a_gateways_reports_become_the_desks_rows(
    tmp_path: Path, mqtt_broker: MosquittoServer, probe_factory: ProbeFactory, catalogue_url: URL
) -> None:
    gw = probe_factory(settings_for(mqtt_broker), [])
    now = time.time()
    # retained before the desk starts: it reads them when it subscribes
    gw.publish("evgw/gw-1/state", b"online", retain=True)
    gw.publish("evgw/gw-1/health", encode(health(now - 5)), retain=True)
    config = desk_config(tmp_path, mqtt_broker, catalogue_url)
    with running_ingest(config) as (ingest, catalogue):
        wait_handled(ingest, 2)
        assert fleet_version(catalogue) >= 1
        version = fleet_version(catalogue)
        for camera in ("gate-1", "yard"):
            topic = f"evgw/gw-1/cameras/{camera}/health"
            gw.publish(topic, encode(camera_health(now - 4, camera)), retain=True)
        alarms = alarm_set(now - 4, ("clock_drift", "yard", now - 30))
        gw.publish("evgw/gw-1/alarms", encode(alarms), retain=True)
        event = {"ts": now - 3, "kind": "segment_confirmed", "camera": "gate-1", "seq": 7}
        gw.publish("evgw/gw-1/events", encode(event))
        assert ingest.wait_stored(6, 30)
        assert fleet_version(catalogue) > version

        (gateway,) = rows(catalogue, desk_gateways, "gateway")
        assert gateway["state"] == "online" and gateway["last_seen"] == pytest.approx(now - 4)
        assert json.loads(gateway["health"]) == health(now - 5)
        assert gateway["health_at"] == pytest.approx(now - 5)
        assert json.loads(gateway["alarms"]) == alarms
        cameras = rows(catalogue, desk_cameras, "camera")
        assert [(c["gateway"], c["camera"]) for c in cameras] == [
            ("gw-1", "gate-1"),
            ("gw-1", "yard"),
        ]
        assert json.loads(cameras[1]["health"]) == camera_health(now - 4, "yard")
        (sample,) = rows(catalogue, desk_gateway_samples)
        assert sample | {"id": 0} == {
            "id": 0, "gateway": "gw-1", "ts": pytest.approx(now - 5), "backlog_count": 2,
            "backlog_bytes": 1579, "oldest_unconfirmed_age_s": 4.0, "minutes_left": 5120.5,
            "disk_free_bytes": 83899789312, "disk_used_bytes": 5230000000,
            "cameras_recording": 2, "cameras_total": 2,
        }  # fmt: skip
        samples = rows(catalogue, desk_camera_samples)
        assert [(s["camera"], s["online"], s["recording"], s["fps"]) for s in samples] == [
            ("gate-1", True, True, 25.0),
            ("yard", True, True, 25.0),
        ]
        (alarm,) = rows(catalogue, desk_alarms)
        assert (alarm["gateway"], alarm["camera"], alarm["alarm"]) == (
            "gw-1",
            "yard",
            "clock_drift",
        )
        assert alarm["since"] == pytest.approx(now - 30) and alarm["cleared_at"] is None
        assert alarm["detail"] == "clock_drift detail"
        (stored,) = rows(catalogue, desk_events)
        assert (stored["gateway"], stored["camera"], stored["kind"]) == (
            "gw-1",
            "gate-1",
            "segment_confirmed",
        )
        assert json.loads(stored["body"]) == event and stored["ts"] == pytest.approx(now - 3)


def test_samples_are_kept_at_most_once_per_sample_s(
    tmp_path: Path, mqtt_broker: MosquittoServer, probe_factory: ProbeFactory, catalogue_url: URL
) -> None:
    gw = probe_factory(settings_for(mqtt_broker), [])
    config = desk_config(tmp_path, mqtt_broker, catalogue_url, "sample_s = 60")
    with running_ingest(config) as (ingest, catalogue):
        for i, ts in enumerate([T0, T0 + 10, T0 + 59, T0 + 60, T0 + 70, T0 + 125]):
            gw.publish("evgw/gw-1/health", encode(health(ts, backlog=i)), retain=True)
        gw.publish("evgw/gw-1/cameras/c1/health", encode(camera_health(T0, "c1")), retain=True)
        wait_handled(ingest, 7)
        assert [(s["ts"], s["backlog_count"]) for s in rows(catalogue, desk_gateway_samples)] == [
            (T0, 0),
            (T0 + 60, 3),
            (T0 + 125, 5),
        ]
        (gateway,) = rows(catalogue, desk_gateways, "gateway")
        assert json.loads(gateway["health"])["upload"]["backlog_count"] == 5  # always the newest
        assert gateway["state"] == "" and gateway["last_seen"] == T0 + 125
    # a restarted desk reads the retained values again: no second sample of the same report
    with running_ingest(config) as (ingest, catalogue):
        wait_handled(ingest, 2)
        assert len(rows(catalogue, desk_gateway_samples)) == 3
        assert len(rows(catalogue, desk_camera_samples)) == 1


def test_events_keep_their_order_through_batches(
    tmp_path: Path, mqtt_broker: MosquittoServer, probe_factory: ProbeFactory, catalogue_url: URL
) -> None:
    gw = probe_factory(settings_for(mqtt_broker), [])
    config = desk_config(tmp_path, mqtt_broker, catalogue_url)
    with running_ingest(config) as (ingest, catalogue):
        sent = 300
        for seq in range(sent):
            event = {"ts": T0 + seq, "kind": "segment_confirmed", "camera": "c1", "seq": seq}
            gw.client.publish("evgw/gw-1/events", encode(event), qos=1)
        wait_handled(ingest, sent)
        stored = [json.loads(e["body"])["seq"] for e in rows(catalogue, desk_events)]
        assert stored == list(range(sent))
        assert ingest.counts().batches < sent / 10  # many per transaction


def test_reconnects_after_the_broker_restarts(
    tmp_path: Path, mqtt_broker: MosquittoServer, probe_factory: ProbeFactory, catalogue_url: URL
) -> None:
    config = desk_config(tmp_path, mqtt_broker, catalogue_url)
    with running_ingest(config) as (ingest, catalogue):
        mqtt_broker.restart()
        wait_until("ingest lost the broker", lambda: not ingest.connected.is_set(), 30)
        wait_until("ingest reconnected", ingest.connected.is_set, 30)
        gw = probe_factory(settings_for(mqtt_broker), [])
        gw.publish("evgw/gw-1/events", encode({"ts": T0, "kind": "gap_open", "camera": "c1"}))
        wait_handled(ingest, 1)
        assert [e["kind"] for e in rows(catalogue, desk_events)] == ["gap_open"]


def test_ingest_uses_tls_and_the_password_file(
    tmp_path: Path, mosquitto_factory: Callable[..., MosquittoServer], probe_factory: ProbeFactory
) -> None:
    broker = mosquitto_factory(tls=True, users={"desk": "s3cret-pass", "gw-1": "gw-pass"})
    secret = tmp_path / "mqtt.pass"
    secret.write_text("s3cret-pass\n")
    secret.chmod(0o600)
    url = URL.create("sqlite", database=str(tmp_path / "catalog.db"))
    mqtt = (
        f'tls = true\nca_file = "{broker.ca_file}"\nusername = "desk"\npassword_file = "{secret}"'
    )
    config = desk_config(tmp_path, broker, url, mqtt=mqtt)
    with running_ingest(config) as (ingest, catalogue):
        gw = probe_factory(settings_for(broker, username="gw-1", password="gw-pass"), [])
        gw.publish("evgw/gw-1/state", b"online", retain=True)
        wait_handled(ingest, 1)
        assert [g["state"] for g in rows(catalogue, desk_gateways, "gateway")] == ["online"]


def test_a_refused_password_is_said_in_words(
    tmp_path: Path, mosquitto_factory: Callable[..., MosquittoServer]
) -> None:
    broker = mosquitto_factory(users={"desk": "right"})
    url = URL.create("sqlite", database=str(tmp_path / "catalog.db"))
    config = desk_config(tmp_path, broker, url, mqtt='username = "desk"\npassword = "wrong"')
    catalogue = Catalogue.open(config.database)
    ingest = start_ingest(config, catalogue)
    try:
        wait_until("the refusal is known", lambda: ingest.last_error is not None)
        assert ingest.last_error == NOT_AUTHORISED and not ingest.connected.is_set()
    finally:
        ingest.stop()
        catalogue.close()


def test_what_comes_while_the_database_is_away_is_stored_when_it_is_back(
    tmp_path: Path,
    mqtt_broker: MosquittoServer,
    probe_factory: ProbeFactory,
    _postgres_installed: None,
) -> None:
    server = PostgresServer().start()  # its own, under /tmp: this test stops it
    try:
        config = desk_config(tmp_path, mqtt_broker, server.create_database("desk"))
        with running_ingest(config) as (ingest, catalogue):
            gw = probe_factory(settings_for(mqtt_broker), [])
            server.stop()
            for seq in range(20):
                event = {"ts": T0 + seq, "kind": "segment_confirmed", "camera": "c1", "seq": seq}
                gw.publish("evgw/gw-1/events", encode(event))
            wait_until("the catalogue refusal is known", lambda: ingest.last_error is not None)
            assert ingest.counts().stored == 0
            server.start()
            wait_handled(ingest, 20)
            assert ingest.counts().refused == {}
            stored = [json.loads(e["body"])["seq"] for e in rows(catalogue, desk_events)]
            assert stored == list(range(20))
    finally:
        server.stop()
        server.remove()
