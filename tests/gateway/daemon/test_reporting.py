"""The gateway reporting to a real mosquitto: payloads, alarms for a dead camera, events.

Commands against a running gateway: tests/gateway/cli/test_command.py."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from gateway.daemon.lifecycle import Gateway
from testbeds.mosquitto import MosquittoServer
from testbeds.rtsp import RtspTestServer
from tests.support.mqtt_fixtures import settings_for
from tests.support.recording import Cam, make_config, records, wall

pytestmark = pytest.mark.integration
ROOT = "evgw/gw-test"
INTERVAL_S = 2.0


def mqtt_section(broker: MosquittoServer) -> str:
    return (
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'
        f"health_interval_s = {INTERVAL_S}\nkeepalive_s = 5\n"
    )


def _is_event(topic: str, payload: bytes, kind: str, alarm: str) -> bool:
    if topic != f"{ROOT}/events":
        return False
    event = json.loads(payload)
    return bool(event.get("kind") == kind and event.get("alarm") == alarm)


def _frozen_cameras(messages: list[tuple[str, bytes, Any]]) -> set[str]:
    return {
        json.loads(p)["camera"]
        for t, p, _ in messages
        if _is_event(t, p, "alarm_raised", "camera_frozen")
    }


def test_health_alarms_and_events_for_a_killed_camera(
    rtsp_server_factory, mqtt_broker: MosquittoServer, probe_factory, tmp_path
) -> None:
    camera = rtsp_server_factory(["cam1:320x240@25"])
    config = make_config(
        tmp_path, [Cam("gate-1", camera.url("cam1"))], extra=mqtt_section(mqtt_broker)
    )
    probe = probe_factory(settings_for(mqtt_broker), [f"{ROOT}/#"])
    gateway = Gateway(config)
    gateway.start()
    try:
        probe.wait_for(lambda m: any(t == f"{ROOT}/state" and p == b"online" for t, p, _ in m))
        probe.wait_for(
            lambda m: any(
                t == f"{ROOT}/cameras/gate-1/health" and json.loads(p)["recording"] for t, p, _ in m
            ),
            timeout=20,
        )
        camera.kill()
        killed, seen = time.monotonic(), len(probe.messages)
        probe.wait_for(
            lambda m: any(
                _is_event(t, p, "alarm_raised", "camera_offline") for t, p, _ in m[seen:]
            ),
            timeout=2 * INTERVAL_S + 3,
        )
        assert time.monotonic() - killed <= 2 * INTERVAL_S + 3
        seen = len(probe.messages)
        camera.start()
        probe.wait_for(
            lambda m: any(
                _is_event(t, p, "alarm_cleared", "camera_offline") for t, p, _ in m[seen:]
            ),
            timeout=20,
        )
    finally:
        gateway.stop()
    probe.wait_for(lambda m: any(t == f"{ROOT}/state" and p == b"offline" for t, p, _ in m))

    health = probe.json_on(f"{ROOT}/health")[-1]
    assert {"ts", "version", "uptime_s", "disk", "upload", "minutes_left", "clock"} <= set(health)
    assert health["cameras_total"] == 1
    cam = probe.json_on(f"{ROOT}/cameras/gate-1/health")[-1]
    expected = {"online", "recording", "fps", "bitrate_bps", "last_frame_age_s", "frozen",
                "last_segment_age_s", "reconnects", "clock_offset_s", "last_error",
                "scene_still"}  # fmt: skip
    assert expected <= set(cam)
    assert cam["reconnects"] >= 1
    events = probe.json_on(f"{ROOT}/events")
    kinds = {e["kind"] for e in events}
    assert {"segment_sealed", "gap_open", "gap_close", "alarm_raised", "alarm_cleared"} <= kinds
    gap_open = next(e for e in events if e["kind"] == "gap_open")
    assert gap_open["camera"] == "gate-1" and gap_open["reason"] == "camera_offline"
    alarms = probe.json_on(f"{ROOT}/alarms")
    assert not any(a["alarm"] == "camera_offline" for a in alarms[-1]["active"]), alarms


def test_a_stuck_camera_raises_camera_frozen_and_a_still_scene_only_says_so(
    rtsp_server_factory, mqtt_broker: MosquittoServer, probe_factory, tmp_path
) -> None:
    """Stuck: a noise-free pattern standing still, recorded with and without the overlay (a
    passthrough camera judges keyframes only). Still: the same with sensor noise."""
    stuck = rtsp_server_factory(["stuck:320x240@25"], pattern="colors", speed=0)
    still = rtsp_server_factory(["still:320x240@25"], pattern="colors", speed=0, noise=0.03)
    moving = rtsp_server_factory(["cam1:320x240@25"])
    config = make_config(
        tmp_path,
        [
            Cam("frozen-1", stuck.url("stuck")),
            Cam("frozen-2", stuck.url("stuck"), overlay="passthrough"),
            Cam("still-1", still.url("still")),
            Cam("moving-1", moving.url("cam1")),
        ],
        extra=mqtt_section(mqtt_broker) + "frozen_after_s = 3.0\n",
    )
    probe = probe_factory(settings_for(mqtt_broker), [f"{ROOT}/#"])
    gateway = Gateway(config)
    gateway.start()
    cameras = ("frozen-1", "frozen-2", "still-1", "moving-1")
    try:
        probe.wait_for(  # three camera processes starting on a busy box: no timing asked here
            lambda m: all(
                any(t == f"{ROOT}/cameras/{c}/health" and json.loads(p)["online"] for t, p, _ in m)
                for c in cameras
            ),
            timeout=60,
        )
        seen = len(probe.messages)
        probe.wait_for(
            lambda m: {"frozen-1", "frozen-2"} <= _frozen_cameras(m),
            timeout=30,
        )
        probe.wait_for(
            lambda m: any(
                t == f"{ROOT}/cameras/still-1/health" and json.loads(p)["scene_still"]
                for t, p, _ in m[seen:]
            ),
            timeout=20,
        )
    finally:
        gateway.stop()
    raised = [e for e in probe.json_on(f"{ROOT}/events") if e.get("alarm") == "camera_frozen"]
    assert {e["camera"] for e in raised} == {"frozen-1", "frozen-2"}, "only the stuck camera froze"
    for camera in ("frozen-1", "frozen-2"):
        health = probe.json_on(f"{ROOT}/cameras/{camera}/health")[-1]
        assert health["frozen"] is True and health["online"] is True
        assert health["scene_still"] is False
    still_health = probe.json_on(f"{ROOT}/cameras/still-1/health")
    assert not any(h["frozen"] for h in still_health)
    moving_health = probe.json_on(f"{ROOT}/cameras/moving-1/health")
    assert not any(h["frozen"] or h["scene_still"] for h in moving_health)
    alarms = {a["alarm"] for r in probe.json_on(f"{ROOT}/alarms") for a in r["active"]}
    assert "camera_frozen" in alarms and not any("still" in a for a in alarms)


def test_broker_restart_loses_no_events_and_recording_goes_on(
    rtsp_server: RtspTestServer, mqtt_broker: MosquittoServer, probe_factory, tmp_path
) -> None:
    config = make_config(
        tmp_path, [Cam("gate-1", rtsp_server.url("cam1"))], extra=mqtt_section(mqtt_broker)
    )
    gateway = Gateway(config)
    gateway.start()
    try:
        assert gateway.link is not None and gateway.link.wait_connected(60)
        time.sleep(2)
        mqtt_broker.kill()
        killed = time.time()
        time.sleep(5)
        mqtt_broker.restart()
        probe = probe_factory(settings_for(mqtt_broker), [f"{ROOT}/#"])
        assert gateway.link.wait_connected(60)
        time.sleep(INTERVAL_S + 1)
    finally:
        gateway.stop()
    segments = records(config, "gate-1", "segment")
    assert [g.reason for g in records(config, "gate-1", "gap")] == ["startup"]
    during = [r.seq for r in segments if wall(r.end) > killed]
    assert len(during) >= 3, "recording went on while the broker was down"
    events = probe.json_on(f"{ROOT}/events")
    announced = [e["seq"] for e in events if e["kind"] == "segment_sealed"]
    assert set(during) <= set(announced), "events of the outage were buffered and delivered"
    assert announced == sorted(announced), "in order"
