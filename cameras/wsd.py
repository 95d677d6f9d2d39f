"""WS-Discovery messages (SOAP over UDP): Probe out; ProbeMatches, Hello and Bye in. No sockets.

Everything parsed here comes from the camera network: `parse_message` reads a size- and
depth-capped datagram with DTDs refused, validates every field, and raises only
`MalformedMessageError` (any other failure of a reader is converted, so a new parser bug
costs one datagram, never the thread reading them). Numbers are ASCII digits only: Unicode
digits such as "²" pass `str.isdigit` but not `int`.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import unquote, urlsplit

from .errors import MalformedMessageError
from .safe_xml import child, local, parse_xml, text_of

MULTICAST_GROUP = "239.255.255.250"
WSD_PORT = 3702
MAX_DATAGRAM = 32 * 1024
MAX_ITEMS = 64
MAX_URI = 2048

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
NS_DN = "http://www.onvif.org/ver10/network/wsdl"
WSD_TO = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
ACTION_PROBE = f"{NS_WSD}/Probe"
ACTION_PROBE_MATCHES = f"{NS_WSD}/ProbeMatches"
ACTION_HELLO = f"{NS_WSD}/Hello"
ACTION_BYE = f"{NS_WSD}/Bye"
SCOPE_PREFIX = "onvif://www.onvif.org/"
_VERSION = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Announcement:
    """One ProbeMatch, Hello or Bye: who the device is and where its ONVIF service lives."""

    kind: str  # "ProbeMatch", "Hello" or "Bye"
    endpoint: str  # normalised "urn:uuid:…" when it is a UUID, else the address as sent
    xaddrs: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    metadata_version: int = 0
    source: str = field(default="", compare=False)  # sender IP

    def scope(self, kind: str) -> str:
        """Decoded value of the first ``onvif://www.onvif.org/<kind>/…`` scope, or ""."""
        prefix = f"{SCOPE_PREFIX}{kind}/"
        for s in self.scopes:
            if s.lower().startswith(prefix):
                return unquote(s[len(prefix) :]).replace("_", " ").strip()
        return ""

    @property
    def name(self) -> str:
        return self.scope("name")

    @property
    def location(self) -> str:
        return self.scope("location")

    @property
    def hardware(self) -> str:
        return self.scope("hardware")


def normalise_endpoint(address: str) -> str:
    """``urn:uuid:…``/``uuid:…``/bare UUID → ``urn:uuid:<lowercase>``; other URIs unchanged."""
    raw = address.strip()
    for prefix in ("urn:uuid:", "uuid:"):
        if raw.lower().startswith(prefix):
            raw = raw[len(prefix) :]
            break
    try:
        return uuid.UUID(raw).urn
    except ValueError:
        return address.strip()


def valid_xaddr(url: str) -> bool:
    if len(url) > MAX_URI:
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        return False


def same_host(url: str, host: str) -> bool:
    """Whether `url` names `host` (an IP address or name; IPv6 forms compared as addresses)."""
    try:
        named = urlsplit(url).hostname or ""
    except ValueError:
        return False
    try:
        return ipaddress.ip_address(named) == ipaddress.ip_address(host)
    except ValueError:
        return named.lower() == host.lower()


def from_sender(a: Announcement) -> Announcement:
    """`a` with only the XAddrs on the host that sent it.

    A device announces its own service; a datagram pointing us at another host is either a
    proxy we do not use or someone steering our credentials elsewhere.
    """
    if not a.source:
        return a
    return replace(a, xaddrs=tuple(x for x in a.xaddrs if same_host(x, a.source)))


def uri_list(elem: ET.Element | None) -> tuple[str, ...]:
    return tuple(u for u in text_of(elem).split()[:MAX_ITEMS] if len(u) <= MAX_URI)


def metadata_version(text: str) -> int:
    """MetadataVersion as sent (ASCII digits, < 10**9), else 0: it only orders announcements."""
    return int(text) if _VERSION.fullmatch(text) else 0


