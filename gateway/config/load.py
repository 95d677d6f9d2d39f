"""Load the gateway's TOML configuration and validate it once into frozen, typed records.

Bad configuration must fail at start, not hours later in a recording thread, so every
problem raises `ConfigError` naming the file, the key path and the reason. Sections are
described as schemas (key -> kind, validator, default) read by one generic mapper; a new
section is a new schema plus a small builder, not another chain of ifs.

Key paths read like the file: ``[recording] crf`` for a key in a table and
``cameras[0].rtsp`` for a key in the first ``[[cameras]]`` entry (indexes start at 0).

A camera is reached by exactly one of ``rtsp`` (a fixed URL), ``onvif`` (its ONVIF device
service, asked for the stream URL) or ``serial`` (found by WS-Discovery on the camera network
named in ``[discovery]``); ONVIF credentials are resolved here, camera before section.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gateway.errors import ConfigError

from .checks import (
    BOOLEAN,
    INTEGER,
    NUMBER,
    STRING,
    STRINGS,
    Field,
    Invalid,
    Scope,
    bucket,
    describe,
    float_range,
    http_url,
    int_range,
    interface,
    ipv4,
    one_of,
    path,
    positive_seconds,
    read,
    recipient_list,
    rtsp_url,
    section,
    segment_seconds,
    serial,
    slug,
    text,
    timezone,
    topic_root,
    unknown_key,
)

Overlay = Literal["burn_in", "passthrough"]

OVERLAYS: tuple[Overlay, ...] = ("burn_in", "passthrough")
X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)
_MAX_SECRET_BYTES = 4096
AGE_IDENTITY_MARK = "AGE-SECRET-KEY-1"
ON_FULL = ("evict_unuploaded", "stop_recording")


@dataclass(frozen=True)
class GatewayConfig:
    id: str
    site: str
    data_dir: Path
    timezone: str


@dataclass(frozen=True)
class LocationConfig:
    name: str
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class RecordingConfig:
    segment_seconds: int
    overlay: Overlay
    encoder: str
    preset: str
    crf: int
    open_timeout_s: float
    read_timeout_s: float


@dataclass(frozen=True)
class CameraConfig:
    """One camera with per-camera overrides already resolved against the defaults."""

    id: str
    name: str
    rtsp: str | None
    username: str | None
    password: str | None = field(repr=False)
    location: str
    overlay: Overlay
    segment_seconds: int
    enabled: bool
    onvif: str | None = None
    serial: str | None = None
    profile: str | None = None
    onvif_username: str | None = None
    onvif_password: str | None = field(default=None, repr=False)

    @property
    def uses_onvif(self) -> bool:
        """The stream URL comes from the camera (asked over ONVIF), not from this file."""
        return self.rtsp is None


@dataclass(frozen=True)
class DiscoveryConfig:
    """The camera network for WS-Discovery; `address` None means discovery is off."""

    interface: str | None
    address: str | None
    auto_enroll: bool
    probe_timeout_s: float
    username: str | None
    password: str | None = field(repr=False)

    @property
    def enabled(self) -> bool:
        return self.interface is not None or self.address is not None


@dataclass(frozen=True)
class KeysConfig:
    """Only public keys for encryption: the archive's identity never lives on the gateway."""

    signing_key: Path
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class LedgerConfig:
    checkpoint_every: int
    checkpoint_interval_s: float


@dataclass(frozen=True)
class UploadConfig:
    endpoint_url: str
    bucket: str
    region: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    credentials_source: str
    ca_file: Path | None
    retention_days: int
    max_bytes_per_second: int
    workers: int


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int
    tls: bool
    ca_file: Path | None
    cert_file: Path | None
    key_file: Path | None
    username: str | None
    password: str | None = field(repr=False)
    topic_root: str
    health_interval_s: float
    keepalive_s: int
    frozen_after_s: float
    event_buffer: int


@dataclass(frozen=True)
class StorageConfig:
    quota_bytes: int
    min_free_bytes: int
    on_full: str


