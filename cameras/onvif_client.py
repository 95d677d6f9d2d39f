"""ONVIF device and media queries through onvif-zeep-async, wrapped in a synchronous call.

`probe_device` asks one camera who it is, how wrong its clock is and how to stream its main
profile; `discover` probes the network and queries every camera found, concurrently.
WS-Security timestamps carry the camera's clock offset (cameras reject stale Created times),
replies are parsed with DTDs and entities refused and capped in size, and every failure
becomes an `OnvifError` subclass whose message says what to check.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import onvif
import zeep.exceptions
from onvif.client import AsyncTransportProtocolErrorHandler, ONVIFService
from onvif.exceptions import ONVIFError
from zeep.settings import Settings

from . import discovery
from .errors import CameraError
from .rtsp import redact

log = logging.getLogger(__name__)

WSDL_DIR = Path(onvif.__file__).parent / "wsdl"
NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
NS_MEDIA = "http://www.onvif.org/ver10/media/wsdl"
MAX_REPLY = 1024 * 1024
# Hardened parse settings for replies (onvif's defaults enable lxml's huge_tree).
REPLY_SETTINGS = Settings(
    strict=False, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True
)


class OnvifError(CameraError):
    """An ONVIF query failed."""


class OnvifAuthError(OnvifError):
    """The camera refused the credentials (or our clock-corrected timestamp)."""


class OnvifFaultError(OnvifError):
    """The camera answered with a SOAP fault."""


class OnvifTimeoutError(OnvifError):
    """The camera did not answer in time."""


class OnvifReplyError(OnvifError):
    """The camera's reply was malformed, oversized or hostile, or lacked what we need."""


class OnvifConnectionError(OnvifError):
    """The camera's ONVIF service could not be reached."""


@dataclass(frozen=True)
class MediaProfile:
    token: str
    name: str
    encoding: str
    width: int
    height: int
    fps: float

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class DeviceInfo:
    """What the gateway knows about one ONVIF camera; identity is `endpoint` or `serial`."""

    endpoint: str
    xaddr: str
    manufacturer: str
    model: str
    firmware: str
    serial: str
    hardware_id: str
    profiles: tuple[MediaProfile, ...]
    profile_token: str
    stream_uri: str
    clock_offset_s: float  # camera clock minus local clock
    name: str = ""
    location: str = ""
    scopes: tuple[str, ...] = field(default=(), repr=False)


def choose_profile(profiles: Sequence[MediaProfile], wanted: str | None = None) -> MediaProfile:
    """The configured profile (token or name), else the main one: highest resolution, then fps."""
    if not profiles:
        raise OnvifReplyError("camera reports no media profile with a video encoder")
    if wanted:
        for p in profiles:
            if wanted in (p.token, p.name):
                return p
        have = ", ".join(f"{p.token} ({p.name})" for p in profiles)
        raise OnvifError(f"camera has no profile {wanted!r}; it has: {have}")
    return max(profiles, key=lambda p: (p.width * p.height, p.fps))


@dataclass(frozen=True)
class Discovered:
    """Result of `discover`: cameras that answered, and those found but not queryable."""

    devices: tuple[DeviceInfo, ...]
    failures: tuple[tuple[discovery.Announcement, OnvifError], ...]


# --- reading zeep objects (camera-controlled data) -----------------------------------------


def _str(obj: Any, name: str, limit: int = 256) -> str:
    value = getattr(obj, name, None)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _int(obj: Any, name: str) -> int:
    value = getattr(obj, name, None)
    return value if isinstance(value, int) and 0 <= value < 1 << 31 else 0


def profile_from_reply(p: Any) -> MediaProfile | None:
    """A GetProfiles entry → MediaProfile; None when it has no usable video encoder."""
    token = _str(p, "token")
    vec = getattr(p, "VideoEncoderConfiguration", None)
    resolution = getattr(vec, "Resolution", None)
    width, height = _int(resolution, "Width"), _int(resolution, "Height")
    if not token or not width or not height:
        return None
    rate = getattr(vec, "RateControl", None)
    return MediaProfile(
        token, _str(p, "Name"), _str(vec, "Encoding"), width, height, _int(rate, "FrameRateLimit")
    )


def camera_time(reply: Any) -> dt.datetime:
    """UTC time from a GetSystemDateAndTime reply."""
    utc = getattr(reply, "UTCDateTime", None)
    date, tod = getattr(utc, "Date", None), getattr(utc, "Time", None)
    try:
        return dt.datetime(
            _int(date, "Year"),
            _int(date, "Month"),
            _int(date, "Day"),
            _int(tod, "Hour"),
            _int(tod, "Minute"),
            _int(tod, "Second"),
            tzinfo=dt.UTC,
        )
    except ValueError as e:
        raise OnvifReplyError(f"camera reports no valid UTC date and time: {e}") from e


