"""Turn a configured camera into a stream to open, following ONVIF cameras by identity.

A camera set by ``rtsp`` is its URL. A camera set by ``onvif`` or ``serial`` is asked for its
stream URL over ONVIF before every connect, and is known by its WS-Discovery endpoint UUID and
serial number, never by its IP address: when it reappears elsewhere (a Hello with new XAddrs,
or a fresh probe after a failed connect) the next `CameraResolver.resolve` returns the new URL,
so the camera's ledger stream simply continues. A camera that cannot be resolved raises a
`ResolveError`, a `StreamError` with a gap reason, so the worker records a gap and retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cameras import onvif_client
from cameras.errors import CameraError, OnvifAuthError, OnvifError, StreamError
from cameras.onvif_client import DeviceInfo
from cameras.rtsp import AUTH_FAILED, CAMERA_OFFLINE, StreamSettings, redact

from ..config import CameraConfig, RecordingConfig
from .directory import CameraDirectory

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
