"""Send one signed command to a gateway over MQTT and wait for its reply.

The sender subscribes to `<root>/<gateway>/cmd/<name>/result` before it publishes (QoS 1), so
the reply cannot slip past, and takes the first reply that carries its command's nonce:
other senders' replies on the same topic are not ours.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .errors import BrokerError, BrokerUnreachable, UplinkError
from .mqtt_client import describe_connect_failure, describe_refusal, new_client
from .settings import MqttSettings
from .signed_command import SignedCommand


class NoReply(UplinkError):
    """The broker took the command, but no reply came in time."""


class _Exchange:
    """One command's round trip, driven by paho's callbacks."""

    def __init__(self, settings: MqttSettings, command: SignedCommand) -> None:
        body = command.body
        self.settings = settings
        self.topic = f"{settings.topic_root}/{body.gateway}/cmd/{body.command}"
        self.payload = command.to_bytes()
        self.nonce = command.nonce
        self.connected = False
        self.refused: str | None = None
        self.last_error: str | None = None
        self.reply: dict[str, Any] | None = None
        self.changed = threading.Condition()

    def on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self.changed:
            if reason.is_failure:
                self.refused = describe_refusal(reason)
            else:
                self.connected = True
                client.subscribe(f"{self.topic}/result", qos=1)
            self.changed.notify_all()

    def on_connect_fail(self, client: paho.Client, userdata: object) -> None:
        self.last_error = describe_connect_failure(self.settings)

    def on_subscribe(self, client: paho.Client, *_: object) -> None:
        client.publish(self.topic, self.payload, qos=1)

    def on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        try:
            reply = json.loads(msg.payload)
        except ValueError:
            return
        if isinstance(reply, dict) and reply.get("nonce") == self.nonce:
            with self.changed:
                self.reply = reply
                self.changed.notify_all()

    def done(self) -> bool:
        return self.reply is not None or self.refused is not None


def send_command(
    settings: MqttSettings, command: SignedCommand, timeout_s: float
) -> dict[str, Any]:
    """Publish `command` and return the gateway's reply (a dict with ``ok``).

    A broker that refuses or cannot be reached raises `BrokerError`; silence from the gateway
    for `timeout_s` raises `NoReply`, naming what to check.
    """
    exchange = _Exchange(settings, command)
    client = new_client(settings, settings.client_id or f"evgw-command-{command.nonce[:12]}")
    client.on_connect = exchange.on_connect
    client.on_connect_fail = exchange.on_connect_fail
    client.on_subscribe = exchange.on_subscribe
    client.on_message = exchange.on_message
    client.connect_async(settings.host, settings.port, settings.keepalive_s)
    client.loop_start()
    try:
        deadline = time.monotonic() + timeout_s
        with exchange.changed:
            while not exchange.done() and (left := deadline - time.monotonic()) > 0:
                exchange.changed.wait(min(left, 0.2))
        where = f"{settings.host}:{settings.port}"
        if exchange.refused is not None:
            raise BrokerError(f"{exchange.refused} (broker {where})")
        if exchange.reply is not None:
            return exchange.reply
        if not exchange.connected:
            reason = exchange.last_error or f"no answer from the broker at {where}"
            raise BrokerUnreachable(f"{reason} within {timeout_s:g} s")
        gateway = command.body.gateway
        raise NoReply(
            f"no reply from gateway {gateway} within {timeout_s:g} s",
            hint=f"check that {gateway} runs and is connected to {where} (`evgw monitor "
            f"--broker {where} --once`), that its [mqtt] topic_root is {settings.topic_root}, "
            "and that this machine's clock and the gateway's agree (NTP)",
        )
    finally:
        client.disconnect()
        client.loop_stop()
