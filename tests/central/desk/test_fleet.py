"""Ingest of a real gateway's reporter, several ingesting desks in one group, the retention."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import URL

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import (
    desk_alarms,
    desk_audit,
    desk_camera_samples,
    desk_cameras,
    desk_events,
    desk_gateway_samples,
    desk_gateways,
)
from central.desk.ingest.store import DAY_S
from gateway.daemon.alarms import CameraFacts, GatewayFacts
from gateway.daemon.reporting import Reporter
from testbeds.mosquitto import MosquittoServer
from tests.support.mqtt_fixtures import Probe, settings_for
from tests.support.waiting import wait_until
from uplink.mqtt import GatewayLink
from uplink.settings import MqttSettings

from .rig import T0, desk_config, encode, health, rows, running_ingest, wait_handled

pytestmark = pytest.mark.integration
ProbeFactory = Callable[[MqttSettings, list[str]], Probe]


def _camera(name: str, online: bool) -> CameraFacts:
    return CameraFacts(
        camera=name, online=online, fps=25.0 if online else 0.0, bitrate_bps=2e6,
        last_frame_age_s=0.1 if online else 30.0, last_segment_age_s=5.0 if online else 200.0,
        reconnects=1, clock_offset_s=0.1, last_error=None if online else "end of stream",
        frozen=False, segment_seconds=60,
    )  # fmt: skip


def test_the_gateways_own_reporter_is_ingested(
    tmp_path: Path, mqtt_broker: MosquittoServer, catalogue_url: URL
) -> None:
    now = time.time()
    facts = GatewayFacts(
        ts=now, uptime_s=600.0, free_bytes=8 * 10**10, used_bytes=5 * 10**9,
        quota_bytes=5 * 10**11, min_free_bytes=10**9, backlog_count=3, backlog_bytes=4096,
        oldest_unconfirmed_age_s=12.0, upload_state="connected", minutes_left=5000.0,
        clock_synced=True, clock_est_error_s=0.01, tampered=0, unuploaded_purges=0,
        cameras=(_camera("gate-1", True), _camera("yard", False)),
    )  # fmt: skip
    config = desk_config(tmp_path, mqtt_broker, catalogue_url)
    with running_ingest(config) as (ingest, catalogue):
        link = GatewayLink(settings_for(mqtt_broker), "gw-post-01")
        link.start()
        try:
            assert link.wait_connected(30)
            Reporter(link, lambda: facts, 10.0).report()
            # state, health, 2 cameras, alarm_raised x2 (offline, recording stopped), alarms
            wait_handled(ingest, 7)
        finally:
            link.stop()
        (gateway,) = rows(catalogue, desk_gateways, "gateway")
        assert gateway["gateway"] == "gw-post-01"
        assert json.loads(gateway["health"])["upload"]["backlog_count"] == 3
        assert [c["camera"] for c in rows(catalogue, desk_cameras, "camera")] == ["gate-1", "yard"]
        (sample,) = rows(catalogue, desk_gateway_samples)
        assert (sample["cameras_recording"], sample["cameras_total"]) == (1, 2)
        assert sample["oldest_unconfirmed_age_s"] == 12.0
        cameras = [(s["camera"], s["recording"]) for s in rows(catalogue, desk_camera_samples)]
        assert sorted(cameras) == [("gate-1", True), ("yard", False)]
        alarms = [(a["camera"], a["alarm"]) for a in rows(catalogue, desk_alarms)]
        assert sorted(alarms) == [("yard", "camera_offline"), ("yard", "recording_stopped")]
        kinds = [e["kind"] for e in rows(catalogue, desk_events)]
        assert kinds == ["alarm_raised", "alarm_raised"]


def test_desks_in_one_group_split_live_messages_and_each_reads_the_retained_values(
    tmp_path: Path, mqtt_broker: MosquittoServer, probe_factory: ProbeFactory, catalogue_url: URL
) -> None:
    gw = probe_factory(settings_for(mqtt_broker), [])
    gw.publish("evgw/gw-1/state", b"offline", retain=True)
    gw.publish("evgw/gw-1/health", encode(health(T0)), retain=True)
    group = 'ingest_group = "desks"\nsample_s = 0'
    first = desk_config(tmp_path / "a", mqtt_broker, catalogue_url, group)
    second = desk_config(tmp_path / "b", mqtt_broker, catalogue_url, group)
    with running_ingest(first) as (one, catalogue), running_ingest(second) as (two, _):
        wait_handled(one, 2)
        wait_handled(two, 2)  # retained values reach every member
        (alarm,) = rows(catalogue, desk_alarms)  # one gateway_offline, though both saw it
        assert alarm["alarm"] == "gateway_offline"
        sent = 100
        for seq in range(sent):
            event = {"ts": T0 + seq, "kind": "segment_confirmed", "camera": "c1", "seq": seq}
            gw.client.publish("evgw/gw-1/events", encode(event), qos=1)
        wait_until(
            "every event stored by one desk",
            lambda: one.counts().stored + two.counts().stored >= 4 + sent,
        )
        assert one.counts().stored > 2 and two.counts().stored > 2  # both took a share
        seqs = sorted(json.loads(e["body"])["seq"] for e in rows(catalogue, desk_events))
        assert seqs == list(range(sent))  # each exactly once
        assert len(rows(catalogue, desk_gateway_samples)) == 1  # the same report, one sample


def test_retention_deletes_old_history_but_never_the_audit_or_an_open_alarm(
    tmp_path: Path, mqtt_broker: MosquittoServer, catalogue_url: URL
) -> None:
    now = time.time()
    old, recent = now - 31 * DAY_S, now - 29 * DAY_S
    catalogue = Catalogue.open(catalogue_url)
    try:
        with catalogue.transaction() as tx:
            for ts in (old, recent):
                tx.c.execute(insert(desk_gateway_samples).values(gateway="gw-1", ts=ts))
                tx.c.execute(insert(desk_camera_samples).values(gateway="gw-1", camera="c1", ts=ts))
                tx.c.execute(
                    insert(desk_events).values(
                        gateway="gw-1", camera="", kind="gap_open", ts=ts, received_at=ts, body="{}"
                    )
                )
                tx.c.execute(
                    insert(desk_audit).values(
                        at=ts, user="admin", action="login", target="", detail="", address="::1"
                    )
                )
                still_open = [("c2", None)] if ts == old else []
                for camera, cleared in [("c1", ts), *still_open]:
                    tx.c.execute(
                        insert(desk_alarms).values(
                            gateway="gw-1",
                            camera=camera,
                            alarm="camera_offline",
                            since=ts,
                            detail="",
                            raised_at=ts,
                            cleared_at=cleared,
                        )
                    )
    finally:
        catalogue.close()
    config = desk_config(tmp_path, mqtt_broker, catalogue_url, "history_days = 30")
    with running_ingest(config) as (_, catalogue):
        for table in (desk_gateway_samples, desk_camera_samples, desk_events):
            assert [r["ts"] for r in rows(catalogue, table)] == [recent], table.name
        assert [r["at"] for r in rows(catalogue, desk_audit)] == [old, recent]
        alarms = [(a["camera"], a["since"]) for a in rows(catalogue, desk_alarms)]
        assert alarms == [("c2", old), ("c1", recent)]
