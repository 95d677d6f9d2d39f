"""Set and check a camera's OSD over ONVIF Media (ver10): options, OSDs, create/set, read back.

`apply_osd` finds the media service (GetServices), the video source configuration of the
profile we record (GetProfiles), reads what the camera can show and shows now (GetOSDOptions,
GetOSDs), makes the calls `osd_plan.plan_osd` asks for and reads the result back. Given the
outcome of an earlier run it first only reads the OSDs back (one call): when they still are
as set, nothing else is asked, which keeps a periodic check cheap.

Media2 (ver20) is not used: the ONVIF library ships no WSDL for it. A camera that offers only
Media2 is reported as such. Transport, WS-Security with the camera's clock offset, size caps
and error mapping are `onvif_client`'s; every failure is an `OnvifError` subclass.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import aiohttp
import zeep.exceptions
from onvif.client import ONVIFService
from onvif.exceptions import ONVIFError

from . import wsd
from .errors import (
    OnvifAuthError,
    OnvifConnectionError,
    OnvifError,
    OnvifFaultError,
    OnvifReplyError,
    OnvifTimeoutError,
    OnvifTlsError,
    OsdRefusedError,
)
from .onvif_client import NS_DEVICE, NS_MEDIA, _call, _fault_is_auth, _service
from .onvif_replies import media_xaddr, rehost, text
from .onvif_transport import OnvifTls, ReplyTooLargeError
from .osd_plan import OsdPlan, OsdWanted, differences, plan_osd
from .osd_replies import PLAIN, Osd, options_from_reply, osds_from_reply
from .redact import redact

log = logging.getLogger(__name__)

NS_MEDIA2 = "http://www.onvif.org/ver20/media/wsdl"
T = TypeVar("T")


@dataclass(frozen=True)
class OsdTarget:
    """The camera as just resolved: where its device service is and how to sign requests."""

    xaddr: str
    profile_token: str
    username: str | None
    password: str | None
    clock_offset_s: float
    tls: OnvifTls = field(default_factory=OnvifTls)
    timeout_s: float = 10.0


@dataclass(frozen=True)
class OsdSite:
    """Where our OSDs live: the media service and the recorded profile's video source."""

    media_xaddr: str
    source: str


@dataclass(frozen=True)
class OsdOutcome:
    """What the camera shows, as read back after setting it."""

    site: OsdSite
    applied: tuple[Osd, ...]  # our OSDs as the camera reports them
    refused: tuple[str, ...] = ()  # parts that could not be set, and why
    changed: bool = False  # something was created, set or deleted this time
    truncated: bool = False  # the site text was cut to fit


def apply_osd(
    target: OsdTarget,
    wanted: OsdWanted,
    ours: frozenset[str] = frozenset(),
    earlier: OsdOutcome | None = None,
) -> OsdOutcome:
    """Make the camera show `wanted`; `earlier` (same camera) allows the one-call check.

    Raises `OsdRefusedError` when nothing of it can be shown or it reads back otherwise,
    `OnvifFaultError`/`OnvifAuthError` when the camera refuses a call, other `OnvifError`s
    when it cannot be asked.
    """
    return _run(target, lambda: _apply(target, wanted, ours, earlier))


async def _apply(
    target: OsdTarget, wanted: OsdWanted, ours: frozenset[str], earlier: OsdOutcome | None
) -> OsdOutcome:
    site = earlier.site if earlier is not None else await _site(target)
    media = await _media(target, site.media_xaddr)
    try:
        if earlier is not None:
            read = osds_from_reply(await _osds(media, target, site.source))
            if not differences(earlier.applied, read):
                return replace(earlier, changed=False)
        asked = {"ConfigurationToken": site.source}
        options = options_from_reply(await _call(media, "GetOSDOptions", target.username, asked))
        existing = osds_from_reply(await _osds(media, target, site.source))
        plan = plan_osd(options, existing, wanted, site.source, ours)
        if not (plan.keep or plan.create or plan.update):
            raise OsdRefusedError("; ".join(plan.refused) or "nothing to show")
        set_now = await _execute(media, target, plan)
        read = osds_from_reply(await _osds(media, target, site.source))
    finally:
        await media.close()
    problems = differences(set_now, read)
    if problems:
        raise OsdRefusedError("the camera reads back otherwise than set: " + "; ".join(problems))
    by_token = {o.token: o for o in read}
    applied = tuple(by_token[o.token] for o in set_now)
    cut = any(o.text_type == PLAIN and o.plain_text != wanted.text.strip() for o in applied)
    return OsdOutcome(site, applied, plan.refused, plan.changes, plan.truncated or cut)


async def _site(target: OsdTarget) -> OsdSite:
    """(1) the media service from GetServices; (2) the recorded profile's video source."""
    device = await _service(
        target.xaddr,
        "devicemgmt.wsdl",
        f"{{{NS_DEVICE}}}DeviceBinding",
        target.username,
        target.password,
        target.clock_offset_s,
        target.tls,
    )
    try:
        asked = {"IncludeCapability": True}
        try:
            services = await _call(device, "GetServices", target.username, asked)
            media_url = _media_service(services, target.xaddr)
        except zeep.exceptions.Fault as e:  # an older camera: GetCapabilities names media
            if _fault_is_auth(e):
                raise
            caps = await _call(device, "GetCapabilities", target.username, {"Category": "Media"})
            media_url = media_xaddr(caps, target.xaddr)
    finally:
        await device.close()
    media = await _media(target, media_url)
    try:
        profiles = await _call(media, "GetProfiles", target.username) or []
    finally:
        await media.close()
    for profile in list(profiles)[: wsd.MAX_ITEMS]:
        if text(profile, "token") == target.profile_token:
            source = text(getattr(profile, "VideoSourceConfiguration", None), "token")
            if not source:
                raise OsdRefusedError(
                    f"profile {target.profile_token!r} has no video source configuration"
                )
            return OsdSite(media_url, source)
    raise OnvifReplyError(f"the camera no longer lists profile {target.profile_token!r}")


