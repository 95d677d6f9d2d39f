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
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import onvif
import zeep.exceptions
from onvif.client import ONVIFService
from onvif.exceptions import ONVIFError
from zeep.settings import Settings

from . import discovery, wsd
from .errors import (
    OnvifAuthError,
    OnvifConnectionError,
    OnvifError,
    OnvifFaultError,
    OnvifReplyError,
    OnvifTimeoutError,
    OnvifTlsError,
)
from .onvif_replies import (
    MediaProfile,
    camera_time,
    choose_profile,
    media_xaddr,
    profile_from_reply,
    text,
)
from .onvif_transport import (
    CappedTransport,
    OnvifTls,
    ReplyTooLargeError,
    peer_certificate,
    presented_fingerprint,
)
from .redact import redact

log = logging.getLogger(__name__)

WSDL_DIR = Path(onvif.__file__).parent / "wsdl"
NS_DEVICE = "http://www.onvif.org/ver10/device/wsdl"
NS_MEDIA = "http://www.onvif.org/ver10/media/wsdl"
# Hardened parse settings for replies (onvif's defaults enable lxml's huge_tree).
REPLY_SETTINGS = Settings(
    strict=False, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True
)


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
    cert_sha256: str = ""  # of the https service's certificate; "" over http
    name: str = ""
    location: str = ""
    scopes: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Discovered:
    """Result of `discover`: cameras that answered, and those found but not queryable."""

    devices: tuple[DeviceInfo, ...]
    failures: tuple[tuple[wsd.Announcement, OnvifError], ...]


# --- transport -----------------------------------------------------------------------------


