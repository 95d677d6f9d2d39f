"""Pytest plugin: a real mosquitto per test and a small probe client (add to `pytest_plugins`)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from testbeds.mosquitto import MosquittoServer
from uplink.settings import MqttSettings

MosquittoFactory = Callable[..., MosquittoServer]


@pytest.fixture(scope="session")
def _mosquitto_installed() -> None:
    if shutil.which("mosquitto", path="/usr/sbin:/usr/bin") is None:
        pytest.skip("mosquitto not installed: apt-get install mosquitto")


@pytest.fixture
def mosquitto_factory(_mosquitto_installed: None, tmp_path: Path) -> Iterator[MosquittoFactory]:
    """``factory(tls=False, users=None, port=None)`` starts a broker; all stop at teardown."""
    started: list[MosquittoServer] = []

    def start(
        tls: bool = False, users: dict[str, str] | None = None, port: int | None = None
    ) -> MosquittoServer:
        server = MosquittoServer(tmp_path / f"mosquitto-{len(started)}", port, tls, users)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def mqtt_broker(mosquitto_factory: MosquittoFactory) -> MosquittoServer:
    """An anonymous plain-TCP broker."""
    return mosquitto_factory()


def settings_for(broker: MosquittoServer, **overrides: Any) -> MqttSettings:
    """Client settings pointing at `broker` (TLS and CA taken from it)."""
    base: dict[str, Any] = {
        "host": broker.host,
        "port": broker.port,
        "tls": broker.tls,
        "ca_file": broker.ca_file,
        "keepalive_s": 5,
        "reconnect_max_s": 2,
    }
    return MqttSettings(**{**base, **overrides})


class Probe:
    """A plain paho client for tests: subscribe, publish, collect (topic, payload) in order."""

    def __init__(self, settings: MqttSettings, topics: list[str]) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        if settings.username is not None:
            self.client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            self.client.tls_set(ca_certs=str(settings.ca_file))
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.connect(settings.host, settings.port, 30)
        self.client.loop_start()
        if topics:
            self.client.subscribe([(t, 1) for t in topics])
            assert self._subscribed.wait(30), "probe subscription not acknowledged"

    def _on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        with self._cond:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            self._cond.notify_all()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def wait_for(
        self, predicate: Callable[[list[tuple[str, bytes, bool]]], bool], timeout: float = 60.0
    ) -> list[tuple[str, bytes, bool]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; received {self.messages!r}")
                self._cond.wait(left)
            return list(self.messages)

    def json_on(self, topic: str) -> list[dict[str, Any]]:
        with self._cond:
            return [json.loads(p) for t, p, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def probe_factory() -> Iterator[Callable[[MqttSettings, list[str]], Probe]]:
    """``probe(settings, topics)``: a connected, subscribed Probe, closed at teardown."""
    probes: list[Probe] = []

    def make(settings: MqttSettings, topics: list[str]) -> Probe:
        probes.append(Probe(settings, topics))
        return probes[-1]

    yield make
    for probe in probes:
        probe.close()
