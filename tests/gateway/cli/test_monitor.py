"""`evgw monitor`: pure fleet view and table, then the command against a real mosquitto."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evgw.errors import UsageError
from evgw.local_time import CONFIG, named
from gateway.cli.broker import parse_broker
from gateway.cli.main import build_parser, main
from gateway.cli.monitor import render, settings_from
from testbeds.mosquitto import MosquittoServer
from testbeds.process import find_free_port
from tests.support.mqtt_fixtures import MosquittoFactory, settings_for
from tests.support.paths import REPO as REPO_ROOT
from uplink.fleet import FleetListener, FleetSnapshot, GatewayView, Received, settle
from uplink.fleet_view import FleetView, GatewayRow, build_view
from uplink.mqtt import GatewayLink

NOW = 1_700_000_000.0


def _r(payload: Any, received_at: float = NOW) -> Received:
    return Received(payload, received_at, retained=True)


def _health(ts: float, **extra: Any) -> dict[str, Any]:
    return {
        "ts": ts,
        "gateway": "gw",
        "version": "0.1.0",
        "uptime_s": 100,
        "disk": {"free_bytes": 10**9, "used_bytes": 10**8, "quota_bytes": 2 * 10**8},
        "upload": {
            "backlog_count": 3,
            "backlog_bytes": 4_500_000,
            "oldest_unconfirmed_age_s": 75.0,
            "state": "uploading",
        },
        "minutes_left": 812.4,
        "clock": {"synced": True, "est_error_s": 0.01},
        "cameras_recording": 1,
        "cameras_total": 2,
        **extra,
    }


def _camera(ts: float, camera: str = "gate-1", **extra: Any) -> dict[str, Any]:
    return {
        "ts": ts,
        "camera": camera,
        "online": True,
        "recording": True,
        "fps": 25.0,
        "bitrate_bps": 2_000_000,
        "last_frame_age_s": 0.04,
        "last_segment_age_s": 4.0,
        "reconnects": 0,
        "clock_offset_s": 0.2,
        "last_error": None,
        "frozen": False,
        **extra,
    }


def _view(
    gw: str = "gw1",
    state: str | None = "online",
    health: Any = None,
    alarms: Any = None,
    cameras: dict[str, Any] | None = None,
) -> GatewayView:
    return GatewayView(
        gateway=gw,
        state=None if state is None else _r(state),
        health=None if health is None else _r(health),
        alarms=None if alarms is None else _r(alarms),
        cameras={k: _r(v) for k, v in (cameras or {}).items()},
    )


def _row(view: GatewayView, stale_after: float = 30.0) -> GatewayRow:
    fleet = build_view({view.gateway: view}, NOW, stale_after)
    assert len(fleet.gateways) == 1
    return fleet.gateways[0]


# -- pure view -------------------------------------------------------------------------------


def test_fresh_gateway_is_online_with_its_facts() -> None:
    row = _row(_view(health=_health(NOW - 5), cameras={"gate-1": _camera(NOW - 2)}))
    assert row.state == "online" and row.age_s == 2.0  # newest payload is the camera's
    assert (row.backlog_count, row.backlog_bytes) == (3, 4_500_000)
    assert row.oldest_unconfirmed_age_s == 75
    assert row.minutes_left == 812.4 and row.version == "0.1.0" and row.clock_synced is True
    assert row.alarm_count == 0
    (cam,) = row.cameras
    assert (cam.camera, cam.status, cam.fps, cam.last_segment_age_s) == ("gate-1", "OK", 25.0, 4.0)


def test_stale_is_judged_by_payload_ts_not_by_receive_time() -> None:
    # Retained values all arrive "now"; their own ts says they are two minutes old.
    view = _view(health=_health(NOW - 120), cameras={"gate-1": _camera(NOW - 120)})
    row = _row(view)
    assert row.state == "STALE" and row.age_s == 120.0
    assert row.cameras[0].status == "STALE"
    assert _row(view, stale_after=300).state == "online"


def test_one_fresh_camera_keeps_the_gateway_fresh_but_not_the_stale_camera() -> None:
    cams = {"a": _camera(NOW - 3, "a"), "b": _camera(NOW - 90, "b")}
    row = _row(_view(health=_health(NOW - 3), cameras=cams))
    assert row.state == "online"
    assert [(c.camera, c.status) for c in row.cameras] == [("a", "OK"), ("b", "STALE")]


def test_offline_via_state_wins_even_with_fresh_payloads() -> None:
    row = _row(_view(state="offline", health=_health(NOW - 1)))
    assert row.state == "offline"
    assert _row(_view(state="offline", health=_health(NOW - 500))).state == "offline"


def test_state_without_payloads_and_payloads_without_state() -> None:
    assert _row(_view()).state == "online"
    assert _row(_view(state=None, health=_health(NOW))).state == "unknown"
    assert _row(_view(state=None, health=_health(NOW - 99))).state == "STALE"


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
    row = _row(_view(health=_health(NOW), cameras={"c": _camera(NOW - 1, "c", **extra)}))
    assert row.cameras[0].status == status


def test_frozen_camera_keeps_its_reported_fps() -> None:
    cam = _camera(NOW, frozen=True, fps=5.0, last_error="picture unchanged for 20 s")
    (row,) = _row(_view(health=_health(NOW), cameras={"gate-1": cam})).cameras
    assert (row.status, row.fps, row.last_error) == ("FROZEN", 5.0, "picture unchanged for 20 s")


def test_alarms_counted_and_listed() -> None:
    alarms = {
        "ts": NOW - 4,
        "active": [
            {"alarm": "camera_offline", "camera": "gate-1", "since": NOW - 65, "detail": "x"},
            {"alarm": "disk_low", "camera": None, "since": NOW - 10, "detail": "12% free"},
        ],
    }
    row = _row(_view(health=_health(NOW - 5), alarms=alarms))
    assert row.alarm_count == 2 and row.age_s == 4.0
    assert [(a.alarm, a.camera) for a in row.alarms] == [
        ("camera_offline", "gate-1"),
        ("disk_low", None),
    ]
    assert _row(_view(alarms={"ts": NOW, "active": []})).alarm_count == 0


def test_malformed_payloads_read_as_missing_facts() -> None:
    view = _view(
        health={"ts": "yesterday", "upload": [], "minutes_left": True, "clock": "x"},
        alarms={"active": [7, {"alarm": 3}]},
        cameras={"c": ["not", "an", "object"]},
    )
    row = _row(view)
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
    view = GatewayView("gw", _r(state), _r(health), _r(alarms), {"c": _r(camera)})
    fleet = build_view({"gw": view}, NOW, 30.0)
    assert "gw" in render(fleet)
    json.dumps(fleet.to_json())


def test_json_shape() -> None:
    snap: FleetSnapshot = {"gw1": _view(health=_health(NOW), cameras={"c": _camera(NOW, "c")})}
    data = json.loads(json.dumps(build_view(snap, NOW, 30.0).to_json()))
    assert data["stale_after_s"] == 30.0
    (gw,) = data["gateways"]
    assert gw["gateway"] == "gw1" and gw["state"] == "online" and gw["alarms"] == []
    assert gw["cameras"][0]["camera"] == "c" and gw["cameras"][0]["status"] == "OK"


# -- pure table ------------------------------------------------------------------------------


def test_render_table_rows_cameras_and_alarms() -> None:
    snap: FleetSnapshot = {
        "gw-a": _view(
            "gw-a",
            health=_health(NOW - 2),
            alarms={
                "ts": NOW,
                "active": [{"alarm": "camera_frozen", "camera": "gate-1", "since": NOW - 90}],
            },
            cameras={
                "gate-1": _camera(NOW, frozen=True, last_error="picture unchanged\nfor 20 s"),
                "yard": _camera(NOW, "yard"),
            },
        ),
        "gw-b": _view("gw-b", state="offline", health=_health(NOW - 600)),
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


def _args(*extra: str) -> Any:
    return build_parser().parse_args(["monitor", "--broker", "127.0.0.1:1883", *extra])


def test_settings_from_arguments(tmp_path: Path) -> None:
    secret = tmp_path / "pass"
    secret.write_text("s3cret\n")
    settings = settings_from(_args("--username", "desk", "--password-file", str(secret)))
    assert (settings.username, settings.password, settings.topic_root) == ("desk", "s3cret", "evgw")
    assert _args().stale_after == 30.0
    for argv, message in [
        (("--password-file", str(secret)), "needs --username"),
        (("--username", "u", "--password-file", str(tmp_path / "nope")), "cannot read"),
        (("--ca-file", str(secret)), "enable tls"),
        (("--topic-root", "a/+"), "invalid MQTT topic_root"),
        (("--stale-after", "0"), "positive"),
    ]:
        with pytest.raises(UsageError, match=message):
            settings_from(_args(*argv))


def test_settle_returns_once_the_count_stops_growing() -> None:
    counts = iter([0, 1, 2, 3])
    started = time.monotonic()
    settle(lambda: next(counts, 3), max_wait=5.0, quiet=0.2)
    assert 0.2 <= time.monotonic() - started < 1.0
    started = time.monotonic()
    ticks = iter(range(10**6))
    settle(lambda: next(ticks), max_wait=0.3, quiet=0.2)  # never quiet: max_wait bounds it
    assert time.monotonic() - started < 0.6


# -- against a real mosquitto ----------------------------------------------------------------


def _monitor(*argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "monitor", *argv],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _broker_arg(broker: MosquittoServer) -> str:
    return f"{broker.host}:{broker.port}"


@pytest.mark.integration
def test_once_json_shows_two_gateways(mqtt_broker: MosquittoServer) -> None:
    settings = settings_for(mqtt_broker)
    now = time.time()
    with GatewayLink(settings, "post-01") as one, GatewayLink(settings, "post-02") as two:
        assert one.wait_connected(60) and two.wait_connected(60)
        one.publish_retained("health", _health(now))
        one.publish_retained("cameras/gate-1/health", _camera(now, frozen=True))
        one.publish_retained("cameras/yard/health", _camera(now, "yard"))
        one.publish_retained(
            "alarms",
            {"ts": now, "active": [{"alarm": "camera_frozen", "camera": "gate-1", "since": now}]},
        )
        two.publish_retained("health", _health(now - 300))  # stopped reporting 5 min ago
        with FleetListener(settings) as fleet:  # everything is retained on the broker now
            assert fleet.wait_for(
                lambda s: (
                    len(s.get("post-01", _view()).cameras) == 2
                    and s["post-01"].alarms is not None
                    and s.get("post-02", _view()).health is not None
                ),
                10,
            )
        done = _monitor("--broker", _broker_arg(mqtt_broker), "--once", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    gws = {g["gateway"]: g for g in data["gateways"]}
    assert set(gws) == {"post-01", "post-02"}
    assert gws["post-01"]["state"] == "online" and gws["post-01"]["alarm_count"] == 1
    assert gws["post-01"]["backlog_count"] == 3 and gws["post-01"]["minutes_left"] == 812.4
    cams = {c["camera"]: c["status"] for c in gws["post-01"]["cameras"]}
    assert cams == {"gate-1": "FROZEN", "yard": "OK"}
    assert gws["post-02"]["state"] == "STALE" and gws["post-02"]["age_s"] >= 300


@pytest.mark.integration
def test_once_table_on_an_empty_broker(mqtt_broker: MosquittoServer) -> None:
    done = _monitor("--broker", _broker_arg(mqtt_broker), "--once")
    assert done.returncode == 0, done.stderr
    assert "no gateways have reported" in done.stdout and "\x1b[" not in done.stdout


_GATEWAY_SCRIPT = """
import sys, time
from uplink.mqtt import GatewayLink
from uplink.settings import MqttSettings
link = GatewayLink(MqttSettings("127.0.0.1", int(sys.argv[1]), keepalive_s=5), "gw-killed")
link.start()
assert link.wait_connected(60)
link.publish_retained("health", {"ts": time.time(), "upload": {"backlog_count": 0}})
print("CONNECTED", flush=True)
time.sleep(60)
"""


def _spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def spawn() -> Iterator[Callable[[list[str]], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(argv: list[str]) -> subprocess.Popen[bytes]:
        procs.append(_spawn(argv))
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _read_until(
    proc: subprocess.Popen[bytes], done: Callable[[str], bool], timeout: float
) -> list[str]:
    """Lines of `proc`'s stdout until `done(line)`; fails after `timeout` seconds."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    lines: list[str] = []
    pending = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"timed out; got {lines[-5:]!r}"
            if not sel.select(left):
                continue
            chunk = os.read(fd, 65536)
            assert chunk, f"monitor exited with {proc.wait()}"
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                lines.append(line.decode())
                if done(lines[-1]):
                    return lines


