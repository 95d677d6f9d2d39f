"""The emulated camera's WS-Discovery side: Hello and Bye, and ProbeMatches to Probes.

It joins the multicast group on the loopback interface only and ignores any datagram that
does not come from 127.0.0.0/8, so a test run never answers a real camera network. The
gateway's own discovery client (`cameras.discovery`) is what it talks to.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import uuid
from urllib.parse import quote
from xml.sax.saxutils import escape

from cameras.discovery import group_socket, sender_socket
from cameras.errors import MalformedMessageError
from cameras.safe_xml import child, parse_xml, text_of
from cameras.wsd import (
    ACTION_BYE,
    ACTION_HELLO,
    ACTION_PROBE_MATCHES,
    MAX_DATAGRAM,
    MULTICAST_GROUP,
    NS_DN,
    NS_SOAP,
    NS_WSA,
    NS_WSD,
    WSD_PORT,
    WSD_TO,
)

from .onvif_config import DeviceConfig
from .onvif_dialect import VENDOR, WSD_PREFIXES, vendor, vendor_endpoint, vendor_scopes
from .process import HOST

log = logging.getLogger(__name__)


def probe_id(data: bytes) -> str:
    """MessageID of a Probe for video transmitters (or for any type); "" for other messages."""
    root = parse_xml(data, MAX_DATAGRAM)
    header, body = child(root, "Header"), child(root, "Body")
    probe = child(body, "Probe") if body is not None else None
    if header is None or probe is None:
        return ""
    types = text_of(child(probe, "Types")).split()
    if types and not any(t.rsplit(":", 1)[-1] == "NetworkVideoTransmitter" for t in types):
        return ""
    return text_of(child(header, "MessageID"))[:256]


def scopes(config: DeviceConfig) -> str:
    """The ONVIF scopes a camera announces: type, profile, name, location, hardware."""
    if config.dialect == VENDOR:
        return vendor_scopes(config)
    return " ".join(
        [
            "onvif://www.onvif.org/type/video_encoder",
            "onvif://www.onvif.org/Profile/Streaming",
            f"onvif://www.onvif.org/name/{quote(config.name)}",
            f"onvif://www.onvif.org/location/{quote(config.location)}",
            f"onvif://www.onvif.org/hardware/{quote(config.model)}",
        ]
    )


class DiscoveryResponder(threading.Thread):
    """Announces one device at `xaddr` and answers Probes for it; one run per device start.

    `metadata_version` goes up whenever the device comes back at another address, so a
    client that caches announcements knows the new XAddrs replace the old ones.
    """

    def __init__(
        self,
        config: DeviceConfig,
        xaddr: str,
        metadata_version: int,
        port: int = WSD_PORT,
        host: str = HOST,
    ) -> None:
        super().__init__(name=f"onvif-wsd-{xaddr}", daemon=True)
        self.config = config
        self.xaddr = xaddr
        self.metadata_version = metadata_version
        self.port = port
        self.host = host
        self._halt = threading.Event()
        self._sock: socket.socket | None = None
        self._reply: socket.socket | None = None

    def start(self) -> None:
        """Join the group, start answering and say Hello."""
        self._sock = group_socket(HOST, self.port)
        self._reply = sender_socket(self.host)  # answers come from the device's own address
        super().start()
        self.hello()

    def stop(self, *, announce: bool = True) -> None:
        """Say Bye unless `announce` is False (a power cut), then stop answering."""
        if self._sock is None:
            return
        if announce:
            self.bye()
        self._halt.set()
        self.join(timeout=5)
        self._sock.close()
        self._sock = None
        if self._reply is not None:
            self._reply.close()
            self._reply = None

    def hello(self) -> None:
        self._multicast(self._announcement(ACTION_HELLO, "Hello"))

    def bye(self) -> None:
        self._multicast(self._announcement(ACTION_BYE, "Bye"))

    def _multicast(self, message: bytes) -> None:
        with sender_socket(self.host) as s:
            s.sendto(message, (MULTICAST_GROUP, self.port))

    def _announcement(self, action: str, tag: str, relates_to: str = "") -> bytes:
        header = (
            f"<a:Action>{action}</a:Action><a:MessageID>{uuid.uuid4().urn}</a:MessageID>"
            f"<a:To>{WSD_TO}</a:To>"
        )
        if relates_to:
            header += f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        details = (
            "<d:Types>dn:NetworkVideoTransmitter</d:Types>"
            f"<d:Scopes>{escape(scopes(self.config))}</d:Scopes>"
            f"<d:XAddrs>{self.xaddr}</d:XAddrs>"
        )
        endpoint = self.config.uuid
        if self.config.dialect == VENDOR:
            endpoint = vendor_endpoint(endpoint)
        inner = (
            f"<a:EndpointReference><a:Address>{escape(endpoint)}</a:Address>"
            f"</a:EndpointReference>{'' if tag == 'Bye' else details}"
            f"<d:MetadataVersion>{self.metadata_version}</d:MetadataVersion>"
        )
        body = (
            f"<d:ProbeMatches><d:ProbeMatch>{inner}</d:ProbeMatch></d:ProbeMatches>"
            if tag == "ProbeMatch"
            else f"<d:{tag}>{inner}</d:{tag}>"
        )
        message = (
            f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{NS_SOAP}" '
            f'xmlns:a="{NS_WSA}" xmlns:d="{NS_WSD}" xmlns:dn="{NS_DN}">'
            f"<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
        ).encode()
        return vendor(message, WSD_PREFIXES) if self.config.dialect == VENDOR else message

    def run(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._halt.is_set():
            ready, _, _ = select.select([sock], [], [], 0.2)
            if not ready:
                continue
            try:
                data, sender = sock.recvfrom(65535)
            except OSError:
                return
            if not sender[0].startswith("127."):
                continue  # confined to loopback: never answer a real network
            try:
                message_id = probe_id(data)
            except MalformedMessageError as e:
                log.debug("ignored datagram from %s: %s", sender, e)
                continue
            if message_id:
                reply = self._announcement(ACTION_PROBE_MATCHES, "ProbeMatch", message_id)
                assert self._reply is not None
                self._reply.sendto(reply, sender)
