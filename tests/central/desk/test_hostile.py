"""Whoever may publish under the topic root can send anything: the desk counts it, says so
once per kind, stores none of it, and goes on storing the rest."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from central.catalogue.desk_schema import (
    desk_alarms,
    desk_camera_samples,
    desk_cameras,
    desk_events,
    desk_gateway_samples,
    desk_gateways,
)
from testbeds.mosquitto import MosquittoServer
from tests.support.mqtt_fixtures import Probe, settings_for
from uplink.settings import MqttSettings

from .rig import T0, camera_health, desk_config, encode, health, rows, running_ingest, wait_handled

pytestmark = pytest.mark.integration
ProbeFactory = Callable[[MqttSettings, list[str]], Probe]

HOSTILE = [
    ("evgw/gw-1/health", b"{not json", "not_json"),
    ("evgw/gw-1/health", b'{"ts":"yesterday"}', "wrong_type"),
    ("evgw/gw-1/health", b'{"ts":1,"upload":{"backlog_count":1e999}}', "wrong_type"),
    ("evgw/gw-1/health", b'{"ts":1,"upload":{"backlog_count":' + b"9" * 30 + b"}}", "wrong_type"),
    ("evgw/gw-1/health", b"[" * 50_000 + b"]" * 50_000, "too_large"),
    ("evgw/gw-1/cameras/c1/health", b'{"ts":1,"fps":"25"}', "wrong_type"),
    ("evgw/gw-1/alarms", b'{"ts":1,"active":[{"alarm":"x","since":1,"detail":"\\u0000"}]}',
     "bad_text"),
    ("evgw/gw-1/events", b'{"ts":1,"kind":"alarm_raised","alarm":"x","detail":"\\udfff"}',
     "bad_text"),
    ("evgw/gw-1/state", b"rebooting", "bad_state"),
    ("evgw/gw 1/health", encode(health(T0)), "bad_topic"),
    ("evgw/网关/health", encode(health(T0)), "bad_topic"),
    ("evgw/gw-1/cameras/c'1;--/health", encode(camera_health(T0, "c1")), "bad_topic"),
    ("evgw/" + "g" * 60_000 + "/health", encode(health(T0)), "bad_topic"),
    ("evgw/gw-1/events", b"", "empty"),
]  # fmt: skip


def test_hostile_messages_are_counted_logged_once_and_never_stored(
    tmp_path: Path,
    mqtt_broker: MosquittoServer,
    probe_factory: ProbeFactory,
    catalogue_url: URL,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "central.desk.ingest")
    attacker = probe_factory(settings_for(mqtt_broker), [])
    config = desk_config(tmp_path, mqtt_broker, catalogue_url)
    with running_ingest(config) as (ingest, catalogue):
        for _ in range(2):
            for topic, payload, _reason in HOSTILE:
                attacker.client.publish(topic, payload, qos=1)
        good = {"ts": T0, "kind": "gap_open", "camera": "c1", "reason": "camera_offline"}
        attacker.publish("evgw/gw-1/events", encode(good))
        wait_handled(ingest, 2 * len(HOSTILE) + 1)

        counts = ingest.counts()
        expected: dict[str, int] = {}
        for _topic, _payload, reason in HOSTILE:
            expected[reason] = expected.get(reason, 0) + 2
        assert counts.refused == expected and counts.stored == 1
        assert [e["kind"] for e in rows(catalogue, desk_events)] == ["gap_open"]
        tables = (desk_gateways, desk_cameras, desk_gateway_samples, desk_camera_samples)
        for table in (*tables, desk_alarms):
            assert rows(catalogue, table, "gateway") == [], table.name

    said = [r.getMessage() for r in caplog.records if "refusing" in r.getMessage()]
    assert sorted(m.split("(")[1].split(")")[0] for m in said) == sorted(expected)
    assert all(len(m) < 400 for m in said)  # a 60,000-character topic is not logged whole
