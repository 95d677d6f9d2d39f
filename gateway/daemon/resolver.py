"""Turn a configured camera into a stream to open, following ONVIF cameras by identity.

A camera set by ``rtsp`` is its URL. A camera set by ``onvif`` or ``serial`` is asked for its
stream URL over ONVIF before every connect, and is known by its serial number, its
WS-Discovery endpoint UUID and (https) its certificate, not by its IP address: when it
reappears elsewhere the recording follows it, but only after the move is declared.

What the gateway trusts (`camera_identity.Pin`) decides where credentials go: the last good
address, and in a WS-Discovery search only the pinned endpoint (or a new endpoint on the
pinned host, a reset device); a stranger answering the probe gets nothing. A found device
whose stream URI names another host than its own is refused (`stream_hosts` allows more).
Every change of address, endpoint or certificate is handed to `declare` (which signs a
`camera` record) before the stream is used; if declaring fails, nothing is used.

A camera that cannot be resolved raises a `ResolveError`, a `StreamError` with a gap reason,
so the worker records a gap and retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from cameras.errors import (
    CameraError,
    OnvifAuthError,
    OnvifConnectionError,
    OnvifError,
    OnvifReplyError,
    OnvifTimeoutError,
    StreamError,
)
from cameras.rtsp import AUTH_FAILED, CAMERA_OFFLINE, StreamSettings, redact
from cameras.wsd import Announcement

from ..config import CameraConfig, RecordingConfig
from .camera_identity import (
    CameraChange,
    CameraIdentity,
    Pin,
    change,
    host_of,
    stream_host_allowed,
)
from .directory import CameraDirectory

if TYPE_CHECKING:
    from cameras.onvif_client import DeviceInfo

log = logging.getLogger(__name__)

ONVIF_ERROR = "onvif_error"
IDENTITY_MISMATCH = "identity_mismatch"
STREAM_HOST_REFUSED = "stream_host_refused"
MAX_SEARCH_QUERIES = 8  # unpinned search by serial: devices asked per probe, at most

Declare = Callable[[CameraChange], None]


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


class StreamHostError(ResolveError):
    """The device's stream URI names another host than its own ONVIF service."""

    def __init__(self, message: str) -> None:
        super().__init__(message, STREAM_HOST_REFUSED)


def _declare_nothing(change: CameraChange) -> None:
    return None


