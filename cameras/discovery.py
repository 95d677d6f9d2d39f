"""WS-Discovery (SOAP over UDP multicast) for ONVIF cameras: Probe, ProbeMatches, Hello, Bye.

Everything that arrives here comes from the camera network, so every datagram is size-capped,
parsed with DTDs refused (no entity expansion, no external fetches) and validated field by
field; a bad datagram raises `MalformedMessageError` and is skipped with a log line.
"""

from __future__ import annotations

import fcntl
import logging
import select
import socket
import struct
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import unquote, urlsplit
from xml.parsers import expat

from .errors import CameraError, NetworkSetupError

log = logging.getLogger(__name__)

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
SIOCGIFADDR = 0x8915
IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)


class MalformedMessageError(CameraError):
    """A network XML message was oversized, not XML, carried a DTD, or lacked required fields."""


@dataclass(frozen=True)
class Announcement:
    """One ProbeMatch, Hello or Bye: who the device is and where its ONVIF service lives."""

    kind: str  # "ProbeMatch", "Hello" or "Bye"
    endpoint: str  # normalised "urn:uuid:…" when it is a UUID, else the address as sent
    xaddrs: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    metadata_version: int = 0
    source: str = field(default="", compare=False)  # sender IP, for logs

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


# --- hardened XML --------------------------------------------------------------------------


def parse_xml(data: bytes, limit: int = MAX_DATAGRAM) -> ET.Element:
    """Parse untrusted XML: size-capped, DOCTYPE refused (so no entities, no XXE)."""
    if len(data) > limit:
        raise MalformedMessageError(f"XML message of {len(data)} bytes exceeds {limit} bytes")
    parser = expat.ParserCreate(namespace_separator=" ")
    builder = ET.TreeBuilder()

    def name(raw: str) -> str:
        ns, _, tag = raw.rpartition(" ")
        return f"{{{ns}}}{tag}" if ns else tag

    def start(tag: str, attrs: dict[str, str]) -> None:
        builder.start(name(tag), {name(k): v for k, v in attrs.items()})

    def refuse(*_: object) -> int:
        raise MalformedMessageError("XML message carries a DTD or entity declaration; refused")

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(name(tag))
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
        root = builder.close()
    except expat.ExpatError as e:
        raise MalformedMessageError(f"not well-formed XML: {e}") from e
    except (ValueError, AssertionError, RecursionError) as e:
        raise MalformedMessageError(f"unparsable XML: {e}") from e
    return root


def local(tag: object) -> str:
    """Local name of an ElementTree tag (``{ns}name`` → ``name``); "" for comments/PIs."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child(elem: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in elem if local(c.tag) == name), None)


def text_of(elem: ET.Element | None) -> str:
    return "".join(elem.itertext()).strip() if elem is not None else ""


# --- messages ------------------------------------------------------------------------------


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


def uri_list(elem: ET.Element | None) -> tuple[str, ...]:
    return tuple(u for u in text_of(elem).split()[:MAX_ITEMS] if len(u) <= MAX_URI)


def parse_announcement(kind: str, elem: ET.Element, source: str = "") -> Announcement:
    """One ProbeMatch/Hello/Bye element → Announcement, or MalformedMessageError."""
    epr = child(elem, "EndpointReference")
    address = text_of(child(epr, "Address")) if epr is not None else ""
    if not address or len(address) > MAX_URI:
        raise MalformedMessageError(f"{kind} from {source or '?'} has no EndpointReference")
    xaddrs = tuple(u for u in uri_list(child(elem, "XAddrs")) if valid_xaddr(u))
    if kind != "Bye" and not xaddrs and child(elem, "XAddrs") is not None:
        raise MalformedMessageError(f"{kind} from {source or '?'} has no usable http XAddr")
    version_text = text_of(child(elem, "MetadataVersion"))
    version = int(version_text) if version_text.isdigit() and len(version_text) < 10 else 0
    return Announcement(
        kind=kind,
        endpoint=normalise_endpoint(address),
        xaddrs=xaddrs,
        scopes=uri_list(child(elem, "Scopes")),
        types=tuple(t.rsplit(":", 1)[-1] for t in uri_list(child(elem, "Types"))),
        metadata_version=version,
        source=source,
    )


def parse_message(data: bytes, source: str = "") -> list[Announcement]:
    """Announcements in a WS-Discovery datagram; [] for messages that carry none (e.g. Probe)."""
    root = parse_xml(data)
    if local(root.tag) != "Envelope":
        raise MalformedMessageError(f"datagram from {source or '?'} is not a SOAP envelope")
    body = child(root, "Body")
    if body is None:
        raise MalformedMessageError(f"SOAP envelope from {source or '?'} has no Body")
    out: list[Announcement] = []
    for top in body:
        name = local(top.tag)
        if name == "ProbeMatches":
            matches = [m for m in top if local(m.tag) == "ProbeMatch"][:MAX_ITEMS]
            out += [parse_announcement("ProbeMatch", m, source) for m in matches]
        elif name in ("Hello", "Bye"):
            out.append(parse_announcement(name, top, source))
    return out


def relates_to(data: bytes) -> str:
    """The wsa:RelatesTo of a datagram ("" if absent); matches replies to our Probe."""
    header = child(parse_xml(data), "Header")
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


# --- sockets -------------------------------------------------------------------------------


def interface_address(interface: str) -> str:
    """IPv4 address of a network interface such as ``eth1`` (Linux SIOCGIFADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            req = struct.pack("256s", interface.encode()[:15])
            return socket.inet_ntoa(fcntl.ioctl(s.fileno(), SIOCGIFADDR, req)[20:24])
        except OSError as e:
            raise NetworkSetupError(
                f"interface {interface!r} has no IPv4 address ({e}); check [discovery] interface"
            ) from e


def sender_socket(address: str) -> socket.socket:
    """UDP socket on `address` whose multicast leaves through that address's interface."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((address, 0))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    except OSError as e:
        s.close()
        raise NetworkSetupError(f"cannot send WS-Discovery from {address}: {e}") from e
    return s


def group_socket(address: str, port: int = WSD_PORT) -> socket.socket:
    """UDP socket receiving the discovery group only on `address`'s interface."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        s.bind((MULTICAST_GROUP, port))
        mreq = socket.inet_aton(MULTICAST_GROUP) + socket.inet_aton(address)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
    except OSError as e:
        s.close()
        raise NetworkSetupError(
            f"cannot join {MULTICAST_GROUP}:{port} on {address}: {e}; "
            "does the interface have the MULTICAST flag (ip link set DEV multicast on)?"
        ) from e
    return s


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
                xaddrs=tuple(dict.fromkeys(old.xaddrs + a.xaddrs)),
                scopes=tuple(dict.fromkeys(old.scopes + a.scopes)),
            )
    return list(by_endpoint.values())


