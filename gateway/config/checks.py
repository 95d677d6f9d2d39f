"""The generic TOML mapper behind the configuration: kinds, fields, scopes and validators.

Every rejection is an `Invalid` reason; the scope around it turns it into a `ConfigError`
naming the file and the key path.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.errors import ConfigError
from segments.agekeys import parse_recipient
from segments.errors import CryptoFormatError

_SECONDS_PER_DAY = 86_400


# -- the generic mapper ---------------------------------------------------------------------


class Invalid(Exception):
    """A validator rejected a value; the message is the reason, without the key path."""


@dataclass(frozen=True)
class Kind:
    noun: str
    accepts: Callable[[object], bool]


STRING = Kind("a string", lambda v: isinstance(v, str))
INTEGER = Kind("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool))
NUMBER = Kind("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool))
STRINGS = Kind(
    "an array of strings", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)
)
BOOLEAN = Kind("a boolean (true or false)", lambda v: isinstance(v, bool))

_REQUIRED: Any = object()


@dataclass(frozen=True)
class Field:
    """One key of a table: its TOML kind, an optional validator/converter and its default."""

    kind: Kind
    check: Callable[[Any], Any] | None = None
    default: Any = _REQUIRED
    secret: bool = False


@dataclass(frozen=True)
class Scope:
    """Where in the file a table sits, to render key paths the way the file reads."""

    file: Path
    label: str
    sep: str

    def key_path(self, key: str) -> str:
        return f"{self.label}{self.sep}{key}" if self.label else key

    def error(self, key: str | None, reason: str) -> ConfigError:
        where = self.label if key is None else self.key_path(key)
        return ConfigError(f"{self.file}: {where}: {reason}")


def read(scope: Scope, raw: Mapping[str, Any], schema: Mapping[str, Field]) -> dict[str, Any]:
    """Check `raw` against `schema`: no unknown keys, required ones present, kinds, validators."""
    for key in raw:
        if key not in schema:
            raise scope.error(key, unknown_key(key, tuple(schema)))
    values: dict[str, Any] = {}
    for key, spec in schema.items():
        if key not in raw:
            if spec.default is _REQUIRED:
                raise scope.error(key, "missing required key")
            values[key] = spec.default
            continue
        value = raw[key]
        if not spec.kind.accepts(value):
            got = toml_type(value) if spec.secret else describe(value)
            raise scope.error(key, f"must be {spec.kind.noun}, got {got}")
        try:
            values[key] = spec.check(value) if spec.check else value
        except Invalid as e:
            raise scope.error(key, str(e)) from None
    return values


def section(
    path: Path, data: Mapping[str, Any], name: str, required: bool = False
) -> tuple[Scope, Mapping[str, Any]]:
    scope = Scope(path, f"[{name}]", " ")
    if name not in data:
        if required:
            raise scope.error(None, "missing required section")
        return scope, {}
    table = data[name]
    if not isinstance(table, dict):
        raise scope.error(None, f"must be a table ([{name}]), got {describe(table)}")
    return scope, table


def unknown_key(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key (did you mean {close[0]}?)"
    return f"unknown key (allowed: {', '.join(allowed)})"


def toml_type(value: object) -> str:
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


def describe(value: object) -> str:
    """Show a wrong value briefly: strings quoted, others with their TOML type."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return text if isinstance(value, str) else f"{toml_type(value)} {text}"


# -- validators -----------------------------------------------------------------------------

SLUG = re.compile(r"[A-Za-z0-9._-]{1,64}")


def slug(value: str) -> str:
    if not SLUG.fullmatch(value) or value in (".", ".."):
        raise Invalid(f"must be 1-64 characters of A-Z a-z 0-9 . _ - (not . or ..), got {value!r}")
    return value


def text(value: str) -> str:
    if not value.strip():
        raise Invalid("must not be empty")
    return value


def path(value: str) -> Path:
    if not value.strip() or "\0" in value:
        raise Invalid(f"must be a file system path, got {value!r}")
    return Path(value)


def one_of(*choices: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            hint = difflib.get_close_matches(value, choices, n=1)
            suggestion = f" (did you mean {hint[0]}?)" if hint else ""
            raise Invalid(f"must be one of {', '.join(choices)}, got {value!r}{suggestion}")
        return value

    return check


def int_range(low: int, high: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise Invalid(f"must be between {low} and {high}, got {value}")
        return value

    return check


def float_range(low: float, high: float) -> Callable[[float], float]:
    def check(value: float) -> float:
        if not low <= value <= high:  # also rejects nan
            raise Invalid(f"must be between {low:g} and {high:g}, got {value}")
        return float(value)

    return check


def positive_seconds(value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise Invalid(f"must be a number of seconds > 0, got {value}")
    return float(value)


def segment_seconds(value: int) -> int:
    int_range(1, 3600)(value)
    if _SECONDS_PER_DAY % value:
        raise Invalid(
            f"must divide 86400 so segment boundaries align to midnight "
            f"(e.g. 10, 30, 60, 300, 600, 3600), got {value}"
        )
    return value


def timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as e:
        raise Invalid(
            f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai or UTC"
        ) from e
    return value


def rtsp_url(value: str) -> str:
    bad = Invalid(f"must be an rtsp:// or rtsps:// URL, got {value!r}")
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
        raise Invalid("must not contain credentials; set username and password/password_file")
    return value


def ipv4(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError as e:
        raise Invalid(f"must be an IPv4 address such as 192.0.2.1, got {value!r}") from e
    return value


def interface(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.:@-]{1,15}", value):
        raise Invalid(f"must be a network interface name such as eth1, got {value!r}")
    return value


def serial(value: str) -> str:
    if not value.strip() or len(value) > 128 or not value.isprintable():
        raise Invalid(f"must be the camera's serial number (1-128 characters), got {value!r}")
    return value.strip()


def recipient_list(values: list[str]) -> tuple[str, ...]:
    for value in values:
        try:
            parse_recipient(value)
        except CryptoFormatError as e:
            raise Invalid(f"{value[:12]!r}…: {e}") from e
    return tuple(values)


def http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise Invalid(f"must be an http:// or https:// URL without credentials, got {value!r}")
    return value


def topic_root(value: str) -> str:
    parts = value.split("/")
    if not value or any(not p or any(c in p for c in "+#\0") for p in parts):
        raise Invalid(f"must be a topic path without wildcards or empty levels, got {value!r}")
    return value


def bucket(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
        raise Invalid(f"must be an S3 bucket name (3-63 of a-z 0-9 . -), got {value!r}")
    return value
