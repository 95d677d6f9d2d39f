"""The gateway's MQTT edge (DESIGN.md §7): state, retained health, events, commands.

Topics under ``<root>/<gateway>/``: ``state`` (retained text ``online``/``offline``, the
last will), retained JSON subtopics such as ``health``, ``cameras/<id>/health`` and
``alarms``, ``events`` (QoS 1) and ``cmd/<name>`` with replies on ``cmd/<name>/result``.
JSON payloads are canonical: compact, sorted keys, UTF-8. The link only carries commands; the
gateway judges each one (a signed envelope: `uplink.signed_command`).

Delivery while the broker is away: events and command replies wait in our own bounded
buffer (paho's queue is unbounded), and messages paho still had in flight from the dropped
link are taken back ahead of it when the link returns, so everything leaves in order. Retained
values are cached and re-sent on every connect, since a restarted broker may have lost them.
All paho callbacks run in paho's network thread and never let an exception escape it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import paho.mqtt.client as paho
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .mqtt_client import (
    describe_connect_failure,
    describe_refusal,
    encode,
    new_client,
)
from .settings import MqttSettings, is_topic_path

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
CommandHandler = Callable[[bytes], Mapping[str, Any]]
"""Takes a command message's payload as received; returns the whole reply (with ``ok``)."""

STATE_ONLINE = b"online"
STATE_OFFLINE = b"offline"
_COMMAND_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_RESERVED_SUBTOPICS = ("state", "events", "cmd")


def _check_topic_path(value: str, what: str) -> str:
    if not is_topic_path(value):
        raise ValueError(
            f"invalid {what} {value!r}: use '/'-separated levels of letters, digits, '_.-'"
        )
    return value


def error_reply(message: str) -> JsonObject:
    return {"ok": False, "error": message}


T = TypeVar("T")


class EventBuffer(Generic[T]):
    """Bounded FIFO: when full, the oldest item goes and is counted as dropped (no I/O)."""

    def __init__(self, capacity: int) -> None:
        self._items: deque[T] = deque()
        self.capacity = capacity
        self.dropped_total = 0
        self._unreported = 0

    def __len__(self) -> int:
        return len(self._items)

    def _trim(self) -> None:
        while len(self._items) > self.capacity:
            self._items.popleft()
            self.dropped_total += 1
            self._unreported += 1

    def push(self, item: T) -> None:
        self._items.append(item)
        self._trim()

    def push_front(self, items: list[T]) -> None:
        """Put items (oldest first) back ahead of the rest, e.g. ones lost in flight."""
        self._items.extendleft(reversed(items))
        self._trim()

    def pop(self) -> T:
        return self._items.popleft()

    def take_unreported(self) -> int:
        """Drops since the last call: the number to report with the next delivered event."""
        count, self._unreported = self._unreported, 0
        return count


@dataclass(frozen=True)
class _Outgoing:
    topic: str
    payload: JsonObject


