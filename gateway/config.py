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

import difflib
import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.errors import ConfigError
from segments.agekeys import parse_recipient
from segments.errors import CryptoFormatError

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
_SECONDS_PER_DAY = 86_400
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
    top = _Scope(path, "", "")
    for key in data:
        if key not in _TOP_LEVEL:
            raise top.error(key, _unknown_key(key, _TOP_LEVEL))
    scope, table = _section(path, data, "gateway", required=True)
    values = _read(scope, table, _GATEWAY)
    gateway = GatewayConfig(**{**values, "data_dir": _anchor(path.parent, values["data_dir"])})
    location = _location(*_section(path, data, "location", required=True))
    scope, table = _section(path, data, "recording")
    recording = RecordingConfig(**_read(scope, table, _RECORDING))
    discovery = _discovery(*_section(path, data, "discovery"))
    cameras = _cameras(path, data, location, recording, discovery)
    keys = _keys(*_section(path, data, "keys", required=True))
    scope, table = _section(path, data, "ledger")
    ledger = LedgerConfig(**_read(scope, table, _LEDGER))
    scope, table = _section(path, data, "storage")
    storage = StorageConfig(**_read(scope, table, _STORAGE))
    upload = _upload(*_section(path, data, "upload")) if "upload" in data else None
    mqtt = _mqtt(*_section(path, data, "mqtt")) if "mqtt" in data else None
    return Config(
        path, gateway, location, recording, cameras, keys, ledger, storage, upload, discovery, mqtt
    )


# -- the generic mapper ---------------------------------------------------------------------


class _Invalid(Exception):
    """A validator rejected a value; the message is the reason, without the key path."""


@dataclass(frozen=True)
class _Kind:
    noun: str
    accepts: Callable[[object], bool]


_STRING = _Kind("a string", lambda v: isinstance(v, str))
_INTEGER = _Kind("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool))
_NUMBER = _Kind("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool))
_STRINGS = _Kind(
    "an array of strings", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)
)
_BOOLEAN = _Kind("a boolean (true or false)", lambda v: isinstance(v, bool))

_REQUIRED: Any = object()


@dataclass(frozen=True)
class _Field:
    """One key of a table: its TOML kind, an optional validator/converter and its default."""

    kind: _Kind
    check: Callable[[Any], Any] | None = None
    default: Any = _REQUIRED
    secret: bool = False


@dataclass(frozen=True)
class _Scope:
    """Where in the file a table sits, to render key paths the way the file reads."""

    file: Path
    label: str
    sep: str

    def key_path(self, key: str) -> str:
        return f"{self.label}{self.sep}{key}" if self.label else key

    def error(self, key: str | None, reason: str) -> ConfigError:
        where = self.label if key is None else self.key_path(key)
        return ConfigError(f"{self.file}: {where}: {reason}")


def _read(scope: _Scope, raw: Mapping[str, Any], schema: Mapping[str, _Field]) -> dict[str, Any]:
    """Check `raw` against `schema`: no unknown keys, required ones present, kinds, validators."""
    for key in raw:
        if key not in schema:
            raise scope.error(key, _unknown_key(key, tuple(schema)))
    values: dict[str, Any] = {}
    for key, spec in schema.items():
        if key not in raw:
            if spec.default is _REQUIRED:
                raise scope.error(key, "missing required key")
            values[key] = spec.default
            continue
        value = raw[key]
        if not spec.kind.accepts(value):
            got = _toml_type(value) if spec.secret else _describe(value)
            raise scope.error(key, f"must be {spec.kind.noun}, got {got}")
        try:
            values[key] = spec.check(value) if spec.check else value
        except _Invalid as e:
            raise scope.error(key, str(e)) from None
    return values


def _section(
    path: Path, data: Mapping[str, Any], name: str, required: bool = False
) -> tuple[_Scope, Mapping[str, Any]]:
    scope = _Scope(path, f"[{name}]", " ")
    if name not in data:
        if required:
            raise scope.error(None, "missing required section")
        return scope, {}
    table = data[name]
    if not isinstance(table, dict):
        raise scope.error(None, f"must be a table ([{name}]), got {_describe(table)}")
    return scope, table


def _unknown_key(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key (did you mean {close[0]}?)"
    return f"unknown key (allowed: {', '.join(allowed)})"


def _toml_type(value: object) -> str:
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "boolean"),
        (int, "integer"),
        (float, "float"),
        (str, "string"),
        (list, "array"),
        (dict, "table"),
        (datetime, "datetime"),
        ((date, time), "date/time"),
    )
    return next((name for cls, name in kinds if isinstance(value, cls)), type(value).__name__)


