"""What one emulated ONVIF camera is: identity, credentials, streams and an injected fault.

Plain frozen data shared by the SOAP responder, the WS-Discovery responder and the device
that runs them, so tests build a camera without starting anything.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SimProfile:
    """One media profile: its token and name, the encoder settings and where it streams."""

    token: str
    name: str
    width: int
    height: int
    fps: int
    uri: str
    encoding: str = "H264"


@dataclass(frozen=True)
class DeviceConfig:
    """Identity, credentials and streams of one simulated camera."""

    profiles: tuple[SimProfile, ...]
    uuid: str = field(default_factory=lambda: uuid.uuid4().urn)
    serial: str = "SIM0001"
    manufacturer: str = "evgw"
    model: str = "SimCam-1"
    firmware: str = "1.0.0"
    hardware_id: str = "evgw-sim"
    name: str = "sim camera"
    location: str = "lab"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    clock_skew_s: float = 0.0
    fail_operation: str | None = None  # answer this operation with a Receiver fault
    events: bool = True  # offer the event service (PullPoint); False: a camera without it
    osd: bool = True  # the media service offers OSD operations (`onvif_osd`)
    osd_refusal: str | None = None  # refuse CreateOSD/SetOSD/DeleteOSD with this reason
    dialect: str = "evgw"  # "vendor": another stack's way of writing the same (onvif_dialect)


def default_profiles(main_uri: str, sub_uri: str | None = None) -> tuple[SimProfile, ...]:
    """A 1280x720 main stream and a 640x360 sub stream, as most cameras offer."""
    return (
        SimProfile("sub", "SubStream", 640, 360, 25, sub_uri or main_uri),
        SimProfile("main", "MainStream", 1280, 720, 25, main_uri),
    )
