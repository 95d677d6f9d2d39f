"""The ``[mqtt]`` and ``[upload]`` sections: declared once, built into uplink's settings.

The loader builds `MqttSettings` and `ObjectStoreSettings` here, once, so the daemon and the
commands receive settings that are known to work. What those settings refuse on construction
(`SettingsError`) is reported like any other configuration mistake, naming the file and key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from evgw.config import checks
from evgw.config.fields import Scope, read_table, secret, secret_file, setting, table, user_name
from evgw.config.placeholders import placeholder
from evgw.config.secret_files import optional_secret, required_secret

from .errors import SettingsError
from .settings import MqttSettings, ObjectStoreSettings


@table
class MqttLinkTable:
    """How to reach the broker: the gateway's and the desk's ``[mqtt]`` share these keys."""

    host: str = setting(
        help="Broker of central monitoring: host name or address.",
        check=checks.text,
        example=placeholder("MQTT-BROKER"),
    )
    port: int | None = setting(
        default=None,
        help="Broker port (default 1883, or 8883 with tls = true).",
        check=checks.int_range(1, 65535),
        example=8883,
        commented=True,
    )
    tls: bool = setting(
        default=False,
        help="Connect with TLS. ca_file, cert_file and key_file are only used with tls = true.",
        example=True,
    )
    ca_file: Path | None = setting(
        default=None,
        help="CA bundle that signs the broker's certificate (default: the system's CAs).",
        example="/etc/evgw/mqtt-ca.pem",
    )
    cert_file: Path | None = setting(
        default=None,
        help="Client certificate for mutual TLS; set cert_file and key_file together.",
        example="/etc/evgw/mqtt-client.pem",
        commented=True,
    )
    key_file: Path | None = setting(
        default=None,
        help="Private key of the client certificate.",
        example="/etc/evgw/mqtt-client.key",
        commented=True,
    )
    username: str | None = user_name(
        help="User name at the broker; needed when a password is set.",
        example="gw-post-01",
        commented=False,
    )
    password: str | None = secret(help="Password at the broker; better in password_file.")
    password_file: Path | None = secret_file(
        "password", holding="the broker password", example="/etc/evgw/mqtt.pass", commented=False
    )
    topic_root: str = setting(
        default="evgw",
        help="Topics are <topic_root>/<gateway id>/...: '/'-separated levels of letters, "
        "digits and _.-",
    )
    keepalive_s: int = setting(
        default=30,
        help="MQTT keepalive in seconds: how soon the broker notices a lost gateway and "
        "publishes its last will (state offline).",
        check=checks.int_range(5, 3600),
    )


@table
class MqttTable(MqttLinkTable):
    """The gateway's ``[mqtt]`` as written; `mqtt_config` turns it into `MqttConfig`."""

    health_interval_s: float = setting(
        default=10.0,
        help="Seconds between health reports (gateway and cameras).",
        check=checks.float_range(1, 3600),
    )
    frozen_after_s: float = setting(
        default=30.0,
        help="Seconds a camera may repeat its picture bit for bit (nothing moves and no "
        "sensor noise) before it is reported frozen; a motionless scene whose sensor is alive "
        "is reported as scene_still after as long, never as an alarm.",
        check=checks.float_range(2, 3600),
    )
    event_buffer: int = setting(
        default=1000,
        help="Events and command replies kept while the broker is away; beyond this the "
        "oldest are dropped and counted.",
        check=checks.int_range(1, 1_000_000),
    )


@dataclass(frozen=True)
class MqttConfig:
    """How to reach central monitoring (`link`) and how often to report to it."""

    FROZEN_AFTER_S: ClassVar[float] = MqttTable.frozen_after_s  # also without an [mqtt] table

    link: MqttSettings
    health_interval_s: float
    frozen_after_s: float


