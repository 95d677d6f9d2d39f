"""Cameras found on the camera network but not configured: who may be enrolled.

Pure rules for auto-enrolment (`auto_enroll`): the allow-list and device limit, checked in
two steps (address, scopes and the limit before any credential is sent to the device; the
manufacturer once it has answered), and the record declaring an enrolled camera found, lost
or re-found. What an enrolled camera records as is `gateway.enrolled`.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from cameras.wsd import Announcement
from segments.clock import kernel_clock_status
from segments.records import Record, StreamIdentity

from ..config import DiscoveryConfig
from ..enrolled import MAX_LABEL, printable_serial
from .camera_identity import host_of

if TYPE_CHECKING:
    from cameras.onvif_client import DeviceInfo


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
    if not printable_serial(device.serial):
        return f"its serial number is not printable text of at most {MAX_LABEL} characters"
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