def _gw_state(line: str, gateway: str) -> str | None:
    states = {g["gateway"]: g["state"] for g in json.loads(line)["gateways"]}
    return states.get(gateway)


@pytest.mark.integration
def test_live_monitor_shows_a_sigkilled_gateway_offline(
    mqtt_broker: MosquittoServer, spawn: Callable[[list[str]], subprocess.Popen[bytes]]
) -> None:
    gateway = spawn([sys.executable, "-c", _GATEWAY_SCRIPT, str(mqtt_broker.port)])
    assert "CONNECTED" in _read_until(gateway, lambda line: line == "CONNECTED", 60)
    monitor = spawn(
        [sys.executable, "-m", "gateway", "monitor", "--broker", _broker_arg(mqtt_broker), "--json"]
    )
    _read_until(monitor, lambda line: _gw_state(line, "gw-killed") == "online", 60)
    killed_at = time.time()
    os.kill(gateway.pid, signal.SIGKILL)
    lines = _read_until(monitor, lambda line: _gw_state(line, "gw-killed") == "offline", 60)
    seen_at = json.loads(lines[-1])["at"]  # when the monitor drew it, not when we read it
    assert seen_at - killed_at <= 5 * 1.5 + 5  # the broker's grace for keepalive 5 s, + refresh
    monitor.send_signal(signal.SIGINT)
    assert monitor.wait(60) == 0


