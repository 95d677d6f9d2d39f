"""The paho client both MQTT sides use (the gateway's link, the desk's fleet listener):
TLS and credentials from `MqttSettings`, and connection failures in words an operator acts on."""

from __future__ import annotations

import json
import logging
import ssl
import sys
from collections.abc import Mapping
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from .errors import SettingsError
from .settings import MqttSettings

NOT_AUTHORISED = "not authorised: check username/password_file"
TLS_FAILED = "TLS handshake failed: check ca_file"


def encode(payload: Mapping[str, Any]) -> bytes:
    """Canonical compact JSON (sorted keys, UTF-8); NaN/Infinity are refused (ValueError)."""
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode()


def new_client(
    settings: MqttSettings,
    client_id: str,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
) -> paho.Client:
    """A paho client (MQTT 3.1.1 unless `protocol` says MQTTv5, e.g. for shared subscriptions)."""
    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
    )
    client.enable_logger(logging.getLogger("uplink.mqtt.paho"))
    if settings.username is not None:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls:
        try:
            client.tls_set(
                ca_certs=str(settings.ca_file) if settings.ca_file else None,
                certfile=str(settings.cert_file) if settings.cert_file else None,
                keyfile=str(settings.key_file) if settings.key_file else None,
            )
        except (OSError, ssl.SSLError) as e:
            raise SettingsError("MQTT", "ca_file/cert_file/key_file", f"cannot load: {e}") from e
    client.reconnect_delay_set(min_delay=1, max_delay=settings.reconnect_max_s)
    return client


def describe_connect_failure(settings: MqttSettings) -> str:
    """Why the last connection attempt failed; called inside paho's `except OSError`."""
    exc = sys.exc_info()[1]
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, ssl.SSLError):
        return f"{TLS_FAILED} ({where}: {exc})"
    if isinstance(exc, ConnectionRefusedError):
        return f"broker unreachable at {where}: connection refused"
    return f"cannot connect to broker at {where}: {exc or 'unknown error'}"


def describe_refusal(reason: ReasonCode) -> str:
    if reason.value in (134, 135):  # "Bad user name or password", "Not authorized"
        return NOT_AUTHORISED
    return f"broker refused the connection: {reason}"