@dataclass(frozen=True)
class Config:
    path: Path
    gateway: GatewayConfig
    location: LocationConfig
    recording: RecordingConfig
    cameras: tuple[CameraConfig, ...]
    keys: KeysConfig
    ledger: LedgerConfig
    storage: StorageConfig
    upload: UploadConfig | None = None
    discovery: DiscoveryConfig = field(
        default_factory=lambda: DiscoveryConfig(None, None, False, 3.0, None, None)
    )
    mqtt: MqttConfig | None = None


def load_config(path: Path) -> Config:
    """Read and validate the configuration file at `path`."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        reason = e.strerror or str(e)
        raise ConfigError(
            f"{path}: cannot read configuration file: {reason}; check the path and permissions"
        ) from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not valid UTF-8 (byte offset {e.start}); save the file as UTF-8"
        ) from e
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    """Validate TOML `text`; `path` names the file in messages and anchors relative paths.

    Password files named by the configuration are read here, so a missing secret fails at
    start like any other configuration error.
    """
    if AGE_IDENTITY_MARK in text.upper():
        raise ConfigError(
            f"{path}: holds an age identity (AGE-SECRET-KEY-…): no decryption key may live "
            "on the gateway; keep it at the central archive and put only its age1… recipient here"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: TOML syntax error: {e}") from e
    except RecursionError as e:
        raise ConfigError(f"{path}: TOML syntax error: values nested too deeply") from e
    return config_from_mapping(data, path)


def config_from_mapping(data: Mapping[str, Any], path: Path) -> Config:
    """Validate already-parsed TOML data (as `tomllib` returns it) into a `Config`."""
    top = Scope(path, "", "")
    for key in data:
        if key not in _TOP_LEVEL:
            raise top.error(key, unknown_key(key, _TOP_LEVEL))
    scope, table = section(path, data, "gateway", required=True)
    values = read(scope, table, _GATEWAY)
    gateway = GatewayConfig(**{**values, "data_dir": _anchor(path.parent, values["data_dir"])})
    location = _location(*section(path, data, "location", required=True))
    scope, table = section(path, data, "recording")
    recording = RecordingConfig(**read(scope, table, _RECORDING))
    discovery = _discovery(*section(path, data, "discovery"))
    cameras = _cameras(path, data, location, recording, discovery)
    keys = _keys(*section(path, data, "keys", required=True))
    scope, table = section(path, data, "ledger")
    ledger = LedgerConfig(**read(scope, table, _LEDGER))
    scope, table = section(path, data, "storage")
    storage = StorageConfig(**read(scope, table, _STORAGE))
    upload = _upload(*section(path, data, "upload")) if "upload" in data else None
    mqtt = _mqtt(*section(path, data, "mqtt")) if "mqtt" in data else None
    return Config(
        path, gateway, location, recording, cameras, keys, ledger, storage, upload, discovery, mqtt
    )


# -- schemas and builders -------------------------------------------------------------------

_TOP_LEVEL = (
    "gateway",
    "location",
    "recording",
    "cameras",
    "keys",
    "ledger",
    "storage",
    "upload",
    "discovery",
    "mqtt",
)

_GATEWAY = {
    "id": Field(STRING, slug),
    "site": Field(STRING, text),
    "data_dir": Field(STRING, path),
    "timezone": Field(STRING, timezone, default="UTC"),
}

_LOCATION = {
    "name": Field(STRING, text),
    "lat": Field(NUMBER, float_range(-90, 90), default=None),
    "lon": Field(NUMBER, float_range(-180, 180), default=None),
}

_RECORDING = {
    "segment_seconds": Field(INTEGER, segment_seconds, default=60),
    "overlay": Field(STRING, one_of(*OVERLAYS), default="burn_in"),
    "encoder": Field(STRING, text, default="libx264"),
    "preset": Field(STRING, one_of(*X264_PRESETS), default="veryfast"),
    "crf": Field(INTEGER, int_range(0, 51), default=23),
    "open_timeout_s": Field(NUMBER, positive_seconds, default=10.0),
    "read_timeout_s": Field(NUMBER, positive_seconds, default=5.0),
}

_KEYS = {
    "signing_key": Field(STRING, path),
    "recipients": Field(STRINGS, recipient_list, default=()),
    "recipients_file": Field(STRING, path, default=None),
}

_LEDGER = {
    "checkpoint_every": Field(INTEGER, int_range(1, 100_000), default=10),
    "checkpoint_interval_s": Field(NUMBER, positive_seconds, default=600.0),
}

_STORAGE = {
    "quota_bytes": Field(INTEGER, int_range(0, 2**62), default=0),
    "min_free_bytes": Field(INTEGER, int_range(0, 2**62), default=1 << 30),
    "on_full": Field(STRING, one_of(*ON_FULL), default="evict_unuploaded"),
}

_MQTT = {
    "host": Field(STRING, text),
    "port": Field(INTEGER, int_range(1, 65535), default=None),
    "tls": Field(BOOLEAN, default=False),
    "ca_file": Field(STRING, path, default=None),
    "cert_file": Field(STRING, path, default=None),
    "key_file": Field(STRING, path, default=None),
    "username": Field(STRING, text, default=None),
    "password": Field(STRING, default=None, secret=True),
    "password_file": Field(STRING, path, default=None),
    "topic_root": Field(STRING, topic_root, default="evgw"),
    "health_interval_s": Field(NUMBER, float_range(1, 3600), default=10.0),
    "keepalive_s": Field(INTEGER, int_range(5, 3600), default=30),
    "frozen_after_s": Field(NUMBER, float_range(2, 3600), default=30.0),
    "event_buffer": Field(INTEGER, int_range(1, 1_000_000), default=1000),
}

_UPLOAD = {
    "endpoint_url": Field(STRING, http_url),
    "bucket": Field(STRING, bucket),
    "region": Field(STRING, text, default="us-east-1"),
    "access_key": Field(STRING, default=None, secret=True),
    "secret_key": Field(STRING, default=None, secret=True),
    "access_key_file": Field(STRING, path, default=None),
    "secret_key_file": Field(STRING, path, default=None),
    "ca_file": Field(STRING, default=""),
    "retention_days": Field(INTEGER, int_range(1, 36500), default=365),
    "max_bytes_per_second": Field(INTEGER, int_range(0, 2**40), default=0),
    "workers": Field(INTEGER, int_range(1, 16), default=2),
}

_CAMERA = {
    "id": Field(STRING, slug),
    "name": Field(STRING, text, default=None),
    "rtsp": Field(STRING, rtsp_url, default=None),
    "onvif": Field(STRING, http_url, default=None),
    "serial": Field(STRING, serial, default=None),
    "profile": Field(STRING, text, default=None),
    "username": Field(STRING, text, default=None),
    "password": Field(STRING, default=None, secret=True),
    "password_file": Field(STRING, path, default=None),
    "onvif_username": Field(STRING, text, default=None),
    "onvif_password": Field(STRING, default=None, secret=True),
    "onvif_password_file": Field(STRING, path, default=None),
    "location": Field(STRING, text, default=None),
    "overlay": Field(STRING, one_of(*OVERLAYS), default=None),
    "segment_seconds": Field(INTEGER, segment_seconds, default=None),
    "enabled": Field(BOOLEAN, default=True),
}

_DISCOVERY = {
    "interface": Field(STRING, interface, default=None),
    "address": Field(STRING, ipv4, default=None),
    "auto_enroll": Field(BOOLEAN, default=False),
    "probe_timeout_s": Field(NUMBER, float_range(0.5, 30), default=3.0),
    "username": Field(STRING, text, default=None),
    "password": Field(STRING, default=None, secret=True),
    "password_file": Field(STRING, path, default=None),
}
_SOURCES = ("rtsp", "onvif", "serial")
_ONVIF_ONLY = ("profile", "onvif_username", "onvif_password", "onvif_password_file")


def _discovery(scope: Scope, raw: Mapping[str, Any]) -> DiscoveryConfig:
    values = read(scope, raw, _DISCOVERY)
    if values["interface"] is not None and values["address"] is not None:
        raise scope.error("address", "set either interface or address, not both")
    if values["auto_enroll"] and values["interface"] is None and values["address"] is None:
        raise scope.error(
            "auto_enroll", "needs the camera network: set interface (e.g. eth1) or address"
        )
    password = _password(scope, values, "password")
    if password is not None and values["username"] is None:
        raise scope.error("username", "missing; a password needs a username")
    return DiscoveryConfig(
        interface=values["interface"],
        address=values["address"],
        auto_enroll=values["auto_enroll"],
        probe_timeout_s=values["probe_timeout_s"],
        username=values["username"],
        password=password,
    )


def _password(scope: Scope, values: Mapping[str, Any], key: str) -> str | None:
    """`key` inline or read from `key`_file (not both); None when neither is set."""
    password: str | None = values[key]
    if values[f"{key}_file"] is not None:
        if password is not None:
            raise scope.error(f"{key}_file", f"set either {key} or {key}_file, not both")
        secret_path = _anchor(scope.file.parent, values[f"{key}_file"])
        password = _read_secret(scope, f"{key}_file", secret_path)
    return password


def _mqtt(scope: Scope, raw: Mapping[str, Any]) -> MqttConfig:
    values = read(scope, raw, _MQTT)
    password, password_file = values.pop("password"), values.pop("password_file")
    if password is not None and password_file is not None:
        raise scope.error("password_file", "set either password or password_file, not both")
    if password_file is not None:
        password = _read_secret(scope, "password_file", _anchor(scope.file.parent, password_file))
    if password is not None and values["username"] is None:
        raise scope.error("username", "missing; a password needs a username")
    for key in ("ca_file", "cert_file", "key_file"):
        if values[key] is not None:
            values[key] = _anchor(scope.file.parent, values[key])
    if (values["cert_file"] is None) != (values["key_file"] is None):
        raise scope.error("key_file", "cert_file and key_file go together: set both or neither")
    if values["port"] is None:
        values["port"] = 8883 if values["tls"] else 1883
    return MqttConfig(**values, password=password)


def _upload(scope: Scope, raw: Mapping[str, Any]) -> UploadConfig:
    values = read(scope, raw, _UPLOAD)
    secrets = {}
    sources = []
    for name in ("access_key", "secret_key"):
        inline, file = values.pop(name), values.pop(f"{name}_file")
        if (inline is None) == (file is None):
            raise scope.error(name, f"set exactly one of {name} or {name}_file")
        if file is not None:
            path = _anchor(scope.file.parent, file)
            inline = _read_secret(scope, f"{name}_file", path)
            sources.append(str(path))
        secrets[name] = inline
    source = " / ".join(sources) or f"{scope.file} [upload] access_key / secret_key"
    ca = values.pop("ca_file")
    return UploadConfig(
        **values,
        **secrets,
        credentials_source=source,
        ca_file=_anchor(scope.file.parent, Path(ca)) if ca else None,
    )


def _keys(scope: Scope, raw: Mapping[str, Any]) -> KeysConfig:
    values = read(scope, raw, _KEYS)
    recipients = list(values["recipients"])
    if values["recipients_file"] is not None:
        file = _anchor(scope.file.parent, values["recipients_file"])
        text = _read_secret(scope, "recipients_file", file)
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        try:
            recipients += recipient_list(lines)
        except Invalid as e:
            raise scope.error("recipients_file", f"{str(file)!r}: {e}") from e
    if not recipients:
        raise scope.error(
            "recipients",
            "at least one age recipient (age1…) is needed: the central archive's public key "
            "(`evgw keygen --archive` prints one); or set recipients_file",
        )
    signing_key = _anchor(scope.file.parent, values["signing_key"])
    return KeysConfig(signing_key=signing_key, recipients=tuple(recipients))


def _location(scope: Scope, raw: Mapping[str, Any]) -> LocationConfig:
    values = read(scope, raw, _LOCATION)
    for key, other in (("lat", "lon"), ("lon", "lat")):
        if values[key] is not None and values[other] is None:
            reason = f"missing; {key} and {other} go together (set both or neither)"
            raise scope.error(other, reason)
    return LocationConfig(**values)


def _cameras(
    path: Path,
    data: Mapping[str, Any],
    location: LocationConfig,
    recording: RecordingConfig,
    discovery: DiscoveryConfig,
) -> tuple[CameraConfig, ...]:
    top = Scope(path, "", "")
    if "cameras" not in data:
        raise top.error("cameras", "missing required key; add at least one [[cameras]] table")
    entries = data["cameras"]
    if not isinstance(entries, list):
        raise top.error(
            "cameras", f"must be an array of tables ([[cameras]]), got {describe(entries)}"
        )
    if not entries:
        raise top.error("cameras", "at least one [[cameras]] entry is required")
    cameras: list[CameraConfig] = []
    first_index: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        scope = Scope(path, f"cameras[{index}]", ".")
        if not isinstance(entry, dict):
            raise scope.error(None, f"must be a table ([[cameras]]), got {describe(entry)}")
        camera = _camera(scope, entry, location, recording, discovery)
        for key in ("id", "onvif", "serial"):
            value = getattr(camera, key)
            if value is None:
                continue
            if (key, value) in first_index:
                also = first_index[key, value]
                raise scope.error(key, f"duplicate camera {key} {value!r} (also cameras[{also}])")
            first_index[key, value] = index
        cameras.append(camera)
    return tuple(cameras)


def _camera(
    scope: Scope,
    raw: Mapping[str, Any],
    location: LocationConfig,
    recording: RecordingConfig,
    discovery: DiscoveryConfig,
) -> CameraConfig:
    values = read(scope, raw, _CAMERA)
    sources = [key for key in _SOURCES if values[key] is not None]
    if len(sources) != 1:
        given = f" (got {', '.join(sources)})" if sources else ""
        raise scope.error(
            None,
            f"set exactly one of rtsp (a stream URL), onvif (the camera's ONVIF device service "
            f"URL) or serial (a camera found by discovery){given}",
        )
    password = _password(scope, values, "password")
    onvif_password = _password(scope, values, "onvif_password")
    if values["rtsp"] is not None:
        for key in _ONVIF_ONLY:
            if values[key] is not None:
                raise scope.error(key, "only applies to cameras set by onvif or serial, not rtsp")
    if onvif_password is not None and values["onvif_username"] is None:
        raise scope.error("onvif_username", "missing; onvif_password needs onvif_username")
    if values["serial"] is not None and not discovery.enabled:
        raise scope.error(
            "serial",
            "finding a camera by serial needs the camera network: set [discovery] interface "
            "(e.g. eth1) or address",
        )
    onvif_credentials = (values["onvif_username"], onvif_password)
    if values["onvif_username"] is None:
        onvif_credentials = (values["username"], password)
        if values["username"] is None:
            onvif_credentials = (discovery.username, discovery.password)
    rtsp_credentials = (values["username"], password)
    if values["rtsp"] is None and values["username"] is None:
        rtsp_credentials = onvif_credentials
    uses_onvif = values["rtsp"] is None
    return CameraConfig(
        id=values["id"],
        name=_default(values["name"], values["id"]),
        rtsp=values["rtsp"],
        username=rtsp_credentials[0],
        password=rtsp_credentials[1],
        location=_default(values["location"], location.name),
        overlay=_default(values["overlay"], recording.overlay),
        segment_seconds=_default(values["segment_seconds"], recording.segment_seconds),
        enabled=values["enabled"],
        onvif=values["onvif"],
        serial=values["serial"],
        profile=values["profile"],
        onvif_username=onvif_credentials[0] if uses_onvif else None,
        onvif_password=onvif_credentials[1] if uses_onvif else None,
    )


def _default(value: Any, fallback: Any) -> Any:
    return fallback if value is None else value


def _anchor(base: Path, path: Path) -> Path:
    """Resolve a relative path against the config file's folder, lexically (no file access)."""
    return Path(os.path.normpath(base.absolute() / path))


def _read_secret(scope: Scope, key: str, path: Path) -> str:
    try:
        with path.open("rb") as f:
            raw = f.read(_MAX_SECRET_BYTES + 1)
    except OSError as e:
        reason = e.strerror or str(e)
        message = f"cannot read {str(path)!r}: {reason}; create it or fix the path"
        raise scope.error(key, message) from e
    if len(raw) > _MAX_SECRET_BYTES:
        raise scope.error(key, f"{str(path)!r} is larger than {_MAX_SECRET_BYTES} bytes")
    try:
        secret = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as e:
        raise scope.error(key, f"{str(path)!r} is not valid UTF-8") from e
    if not secret:
        raise scope.error(key, f"{str(path)!r} is empty; write the camera's password into it")
    return secret