class CameraResolver:
    """One configured camera: `resolve()` before every (re)connect gives the stream to open."""

    def __init__(
        self,
        camera: CameraConfig,
        recording: RecordingConfig,
        directory: CameraDirectory | None = None,
        on_reject: Callable[[str, str], None] | None = None,
    ) -> None:
        """`on_reject(address, reason)` counts each malformed ONVIF reply (camera health)."""
        self.camera = camera
        self.recording = recording
        self.directory = directory
        self._on_reject = on_reject
        self._pin = Pin(
            xaddr=camera.onvif or "",
            endpoint=camera.onvif_endpoint or "",
            serial=camera.serial or "",
            cert_sha256=camera.onvif_cert_sha256 or "",
        )
        self._identity: CameraIdentity | None = None
        self._learnt_endpoint = False

    @property
    def identity(self) -> CameraIdentity | None:
        """The camera as last resolved over ONVIF; None for rtsp cameras and before success."""
        return self._identity

    @property
    def pin(self) -> Pin:
        return self._pin

    def announced_elsewhere(self, a: Announcement) -> bool:
        """Whether `a` is a Hello of this camera's pinned endpoint from another address than
        the one in use: the camera moved, and the stream in use is to be dropped."""
        pin = self._pin
        return (
            a.kind == "Hello"
            and bool(pin.endpoint and a.xaddrs)
            and a.endpoint == pin.endpoint
            and pin.xaddr not in a.xaddrs
        )

    def resolve(self, declare: Declare = _declare_nothing) -> StreamSettings:
        """The stream to open now; raises `ResolveError` (a `StreamError`) if not reachable.

        A change of address or identity goes to `declare` first; what it raises propagates
        and the camera is not used.
        """
        if self.camera.rtsp is not None:
            return self._settings(self.camera.rtsp)
        info = self._locate()
        if not stream_host_allowed(info.stream_uri, info.xaddr, self.camera.stream_hosts):
            raise StreamHostError(
                f"{self.camera.id}: the camera at {redact(info.xaddr)} offers its stream at "
                f"{redact(info.stream_uri)}, not on its own host; refused. If that host is an "
                f'NVR or a proxy you trust, set stream_hosts = ["{host_of(info.stream_uri)}"] '
                "for this camera"
            )
        endpoint = self._endpoint_of(info)
        new = Pin(info.xaddr, endpoint, info.serial, info.cert_sha256)
        found = change(self._pin, new)
        if found is not None:
            log.warning("%s: %s; declared before recording", self.camera.id, found.describe())
            declare(found)
        old = self._pin
        self._pin = Pin(
            info.xaddr,
            endpoint or old.endpoint,
            old.serial or info.serial,
            info.cert_sha256 or old.cert_sha256,
        )
        self._identity = CameraIdentity.from_device(info, self._pin.endpoint)
        return self._settings(info.stream_uri)

    def _settings(self, url: str) -> StreamSettings:
        return StreamSettings(
            url=url,
            username=self.camera.username,
            password=self.camera.password,
            open_timeout_s=self.recording.open_timeout_s,
            read_timeout_s=self.recording.read_timeout_s,
            read_burst_s=self.recording.read_burst_s,
            allow_basic_auth=self.camera.allow_basic_auth,
        )

    def _endpoint_of(self, info: DeviceInfo) -> str:
        """The WS-Discovery endpoint of the device queried; once per run, a probe learns it
        (so that a later search sends credentials to this endpoint only)."""
        directory = self.directory
        if info.endpoint or directory is None or not directory.enabled:
            return info.endpoint
        found = directory.endpoint_at(info.xaddr)
        if not found and not self._pin.endpoint and not self._learnt_endpoint:
            self._learnt_endpoint = True
            try:
                directory.probe()
            except CameraError as e:
                log.warning("%s: cannot learn the camera's endpoint: %s", self.camera.id, e)
            found = directory.endpoint_at(info.xaddr)
        return found

    def _locate(self) -> DeviceInfo:
        """(1) the latest announced and last good addresses, (2) a WS-Discovery search."""
        errors: list[OnvifError | ResolveError] = []
        tried: set[str] = set()
        for xaddr in self._candidates():
            tried.add(xaddr)
            try:
                return self._query(xaddr, self._pin.endpoint)
            except (OnvifError, CameraIdentityError) as e:
                self._note(xaddr, e)
                errors.append(e)
        found = self._search(tried, errors)
        if found is not None:
            return found
        failure = self._failure(errors)
        raise failure from next((e for e in reversed(errors) if e is not failure), None)

    def _candidates(self) -> list[str]:
        pin, directory = self._pin, self.directory
        announced = directory.xaddrs(pin.endpoint) if directory and pin.endpoint else ()
        return list(dict.fromkeys([*announced, *([pin.xaddr] if pin.xaddr else [])]))

    def _search(
        self, tried: set[str], errors: list[OnvifError | ResolveError]
    ) -> DeviceInfo | None:
        directory, pin = self.directory, self._pin
        if directory is None or not directory.enabled or not (pin.endpoint or pin.serial):
            return None
        try:
            found = directory.probe()
        except CameraError as e:
            errors.append(CameraNotFoundError(f"WS-Discovery failed: {e}"))
            return None
        trusted = self._trusted(found)
        if len(trusted) < len(found):
            log.info(
                "%s: %d of %d devices that answered are not this camera's pinned endpoint; "
                "they are not asked (no credentials leave for them)",
                self.camera.id, len(found) - len(trusted), len(found),
            )  # fmt: skip
        for a, xaddr in trusted[:MAX_SEARCH_QUERIES]:
            if xaddr in tried:
                continue
            tried.add(xaddr)
            try:
                return self._query(xaddr, a.endpoint)
            except CameraIdentityError:
                continue  # another camera: expected while searching by serial
            except OnvifError as e:
                self._note(xaddr, e)
                errors.append(e)
        return None

    def _note(self, xaddr: str, error: Exception) -> None:
        if isinstance(error, OnvifReplyError) and self._on_reject is not None:
            self._on_reject(host_of(xaddr), str(error))

    def _trusted(self, found: list[Announcement]) -> list[tuple[Announcement, str]]:
        """Devices that may be sent credentials, each with the XAddr to ask.

        Pinned: the pinned endpoint wherever it is, then a new endpoint on the pinned host.
        Not pinned yet (a serial camera's first search): any device whose serial is not known
        to be another's.
        """
        pin, directory = self._pin, self.directory
        if pin.endpoint:
            same = [(a, a.xaddrs[0]) for a in found if a.endpoint == pin.endpoint]
            reset = [
                (a, x)
                for a in found
                if a.endpoint != pin.endpoint
                for x in a.xaddrs[:1]
                if pin.host and host_of(x) == pin.host
            ]
            return same + reset
        known = directory.serial_of if directory is not None else (lambda _: None)
        return [(a, a.xaddrs[0]) for a in found if known(a.endpoint) in (None, pin.serial)]

    def _query(self, xaddr: str, endpoint: str) -> DeviceInfo:
        """One ONVIF query; only ONVIF cameras load the SOAP stack (zeep, aiohttp)."""
        from cameras import onvif_client
        from cameras.onvif_transport import OnvifTls

        c = self.camera
        info = onvif_client.probe_device(
            xaddr,
            c.onvif_username,
            c.onvif_password,
            self.recording.open_timeout_s,
            profile=c.profile,
            endpoint=endpoint or (self.directory.endpoint_at(xaddr) if self.directory else ""),
            tls=OnvifTls(c.onvif_ca_file, c.onvif_cert_sha256),
        )
        if self.directory is not None:
            self.directory.remember_serial(info.endpoint, info.serial)
        if self._pin.serial and info.serial != self._pin.serial:
            raise CameraIdentityError(
                f"{c.id}: the camera at {redact(xaddr)} has serial {info.serial!r}, not "
                f"{self._pin.serial!r}; if the camera was replaced, update cameras.{c.id} in "
                "the configuration and restart"
            )
        return info

    def _failure(self, errors: list[OnvifError | ResolveError]) -> ResolveError:
        """The most telling error: refused credentials, a stranger, a fault, else not found."""
        c, pin = self.camera, self._pin
        auth = next((e for e in errors if isinstance(e, OnvifAuthError)), None)
        if auth is not None:
            return CameraAuthError(
                f"{c.id}: {auth}; set onvif_username/onvif_password (or username/password) "
                "for this camera"
            )
        stranger = next((e for e in errors if isinstance(e, ResolveError)), None)
        if stranger is not None:
            return stranger
        unreachable = (OnvifConnectionError, OnvifTimeoutError)
        fault = next((e for e in errors if not isinstance(e, unreachable)), None)
        if fault is not None:
            return ResolveError(f"{c.id}: {fault}")
        who = f"serial {pin.serial!r}" if pin.serial else f"ONVIF service {redact(pin.xaddr)}"
        last = f" (last error: {errors[-1]})" if errors else ""
        where = "" if self.directory and self.directory.enabled else " ([discovery] is off)"
        return CameraNotFoundError(
            f"{c.id}: camera {who} not reachable and not found by WS-Discovery{where}{last}; "
            "check it is powered and on the camera network"
        )