def parse_announcement(kind: str, elem: ET.Element, source: str = "") -> Announcement:
    """One ProbeMatch/Hello/Bye element → Announcement, or MalformedMessageError."""
    epr = child(elem, "EndpointReference")
    address = text_of(child(epr, "Address")) if epr is not None else ""
    if not address or len(address) > MAX_URI:
        raise MalformedMessageError(f"{kind} from {source or '?'} has no EndpointReference")
    xaddrs = tuple(u for u in uri_list(child(elem, "XAddrs")) if valid_xaddr(u))
    if kind != "Bye" and not xaddrs and child(elem, "XAddrs") is not None:
        raise MalformedMessageError(f"{kind} from {source or '?'} has no usable http XAddr")
    return Announcement(
        kind=kind,
        endpoint=normalise_endpoint(address),
        xaddrs=xaddrs,
        scopes=uri_list(child(elem, "Scopes")),
        types=tuple(t.rsplit(":", 1)[-1] for t in uri_list(child(elem, "Types"))),
        metadata_version=metadata_version(text_of(child(elem, "MetadataVersion"))),
        source=source,
    )


def parse_message(data: bytes, source: str = "") -> list[Announcement]:
    """Announcements in a WS-Discovery datagram; [] for messages that carry none (e.g. Probe)."""
    try:
        return _announcements(data, source)
    except MalformedMessageError:
        raise
    except Exception as e:  # a reader bug must cost one datagram, not the listening thread
        raise MalformedMessageError(
            f"datagram from {source or '?'} broke the parser: {type(e).__name__}: {e}"
        ) from e


def _announcements(data: bytes, source: str) -> list[Announcement]:
    root = parse_xml(data, MAX_DATAGRAM)
    if local(root.tag) != "Envelope":
        raise MalformedMessageError(f"datagram from {source or '?'} is not a SOAP envelope")
    body = child(root, "Body")
    if body is None:
        raise MalformedMessageError(f"SOAP envelope from {source or '?'} has no Body")
    out: list[Announcement] = []
    for top in list(body)[:MAX_ITEMS]:
        name = local(top.tag)
        if name == "ProbeMatches":
            matches = [m for m in top if local(m.tag) == "ProbeMatch"][:MAX_ITEMS]
            out += [parse_announcement("ProbeMatch", m, source) for m in matches]
        elif name in ("Hello", "Bye"):
            out.append(parse_announcement(name, top, source))
    return out[:MAX_ITEMS]


def relates_to(data: bytes) -> str:
    """The wsa:RelatesTo of a datagram ("" if absent); matches replies to our Probe."""
    header = child(parse_xml(data, MAX_DATAGRAM), "Header")
    return text_of(child(header, "RelatesTo")) if header is not None else ""


def probe_message(message_id: str, types: str = "dn:NetworkVideoTransmitter") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{NS_SOAP}" xmlns:a="{NS_WSA}" xmlns:d="{NS_WSD}" '
        f'xmlns:dn="{NS_DN}"><s:Header>'
        f"<a:Action>{ACTION_PROBE}</a:Action><a:MessageID>{message_id}</a:MessageID>"
        f"<a:To>{WSD_TO}</a:To></s:Header>"
        f"<s:Body><d:Probe><d:Types>{types}</d:Types></d:Probe></s:Body></s:Envelope>"
    ).encode()


def merge(found: Iterable[Announcement]) -> list[Announcement]:
    """One announcement per endpoint, XAddrs and scopes united in arrival order."""
    by_endpoint: dict[str, Announcement] = {}
    for a in found:
        old = by_endpoint.get(a.endpoint)
        if old is None:
            by_endpoint[a.endpoint] = a
        else:
            by_endpoint[a.endpoint] = replace(
                old,
                xaddrs=tuple(dict.fromkeys(old.xaddrs + a.xaddrs))[:MAX_ITEMS],
                scopes=tuple(dict.fromkeys(old.scopes + a.scopes))[:MAX_ITEMS],
            )
    return list(by_endpoint.values())
