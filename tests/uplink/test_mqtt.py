"""GatewayLink and FleetListener against a real mosquitto (tests.support.mqtt_fixtures)."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testbeds.mosquitto import MosquittoServer
from testbeds.pki import write_test_pki
from tests.support.mqtt_fixtures import MosquittoFactory, Probe, settings_for
from tests.support.paths import REPO as REPO_ROOT
from tests.support.waiting import wait_until
from uplink.fleet import FleetListener, FleetSnapshot
from uplink.mqtt import EventBuffer, GatewayLink
from uplink.mqtt_client import encode
from uplink.settings import MqttSettings

ProbeFactory = Callable[[MqttSettings, list[str]], Probe]


def _state(snap: FleetSnapshot, gw: str) -> str | None:
    view = snap.get(gw)
    return None if view is None or view.state is None else view.state.payload


def _wait(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _wait_subscribed(probe: Probe) -> None:
    """Ping until the link answers: its command subscriptions are then in place."""
    deadline = time.monotonic() + 60
    while not probe.json_on("evgw/gw1/cmd/ping/result"):
        assert time.monotonic() < deadline, "link never answered ping"
        probe.publish("evgw/gw1/cmd/ping", b"{}")
        time.sleep(0.1)


# -- pure parts ----------------------------------------------------------------------------


def test_encode_is_canonical() -> None:
    assert encode({"b": 1, "a": "闸口"}) == '{"a":"闸口","b":1}'.encode()
    with pytest.raises(ValueError):
        encode({"x": float("nan")})


def test_event_buffer_drops_oldest_and_counts() -> None:
    buf: EventBuffer[int] = EventBuffer(3)
    for i in range(5):
        buf.push(i)
    buf.push_front([-1])
    assert [buf.pop() for _ in range(len(buf))] == [2, 3, 4]
    assert buf.dropped_total == 3 and buf.take_unreported() == 3 and buf.take_unreported() == 0


# -- against mosquitto ---------------------------------------------------------------------


@pytest.mark.integration
def test_online_offline_and_retained_health(mqtt_broker: MosquittoServer) -> None:
    settings = settings_for(mqtt_broker)
    link = GatewayLink(settings, "gw1")
    link.publish_retained("health", {"disk_free": 0.5})
    link.publish_retained("cameras/cam1/health", {"fps": 25})
    with FleetListener(settings) as fleet:
        link.start()
        assert fleet.wait_for(lambda s: _state(s, "gw1") == "online", 60)
        assert fleet.wait_for(lambda s: "cam1" in s["gw1"].cameras, 30)
        link.stop()
        assert fleet.wait_for(lambda s: _state(s, "gw1") == "offline", 60)
    with FleetListener(settings) as late:  # retained values reach a monitor started later
        assert late.wait_for(lambda s: s.get("gw1") is not None and s["gw1"].health is not None, 30)
        view = late.snapshot()["gw1"]
        assert view.health is not None and view.health.retained
        assert view.health.payload == {"disk_free": 0.5, "dropped_events": 0}
        assert view.state is not None and view.state.payload == "offline"


@pytest.mark.integration
def test_hostile_payloads_never_stop_the_fleet_listener(
    mqtt_broker: MosquittoServer, probe_factory: ProbeFactory
) -> None:
    """Deep, huge, binary and non-JSON payloads are counted and skipped; the next one lands."""
    settings = settings_for(mqtt_broker)
    hostile = [
        b"[" * 200_000 + b"]" * 200_000,  # recursion
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"\xff\xfe not utf-8",
        b"{" + b" " * 300_000 + b"}",  # oversized
        b"NaN-ish: not json",
    ]
    probe = probe_factory(settings, [])
    for n, payload in enumerate(hostile):  # retained: all reach the listener when it subscribes
        probe.publish(f"evgw/gw{n}/health", payload, retain=True)
    probe.publish("evgw/gw9/health", b'{"ts": 1}', retain=True)
    with FleetListener(settings) as fleet:
        assert fleet.wait_for(lambda s: "gw9" in s and s["gw9"].health is not None, 30)
        wait_until("every hostile payload counted", lambda: fleet.malformed == len(hostile), 30)
        assert not any(f"gw{n}" in fleet.snapshot() for n in range(len(hostile)))


_GATEWAY_SCRIPT = """
import sys, time
from uplink.mqtt import GatewayLink
from uplink.settings import MqttSettings
link = GatewayLink(MqttSettings("127.0.0.1", int(sys.argv[1]), keepalive_s=5), "gw-killed")
link.start()
assert link.wait_connected(60)
print("CONNECTED", flush=True)
time.sleep(60)
"""


@pytest.mark.integration
def test_sigkill_of_gateway_process_publishes_last_will(mqtt_broker: MosquittoServer) -> None:
    settings = settings_for(mqtt_broker)
    with FleetListener(settings) as fleet:
        proc = subprocess.Popen(
            [sys.executable, "-c", _GATEWAY_SCRIPT, str(mqtt_broker.port)],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == b"CONNECTED"
            assert fleet.wait_for(lambda s: _state(s, "gw-killed") == "online", 60)
            killed_at = time.monotonic()
            os.kill(proc.pid, signal.SIGKILL)
            assert fleet.wait_for(lambda s: _state(s, "gw-killed") == "offline", 60)
            # the broker's grace is 1.5 x keepalive (5 s); its check runs about once a second
            assert time.monotonic() - killed_at <= 5 * 1.5 + 4
        finally:
            proc.kill()
            proc.wait()


@pytest.mark.integration
def test_broker_restart_delivers_buffered_events_in_order(
    mqtt_broker: MosquittoServer, probe_factory: ProbeFactory
) -> None:
    settings = settings_for(mqtt_broker, reconnect_max_s=4)
    events = "evgw/gw1/events"
    probe = probe_factory(settings, [events])
    with GatewayLink(settings, "gw1") as link:
        assert link.wait_connected(60)
        link.publish_retained("health", {"ok": True})
        for n in range(3):
            link.publish_event({"n": n})
        probe.wait_for(lambda m: len(m) == 3)
        mqtt_broker.kill()
        _wait(lambda: not link.connected)
        for n in range(3, 10):
            link.publish_event({"n": n})
        assert link.buffered == 7
        # Paho backs off 1 s, 2 s, 4 s: right after the first refused retry we have ~2 s to
        # bring the broker back and subscribe before the link's next attempt.
        # a retry failed (refused; on a busy machine another test's server may hold the port)
        _wait(lambda: "broker" in (link.last_error or ""))
        mqtt_broker.start()
        probe = probe_factory(settings, [events])
        assert link.wait_connected(60)

        # QoS 1 is at least once: an event the killed broker took but did not acknowledge
        # comes again, before the buffered ones.
        def numbers(m: list[tuple[str, bytes, bool]]) -> list[int]:
            return [json.loads(p)["n"] for _, p, _ in m]

        got = numbers(probe.wait_for(lambda m: len([n for n in numbers(m) if n >= 3]) >= 7))
        assert [n for n in got if n >= 3] == list(range(3, 10))
        with FleetListener(settings) as fleet:  # the restarted broker had lost it: re-sent
            assert fleet.wait_for(lambda s: "gw1" in s and s["gw1"].health is not None, 30)


@pytest.mark.integration
def test_events_in_flight_when_the_link_drops_are_resent_in_order(
    mqtt_broker: MosquittoServer, probe_factory: ProbeFactory
) -> None:
    settings = settings_for(mqtt_broker, reconnect_max_s=4)
    with GatewayLink(settings, "gw1") as link:
        assert link.wait_connected(60)
        mqtt_broker.stall()  # connected, but nothing is acknowledged any more
        for n in range(4):
            link.publish_event({"n": n})
        assert link.buffered == 0  # handed to paho, unacknowledged
        mqtt_broker.kill()
        _wait(lambda: not link.connected)
        link.publish_event({"n": 4})
        assert link.buffered == 1  # the newer event waits; paho still holds the four before it
        # a retry failed (refused; on a busy machine another test's server may hold the port)
        _wait(lambda: "broker" in (link.last_error or ""))
        mqtt_broker.start()
        probe = probe_factory(settings, ["evgw/gw1/events"])
        got = probe.wait_for(lambda m: len(m) >= 5)
    assert [json.loads(p)["n"] for _, p, _ in got] == list(range(5))


@pytest.mark.integration
def test_buffer_overflow_drops_oldest_and_reports_count(
    mqtt_broker: MosquittoServer, probe_factory: ProbeFactory
) -> None:
    settings = settings_for(mqtt_broker, event_buffer=5)
    probe = probe_factory(settings, ["evgw/gw1/events"])
    link = GatewayLink(settings, "gw1")
    for n in range(12):  # not started: same path as an unreachable broker
        link.publish_event({"n": n})
    assert link.buffered == 5 and link.dropped_events == 7
    with link:
        got = probe.wait_for(lambda m: len(m) >= 5)
        link.publish_event({"n": 12})
        got = probe.wait_for(lambda m: len(m) >= 6)
    payloads = [json.loads(p) for _, p, _ in got]
    assert payloads[0] == {"n": 7, "dropped_events": 7}
    assert payloads[1:] == [{"n": n} for n in range(8, 13)]


@pytest.mark.integration
def test_tls_with_password(mosquitto_factory: MosquittoFactory) -> None:
    broker = mosquitto_factory(tls=True, users={"gw-post-01": "s3cret-pass"})
    settings = settings_for(broker, username="gw-post-01", password="s3cret-pass")
    with FleetListener(settings) as fleet, GatewayLink(settings, "gw1") as link:
        assert link.wait_connected(60), link.last_error
        assert fleet.wait_for(lambda s: _state(s, "gw1") == "online", 60)


@pytest.mark.integration
def test_wrong_password_gives_clear_error(
    mosquitto_factory: MosquittoFactory, caplog: pytest.LogCaptureFixture
) -> None:
    broker = mosquitto_factory(users={"gw-post-01": "right"})
    settings = settings_for(broker, username="gw-post-01", password="wrong-pass-xyz")
    caplog.set_level(logging.DEBUG)
    with GatewayLink(settings, "gw1") as link:
        _wait(lambda: link.last_error is not None)
        assert link.last_error == "not authorised: check username/password_file"
        assert not link.connected
    assert "not authorised: check username/password_file" in caplog.text
    assert "wrong-pass-xyz" not in caplog.text


@pytest.mark.integration
def test_tls_with_wrong_ca_gives_clear_error(
    mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    broker = mosquitto_factory(tls=True)
    other_ca, _, _ = write_test_pki(tmp_path / "other")
    with GatewayLink(settings_for(broker, ca_file=other_ca), "gw1") as link:
        _wait(lambda: link.last_error is not None)
        assert link.last_error is not None
        assert link.last_error.startswith("TLS handshake failed: check ca_file")


@pytest.mark.integration
def test_commands_are_carried_to_the_handler_and_replies_back(
    mqtt_broker: MosquittoServer, probe_factory: ProbeFactory
) -> None:
    """The link judges nothing: payload bytes in, the handler's reply out, failures contained."""
    settings = settings_for(mqtt_broker)
    result = "evgw/gw1/cmd/hold/result"
    probe = probe_factory(settings, [result, "evgw/gw1/cmd/ping/result"])
    received: list[bytes] = []

    def hold(payload: bytes) -> dict[str, Any]:
        received.append(payload)
        if payload == b"boom":
            raise RuntimeError("handler bug")
        if payload == b"nan":
            return {"ok": True, "x": float("nan")}
        return {"ok": payload == b"good", "n": len(payload)}

    probe.publish("evgw/gw1/cmd/hold", b"retained", retain=True)  # met on subscribing
    link = GatewayLink(settings, "gw1")
    link.on_command("hold", hold)
    link.on_command("ping", lambda payload: {"ok": True})
    with link:
        assert link.wait_connected(60)
        _wait_subscribed(probe)
        for payload in (b"good", b"\xff not json", b"boom", b"nan"):
            probe.publish("evgw/gw1/cmd/hold", payload)
        probe.wait_for(lambda m: sum(t == result for t, _, _ in m) >= 4)
    probe.publish("evgw/gw1/cmd/hold", b"", retain=True)  # clear the retained message
    replies = probe.json_on(result)
    assert replies[:2] == [{"ok": True, "n": 4}, {"ok": False, "n": 10}]
    internal = {"ok": False, "error": "internal error: see the gateway log"}
    assert replies[2:] == [internal, internal]
    assert b"retained" not in received, "a retained command is never run"
