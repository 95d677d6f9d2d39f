"""Turn each configured camera into a stream to open, following ONVIF cameras by identity.

A camera set by ``rtsp`` is its URL. A camera set by ``onvif`` or ``serial`` is asked for its
stream URL over ONVIF before every connect, and is known by its WS-Discovery endpoint UUID and
serial number, never by its IP address: when it reappears elsewhere (a Hello with new XAddrs,
or a fresh probe after a failed connect) the next `CameraResolver.resolve` returns the new URL,
so the camera's ledger stream simply continues. A camera that cannot be resolved raises a
`ResolveError`, a `StreamError` with a gap reason, so the worker records a gap and retries.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from cameras import discovery, onvif_client
from cameras.discovery import Announcement, AnnouncementListener
from cameras.errors import CameraError, StreamError
from cameras.onvif_client import DeviceInfo, OnvifAuthError, OnvifError
from cameras.rtsp import AUTH_FAILED, CAMERA_OFFLINE, StreamSettings, redact

from .config import CameraConfig, Config, DiscoveryConfig, RecordingConfig

log = logging.getLogger(__name__)

ONVIF_ERROR = "onvif_error"
IDENTITY_MISMATCH = "identity_mismatch"


class ResolveError(StreamError):
    """A camera could not be resolved to a stream yet; recorded as a gap, then retried."""

    def __init__(self, message: str, reason: str = ONVIF_ERROR) -> None:
        super().__init__(message, reason)


class CameraNotFoundError(ResolveError):
    """Neither the camera's last address nor WS-Discovery led to it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, CAMERA_OFFLINE)


class CameraAuthError(ResolveError):
    """The camera refused the ONVIF credentials."""

    def __init__(self, message: str) -> None:
        super().__init__(message, AUTH_FAILED)