def probe(
    address: str = "127.0.0.1",
    timeout_s: float = 3.0,
    *,
    repeats: int = 3,
    port: int = WSD_PORT,
) -> list[Announcement]:
    """Multicast a Probe for ONVIF video transmitters from `address`; collect for `timeout_s`.

    The Probe is sent `repeats` times (UDP may drop it) with one MessageID, as SOAP-over-UDP
    prescribes; replies are matched by RelatesTo and merged per endpoint.
    """
    message_id = uuid.uuid4().urn
    message = probe_message(message_id)
    found: list[Announcement] = []
    with sender_socket(address) as s:
        start = time.monotonic()
        deadline = start + timeout_s
        sends = [start + 0.1 * i * (i + 1) for i in range(repeats)]
        while (now := time.monotonic()) < deadline:
            while sends and sends[0] <= now:
                sends.pop(0)
                s.sendto(message, (MULTICAST_GROUP, port))
            wait = min(deadline, sends[0] if sends else deadline) - now
            ready, _, _ = select.select([s], [], [], max(wait, 0.0))
            if not ready:
                continue
            data, (host, _) = s.recvfrom(65535)
            try:
                if relates_to(data) != message_id:
                    continue
                found += [a for a in parse_message(data, host) if a.kind == "ProbeMatch"]
            except MalformedMessageError as e:
                log.warning("ignored WS-Discovery reply from %s: %s", host, e)
    return merge(found)


class AnnouncementListener:
    """Background thread that reports Hello and Bye announcements to a callback."""

    def __init__(
        self,
        on_announcement: Callable[[Announcement], None],
        address: str = "127.0.0.1",
        *,
        port: int = WSD_PORT,
    ) -> None:
        self.on_announcement = on_announcement
        self.address = address
        self.port = port
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def start(self) -> AnnouncementListener:
        self._sock = group_socket(self.address, self.port)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"wsd-listen-{self.address}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _run(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            ready, _, _ = select.select([self._sock], [], [], 0.2)
            if not ready:
                continue
            data, (host, _) = self._sock.recvfrom(65535)
            try:
                announcements = parse_message(data, host)
            except MalformedMessageError as e:
                log.warning("ignored WS-Discovery datagram from %s: %s", host, e)
                continue
            for a in announcements:
                if a.kind in ("Hello", "Bye"):
                    try:
                        self.on_announcement(a)
                    except Exception:
                        log.exception("announcement callback failed for %s", a.endpoint)

    def __enter__(self) -> AnnouncementListener:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
