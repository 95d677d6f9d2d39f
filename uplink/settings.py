"""How to reach the MQTT broker and the object store: frozen values checked on construction.

They live apart from `uplink.mqtt` and `uplink.objectstore` so the configuration loader and
`evgw monitor` can build and check them without loading paho or boto3. A value that cannot
work raises `SettingsError` naming the setting, before any connection is tried: the loader
reports it against the file's key, so a bad setting stops the gateway at start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from evgw.i18n import _
from uplink.errors import SettingsError

if TYPE_CHECKING:
    from cryptography import x509

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3 minimum for every part but the last
_TOPIC_LEVEL = re.compile(r"[A-Za-z0-9_.-]+")


def is_topic_path(value: str) -> bool:
    """'/'-separated levels of letters, digits and ``_.-``: no wildcards, no empty levels."""
    return bool(value) and all(_TOPIC_LEVEL.fullmatch(level) for level in value.split("/"))


@dataclass(frozen=True)
class MqttSettings:
    """Broker connection; the config loader builds it from ``[mqtt]``, `evgw monitor` from flags."""

    host: str
    port: int = 1883
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    topic_root: str = "evgw"
    client_id: str | None = None
    keepalive_s: int = 30
    reconnect_max_s: int = 30
    event_buffer: int = 1000

    def __post_init__(self) -> None:
        if not self.host:
            raise SettingsError("MQTT", "host", _("must not be empty"))
        between = _("must be between {low} and {high}, got {value}")
        if not 0 < self.port < 65536:
            reason = between.format(low=1, high=65535, value=self.port)
            raise SettingsError("MQTT", "port", reason)
        if not is_topic_path(self.topic_root):
            reason = _("must be '/'-separated levels of letters, digits and _.-, got {value!r}")
            raise SettingsError("MQTT", "topic_root", reason.format(value=self.topic_root))
        if not 5 <= self.keepalive_s <= 65535:
            reason = between.format(low=5, high=65535, value=self.keepalive_s)
            raise SettingsError("MQTT", "keepalive_s", reason)
        at_least_1 = _("must be at least 1, got {value}")
        if self.reconnect_max_s < 1:
            reason = at_least_1.format(value=self.reconnect_max_s)
            raise SettingsError("MQTT", "reconnect_max_s", reason)
        if self.event_buffer < 1:
            reason = at_least_1.format(value=self.event_buffer)
            raise SettingsError("MQTT", "event_buffer", reason)
        if self.password is not None and self.username is None:
            raise SettingsError("MQTT", "username", _("missing; a password needs a username"))
        if (self.cert_file is None) != (self.key_file is None):
            reason = _("cert_file and key_file go together: set both or neither")
            raise SettingsError("MQTT", "key_file", reason)
        if not self.tls and (self.ca_file or self.cert_file):
            key = "ca_file" if self.ca_file else "cert_file"
            reason = _("only used with tls = true: enable tls or leave {key} out").format(key=key)
            raise SettingsError("MQTT", key, reason)


@dataclass(frozen=True)
class ObjectStoreSettings:
    """Where and how to upload; the config loader builds it from ``[upload]``."""

    endpoint_url: str
    bucket: str
    region: str = "us-east-1"
    access_key: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)
    ca_file: str = ""
    retention_days: int = 365
    max_bytes_per_second: int = 0
    credentials_source: str = "[upload] access_key_file / secret_key_file"
    section: str = "[upload]"  # the config table messages name: the archive's is [store]
    multipart_threshold: int = 16 * MiB
    part_size: int = 16 * MiB
    connect_timeout: float = 3.0
    read_timeout: float = 30.0
    max_attempts: int = 2
    max_connections: int = 10

    def __post_init__(self) -> None:
        for key in ("endpoint_url", "bucket"):
            if not getattr(self, key):
                raise SettingsError("object store", key, _("must not be empty"))
        for key in ("retention_days", "max_bytes_per_second"):
            if getattr(self, key) < 0:
                reason = _("must be 0 or more, got {value}").format(value=getattr(self, key))
                raise SettingsError("object store", key, reason)
        if self.part_size < MIN_PART_SIZE or self.multipart_threshold < self.part_size:
            reason = _(
                "must be between {low} and multipart_threshold ({high}), got {value}"
            ).format(low=MIN_PART_SIZE, high=self.multipart_threshold, value=self.part_size)
            raise SettingsError("object store", "part_size", reason)

    def retain_until(self, now: datetime) -> datetime | None:
        """End of COMPLIANCE retention for an object stored at `now` (None when 0 days)."""
        if self.retention_days == 0:
            return None
        return now + timedelta(days=self.retention_days)


@dataclass(frozen=True)
class TsaSettings:
    """Where the TSA is and what its replies must chain to (built from ``[tsa]``); here, apart
    from `tsa_client`, so the configuration's records load no X.509 or RFC 3161 code."""

    url: str
    ca_file: Path
    anchors: tuple[x509.Certificate, ...] = field(repr=False)
    timeout_s: float = 30.0
    policy: str | None = None
