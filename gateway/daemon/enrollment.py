"""Cameras found on the camera network but not configured: enrolled with defaults, or reported."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from cameras import onvif_client
from cameras.onvif_client import DeviceInfo
from cameras.rtsp import redact

from ..config import CameraConfig, Config

log = logging.getLogger(__name__)


def camera_id_for(serial: str, taken: Iterable[str]) -> str:
    """A configuration id from a serial number: slugified, unique among `taken`."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", serial).strip("-.")[:56] or "camera"
    used = set(taken)
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


class Enrollment:
    """Cameras found on the network but not configured: enrolled with defaults or reported.

    Each such camera is returned (or logged) once; with ``auto_enroll = false`` nothing is
    returned and an operator sees a log line saying how to add the camera.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._handled: set[str] = set()
        self._ids = {c.id for c in config.cameras}

    def review(
        self, devices: Iterable[DeviceInfo], known_serials: Iterable[str] = ()
    ) -> list[CameraConfig]:
        """New camera entries to record now (only when auto_enroll is on)."""
        serials = {c.serial for c in self.config.cameras if c.serial} | set(known_serials)
        xaddrs = {c.onvif for c in self.config.cameras if c.onvif}
        urls = {redact(c.rtsp) for c in self.config.cameras if c.rtsp}
        enrolled: list[CameraConfig] = []
        for d in devices:
            key = d.serial or d.endpoint
            configured = d.serial in serials or d.xaddr in xaddrs or redact(d.stream_uri) in urls
            if configured or key in self._handled:
                continue
            self._handled.add(key)
            what = f"{d.manufacturer} {d.model} serial {d.serial or '?'} at {redact(d.xaddr)}"
            if not self.config.discovery.auto_enroll:
                log.warning(
                    "camera found but not configured: %s; add a [[cameras]] table with "
                    'serial = "%s" or set [discovery] auto_enroll = true to record it',
                    what,
                    d.serial,
                )
            elif not d.serial:
                log.warning("camera %s reports no serial number; not enrolled", what)
            else:
                camera = self._entry(d)
                self._ids.add(camera.id)
                log.info("enrolled camera %s as %s", what, camera.id)
                enrolled.append(camera)
        return enrolled

    def scan(self, known_serials: Iterable[str] = ()) -> list[CameraConfig]:
        """Probe the camera network, query what answers, and `review` it."""
        d = self.config.discovery
        if not d.enabled:
            return []
        result = onvif_client.discover(
            d.address or "",
            d.probe_timeout_s,
            d.username,
            d.password,
            interface=d.interface,
            query_timeout_s=self.config.recording.open_timeout_s,
        )
        return self.review(result.devices, known_serials)

    def _entry(self, d: DeviceInfo) -> CameraConfig:
        c, rec = self.config, self.config.recording
        return CameraConfig(
            id=camera_id_for(d.serial, self._ids),
            name=d.name or f"{d.model} {d.serial}".strip(),
            rtsp=None,
            username=c.discovery.username,
            password=c.discovery.password,
            location=c.location.name,
            overlay=rec.overlay,
            segment_seconds=rec.segment_seconds,
            enabled=True,
            serial=d.serial,
            onvif_username=c.discovery.username,
            onvif_password=c.discovery.password,
        )