@table
class UploadTable:
    """``[upload]`` as written; `upload_config` turns it into `UploadConfig`."""

    endpoint_url: str = setting(
        help="Endpoint of the store's S3 API.",
        check=checks.http_url,
        example=placeholder("S3-ENDPOINT"),
    )
    bucket: str = setting(
        help="Bucket for segments, records and checkpoints; create it with object lock.",
        check=checks.bucket,
        example="evidence",
    )
    region: str = setting(
        default="us-east-1", help="Region name the store expects.", check=checks.text
    )
    access_key: str | None = secret(
        help="Access key of the store, inline; better in access_key_file.", example="..."
    )
    secret_key: str | None = secret(
        help="Secret key of the store, inline; better in secret_key_file.", example="..."
    )
    access_key_file: Path | None = secret_file(
        "access_key",
        holding="the access key",
        example="/etc/evgw/s3.key",
        commented=False,
        exactly_one=True,
    )
    secret_key_file: Path | None = secret_file(
        "secret_key",
        holding="the secret key",
        example="/etc/evgw/s3.secret",
        commented=False,
        exactly_one=True,
    )
    ca_file: Path | None = setting(
        default=None,
        help="Custom CA bundle for TLS to the store.",
        check=checks.path_or_none,
        example="",
    )
    retention_days: int = setting(
        default=365,
        help="COMPLIANCE retention for every object, where the bucket has object lock.",
        check=checks.int_range(1, 36500),
    )
    max_bytes_per_second: int = setting(
        default=0,
        help="Upload bandwidth cap in bytes per second (0 = unlimited).",
        check=checks.int_range(0, 2**40),
    )
    workers: int = setting(
        default=2,
        help="Parallel requests to the store: uploads on a gateway, reads and HEADs at the "
        "archive.",
        check=checks.int_range(1, 16),
    )


@dataclass(frozen=True)
class UploadConfig:
    """Where sealed segments go (`store`) and how many upload at once."""

    store: ObjectStoreSettings
    workers: int


def mqtt_config(scope: Scope, raw: Mapping[str, Any], gateway_id: str) -> MqttConfig:
    """The gateway's ``[mqtt]``: its link (client id ``evgw-<gateway id>``) and reporting."""
    table = read_table(scope, raw, MqttTable)
    link = _link(scope, table, f"evgw-{gateway_id}", table.event_buffer)
    return MqttConfig(link, table.health_interval_s, table.frozen_after_s)


def mqtt_link(scope: Scope, raw: Mapping[str, Any], client_id: str | None) -> MqttSettings:
    """A ``[mqtt]`` of link keys only (the desk's)."""
    return _link(scope, read_table(scope, raw, MqttLinkTable), client_id, 1000)


def _link(
    scope: Scope, table: MqttLinkTable, client_id: str | None, event_buffer: int
) -> MqttSettings:
    """Read the password file, default the port by tls, and let `MqttSettings` judge the rest."""
    password = optional_secret(scope, "password", table.password, table.password_file)
    port = table.port if table.port is not None else 8883 if table.tls else 1883
    try:
        return MqttSettings(
            host=table.host,
            port=port,
            tls=table.tls,
            ca_file=table.ca_file,
            cert_file=table.cert_file,
            key_file=table.key_file,
            username=table.username,
            password=password,
            topic_root=table.topic_root,
            client_id=client_id,
            keepalive_s=table.keepalive_s,
            event_buffer=event_buffer,
        )
    except SettingsError as e:
        raise scope.error(e.key, e.reason) from e


def upload_config(scope: Scope, raw: Mapping[str, Any]) -> UploadConfig:
    """Read the credentials (inline or from files, exactly one each) into the store settings.

    `credentials_source` says where they came from, so an authentication failure at upload
    time can point at the right file without ever showing the keys.
    """
    table = read_table(scope, raw, UploadTable)
    access_key = required_secret(scope, "access_key", table.access_key, table.access_key_file)
    secret_key = required_secret(scope, "secret_key", table.secret_key, table.secret_key_file)
    files = [str(f) for f in (table.access_key_file, table.secret_key_file) if f is not None]
    source = " / ".join(files) or f"{scope.file} {scope.label} access_key / secret_key"
    try:
        store = ObjectStoreSettings(
            endpoint_url=table.endpoint_url,
            bucket=table.bucket,
            region=table.region,
            access_key=access_key,
            secret_key=secret_key,
            ca_file=str(table.ca_file or ""),
            retention_days=table.retention_days,
            max_bytes_per_second=table.max_bytes_per_second,
            credentials_source=source,
            section=scope.label or "[upload]",
        )
    except SettingsError as e:
        raise scope.error(e.key, e.reason) from e
    return UploadConfig(store, table.workers)