class GatewayLink:
    """One gateway's connection to central monitoring; thread-safe publish methods."""

    def __init__(self, settings: MqttSettings, gateway_id: str) -> None:
        _check_topic_path(gateway_id, "gateway id")
        if "/" in gateway_id:
            raise ValueError(f"invalid gateway id {gateway_id!r}: no '/' allowed")
        self.settings = settings
        self.gateway_id = gateway_id
        self.base = f"{settings.topic_root}/{gateway_id}"
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._client: paho.Client | None = None
        self._retained: dict[str, bytes] = {}
        self._commands: dict[str, CommandHandler] = {}
        self._buffer: EventBuffer[_Outgoing] = EventBuffer(settings.event_buffer)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def buffered(self) -> int:
        """Events and replies waiting for the broker."""
        with self._lock:
            return len(self._buffer)

    @property
    def dropped_events(self) -> int:
        """Events dropped since start because the buffer was full."""
        with self._lock:
            return self._buffer.dropped_total

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def on_command(self, name: str, handler: CommandHandler) -> None:
        """Call `handler(payload)` for each message on cmd/<name>; its dict is the reply.

        The link only carries commands: the handler judges the payload (untrusted bytes) and
        says ``ok`` or not in its reply. An exception from it becomes an "internal error" reply
        and a log line. Retained messages are ignored (a command runs once, not for every new
        subscription). Handlers run in paho's network thread: keep them short.
        """
        if not _COMMAND_NAME.fullmatch(name):
            raise ValueError(f"invalid command name {name!r}: use lowercase letters, digits, '-'")
        with self._lock:
            self._commands[name] = handler
            if self._client is not None:
                self._subscribe(self._client, name)

    def start(self) -> None:
        """Connect in paho's thread; a broker that is down now is retried with backoff."""
        if self._client is not None:
            raise RuntimeError("GatewayLink already started")
        client_id = self.settings.client_id or f"evgw-{self.gateway_id}"
        client = new_client(self.settings, client_id)
        client.will_set(f"{self.base}/state", STATE_OFFLINE, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        with self._lock:
            self._client = client
            for name in self._commands:
                self._register(client, name)
        client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive_s)
        client.loop_start()

    def stop(self, timeout: float = 5.0) -> None:
        """Publish `offline` (retained), disconnect cleanly and join paho's thread."""
        with self._lock:
            client, self._client = self._client, None
            pending = len(self._buffer)
        if client is None:
            return
        if self._connected.is_set():
            info = client.publish(f"{self.base}/state", STATE_OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as e:
                log.warning("MQTT: could not publish offline state before stopping: %s", e)
        if pending:
            log.warning("MQTT: stopping with %d undelivered events", pending)
        client.disconnect()
        client.loop_stop()
        self._connected.clear()

    def publish_retained(self, subtopic: str, payload: Mapping[str, Any]) -> None:
        """Publish the current value of `subtopic` (retained, QoS 1); re-sent on reconnect.

        ``health`` also carries ``dropped_events``: events lost to a full buffer since start.
        """
        _check_topic_path(subtopic, "retained subtopic")
        if subtopic.split("/")[0] in _RESERVED_SUBTOPICS:
            raise ValueError(f"subtopic {subtopic!r} is reserved for the link itself")
        with self._lock:
            if subtopic == "health":
                payload = {**payload, "dropped_events": self._buffer.dropped_total}
            data = encode(payload)
            self._retained[subtopic] = data
            if self._connected.is_set() and self._client is not None:
                self._client.publish(f"{self.base}/{subtopic}", data, qos=1, retain=True)

    def publish_event(self, payload: Mapping[str, Any]) -> None:
        """Send an event (QoS 1); buffered in order while the broker is unreachable."""
        encode(payload)  # refuse what can never be sent now, not at flush time
        self._send_or_buffer(_Outgoing(f"{self.base}/events", dict(payload)))

    def _send_or_buffer(self, out: _Outgoing) -> None:
        with self._lock:
            if self._connected.is_set() and self._client is not None and not self._buffer:
                self._send(self._client, out)
            else:
                self._buffer.push(out)

    def _send(self, client: paho.Client, out: _Outgoing) -> None:
        """Hand one message to paho; caller holds the lock."""
        payload = out.payload
        if out.topic.endswith("/events"):
            dropped = self._buffer.take_unreported()
            if dropped:
                payload = {**payload, "dropped_events": dropped}
                log.warning("MQTT: %d events were dropped while the broker was away", dropped)
        client.publish(out.topic, encode(payload), qos=1)

    def _subscribe(self, client: paho.Client, name: str) -> None:
        self._register(client, name)
        if self._connected.is_set():
            client.subscribe(f"{self.base}/cmd/{name}", qos=1)

    def _register(self, client: paho.Client, name: str) -> None:
        def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
            self._handle_command(name, msg)

        client.message_callback_add(f"{self.base}/cmd/{name}", on_message)

    def _handle_command(self, name: str, msg: paho.MQTTMessage) -> None:
        if msg.retain:
            log.warning("MQTT: ignoring retained command %s (commands run once)", name)
            return
        try:
            reply = dict(self._commands[name](bytes(msg.payload)))
            encode(reply)
        except Exception:
            log.exception("MQTT command %s: handler failed", name)
            reply = error_reply("internal error: see the gateway log")
        self._send_or_buffer(_Outgoing(f"{self.base}/cmd/{name}/result", reply))

    def _set_error(self, message: str | None) -> None:
        if message != self.last_error and message is not None:
            log.warning("MQTT: %s", message)
        self.last_error = message

    def _on_connect_fail(self, client: paho.Client, userdata: object) -> None:
        self._set_error(describe_connect_failure(self.settings))

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._set_error(describe_refusal(reason))
            return
        with self._lock:
            self._take_back(client)
            client.publish(f"{self.base}/state", STATE_ONLINE, qos=1, retain=True)
            for subtopic, data in self._retained.items():
                client.publish(f"{self.base}/{subtopic}", data, qos=1, retain=True)
            if self._commands:
                client.subscribe([(f"{self.base}/cmd/{name}", 1) for name in self._commands])
            flushed = len(self._buffer)
            while self._buffer:
                self._send(client, self._buffer.pop())
            self._connected.set()
        log.info(
            "MQTT connected to %s:%d as %s (%d buffered messages sent)",
            self.settings.host,
            self.settings.port,
            self.gateway_id,
            flushed,
        )
        self._set_error(None)

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._lock:
            was_connected = self._connected.is_set()
            self._connected.clear()
        if was_connected and self._client is client:
            log.warning("MQTT: lost connection to broker (%s); buffering events", reason)

    def _take_back(self, client: paho.Client) -> None:
        """What paho still holds from the last link leaves first, in order, ahead of newer events.

        Done on connect, before paho walks its queue to resend it: paho may call
        `_on_disconnect` from inside that walk (a send that fails), and emptying the queue
        there killed paho's thread (`OrderedDict changed size during iteration`). Retained
        values need no rescue: the cache re-sends them.
        """
        requeue = []
        for msg in client.drop_out_messages():
            if not msg.retain:
                try:
                    requeue.append(_Outgoing(msg.topic, json.loads(msg.payload)))
                except ValueError:
                    log.error("MQTT: dropping unparsable queued message on %s", msg.topic)
        self._buffer.push_front(requeue)

    def __enter__(self) -> GatewayLink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
