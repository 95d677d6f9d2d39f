"""What `evgw check --online` asks the servers the file names, reading only.

The central store: HEAD the bucket and list at most one key (nothing is written); the broker:
connect with the configured credentials and TLS and wait for CONNACK, under a client id of
its own (the gateway's would throw the running daemon off the broker); each camera reached
over ONVIF: its device information, profiles and stream URL with the configured credentials;
each stream URL: an RTSP OPTIONS answered. Each within `timeout_s`.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from cameras.errors import OnvifError
from cameras.onvif_client import probe_device
from cameras.onvif_transport import OnvifTls
from cameras.redact import redact
from uplink.errors import SettingsError
from uplink.mqtt_client import describe_refusal, new_client
from uplink.s3_client import make_client
from uplink.s3_errors import store_error
from uplink.settings import MqttSettings, ObjectStoreSettings

from ..config import CameraConfig, Config


def online_problems(config: Config, timeout_s: float) -> list[str]:
    """Every problem the servers show."""
    problems: list[str] = []
    if config.upload is not None:
        problems += store(config.upload.store)
    if config.mqtt is not None:
        problems += broker(config.mqtt.link, f"evgw-check-{config.gateway.id}", timeout_s)
    for index, camera in enumerate(config.cameras):
        if camera.enabled:
            problems += [f"cameras[{index}] ({camera.id}): {p}" for p in cameras(camera, timeout_s)]
    return [f"{config.path}: {problem}" for problem in problems]


def store(settings: ObjectStoreSettings) -> Iterator[str]:
    """The bucket answers, and the key may read it."""
    client: Any = make_client(settings)
    for action, call in (
        ("checking the bucket", lambda: client.head_bucket(Bucket=settings.bucket)),
        ("listing the bucket", lambda: client.list_objects_v2(Bucket=settings.bucket, MaxKeys=1)),
    ):
        try:
            call()
        except (ClientError, BotoCoreError) as e:
            yield f"[upload] bucket: {_once(str(store_error(settings, e, action)))}"
            return


def _once(message: str) -> str:
    """The uploader's message without its promise to keep trying: the check asks once."""
    for promise in ("; will retry", "; uploads stay queued"):
        message = message.removesuffix(promise)
    return message


def broker(settings: MqttSettings, client_id: str, timeout_s: float) -> Iterator[str]:
    """The broker accepts this gateway's credentials (CONNACK success)."""
    where = f"{settings.host}:{settings.port}"
    answers: list[Any] = []
    try:
        client = new_client(settings, client_id)
    except SettingsError as e:
        yield f"[mqtt]: {e}"
        return
    client.on_connect = lambda _c, _u, _f, reason, _p: answers.append(reason)
    try:
        client.connect(settings.host, settings.port, settings.keepalive_s)
        deadline = time.monotonic() + timeout_s
        while not answers and time.monotonic() < deadline:
            client.loop(timeout=0.2)
    except ssl.SSLError as e:
        yield f"[mqtt]: TLS with {where} failed: {e}; check ca_file and the broker's certificate"
        return
    except OSError as e:
        yield f"[mqtt]: cannot connect to the broker at {where}: {e}; check host, port, network"
        return
    finally:
        client.disconnect()
    if not answers:
        yield f"[mqtt]: the broker at {where} did not answer within {timeout_s:g} s"
    elif answers[0].is_failure:
        yield f"[mqtt]: {describe_refusal(answers[0])} (broker {where})"


def cameras(camera: CameraConfig, timeout_s: float) -> Iterator[str]:
    """The camera's ONVIF service answers with these credentials, and its stream is served."""
    stream = camera.rtsp
    if camera.onvif is not None:
        tls = OnvifTls(camera.onvif_ca_file, camera.onvif_cert_sha256)
        try:
            device = probe_device(
                camera.onvif,
                camera.onvif_username,
                camera.onvif_password,
                timeout_s,
                profile=camera.profile,
                tls=tls,
            )
        except OnvifError as e:
            yield str(e)
            return
        stream = device.stream_uri
    if stream is not None:
        problem = rtsp_answers(stream, timeout_s)
        if problem:
            yield problem


def rtsp_answers(url: str, timeout_s: float) -> str | None:
    """Why the RTSP server at `url` does not answer OPTIONS, or None (no credentials sent)."""
    parts = urlsplit(url)
    secure = parts.scheme == "rtsps"
    host, port = parts.hostname or "", parts.port or (322 if secure else 554)
    shown = redact(url)
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as raw:
            if secure:  # reachable is enough: the recorder verifies the certificate
                return None
            raw.sendall(f"OPTIONS {shown} RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode())
            first = raw.recv(64)
    except OSError as e:
        return f"RTSP {shown} unreachable: {e}; check the address and the network"
    if not first.startswith(b"RTSP/1.0"):
        return f"RTSP {shown} answered, but not as an RTSP server: {first[:32]!r}"
    return None
