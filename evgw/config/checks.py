"""Checks for single configuration values, each carrying its rule in words.

A check receives a value already of the key's TOML type and returns the value to keep (it
may convert it), or raises `Invalid` with the reason, which the mapper turns into a
`ConfigError` naming the file and the key path. Its `rule` says the same in a few words for
the example file, so what the file promises and what the loader enforces stay together. The
reasons are translated when raised (`_`); the rules stay English, as the example file does.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..i18n import _

_SECONDS_PER_DAY = 86_400
_SLUG = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Invalid(Exception):
    """A check rejected a value; the message is the reason, without the key path."""


@dataclass(frozen=True)
class Check:
    """A validator/converter and the rule it enforces, in words for the example file."""

    rule: str
    apply: Callable[[Any], Any]

    def __call__(self, value: Any) -> Any:
        return self.apply(value)


def rule(words: str) -> Callable[[Callable[[Any], Any]], Check]:
    """Decorate a validator function with the rule it enforces."""

    def wrap(apply: Callable[[Any], Any]) -> Check:
        return Check(words, apply)

    return wrap


@rule("1-64 characters of A-Z a-z 0-9 . _ -")
def slug(value: str) -> str:
    if not _SLUG.fullmatch(value) or value in (".", ".."):
        raise Invalid(
            _("must be 1-64 characters of A-Z a-z 0-9 . _ - (not . or ..), got {value!r}").format(
                value=value
            )
        )
    return value


@rule("empty, or 1-64 characters of A-Z a-z 0-9 . _ -")
def topic_level_or_empty(value: str) -> str:
    """One MQTT topic level without wildcards or '/' (e.g. a shared-subscription group)."""
    if value and (not _SLUG.fullmatch(value) or value in (".", "..")):
        raise Invalid(
            _("must be empty or 1-64 characters of A-Z a-z 0-9 . _ -, got {value!r}").format(
                value=value
            )
        )
    return value


@rule("not empty")
def text(value: str) -> str:
    if not value.strip():
        raise Invalid(_("must not be empty"))
    return value


@rule("")
def path(value: str) -> Path:
    if not value.strip() or "\0" in value:
        raise Invalid(_("must be a file system path, got {value!r}").format(value=value))
    return Path(value)


@rule("not empty, no /")
def site_name(value: str) -> str:
    """A name that also becomes a folder and key level elsewhere: no '/' may split it."""
    text(value)
    if "/" in value:
        raise Invalid(
            _("must not contain '/' (it names folders and object keys), got {value!r}").format(
                value=value
            )
        )
    return value


@rule("an absolute path")
def absolute_path(value: str) -> Path:
    """A folder the service opens wherever it runs from: never relative, never ``~``.

    ``~`` is refused, not expanded: the service runs as its own user, whose home is not the
    home of the admin who edits the file, so no expansion would be right for both.
    """
    found = path(value)
    if value.startswith("~"):
        raise Invalid(
            _(
                "must be an absolute path, got {value!r}: '~' is not expanded (the "
                "service's home is not yours); write the full path, e.g. /var/lib/evgw"
            ).format(value=value)
        )
    if not found.is_absolute():
        raise Invalid(
            _(
                "must be an absolute path, got {value!r}; write the full path, e.g. /var/lib/evgw"
            ).format(value=value)
        )
    return found


@rule('"" for none')
def path_or_none(value: str) -> Path | None:
    return path(value) if value else None


def one_of(*choices: str) -> Check:
    def check(value: str) -> str:
        if value not in choices:
            hint = difflib.get_close_matches(value, choices, n=1)
            listed = ", ".join(choices)
            if hint:
                reason = _("must be one of {choices}, got {value!r} (did you mean {hint}?)")
                raise Invalid(reason.format(choices=listed, value=value, hint=hint[0]))
            reason = _("must be one of {choices}, got {value!r}")
            raise Invalid(reason.format(choices=listed, value=value))
        return value

    return Check(f"one of {', '.join(choices)}", check)


def int_range(low: int, high: int) -> Check:
    def check(value: int) -> int:
        if not low <= value <= high:
            reason = _("must be between {low} and {high}, got {value}")
            raise Invalid(reason.format(low=low, high=high, value=value))
        return value

    return Check(f"{_words(low)}..{_words(high)}", check)


def _words(n: int) -> str:
    """A bound as a reader takes it in: 2^62 rather than 4611686018427387904."""
    if n >= 1 << 20 and n & (n - 1) == 0:
        return f"2^{n.bit_length() - 1}"
    return f"{n:_}" if abs(n) >= 1_000_000 else str(n)


def float_range(low: float, high: float) -> Check:
    def check(value: float) -> float:
        if not low <= value <= high:  # also rejects nan
            reason = _("must be between {low:g} and {high:g}, got {value}")
            raise Invalid(reason.format(low=low, high=high, value=value))
        return float(value)

    return Check(f"{low:g}..{high:g}", check)


@rule("> 0")
def positive_seconds(value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise Invalid(_("must be a number of seconds > 0, got {value}").format(value=value))
    return float(value)


_SEGMENT_RANGE = int_range(1, 3600)


@rule("1..3600, dividing 86400")
def segment_seconds(value: int) -> int:
    _SEGMENT_RANGE(value)
    if _SECONDS_PER_DAY % value:
        raise Invalid(
            _(
                "must divide 86400 so segment boundaries align to midnight "
                "(e.g. 10, 30, 60, 300, 600, 3600), got {value}"
            ).format(value=value)
        )
    return value


@rule("an IANA name")
def timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as e:
        raise Invalid(
            _("unknown time zone {value!r}; use an IANA name such as Asia/Shanghai or UTC").format(
                value=value
            )
        ) from e
    return value


@rule("rtsp:// or rtsps://, without credentials")
def rtsp_url(value: str) -> str:
    bad = Invalid(_("must be an rtsp:// or rtsps:// URL, got {url!r}").format(url=shown_url(value)))
    if any(c.isspace() or not c.isprintable() for c in value):
        raise bad
    try:
        parts = urlsplit(value)
        _port = parts.port  # raises ValueError on a malformed port
    except ValueError as e:
        raise bad from e
    if parts.scheme not in ("rtsp", "rtsps") or not parts.hostname:
        raise bad
    if "@" in parts.netloc:
        raise Invalid(_("must not contain credentials; set username and password/password_file"))
    return value


_URL_PARTS = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?P<authority>[^/?#]*)(?P<path>[^?#]*)(?P<rest>.*)",
    re.DOTALL,
)


def shown_url(url: str) -> str:
    """A URL fit for a message: whatever sits before an '@' and after a '?' may be a secret."""
    m = _URL_PARTS.match(url)
    assert m is not None  # every part may be empty
    scheme, authority, path, rest = m.group("scheme", "authority", "path", "rest")
    if "@" in authority:
        authority = "…@" + authority.rpartition("@")[2]
    return f"{scheme or ''}{authority}{path}{'?…' if rest else ''}"


@rule("an IPv4 address")
def ipv4(value: str) -> str:
    try:
        ipaddress.IPv4Address(value)
    except ValueError as e:
        reason = _("must be an IPv4 address such as 192.0.2.1, got {value!r}")
        raise Invalid(reason.format(value=value)) from e
    return value


@rule("a network interface name")
def interface(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.:@-]{1,15}", value):
        reason = _("must be a network interface name such as eth1, got {value!r}")
        raise Invalid(reason.format(value=value))
    return value


@rule("1-128 characters")
def serial(value: str) -> str:
    if not value.strip() or len(value) > 128 or not value.isprintable():
        reason = _("must be the camera's serial number (1-128 characters), got {value!r}")
        raise Invalid(reason.format(value=value))
    return value.strip()


@rule("http:// or https://, without credentials")
def http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        reason = _("must be an http:// or https:// URL without credentials, got {url!r}")
        raise Invalid(reason.format(url=shown_url(value)))
    return value


@rule("3-63 of a-z 0-9 . -")
def bucket(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
        reason = _("must be an S3 bucket name (3-63 of a-z 0-9 . -), got {value!r}")
        raise Invalid(reason.format(value=value))
    return value


_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


@rule("host names or IP addresses")
def host_list(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    hosts = []
    for value in values:
        try:
            hosts.append(str(ipaddress.ip_address(value.strip("[]"))))
            continue
        except ValueError:
            pass
        if not _HOST.fullmatch(value):
            reason = _("must be host names or IP addresses, got {value!r}")
            raise Invalid(reason.format(value=value[:80]))
        hosts.append(value.lower())
    return tuple(hosts)


@rule("64 hex digits, colons allowed")
def sha256_fingerprint(value: str) -> str:
    hexed = value.strip().lower().replace(":", "")
    if not re.fullmatch(r"[0-9a-f]{64}", hexed):
        raise Invalid(
            _(
                "must be a certificate's SHA-256 fingerprint (64 hex digits, colons allowed), "
                "got {count} characters"
            ).format(count=len(value))
        )
    return hexed


@rule("host:port with an IP address or host name and a port 1-65535")
def listen_address(value: str) -> str:
    host_list([split_host_port(value)[0]])
    return value


def split_host_port(value: str) -> tuple[str, int]:
    """("127.0.0.1", 8080) of "127.0.0.1:8080" ("[::1]:8080" for IPv6)."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        reason = _("must be host:port, e.g. 127.0.0.1:8080, got {value!r}")
        raise Invalid(reason.format(value=value[:80]))
    return host, int(port)


@rule("networks in CIDR notation, e.g. 127.0.0.1/32 or 10.0.0.0/8")
def networks(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    found = []
    for value in values:
        try:
            found.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError as e:
            reason = _("not a network: {value!r} ({error})")
            raise Invalid(reason.format(value=value[:80], error=e)) from e
    return tuple(found)
