"""Cameras found on the camera network but not configured: who may be enrolled, and as what.

Pure rules for auto-enrolment (`auto_enroll`): the id a serial becomes, the allow-list and
device limit (checked in two steps: address, scopes and the limit before any credential is
sent to the device; the manufacturer once it has answered), and the camera entry an enrolled
device records as: default settings, its identity (serial, WS-Discovery endpoint, address,
certificate) pinned as a configured camera's is after its first connection.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from cameras.onvif_client import DeviceInfo
from cameras.wsd import Announcement
from segments.clock import kernel_clock_status
from segments.records import Record, StreamIdentity

from ..config import CameraConfig, Config, DiscoveryConfig
from .camera_identity import host_of

MAX_FIELD = 256


def camera_id_for(serial: str, taken: Iterable[str]) -> str:
    """A configuration id from a serial number: slugified, unique among `taken`."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", serial).strip("-.")[:56] or "camera"
    used = set(taken)
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


@dataclass(frozen=True)
class Enrolled:
    """One auto-enrolled camera as remembered across restarts (`enrolled_store`)."""

    id: str
    serial: str
    endpoint: str
    xaddr: str
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    cert_sha256: str = ""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, str) or len(value) > MAX_FIELD:
                raise ValueError(f"{name} must be text of at most {MAX_FIELD} characters")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", self.id):
            raise ValueError(f"id {self.id[:80]!r} is not a camera id")
        if not self.serial or not self.xaddr.startswith(("http://", "https://")):
            raise ValueError("an enrolled camera has a serial and an http(s) ONVIF address")

    @classmethod
    def of(cls, device: DeviceInfo, taken: Iterable[str]) -> Enrolled:
        return cls(
            id=camera_id_for(device.serial, taken),
            serial=device.serial[:MAX_FIELD],
            endpoint=device.endpoint[:MAX_FIELD],
            xaddr=device.xaddr,
            name=(device.name or f"{device.model} {device.serial}".strip())[:MAX_FIELD],
            manufacturer=device.manufacturer[:MAX_FIELD],
            model=device.model[:MAX_FIELD],
            cert_sha256=device.cert_sha256,
        )

    def facts(self) -> dict[str, object]:
        """What a `camera` found/lost/refound record and its event say about the device."""
        return {
            "serial": self.serial,
            "endpoint": self.endpoint or None,
            "address": self.xaddr,
            "manufacturer": self.manufacturer or None,
            "model": self.model or None,
        }


def camera_config(config: Config, entry: Enrolled) -> CameraConfig:
    """The camera entry an enrolled device records as: the defaults, its identity pinned."""
    d, rec = config.discovery, config.recording
    return CameraConfig(
        id=entry.id,
        name=entry.name or entry.id,
        rtsp=None,
        username=d.username,
        password=d.password,
        location=config.location.name,
        overlay=rec.overlay,
        segment_seconds=rec.segment_seconds,
        enabled=True,
        onvif=entry.xaddr,
        serial=entry.serial,
        onvif_username=d.username,
        onvif_password=d.password,
        onvif_cert_sha256=entry.cert_sha256 or None,
        onvif_endpoint=entry.endpoint or None,
    )


def presence_draft(
    identity: StreamIdentity, event: str, facts: dict[str, object], now: float
) -> Record:
    """The daemon's `camera` record declaring an enrolled camera found, lost or re-found."""
    return identity.draft(
        kind="camera", start=now, end=now, clock=kernel_clock_status(), reason=event,
        extra={"event": event, **facts},
    )  # fmt: skip


def refusal_before_query(policy: DiscoveryConfig, a: Announcement, enrolled: int) -> str | None:
    """Why a device that announced itself gets no query (and so no credentials), or None."""
    if policy.allow_addresses and not _in_networks(a.xaddrs[0], policy.allow_addresses):
        return f"its address {host_of(a.xaddrs[0]) or '?'} is not in [discovery] allow_addresses"
    if policy.allow_scopes and not any(
        s.lower().startswith(allowed.lower()) for s in a.scopes for allowed in policy.allow_scopes
    ):
        return "it announces none of the scopes in [discovery] allow_scopes"
    if enrolled >= policy.max_devices:
        return f"the device limit is reached ([discovery] max_devices = {policy.max_devices})"
    return None


def refusal_after_query(policy: DiscoveryConfig, device: DeviceInfo) -> str | None:
    """Why a device that answered is not enrolled, or None."""
    if not device.serial:
        return "it reports no serial number"
    allowed = {m.lower() for m in policy.allow_manufacturers}
    if allowed and device.manufacturer.lower() not in allowed:
        return (
            f"its manufacturer {device.manufacturer[:80]!r} is not in [discovery] "
            "allow_manufacturers"
        )
    return None


def _in_networks(xaddr: str, networks: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host_of(xaddr))
    except ValueError:
        return False  # a host name: the allow-list names networks, not names
    return any(address in ipaddress.ip_network(n) for n in networks)