class CameraIdentityError(ResolveError):
    """A different camera (another serial) answered where this one was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(message, IDENTITY_MISMATCH)


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

    @classmethod
    def from_device(cls, info: DeviceInfo) -> CameraIdentity:
        return cls(
            endpoint=info.endpoint,
            serial=info.serial,
            manufacturer=info.manufacturer,
            model=info.model,
            firmware=info.firmware,
            xaddr=info.xaddr,
            profile_token=info.profile_token,
            stream_uri=redact(info.stream_uri),
            clock_offset_s=info.clock_offset_s,
        )


class CameraDirectory:
    """What WS-Discovery saw on the camera network, shared by all resolvers of a gateway.

    `start` runs a Hello/Bye listener; `probe` multicasts a Probe at most once per
    `probe_interval_s` (concurrent callers share one), so many offline cameras cost one probe.
    """

    def __init__(
        self,
        config: DiscoveryConfig,
        *,
        port: int = discovery.WSD_PORT,
        probe_interval_s: float = 10.0,
    ) -> None:
        self.config = config
        self.port = port
        self.probe_interval_s = probe_interval_s
        self._lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._seen: dict[str, Announcement] = {}
        self._serials: dict[str, str] = {}
        self._last_probe: tuple[float, list[Announcement]] | None = None
        self._listener: AnnouncementListener | None = None
        self._address: str | None = config.address

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def address(self) -> str:
        """The IPv4 address of the camera network (looked up from the interface once)."""
        if self._address is None:
            if self.config.interface is None:
                raise CameraError("discovery is off: set [discovery] interface or address")
            self._address = discovery.interface_address(self.config.interface)
        return self._address

    def start(self) -> CameraDirectory:
        """Listen for Hello/Bye when discovery is configured; a failure is logged, not fatal."""
        if self.enabled and self._listener is None:
            try:
                listener = AnnouncementListener(
                    self.on_announcement, self.address(), port=self.port
                )
                self._listener = listener.start()
            except CameraError as e:
                log.error("cannot follow camera announcements: %s", e)
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def on_announcement(self, a: Announcement) -> None:
        with self._lock:
            if a.kind == "Bye":
                self._seen.pop(a.endpoint, None)
                return
            old = self._seen.get(a.endpoint)
            self._seen[a.endpoint] = a
        if a.kind == "Hello" and old is not None and old.xaddrs != a.xaddrs:
            log.info("camera %s announced a new address %s", a.endpoint, ", ".join(a.xaddrs))

    def xaddrs(self, endpoint: str) -> tuple[str, ...]:
        with self._lock:
            a = self._seen.get(endpoint)
        return a.xaddrs if a is not None else ()

    def endpoint_at(self, xaddr: str) -> str:
        """The endpoint last seen announcing `xaddr`, or ""."""
        with self._lock:
            return next((e for e, a in self._seen.items() if xaddr in a.xaddrs), "")

    def remember_serial(self, endpoint: str, serial: str) -> None:
        if endpoint and serial:
            with self._lock:
                self._serials[endpoint] = serial

    def serial_of(self, endpoint: str) -> str | None:
        with self._lock:
            return self._serials.get(endpoint)

    def probe(self) -> list[Announcement]:
        """Cameras answering a Probe now (or in the last `probe_interval_s`); [] if off."""
        if not self.enabled:
            return []
        with self._probe_lock:
            now = time.monotonic()
            if self._last_probe and now - self._last_probe[0] < self.probe_interval_s:
                return self._last_probe[1]
            found = discovery.probe(self.address(), self.config.probe_timeout_s, port=self.port)
            found = [a for a in found if a.xaddrs]
            self._last_probe = (time.monotonic(), found)
        with self._lock:
            self._seen.update({a.endpoint: a for a in found})
        return found


class CameraResolver:
    """One configured camera: `resolve()` before every (re)connect gives the stream to open."""

    def __init__(
        self,
        camera: CameraConfig,
        recording: RecordingConfig,
        directory: CameraDirectory | None = None,
    ) -> None:
        self.camera = camera
        self.recording = recording
        self.directory = directory
        self._endpoint = ""
        self._serial = camera.serial or ""
        self._xaddr = camera.onvif or ""
        self._identity: CameraIdentity | None = None

    @property
    def identity(self) -> CameraIdentity | None:
        """The camera as last resolved over ONVIF; None for rtsp cameras and before success."""
        return self._identity

    def resolve(self) -> StreamSettings:
        """The stream to open now; raises `ResolveError` (a `StreamError`) if not reachable."""
        if self.camera.rtsp is not None:
            return self._settings(self.camera.rtsp)
        info = self._locate()
        previous = self._identity
        self._identity = CameraIdentity.from_device(info)
        self._endpoint = info.endpoint or self._endpoint
        self._serial = self._serial or info.serial
        if previous is not None and previous.xaddr != info.xaddr:
            log.warning(
                "%s: camera %s moved from %s to %s; following it",
                self.camera.id,
                self._serial or self._endpoint,
                redact(previous.xaddr),
                redact(info.xaddr),
            )
        self._xaddr = info.xaddr
        return self._settings(info.stream_uri)

    def _settings(self, url: str) -> StreamSettings:
        return StreamSettings(
            url=url,
            username=self.camera.username,
            password=self.camera.password,
            open_timeout_s=self.recording.open_timeout_s,
            read_timeout_s=self.recording.read_timeout_s,
        )

    def _locate(self) -> DeviceInfo:
        """(1) the latest announced and last good addresses, (2) a WS-Discovery probe."""
        errors: list[OnvifError | ResolveError] = []
        tried: set[str] = set()
        for xaddr in self._candidates():
            tried.add(xaddr)
            try:
                return self._query(xaddr, self._endpoint)
            except (OnvifError, CameraIdentityError) as e:
                errors.append(e)
        found = self._search(tried, errors)
        if found is not None:
            return found
        failure = self._failure(errors)
        raise failure from next((e for e in reversed(errors) if e is not failure), None)

    def _candidates(self) -> list[str]:
        announced = (
            self.directory.xaddrs(self._endpoint) if self.directory and self._endpoint else ()
        )
        return list(dict.fromkeys([*announced, *([self._xaddr] if self._xaddr else [])]))

    def _search(
        self, tried: set[str], errors: list[OnvifError | ResolveError]
    ) -> DeviceInfo | None:
        if self.directory is None or not self.directory.enabled:
            return None
        if not (self._endpoint or self._serial):
            return None  # nothing to recognise the camera by yet
        try:
            found = self.directory.probe()
        except CameraError as e:
            errors.append(CameraNotFoundError(f"WS-Discovery failed: {e}"))
            return None
        for a in found:
            if self._endpoint and a.endpoint != self._endpoint:
                continue
            known = self.directory.serial_of(a.endpoint)
            if not self._endpoint and known is not None and known != self._serial:
                continue
            xaddr = a.xaddrs[0]
            if xaddr in tried:
                continue
            tried.add(xaddr)
            try:
                return self._query(xaddr, a.endpoint)
            except CameraIdentityError:
                continue  # another camera: expected while searching by serial
            except OnvifError as e:
                errors.append(e)
        return None

    def _query(self, xaddr: str, endpoint: str) -> DeviceInfo:
        c = self.camera
        info = onvif_client.probe_device(
            xaddr,
            c.onvif_username,
            c.onvif_password,
            self.recording.open_timeout_s,
            profile=c.profile,
            endpoint=endpoint or (self.directory.endpoint_at(xaddr) if self.directory else ""),
        )
        if self.directory is not None:
            self.directory.remember_serial(info.endpoint, info.serial)
        if self._serial and info.serial != self._serial:
            raise CameraIdentityError(
                f"{c.id}: the camera at {redact(xaddr)} has serial {info.serial!r}, not "
                f"{self._serial!r}; if the camera was replaced, update cameras.{c.id} in the "
                "configuration and restart"
            )
        return info

    def _failure(self, errors: list[OnvifError | ResolveError]) -> ResolveError:
        """The most telling error: refused credentials, a stranger, a fault, else not found."""
        c = self.camera
        auth = next((e for e in errors if isinstance(e, OnvifAuthError)), None)
        if auth is not None:
            return CameraAuthError(
                f"{c.id}: {auth}; set onvif_username/onvif_password (or username/password) "
                "for this camera"
            )
        stranger = next((e for e in errors if isinstance(e, ResolveError)), None)
        if stranger is not None:
            return stranger
        unreachable = (onvif_client.OnvifConnectionError, onvif_client.OnvifTimeoutError)
        fault = next((e for e in errors if not isinstance(e, unreachable)), None)
        if fault is not None:
            return ResolveError(f"{c.id}: {fault}")
        who = f"serial {self._serial!r}" if self._serial else f"ONVIF service {redact(self._xaddr)}"
        last = f" (last error: {errors[-1]})" if errors else ""
        where = "" if self.directory and self.directory.enabled else " ([discovery] is off)"
        return CameraNotFoundError(
            f"{c.id}: camera {who} not reachable and not found by WS-Discovery{where}{last}; "
            "check it is powered and on the camera network"
        )


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
