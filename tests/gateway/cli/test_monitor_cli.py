"""`evgw monitor` as a command against a real mosquitto: once, live, TLS, wrong password."""

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

from evgw.errors import UsageError
from gateway.cli.main import build_parser, main
from gateway.cli.monitor import settings_from
from testbeds.mosquitto import MosquittoServer
from testbeds.process import find_free_port
from tests.support.mqtt_fixtures import MosquittoFactory, settings_for
from tests.support.paths import REPO as REPO_ROOT
from uplink.fleet import FleetListener, settle
from uplink.mqtt import GatewayLink

from .monitor_payloads import camera_payload, gateway_view, health_payload

NOW = 1_700_000_000.0


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
        one.publish_retained("health", health_payload(now))
        one.publish_retained("cameras/gate-1/health", camera_payload(now, frozen=True))
        one.publish_retained("cameras/yard/health", camera_payload(now, "yard"))
        one.publish_retained(
            "alarms",
            {"ts": now, "active": [{"alarm": "camera_frozen", "camera": "gate-1", "since": now}]},
        )
        two.publish_retained("health", health_payload(now - 300))  # stopped reporting 5 min ago
        with FleetListener(settings) as fleet:  # everything is retained on the broker now
            assert fleet.wait_for(
                lambda s: (
                    len(s.get("post-01", gateway_view()).cameras) == 2
                    and s["post-01"].alarms is not None
                    and s.get("post-02", gateway_view()).health is not None
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