def _describe(value: object) -> str:
    """Show a wrong value briefly: strings quoted, others with their TOML type."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return text if isinstance(value, str) else f"{_toml_type(value)} {text}"


# -- validators -----------------------------------------------------------------------------

_SLUG = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value) or value in (".", ".."):
        raise _Invalid(f"must be 1-64 characters of A-Z a-z 0-9 . _ - (not . or ..), got {value!r}")
    return value


def _text(value: str) -> str:
    if not value.strip():
        raise _Invalid("must not be empty")
    return value


def _path(value: str) -> Path:
    if not value.strip() or "\0" in value:
        raise _Invalid(f"must be a file system path, got {value!r}")
    return Path(value)


def _one_of(*choices: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            hint = difflib.get_close_matches(value, choices, n=1)
            suggestion = f" (did you mean {hint[0]}?)" if hint else ""
            raise _Invalid(f"must be one of {', '.join(choices)}, got {value!r}{suggestion}")
        return value

    return check


def _int_range(low: int, high: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise _Invalid(f"must be between {low} and {high}, got {value}")
        return value

    return check


def _float_range(low: float, high: float) -> Callable[[float], float]:
    def check(value: float) -> float:
        if not low <= value <= high:  # also rejects nan
            raise _Invalid(f"must be between {low:g} and {high:g}, got {value}")
        return float(value)

    return check


def _positive_seconds(value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise _Invalid(f"must be a number of seconds > 0, got {value}")
    return float(value)


def _segment_seconds(value: int) -> int:
    _int_range(1, 3600)(value)
    if _SECONDS_PER_DAY % value:
        raise _Invalid(
            f"must divide 86400 so segment boundaries align to midnight "
            f"(e.g. 10, 30, 60, 300, 600, 3600), got {value}"
        )
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as e:
        raise _Invalid(
            f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai or UTC"
        ) from e
    return value


def _rtsp_url(value: str) -> str:
    bad = _Invalid(f"must be an rtsp:// or rtsps:// URL, got {value!r}")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise bad
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as e:
        raise bad from e
    if parts.scheme not in ("rtsp", "rtsps") or not parts.hostname:
        raise bad
    if "@" in parts.netloc:
        raise _Invalid("must not contain credentials; set username and password/password_file")
    return value


def _ipv4(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError as e:
        raise _Invalid(f"must be an IPv4 address such as 192.0.2.1, got {value!r}") from e
    return value


def _interface(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.:@-]{1,15}", value):
        raise _Invalid(f"must be a network interface name such as eth1, got {value!r}")
    return value


def _serial(value: str) -> str:
    if not value.strip() or len(value) > 128 or not value.isprintable():
        raise _Invalid(f"must be the camera's serial number (1-128 characters), got {value!r}")
    return value.strip()


def _recipient_list(values: list[str]) -> tuple[str, ...]:
    for value in values:
        try:
            parse_recipient(value)
        except CryptoFormatError as e:
            raise _Invalid(f"{value[:12]!r}…: {e}") from e
    return tuple(values)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise _Invalid(f"must be an http:// or https:// URL without credentials, got {value!r}")
    return value


def _topic_root(value: str) -> str:
    parts = value.split("/")
    if not value or any(not p or any(c in p for c in "+#\0") for p in parts):
        raise _Invalid(f"must be a topic path without wildcards or empty levels, got {value!r}")
    return value


def _bucket(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
        raise _Invalid(f"must be an S3 bucket name (3-63 of a-z 0-9 . -), got {value!r}")
    return value


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
    "id": _Field(_STRING, _slug),
    "site": _Field(_STRING, _text),
    "data_dir": _Field(_STRING, _path),
    "timezone": _Field(_STRING, _timezone, default="UTC"),
}

_LOCATION = {
    "name": _Field(_STRING, _text),
    "lat": _Field(_NUMBER, _float_range(-90, 90), default=None),
    "lon": _Field(_NUMBER, _float_range(-180, 180), default=None),
}

_RECORDING = {
    "segment_seconds": _Field(_INTEGER, _segment_seconds, default=60),
    "overlay": _Field(_STRING, _one_of(*OVERLAYS), default="burn_in"),
    "encoder": _Field(_STRING, _text, default="libx264"),
    "preset": _Field(_STRING, _one_of(*X264_PRESETS), default="veryfast"),
    "crf": _Field(_INTEGER, _int_range(0, 51), default=23),
    "open_timeout_s": _Field(_NUMBER, _positive_seconds, default=10.0),
    "read_timeout_s": _Field(_NUMBER, _positive_seconds, default=5.0),
}

_KEYS = {
    "signing_key": _Field(_STRING, _path),
    "recipients": _Field(_STRINGS, _recipient_list, default=()),
    "recipients_file": _Field(_STRING, _path, default=None),
}

_LEDGER = {
    "checkpoint_every": _Field(_INTEGER, _int_range(1, 100_000), default=10),
    "checkpoint_interval_s": _Field(_NUMBER, _positive_seconds, default=600.0),
}

_STORAGE = {
    "quota_bytes": _Field(_INTEGER, _int_range(0, 2**62), default=0),
    "min_free_bytes": _Field(_INTEGER, _int_range(0, 2**62), default=1 << 30),
    "on_full": _Field(_STRING, _one_of(*ON_FULL), default="evict_unuploaded"),
}

_MQTT = {
    "host": _Field(_STRING, _text),
    "port": _Field(_INTEGER, _int_range(1, 65535), default=None),
    "tls": _Field(_BOOLEAN, default=False),
    "ca_file": _Field(_STRING, _path, default=None),
    "cert_file": _Field(_STRING, _path, default=None),
    "key_file": _Field(_STRING, _path, default=None),
    "username": _Field(_STRING, _text, default=None),
    "password": _Field(_STRING, default=None, secret=True),
    "password_file": _Field(_STRING, _path, default=None),
    "topic_root": _Field(_STRING, _topic_root, default="evgw"),
    "health_interval_s": _Field(_NUMBER, _float_range(1, 3600), default=10.0),
    "keepalive_s": _Field(_INTEGER, _int_range(5, 3600), default=30),
    "frozen_after_s": _Field(_NUMBER, _float_range(2, 3600), default=30.0),
    "event_buffer": _Field(_INTEGER, _int_range(1, 1_000_000), default=1000),
}

_UPLOAD = {
    "endpoint_url": _Field(_STRING, _http_url),
    "bucket": _Field(_STRING, _bucket),
    "region": _Field(_STRING, _text, default="us-east-1"),
    "access_key": _Field(_STRING, default=None, secret=True),
    "secret_key": _Field(_STRING, default=None, secret=True),
    "access_key_file": _Field(_STRING, _path, default=None),
    "secret_key_file": _Field(_STRING, _path, default=None),
    "ca_file": _Field(_STRING, default=""),
    "retention_days": _Field(_INTEGER, _int_range(1, 36500), default=365),
    "max_bytes_per_second": _Field(_INTEGER, _int_range(0, 2**40), default=0),
    "workers": _Field(_INTEGER, _int_range(1, 16), default=2),
}

_CAMERA = {
    "id": _Field(_STRING, _slug),
    "name": _Field(_STRING, _text, default=None),
    "rtsp": _Field(_STRING, _rtsp_url, default=None),
    "onvif": _Field(_STRING, _http_url, default=None),
    "serial": _Field(_STRING, _serial, default=None),
    "profile": _Field(_STRING, _text, default=None),
    "username": _Field(_STRING, _text, default=None),
    "password": _Field(_STRING, default=None, secret=True),
    "password_file": _Field(_STRING, _path, default=None),
    "onvif_username": _Field(_STRING, _text, default=None),
    "onvif_password": _Field(_STRING, default=None, secret=True),
    "onvif_password_file": _Field(_STRING, _path, default=None),
    "location": _Field(_STRING, _text, default=None),
    "overlay": _Field(_STRING, _one_of(*OVERLAYS), default=None),
    "segment_seconds": _Field(_INTEGER, _segment_seconds, default=None),
    "enabled": _Field(_BOOLEAN, default=True),
}

_DISCOVERY = {
    "interface": _Field(_STRING, _interface, default=None),
    "address": _Field(_STRING, _ipv4, default=None),
    "auto_enroll": _Field(_BOOLEAN, default=False),
    "probe_timeout_s": _Field(_NUMBER, _float_range(0.5, 30), default=3.0),
    "username": _Field(_STRING, _text, default=None),
    "password": _Field(_STRING, default=None, secret=True),
    "password_file": _Field(_STRING, _path, default=None),
}
_SOURCES = ("rtsp", "onvif", "serial")
_ONVIF_ONLY = ("profile", "onvif_username", "onvif_password", "onvif_password_file")


def _discovery(scope: _Scope, raw: Mapping[str, Any]) -> DiscoveryConfig:
    values = _read(scope, raw, _DISCOVERY)
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


def _password(scope: _Scope, values: Mapping[str, Any], key: str) -> str | None:
    """`key` inline or read from `key`_file (not both); None when neither is set."""
    password: str | None = values[key]
    if values[f"{key}_file"] is not None:
        if password is not None:
            raise scope.error(f"{key}_file", f"set either {key} or {key}_file, not both")
        secret_path = _anchor(scope.file.parent, values[f"{key}_file"])
        password = _read_secret(scope, f"{key}_file", secret_path)
    return password


def _mqtt(scope: _Scope, raw: Mapping[str, Any]) -> MqttConfig:
    values = _read(scope, raw, _MQTT)
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


def _upload(scope: _Scope, raw: Mapping[str, Any]) -> UploadConfig:
    values = _read(scope, raw, _UPLOAD)
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


def _keys(scope: _Scope, raw: Mapping[str, Any]) -> KeysConfig:
    values = _read(scope, raw, _KEYS)
    recipients = list(values["recipients"])
    if values["recipients_file"] is not None:
        file = _anchor(scope.file.parent, values["recipients_file"])
        text = _read_secret(scope, "recipients_file", file)
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        try:
            recipients += _recipient_list(lines)
        except _Invalid as e:
            raise scope.error("recipients_file", f"{str(file)!r}: {e}") from e
    if not recipients:
        raise scope.error(
            "recipients",
            "at least one age recipient (age1…) is needed: the central archive's public key "
            "(`evgw keygen --archive` prints one); or set recipients_file",
        )
    signing_key = _anchor(scope.file.parent, values["signing_key"])
    return KeysConfig(signing_key=signing_key, recipients=tuple(recipients))


def _location(scope: _Scope, raw: Mapping[str, Any]) -> LocationConfig:
    values = _read(scope, raw, _LOCATION)
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
    top = _Scope(path, "", "")
    if "cameras" not in data:
        raise top.error("cameras", "missing required key; add at least one [[cameras]] table")
    entries = data["cameras"]
    if not isinstance(entries, list):
        raise top.error(
            "cameras", f"must be an array of tables ([[cameras]]), got {_describe(entries)}"
        )
    if not entries:
        raise top.error("cameras", "at least one [[cameras]] entry is required")
    cameras: list[CameraConfig] = []
    first_index: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        scope = _Scope(path, f"cameras[{index}]", ".")
        if not isinstance(entry, dict):
            raise scope.error(None, f"must be a table ([[cameras]]), got {_describe(entry)}")
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
    scope: _Scope,
    raw: Mapping[str, Any],
    location: LocationConfig,
    recording: RecordingConfig,
    discovery: DiscoveryConfig,
) -> CameraConfig:
    values = _read(scope, raw, _CAMERA)
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


def _read_secret(scope: _Scope, key: str, path: Path) -> str:
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
