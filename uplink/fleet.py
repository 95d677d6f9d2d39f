"""The monitoring desk's side of MQTT: the latest retained values of every gateway.

Subscribes to every gateway's `state`, `health`, camera health and `alarms` under the topic
root and keeps the newest of each; `uplink.fleet_view` turns a snapshot into the desk's rows.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .errors import BrokerError, BrokerUnreachable
from .mqtt_client import describe_connect_failure, describe_refusal, new_client
from .settings import MqttSettings

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 256 * 1024  # a health report is a few hundred bytes


@dataclass(frozen=True)
class Received:
    """One retained value as last seen; `retained` means it came from the broker's store."""

    payload: Any
    received_at: float
    retained: bool


@dataclass(frozen=True)
class GatewayView:
    gateway: str
    state: Received | None = None
    health: Received | None = None
    alarms: Received | None = None
    cameras: Mapping[str, Received] = field(default_factory=dict)


FleetSnapshot = dict[str, GatewayView]


class FleetListener:
    """Monitor side: latest state, health, camera health and alarms of every gateway."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self.root = settings.topic_root
        self.last_error: str | None = None
        self.refused = False  # the broker answered and said no (credentials, ACL)
        self._cond = threading.Condition()
        self._values: dict[tuple[str, ...], Received] = {}
        self._client: paho.Client | None = None
        self.connected = threading.Event()
        self.malformed = 0
        self._warned: set[str] = set()

    def start(self) -> None:
        if self._client is not None:
            raise RuntimeError("FleetListener already started")
        client = new_client(self.settings, self.settings.client_id or "")
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        self._client = client
        client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s)
        client.loop_start()

    def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()

    def _on_connect_fail(self, client: paho.Client, userdata: object) -> None:
        self.last_error, self.refused = describe_connect_failure(self.settings), False

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self.last_error, self.refused = describe_refusal(reason), True
            log.warning("MQTT monitor: %s", self.last_error)
            return
        self.last_error = None
        self.connected.set()
        patterns = ("+/state", "+/health", "+/cameras/+/health", "+/alarms")
        client.subscribe([(f"{self.root}/{p}", 1) for p in patterns])

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        """Runs in paho's network thread: a hostile payload must not end it."""
        key = tuple(msg.topic[len(self.root) + 1 :].split("/"))
        with self._cond:
            if not msg.payload:  # an empty retained message clears the value
                self._values.pop(key, None)
            else:
                try:
                    payload = _decode(key[-1], msg.payload)
                except (ValueError, RecursionError) as e:
                    self._malformed(msg.topic, e)
                    return
                self._values[key] = Received(payload, time.time(), bool(msg.retain))
            self._cond.notify_all()

    def _malformed(self, topic: str, error: Exception) -> None:
        """Count it; say it once per topic (a broker replaying garbage must not flood the log)."""
        self.malformed += 1
        if topic not in self._warned:
            self._warned.add(topic)
            log.warning("MQTT monitor: ignoring malformed payloads on %s (%.80s)", topic, error)

    def snapshot(self) -> FleetSnapshot:
        """Frozen views per gateway id."""
        with self._cond:
            values = dict(self._values)
        parts: dict[str, dict[str, Any]] = {}
        for key, received in values.items():
            view = parts.setdefault(key[0], {"cameras": {}})
            if len(key) == 2:
                view[key[1]] = received
            elif len(key) == 4:
                view["cameras"][key[2]] = received
        return {gw: GatewayView(gateway=gw, **fields) for gw, fields in sorted(parts.items())}

    def wait_for(self, predicate: Callable[[FleetSnapshot], bool], timeout: float) -> bool:
        """Block until `predicate(snapshot())` holds; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.snapshot()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def connect(self, timeout: float) -> None:
        """Start and wait until the broker accepts us; `BrokerError` says why it did not."""
        self.start()
        where = f"{self.settings.host}:{self.settings.port}"
        deadline = time.monotonic() + timeout
        while not self.connected.wait(0.05):
            if self.last_error is not None:
                failure = BrokerError if self.refused else BrokerUnreachable
                raise failure(f"{self.last_error} (broker {where})")
            if time.monotonic() > deadline:
                raise BrokerUnreachable(
                    f"no answer from the broker at {where} within {timeout:g} s"
                )

    def value_count(self) -> int:
        with self._cond:
            return len(self._values)

    def __enter__(self) -> FleetListener:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def settle(count: Callable[[], int], max_wait: float, quiet: float) -> None:
    """Wait for retained values: until none arrive for `quiet` s, at most `max_wait` s."""
    start = last_change = time.monotonic()
    seen = count()
    while (now := time.monotonic()) - start < max_wait and now - last_change < quiet:
        time.sleep(0.05)
        if (n := count()) != seen:
            seen, last_change = n, time.monotonic()


def _decode(leaf: str, payload: bytes | bytearray) -> Any:
    """A retained value as sent: `state` is text, the rest JSON; oversized is malformed."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    if leaf == "state":
        return payload.decode("utf-8").strip()
    return json.loads(payload)
