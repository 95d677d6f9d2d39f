"""WS-Discovery datagrams for the tests: envelopes, ProbeMatches, hostile variants."""

from __future__ import annotations

ENV = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">'
    "<s:Header><a:RelatesTo>{relates}</a:RelatesTo></s:Header><s:Body>{body}</s:Body>"
    "</s:Envelope>"
)
MATCH = (
    "<d:ProbeMatch><a:EndpointReference><a:Address>{addr}</a:Address>"
    "</a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
    "<d:Scopes>{scopes}</d:Scopes><d:XAddrs>{xaddrs}</d:XAddrs>"
    "<d:MetadataVersion>{version}</d:MetadataVersion></d:ProbeMatch>"
)
UID = "6F1C0A3E-1B2C-4D5E-8F90-123456789ABC"
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    + ENV.format(
        relates="urn:uuid:1",
        body="<d:Hello><a:EndpointReference><a:Address>&lol3;</a:Address>"
        "</a:EndpointReference></d:Hello>",
    )
).encode()
XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    + ENV.format(
        relates="urn:uuid:1",
        body="<d:Hello><a:EndpointReference><a:Address>&xxe;</a:Address>"
        "</a:EndpointReference></d:Hello>",
    )
).encode()


def envelope(body: str, relates: str = "urn:uuid:1") -> bytes:
    return ENV.format(relates=relates, body=body).encode()


def match_xml(
    addr: str = f"urn:uuid:{UID}",
    scopes: str = "",
    xaddrs: str = "http://10.0.0.5/onvif/device_service",
    version: str = "3",
) -> str:
    return MATCH.format(addr=addr, scopes=scopes, xaddrs=xaddrs, version=version)


def match(
    addr: str = f"urn:uuid:{UID}",
    scopes: str = "",
    xaddrs: str = "http://10.0.0.5/onvif/device_service",
    version: str = "3",
    relates: str = "urn:uuid:1",
) -> bytes:
    """A ProbeMatches datagram with one match."""
    body = f"<d:ProbeMatches>{match_xml(addr, scopes, xaddrs, version)}</d:ProbeMatches>"
    return envelope(body, relates)


def hello(
    addr: str = f"urn:uuid:{UID}",
    xaddrs: str = "http://127.0.0.1:8080/onvif/device_service",
    version: str = "1",
) -> bytes:
    inner = match_xml(addr, "", xaddrs, version).replace("d:ProbeMatch>", "d:Hello>")
    return envelope(inner)


def flood(relates: str, host: str, first: int, count: int) -> bytes:
    """A ProbeMatches datagram with `count` fake endpoints, all on `host`."""
    matches = "".join(
        match_xml(
            f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
            xaddrs=f"http://{host}:{1000 + n % 60000}/onvif/device_service",
        )
        for n in range(first, first + count)
    )
    return envelope(f"<d:ProbeMatches>{matches}</d:ProbeMatches>", relates)
