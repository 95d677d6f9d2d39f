"""Who an ONVIF camera is, what the gateway last trusted it as, and what counts as a change.

Pure: the resolver compares each successful query with the pinned identity and, before the
camera's video is used, has every change written as a signed `camera` record:

- ``moved``: the same device (serial, endpoint, certificate) at another ONVIF address;
- ``identity_changed``: a new WS-Discovery endpoint UUID or (https) a new certificate.

The host rule keeps a device from sending the gateway elsewhere: its stream URI must name
the host of its own ONVIF service, unless the camera's configuration allows another.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cameras.redact import redact

if TYPE_CHECKING:
    from cameras.onvif_client import DeviceInfo

MOVED = "moved"
IDENTITY_CHANGED = "identity_changed"


@dataclass(frozen=True)
class CameraIdentity:
    """Who an ONVIF camera is and how it was reached, for records and status."""

    endpoint: str
    serial: str
    manufacturer: str
    model: str
    firmware: str
    xaddr: str
    profile_token: str
    stream_uri: str  # without credentials
    clock_offset_s: float  # camera clock minus gateway clock
    cert_sha256: str = ""

    @classmethod
    def from_device(cls, info: DeviceInfo, endpoint: str) -> CameraIdentity:
        return cls(
            endpoint=endpoint,
            serial=info.serial,
            manufacturer=info.manufacturer,
            model=info.model,
            firmware=info.firmware,
            xaddr=info.xaddr,
            profile_token=info.profile_token,
            stream_uri=redact(info.stream_uri),
            clock_offset_s=info.clock_offset_s,
            cert_sha256=info.cert_sha256,
        )


@dataclass(frozen=True)
class Pin:
    """What the gateway last trusted a camera as; "" where it does not know (yet)."""

    xaddr: str = ""
    endpoint: str = ""
    serial: str = ""
    cert_sha256: str = ""

    @property
    def host(self) -> str:
        return host_of(self.xaddr)


@dataclass(frozen=True)
class CameraChange:
    """A change to declare before use; `facts` go into the `camera` record's `extra`."""

    event: str
    old: Pin
    new: Pin

    def facts(self) -> dict[str, object]:
        return {
            "old_address": redact(self.old.xaddr) if self.old.xaddr else None,
            "new_address": redact(self.new.xaddr),
            "serial": self.new.serial or self.old.serial or None,
            "endpoint": self.new.endpoint or None,
            "old_endpoint": self.old.endpoint or None,
            "cert_sha256": self.new.cert_sha256 or None,
            "old_cert_sha256": self.old.cert_sha256 or None,
        }

    def describe(self) -> str:
        what = {MOVED: "moved", IDENTITY_CHANGED: "answers as another device"}[self.event]
        return (
            f"camera {self.new.serial or self.old.serial or '?'} {what}: "
            f"{redact(self.old.xaddr) or '?'} -> {redact(self.new.xaddr)}"
        )


def change(old: Pin, new: Pin) -> CameraChange | None:
    """The change from `old` to `new`, if any; what `old` does not know cannot have changed."""
    endpoint = bool(old.endpoint and new.endpoint and old.endpoint != new.endpoint)
    cert = bool(old.cert_sha256 and new.cert_sha256 and old.cert_sha256 != new.cert_sha256)
    if endpoint or cert:
        return CameraChange(IDENTITY_CHANGED, old, new)
    if old.xaddr and new.xaddr and old.xaddr != new.xaddr:
        return CameraChange(MOVED, old, new)
    return None


def host_of(url: str) -> str:
    """The host of `url`, normalised (IP addresses canonical, names lowercase); "" if none."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.lower()


def stream_host_allowed(stream_uri: str, xaddr: str, allowed: tuple[str, ...]) -> bool:
    """The host rule: the stream comes from the device's own host or a configured one."""
    host = host_of(stream_uri)
    return bool(host) and (host == host_of(xaddr) or host in allowed)