def _media_service(services: Any, device_xaddr: str) -> str:
    """The ver10 media service's address (on the device's own host), checked for OSD."""
    offered: dict[str, Any] = {}
    for service in list(services or [])[: wsd.MAX_ITEMS]:
        namespace = text(service, "Namespace", wsd.MAX_URI)
        offered.setdefault(namespace, service)
    media = offered.get(NS_MEDIA)
    if media is None:
        if NS_MEDIA2 in offered:
            raise OsdRefusedError(
                "the camera offers only ONVIF Media2, which this gateway cannot use for OSD"
            )
        raise OsdRefusedError("the camera offers no ONVIF media service")
    if _capability(getattr(media, "Capabilities", None), "OSD") is False:
        raise OsdRefusedError("the camera's media service says it has no OSD")
    url = text(media, "XAddr", wsd.MAX_URI)
    return rehost(url, device_xaddr) if wsd.valid_xaddr(url) else device_xaddr


def _capability(caps: Any, name: str) -> bool | None:
    """A boolean attribute of the (untyped) service capabilities; None when not said."""
    found = getattr(caps, "_value_1", None)
    elements: list[Any] = list(found) if isinstance(found, list | tuple) else [found]
    for element in elements[:4]:
        value = element.get(name) if hasattr(element, "get") else getattr(element, name, None)
        if isinstance(value, str) and value.strip() in ("true", "1", "false", "0"):
            return value.strip() in ("true", "1")
        if isinstance(value, bool):
            return value
    return None


async def _media(target: OsdTarget, url: str) -> ONVIFService:
    return await _service(
        url,
        "media.wsdl",
        f"{{{NS_MEDIA}}}MediaBinding",
        target.username,
        target.password,
        target.clock_offset_s,
        target.tls,
    )


async def _osds(media: ONVIFService, target: OsdTarget, source: str) -> Any:
    return await _call(media, "GetOSDs", target.username, {"ConfigurationToken": source})


async def _execute(media: ONVIFService, target: OsdTarget, plan: OsdPlan) -> list[Osd]:
    """Delete extra copies, set, create; the wanted OSDs with their tokens."""
    user = target.username
    for token in plan.delete:
        await _call(media, "DeleteOSD", user, {"OSDToken": token})
    for osd in plan.update:
        await _call(media, "SetOSD", user, {"OSD": _osd_param(osd)})
    done = [*plan.keep, *plan.update]
    for osd in plan.create:
        reply = await _call(media, "CreateOSD", user, {"OSD": _osd_param(osd)})
        token = reply if isinstance(reply, str) else text(reply, "OSDToken")
        token = token.strip()[:256]
        if not token:
            raise OnvifReplyError("CreateOSD returned no OSD token")
        done.append(replace(osd, token=token))
    return done


def _osd_param(osd: Osd) -> dict[str, Any]:
    position: dict[str, Any] = {"Type": osd.position}
    if osd.x is not None and osd.y is not None:
        position["Pos"] = {"x": osd.x, "y": osd.y}
    string: dict[str, Any] = {"Type": osd.text_type}
    if osd.date_format:
        string["DateFormat"] = osd.date_format
    if osd.time_format:
        string["TimeFormat"] = osd.time_format
    if osd.plain_text:
        string["PlainText"] = osd.plain_text
    return {
        "token": osd.token,
        "VideoSourceConfigurationToken": {"_value_1": osd.source},
        "Type": "Text",
        "Position": position,
        "TextString": string,
    }


def _run(target: OsdTarget, work: Callable[[], Awaitable[T]]) -> T:
    """Run one OSD exchange, bounded in time; every failure an `OnvifError` subclass."""
    where = f"ONVIF OSD of {redact(target.xaddr)}"

    async def bounded() -> T:
        async with asyncio.timeout(target.timeout_s):
            return await work()

    try:
        return asyncio.run(bounded())
    except OnvifError as e:
        raise type(e)(f"{where}: {e}") from e
    except ReplyTooLargeError as e:
        raise OnvifReplyError(f"{where}: {e}") from e
    except TimeoutError as e:
        raise OnvifTimeoutError(f"{where}: no answer within {target.timeout_s:g} s") from e
    except zeep.exceptions.Fault as e:
        if _fault_is_auth(e):
            raise OnvifAuthError(f"{where}: not authorised ({e.message})") from e
        raise OnvifFaultError(f"{where}: the camera refused: {str(e.message)[:200]}") from e
    except zeep.exceptions.TransportError as e:
        raise OnvifReplyError(f"{where}: HTTP {e.status_code} without SOAP") from e
    except (aiohttp.ServerFingerprintMismatch, aiohttp.ClientSSLError, ssl.SSLError) as e:
        raise OnvifTlsError(f"{where}: certificate not trusted ({e})") from e
    except (aiohttp.ClientConnectionError, OSError) as e:
        raise OnvifConnectionError(f"cannot reach {where}: {e}") from e
    except (zeep.exceptions.Error, ONVIFError, aiohttp.ClientError, ValueError) as e:
        raise OnvifReplyError(f"{where}: malformed reply: {e}") from e
    except Exception as e:  # a hostile reply must not escape as an arbitrary error
        log.debug("unexpected failure in %s", where, exc_info=True)
        raise OnvifReplyError(f"{where}: unusable reply: {type(e).__name__}: {e}") from e