@pytest.mark.integration
def test_live_table_without_a_tty_prints_a_new_table_each_second(
    mqtt_broker: MosquittoServer, spawn: Callable[[list[str]], subprocess.Popen[bytes]]
) -> None:
    monitor = spawn(
        [sys.executable, "-m", "gateway", "monitor", "--broker", _broker_arg(mqtt_broker)]
    )
    lines = _read_until(monitor, lambda line: line.startswith("evgw fleet at"), 60)
    lines += _read_until(monitor, lambda line: line.startswith("evgw fleet at"), 60)
    monitor.send_signal(signal.SIGINT)
    assert monitor.wait(60) == 0
    assert not any("\x1b[" in line for line in lines)


@pytest.mark.integration
def test_wrong_password_exits_2_with_a_clear_message(
    mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    broker = mosquitto_factory(users={"desk": "right"})
    secret = tmp_path / "pass"
    secret.write_text("wrong-pass-xyz\n")
    done = _monitor(
        "--broker",
        _broker_arg(broker),
        "--username",
        "desk",
        "--password-file",
        str(secret),
        "--once",
        "--json",
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "evgw: error: not authorised: check username/password_file" in done.stderr
    assert "wrong-pass-xyz" not in done.stderr


@pytest.mark.integration
def test_tls_with_password_works(mosquitto_factory: MosquittoFactory, tmp_path: Path) -> None:
    broker = mosquitto_factory(tls=True, users={"desk": "s3cret"})
    assert broker.ca_file is not None
    secret = tmp_path / "pass"
    secret.write_text("s3cret\n")
    done = _monitor(
        "--broker",
        _broker_arg(broker),
        "--tls",
        "--ca-file",
        str(broker.ca_file),
        "--username",
        "desk",
        "--password-file",
        str(secret),
        "--once",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gateways"] == []


@pytest.mark.integration
def test_unreachable_broker_is_a_runtime_failure_exit_3() -> None:
    done = _monitor("--broker", f"127.0.0.1:{find_free_port()}", "--once")
    assert done.returncode == 3
    assert "evgw: error: broker unreachable at 127.0.0.1:" in done.stderr


def test_run_reports_usage_errors_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["monitor", "--broker", "127.0.0.1:1883", "--stale-after", "-1"]
    assert main(argv) == 2
    assert "evgw: error: --stale-after must be a positive" in capsys.readouterr().err