async def _service(
    xaddr: str,
    wsdl: str,
    binding: str,
    username: str | None,
    password: str | None,
    offset_s: float,
    tls: OnvifTls,
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
    svc.transport = CappedTransport(svc._session, tls)
    await svc.setup()
    for client in (svc.zeep_client, svc.zeep_client_authless):
        client.settings = REPLY_SETTINGS
    return svc


def _call(svc: ONVIFService, operation: str, username: str | None, params: Any = None) -> Any:
    return getattr(svc, operation if username else f"authless_{operation}")(params)


async def _query(
    xaddr: str,
    username: str | None,
    password: str | None,
    profile: str | None,
    endpoint: str,
    tls: OnvifTls,
) -> DeviceInfo:
    device_binding = f"{{{NS_DEVICE}}}DeviceBinding"
    services: list[ONVIFService] = []
    # (0) over https, the certificate is checked first, before any credential is sent.
    cert = await peer_certificate(xaddr, tls) if xaddr.lower().startswith("https:") else ""
    try:
        # (1) clock first, unauthenticated (ONVIF allows it): its offset signs the rest.
        plain = await _service(xaddr, "devicemgmt.wsdl", device_binding, None, None, 0.0, tls)
        services.append(plain)
        sent = time.time()
        reply = await plain.authless_GetSystemDateAndTime()
        local_mid = (sent + time.time()) / 2
        offset = camera_time(getattr(reply, "SystemDateAndTime", reply)).timestamp() - local_mid
        # (2) identity and the media service address, signed with the offset applied.
        dev = await _service(
            xaddr, "devicemgmt.wsdl", device_binding, username, password, offset, tls
        )
        services.append(dev)
        info = await _call(dev, "GetDeviceInformation", username)
        caps = await _call(dev, "GetCapabilities", username, {"Category": "Media"})
        media_url = media_xaddr(caps, xaddr)
        # (3) profiles, the chosen one's RTSP-over-TCP URI.
        media_binding = f"{{{NS_MEDIA}}}MediaBinding"
        media = await _service(
            media_url, "media.wsdl", media_binding, username, password, offset, tls
        )
        services.append(media)
        raw_profiles = await _call(media, "GetProfiles", username) or []
        found = [profile_from_reply(p) for p in list(raw_profiles)[: wsd.MAX_ITEMS]]
        profiles = tuple(p for p in found if p is not None)
        chosen = choose_profile(profiles, profile)
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        uri_reply = await _call(
            media, "GetStreamUri", username, {"StreamSetup": setup, "ProfileToken": chosen.token}
        )
        uri = text(uri_reply, "Uri", wsd.MAX_URI)
        if not uri.lower().startswith(("rtsp://", "rtsps://")):
            raise OnvifReplyError(f"GetStreamUri returned no rtsp:// URI ({uri[:80]!r})")
        return DeviceInfo(
            endpoint=endpoint,
            xaddr=xaddr,
            manufacturer=text(info, "Manufacturer"),
            model=text(info, "Model"),
            firmware=text(info, "FirmwareVersion"),
            serial=text(info, "SerialNumber"),
            hardware_id=text(info, "HardwareId"),
            profiles=profiles,
            profile_token=chosen.token,
            stream_uri=uri,
            clock_offset_s=offset,
            cert_sha256=cert,
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
    tls: OnvifTls | None = None,
) -> DeviceInfo:
    """Query one camera's ONVIF device service at `xaddr`; raise an `OnvifError` subclass.

    `tls` says how an https service is verified (default: the system's CAs).
    """
    where = f"ONVIF device {redact(xaddr)}"
    tls = tls or OnvifTls()

    async def bounded() -> DeviceInfo:
        async with asyncio.timeout(timeout_s):
            return await _query(xaddr, username, password, profile, endpoint, tls)

    try:
        return asyncio.run(bounded())
    except OnvifError as e:
        raise type(e)(f"{where}: {e}") from e
    except ReplyTooLargeError as e:
        raise OnvifReplyError(f"{where}: {e}") from e
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
    except aiohttp.ServerFingerprintMismatch as e:
        raise OnvifTlsError(
            f"{where} presented a certificate with SHA-256 {e.got.hex()}, not "
            f"{tls.describe()}; if the camera's certificate was replaced on purpose, set "
            f'onvif_cert_sha256 = "{e.got.hex()}" for this camera'
        ) from e
    except (
        aiohttp.ClientConnectorCertificateError,
        aiohttp.ClientSSLError,
        ssl.SSLError,
        ssl.CertificateError,
    ) as e:
        raise OnvifTlsError(_untrusted(where, xaddr, tls, e)) from e
    except (aiohttp.ClientConnectionError, OSError) as e:
        raise OnvifConnectionError(f"cannot reach {where}: {e}; check the address") from e
    except (zeep.exceptions.Error, ONVIFError, aiohttp.ClientError, ValueError) as e:
        raise OnvifReplyError(f"{where} sent a malformed reply: {e}") from e
    except Exception as e:  # a hostile reply must not escape as an arbitrary error
        log.debug("unexpected failure querying %s", where, exc_info=True)
        raise OnvifReplyError(f"{where} sent an unusable reply: {type(e).__name__}: {e}") from e


def _untrusted(where: str, xaddr: str, tls: OnvifTls, error: Exception) -> str:
    presented = presented_fingerprint(xaddr)
    pin = f'onvif_cert_sha256 = "{presented}"' if presented else "onvif_cert_sha256"
    return (
        f"{where}: its certificate is not trusted by {tls.describe()} ({error}); set "
        f"onvif_ca_file to the CA that issued it, or pin it with {pin} after checking the "
        "fingerprint on the camera itself"
    )


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
    failed: list[tuple[wsd.Announcement, OnvifError]] = []
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
    a: wsd.Announcement, username: str | None, password: str | None, timeout_s: float
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
            name = f"{{{ns}}}{binding}"
            svc = await _service("http://127.0.0.1:1/", wsdl, name, None, None, 0, OnvifTls())
            await svc.close()

    try:
        asyncio.run(load())
    except Exception:
        log.exception("could not preload the ONVIF WSDLs; queries will load them")
