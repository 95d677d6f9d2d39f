"""`evgw monitor`'s pure parts: the fleet view judged from MQTT payloads, and its table."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evgw.errors import UsageError
from evgw.local_time import CONFIG, named
from gateway.cli.broker import parse_broker
from gateway.cli.monitor import render
from uplink.fleet import FleetSnapshot, GatewayView
from uplink.fleet_view import FleetView, build_view

from .monitor_payloads import (
    NOW,
    camera_payload,
    gateway_row,
    gateway_view,
    health_payload,
    received,
)


def test_fresh_gateway_is_online_with_its_facts() -> None:
    row = gateway_row(
        gateway_view(health=health_payload(NOW - 5), cameras={"gate-1": camera_payload(NOW - 2)})
    )
    assert row.state == "online" and row.age_s == 2.0  # newest payload is the camera's
    assert (row.backlog_count, row.backlog_bytes) == (3, 4_500_000)
    assert row.oldest_unconfirmed_age_s == 75
    assert row.minutes_left == 812.4 and row.version == "0.1.0" and row.clock_synced is True
    assert row.alarm_count == 0
    (cam,) = row.cameras
    assert (cam.camera, cam.status, cam.fps, cam.last_segment_age_s) == ("gate-1", "OK", 25.0, 4.0)


def test_stale_is_judged_by_payload_ts_not_by_receive_time() -> None:
    # Retained values all arrive "now"; their own ts says they are two minutes old.
    view = gateway_view(
        health=health_payload(NOW - 120), cameras={"gate-1": camera_payload(NOW - 120)}
    )
    row = gateway_row(view)
    assert row.state == "STALE" and row.age_s == 120.0
    assert row.cameras[0].status == "STALE"
    assert gateway_row(view, stale_after=300).state == "online"


def test_one_fresh_camera_keeps_the_gateway_fresh_but_not_the_stale_camera() -> None:
    cams = {"a": camera_payload(NOW - 3, "a"), "b": camera_payload(NOW - 90, "b")}
    row = gateway_row(gateway_view(health=health_payload(NOW - 3), cameras=cams))
    assert row.state == "online"
    assert [(c.camera, c.status) for c in row.cameras] == [("a", "OK"), ("b", "STALE")]


def test_offline_via_state_wins_even_with_fresh_payloads() -> None:
    row = gateway_row(gateway_view(state="offline", health=health_payload(NOW - 1)))
    assert row.state == "offline"
    assert (
        gateway_row(gateway_view(state="offline", health=health_payload(NOW - 500))).state
        == "offline"
    )


def test_state_without_payloads_and_payloads_without_state() -> None:
    assert gateway_row(gateway_view()).state == "online"
    assert gateway_row(gateway_view(state=None, health=health_payload(NOW))).state == "unknown"
    assert gateway_row(gateway_view(state=None, health=health_payload(NOW - 99))).state == "STALE"


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({}, "OK"),
        ({"frozen": True, "fps": 5.0}, "FROZEN"),
        ({"online": False, "frozen": True}, "OFFLINE"),
        ({"recording": False}, "NOT RECORDING"),
        ({"frozen": True, "recording": False}, "FROZEN"),
        ({"online": None}, "UNKNOWN"),
    ],
)
def test_camera_status(extra: dict[str, Any], status: str) -> None:
    row = gateway_row(
        gateway_view(
            health=health_payload(NOW), cameras={"c": camera_payload(NOW - 1, "c", **extra)}
        )
    )
    assert row.cameras[0].status == status


def test_frozen_camera_keeps_its_reported_fps() -> None:
    cam = camera_payload(NOW, frozen=True, fps=5.0, last_error="picture unchanged for 20 s")
    (row,) = gateway_row(gateway_view(health=health_payload(NOW), cameras={"gate-1": cam})).cameras
    assert (row.status, row.fps, row.last_error) == ("FROZEN", 5.0, "picture unchanged for 20 s")


def test_alarms_counted_and_listed() -> None:
    alarms = {
        "ts": NOW - 4,
        "active": [
            {"alarm": "camera_offline", "camera": "gate-1", "since": NOW - 65, "detail": "x"},
            {"alarm": "disk_low", "camera": None, "since": NOW - 10, "detail": "12% free"},
        ],
    }
    row = gateway_row(gateway_view(health=health_payload(NOW - 5), alarms=alarms))
    assert row.alarm_count == 2 and row.age_s == 4.0
    assert [(a.alarm, a.camera) for a in row.alarms] == [
        ("camera_offline", "gate-1"),
        ("disk_low", None),
    ]
    assert gateway_row(gateway_view(alarms={"ts": NOW, "active": []})).alarm_count == 0


def test_malformed_payloads_read_as_missing_facts() -> None:
    view = gateway_view(
        health={"ts": "yesterday", "upload": [], "minutes_left": True, "clock": "x"},
        alarms={"active": [7, {"alarm": 3}]},
        cameras={"c": ["not", "an", "object"]},
    )
    row = gateway_row(view)
    assert row.state == "online" and row.age_s is None
    assert row.backlog_count is None and row.minutes_left is None and row.clock_synced is None
    assert [a.alarm for a in row.alarms] == ["?", "?"]
    assert row.cameras[0].status == "UNKNOWN"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_KEYED = st.fixed_dictionaries(
    {},
    optional={
        k: _JSON
        for k in ("ts", "upload", "clock", "active", "online", "frozen", "fps", "reconnects")
    },
)


@given(st.one_of(_JSON, _KEYED), st.one_of(_JSON, _KEYED), st.one_of(_JSON, _KEYED), _JSON)
def test_any_json_payload_gives_a_view_and_a_table(
    health: Any, alarms: Any, camera: Any, state: Any
) -> None:
    view = GatewayView(
        "gw", received(state), received(health), received(alarms), {"c": received(camera)}
    )
    fleet = build_view({"gw": view}, NOW, 30.0)
    assert "gw" in render(fleet)
    json.dumps(fleet.to_json())


def test_json_shape() -> None:
    snap: FleetSnapshot = {
        "gw1": gateway_view(health=health_payload(NOW), cameras={"c": camera_payload(NOW, "c")})
    }
    data = json.loads(json.dumps(build_view(snap, NOW, 30.0).to_json()))
    assert data["stale_after_s"] == 30.0
    (gw,) = data["gateways"]
    assert gw["gateway"] == "gw1" and gw["state"] == "online" and gw["alarms"] == []
    assert gw["cameras"][0]["camera"] == "c" and gw["cameras"][0]["status"] == "OK"


# -- pure table ------------------------------------------------------------------------------


def test_render_table_rows_cameras_and_alarms() -> None:
    snap: FleetSnapshot = {
        "gw-a": gateway_view(
            "gw-a",
            health=health_payload(NOW - 2),
            alarms={
                "ts": NOW,
                "active": [{"alarm": "camera_frozen", "camera": "gate-1", "since": NOW - 90}],
            },
            cameras={
                "gate-1": camera_payload(
                    NOW, frozen=True, last_error="picture unchanged\nfor 20 s"
                ),
                "yard": camera_payload(NOW, "yard"),
            },
        ),
        "gw-b": gateway_view("gw-b", state="offline", health=health_payload(NOW - 600)),
    }
    text = render(build_view(snap, NOW, 30.0), named("Asia/Shanghai", CONFIG))
    lines = text.splitlines()
    assert lines[0].startswith("evgw fleet at 2023-11-15 06:13:20 +08:00: 2 gateway(s)")
    header = next(i for i, line in enumerate(lines) if line.startswith("GATEWAY / CAMERA"))
    rows = lines[header + 1 : header + 5]
    assert rows[0].split()[:3] == ["gw-a", "online", "3"]
    assert "4.5 MB" in rows[0] and "1.2 min" in rows[0] and "812 min" in rows[0]
    assert rows[1].startswith("  gate-1") and "FROZEN" in rows[1] and "25.0" in rows[1]
    assert "picture unchanged for 20 s" in rows[1]
    assert rows[2].startswith("  yard") and " OK " in rows[2]
    assert rows[3].split()[:2] == ["gw-b", "offline"] and "10.0 min ago" in rows[3]
    assert "  gw-a/gate-1: camera_frozen for 1.5 min" in lines
    # columns line up: every status starts where the STATE header does
    col = lines[header].index("STATE")
    assert all(r[col - 2 : col] == "  " and r[col] != " " for r in rows)


def test_render_empty_fleet() -> None:
    text = render(FleetView(NOW, 30.0, ()))
    assert "0 gateway(s)" in text and "no gateways have reported" in text


# -- arguments -------------------------------------------------------------------------------


def test_parse_broker() -> None:
    assert parse_broker("mqtt.example", tls=False) == ("mqtt.example", 1883)
    assert parse_broker("mqtt.example", tls=True) == ("mqtt.example", 8883)
    assert parse_broker("10.0.0.5:1884", tls=True) == ("10.0.0.5", 1884)
    assert parse_broker("[::1]:1885", tls=False) == ("::1", 1885)
    assert parse_broker("[::1]", tls=False) == ("::1", 1883)
    assert parse_broker("::1", tls=False) == ("::1", 1883)
    for bad in ("", ":1883", "host:0", "host:x", "host:70000", "[::1"):
        with pytest.raises(UsageError):
            parse_broker(bad, tls=False)