def media_xaddr(capabilities: Any, fallback: str) -> str:
    url = _str(getattr(capabilities, "Media", None), "XAddr", discovery.MAX_URI)
    return url if discovery.valid_xaddr(url) else fallback


# --- transport -----------------------------------------------------------------------------


class CappedTransport(AsyncTransportProtocolErrorHandler):
    """onvif's aiohttp transport with a cap on the reply size."""

    async def _post_internal(
        self, address: str, message: str | bytes, headers: dict[str, str]
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        data = message.encode() if isinstance(message, str) else message
        headers = {"Content-Type": 'application/soap+xml; charset="utf-8"', **(headers or {})}
        response = await self.session.post(address, data=data, headers=headers)
        if (response.content_length or 0) > MAX_REPLY:
            response.close()
            raise OnvifReplyError(f"reply of {response.content_length} bytes exceeds {MAX_REPLY}")
        content = await response.content.read(MAX_REPLY + 1)
        if len(content) > MAX_REPLY:
            response.close()
            raise OnvifReplyError(f"reply exceeds {MAX_REPLY} bytes")
        return response, content


async def _service(
    xaddr: str,
    wsdl: str,
    binding: str,
    username: str | None,
    password: str | None,
    offset_s: float,
) -> ONVIFService:
    svc = ONVIFService(
        xaddr,
        username,
        password,
        str(WSDL_DIR / wsdl),
        no_cache=True,
        dt_diff=dt.timedelta(seconds=offset_s),
        binding_name=binding,
    )
    svc.transport = CappedTransport(session=svc._session, verify_ssl=False, cache=None)
    await svc.setup()
    for client in (svc.zeep_client, svc.zeep_client_authless):
        client.settings = REPLY_SETTINGS
    return svc


def _call(svc: ONVIFService, operation: str, username: str | None, params: Any = None) -> Any:
    return getattr(svc, operation if username else f"authless_{operation}")(params)


async def _query(
    xaddr: str, username: str | None, password: str | None, profile: str | None, endpoint: str
) -> DeviceInfo:
    device_binding = f"{{{NS_DEVICE}}}DeviceBinding"
    services: list[ONVIFService] = []
    try:
        # (1) clock first, unauthenticated (ONVIF allows it): its offset signs the rest.
        plain = await _service(xaddr, "devicemgmt.wsdl", device_binding, None, None, 0.0)
        services.append(plain)
        sent = time.time()
        reply = await plain.authless_GetSystemDateAndTime()
        local_mid = (sent + time.time()) / 2
        offset = camera_time(getattr(reply, "SystemDateAndTime", reply)).timestamp() - local_mid
        # (2) identity and the media service address, signed with the offset applied.
        dev = await _service(xaddr, "devicemgmt.wsdl", device_binding, username, password, offset)
        services.append(dev)
        info = await _call(dev, "GetDeviceInformation", username)
        caps = await _call(dev, "GetCapabilities", username, {"Category": "Media"})
        media_url = media_xaddr(caps, xaddr)
        # (3) profiles, the chosen one's RTSP-over-TCP URI.
        media_binding = f"{{{NS_MEDIA}}}MediaBinding"
        media = await _service(media_url, "media.wsdl", media_binding, username, password, offset)
        services.append(media)
        raw_profiles = await _call(media, "GetProfiles", username) or []
        found = [profile_from_reply(p) for p in list(raw_profiles)[: discovery.MAX_ITEMS]]
        profiles = tuple(p for p in found if p is not None)
        chosen = choose_profile(profiles, profile)
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        uri_reply = await _call(
            media, "GetStreamUri", username, {"StreamSetup": setup, "ProfileToken": chosen.token}
        )
        uri = _str(uri_reply, "Uri", discovery.MAX_URI)
        if not uri.lower().startswith(("rtsp://", "rtsps://")):
            raise OnvifReplyError(f"GetStreamUri returned no rtsp:// URI ({uri[:80]!r})")
        return DeviceInfo(
            endpoint=endpoint,
            xaddr=xaddr,
            manufacturer=_str(info, "Manufacturer"),
            model=_str(info, "Model"),
            firmware=_str(info, "FirmwareVersion"),
            serial=_str(info, "SerialNumber"),
            hardware_id=_str(info, "HardwareId"),
            profiles=profiles,
            profile_token=chosen.token,
            stream_uri=uri,
            clock_offset_s=offset,
        )
    finally:
        for svc in services:
            await svc.close()


def _fault_is_auth(fault: zeep.exceptions.Fault) -> bool:
    codes = [fault.code, *(fault.subcodes or [])]
    return any(str(getattr(c, "localname", c)).rsplit(":", 1)[-1] == "NotAuthorized" for c in codes)


def probe_device(
    xaddr: str,
    username: str | None = None,
    password: str | None = None,
    timeout_s: float = 10.0,
    *,
    profile: str | None = None,
    endpoint: str = "",
) -> DeviceInfo:
    """Query one camera's ONVIF device service at `xaddr`; raise an `OnvifError` subclass."""
    where = f"ONVIF device {redact(xaddr)}"

    async def bounded() -> DeviceInfo:
        async with asyncio.timeout(timeout_s):
            return await _query(xaddr, username, password, profile, endpoint)

    try:
        return asyncio.run(bounded())
    except OnvifError as e:
        raise type(e)(f"{where}: {e}") from e
    except TimeoutError as e:
        raise OnvifTimeoutError(
            f"{where} did not answer within {timeout_s:g} s; is it up and reachable?"
        ) from e
    except zeep.exceptions.Fault as e:
        if _fault_is_auth(e):
            raise OnvifAuthError(
                f"{where} refused the credentials ({e.message}); check the username and "
                "password, and that the camera clock is not far off"
            ) from e
        raise OnvifFaultError(f"{where} answered with a SOAP fault: {e.message}") from e
    except zeep.exceptions.TransportError as e:
        if e.status_code == 401:
            raise OnvifAuthError(f"{where} answered HTTP 401; check the credentials") from e
        raise OnvifReplyError(f"{where} answered HTTP {e.status_code} without SOAP") from e
    except (aiohttp.ClientConnectionError, OSError) as e:
        raise OnvifConnectionError(f"cannot reach {where}: {e}; check the address") from e
    except (zeep.exceptions.Error, ONVIFError, aiohttp.ClientError, ValueError) as e:
        raise OnvifReplyError(f"{where} sent a malformed reply: {e}") from e
    except Exception as e:  # a hostile reply must not escape as an arbitrary error
        log.exception("unexpected failure querying %s", where)
        raise OnvifReplyError(f"{where} sent an unusable reply: {type(e).__name__}: {e}") from e


def discover(
    address: str = "127.0.0.1",
    timeout_s: float = 3.0,
    username: str | None = None,
    password: str | None = None,
    *,
    interface: str | None = None,
    query_timeout_s: float = 5.0,
    workers: int = 16,
) -> Discovered:
    """Probe for `timeout_s`, then query every camera found concurrently (for `evgw discover`).

    Cameras that were found but whose query failed (wrong password, fault, timeout) are
    returned apart, so the CLI can show them instead of silently leaving them out.
    """
    if interface:
        address = discovery.interface_address(interface)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="onvif-wsdl") as warm:
        warmed = warm.submit(_warm_wsdl)
        found = discovery.probe(address, timeout_s)
        warmed.result()
    found = [a for a in found if a.xaddrs]
    ok: list[DeviceInfo] = []
    failed: list[tuple[discovery.Announcement, OnvifError]] = []
    if not found:
        return Discovered((), ())
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="onvif-query") as pool:
        futures = [
            (a, pool.submit(_query_announced, a, username, password, query_timeout_s))
            for a in found
        ]
        for a, future in futures:
            try:
                ok.append(future.result())
            except OnvifError as e:
                log.warning("camera %s (%s): %s", a.endpoint, a.xaddrs[0], e)
                failed.append((a, e))
    return Discovered(tuple(ok), tuple(failed))


def _query_announced(
    a: discovery.Announcement, username: str | None, password: str | None, timeout_s: float
) -> DeviceInfo:
    info = probe_device(a.xaddrs[0], username, password, timeout_s, endpoint=a.endpoint)
    return DeviceInfo(
        **{**info.__dict__, "name": a.name, "location": a.location, "scopes": a.scopes}
    )


def _warm_wsdl() -> None:
    """Load the device and media WSDLs once (about a second of CPU) while the probe waits."""

    async def load() -> None:
        for wsdl, ns, binding in (
            ("devicemgmt.wsdl", NS_DEVICE, "DeviceBinding"),
            ("media.wsdl", NS_MEDIA, "MediaBinding"),
        ):
            svc = await _service("http://127.0.0.1:1/", wsdl, f"{{{ns}}}{binding}", None, None, 0)
            await svc.close()

    try:
        asyncio.run(load())
    except Exception:
        log.exception("could not preload the ONVIF WSDLs; queries will load them")
