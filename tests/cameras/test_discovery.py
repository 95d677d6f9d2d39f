"""WS-Discovery: message parsing (hostile input included) and probing/listening on loopback."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cameras import discovery
from cameras.discovery import Announcement, MalformedMessageError, parse_message
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice

ENV = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery">'
    "<s:Header><a:RelatesTo>urn:uuid:1</a:RelatesTo></s:Header><s:Body>{}</s:Body></s:Envelope>"
)
MATCH = (
    "<d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>{addr}</a:Address>"
    "</a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
    "<d:Scopes>{scopes}</d:Scopes><d:XAddrs>{xaddrs}</d:XAddrs>"
    "<d:MetadataVersion>3</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches>"
)
UID = "6F1C0A3E-1B2C-4D5E-8F90-123456789ABC"
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    + ENV.format(
        "<d:Hello><a:EndpointReference><a:Address>&lol3;</a:Address>"
        "</a:EndpointReference></d:Hello>"
    )
).encode()
XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    + ENV.format(
        "<d:Hello><a:EndpointReference><a:Address>&xxe;</a:Address></a:EndpointReference></d:Hello>"
    )
).encode()


def match(
    addr: str = f"urn:uuid:{UID}",
    scopes: str = "",
    xaddrs: str = "http://10.0.0.5/onvif/device_service",
) -> bytes:
    return ENV.format(MATCH.format(addr=addr, scopes=scopes, xaddrs=xaddrs)).encode()


def test_probe_match_is_parsed_and_normalised() -> None:
    scopes = (
        "onvif://www.onvif.org/name/%E5%8D%A1%E5%8F%A3_1 onvif://www.onvif.org/location/gate "
        "onvif://www.onvif.org/hardware/IPC-X"
    )
    xaddrs = "http://10.0.0.5/onvif/device_service ftp://bad http://[fe80::1]:80/onvif"
    [a] = parse_message(match(f"uuid:{UID}", scopes, xaddrs), "10.0.0.5")
    assert a.kind == "ProbeMatch"
    assert a.endpoint == f"urn:uuid:{UID.lower()}"
    assert a.xaddrs == ("http://10.0.0.5/onvif/device_service", "http://[fe80::1]:80/onvif")
    assert (a.name, a.location, a.hardware) == ("卡口 1", "gate", "IPC-X")
    assert a.types == ("NetworkVideoTransmitter",) and a.metadata_version == 3


def test_non_uuid_endpoint_kept_verbatim() -> None:
    [a] = parse_message(match("http://cam.local/epr"))
    assert a.endpoint == "http://cam.local/epr"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (BILLION_LAUGHS, "DTD"),
        (XXE, "DTD"),
        (b"<s:Envelope", "well-formed"),
        (b"\xff\xfe\x00garbage", "well-formed"),
        (b"<x>" + b"a" * (discovery.MAX_DATAGRAM + 1) + b"</x>", "exceeds"),
        (b"<notsoap/>", "not a SOAP envelope"),
        (match(addr=""), "EndpointReference"),
        (match(xaddrs="ftp://only-bad"), "XAddr"),
        (ENV.format("<d:Hello>&undefined;</d:Hello>").encode(), "well-formed"),
    ],
)
def test_hostile_datagrams_are_rejected(data: bytes, why: str) -> None:
    with pytest.raises(MalformedMessageError, match=why):
        parse_message(data)


def test_parse_xml_keeps_namespaces() -> None:
    envelope = '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><x>1</x></s:Envelope>'
    root = discovery.parse_xml(envelope.encode())
    assert root.tag == "{http://www.w3.org/2003/05/soap-envelope}Envelope"
    assert discovery.text_of(root) == "1"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_raw_bytes_only_declared_error(data: bytes) -> None:
    with contextlib.suppress(MalformedMessageError):
        parse_message(data)


xml_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="<&\x00"), max_size=80
)


@settings(max_examples=300, deadline=None)
@given(addr=xml_text, scopes=xml_text, xaddrs=xml_text)
def test_fuzz_probe_match_fields_only_declared_error(addr: str, scopes: str, xaddrs: str) -> None:
    try:
        found = parse_message(match(addr, scopes, xaddrs))
    except MalformedMessageError:
        return
    for a in found:
        assert a.endpoint and all(discovery.valid_xaddr(x) for x in a.xaddrs)
        assert isinstance(a.name + a.location + a.hardware, str)


def test_merge_unites_xaddrs_per_endpoint() -> None:
    a = Announcement("ProbeMatch", "urn:uuid:1", ("http://a/",), ("s1",))
    b = Announcement("ProbeMatch", "urn:uuid:1", ("http://b/", "http://a/"), ("s2",))
    [m] = discovery.merge([a, b])
    assert m.xaddrs == ("http://a/", "http://b/") and m.scopes == ("s1", "s2")


# --- loopback multicast ---------------------------------------------------------------------


def make_device(n: int = 0, **kw: object) -> OnvifDevice:
    config = DeviceConfig(default_profiles(f"rtsp://127.0.0.1:1/cam{n}"), serial=f"S{n}", **kw)  # type: ignore[arg-type]
    return OnvifDevice(config)


@pytest.fixture
def devices() -> Iterator[list[OnvifDevice]]:
    started = [make_device(i, name=f"cam {i}").start() for i in range(3)]
    yield started
    for d in started:
        d.stop()


def test_probe_finds_three_cameras_within_three_seconds(devices: list[OnvifDevice]) -> None:
    start = time.monotonic()
    found = discovery.probe("127.0.0.1", timeout_s=2.0)
    assert time.monotonic() - start < 3.0
    ours = {a.endpoint: a for a in found if a.endpoint in {d.config.uuid for d in devices}}
    assert len(ours) == 3
    for d in devices:
        a = ours[d.config.uuid]
        assert a.xaddrs == (d.xaddr,)
        assert a.name == d.config.name and a.location == "lab" and a.hardware == "SimCam-1"


def test_hello_and_bye_reach_the_listener() -> None:
    seen: queue.Queue[Announcement] = queue.Queue()
    device = make_device(7)
    with discovery.AnnouncementListener(seen.put):
        device.start()
        old_xaddr = device.xaddr
        device.restart()  # Bye, then Hello from the new address with the same uuid
        device.stop()
        events: list[Announcement] = []
        deadline = time.monotonic() + 3
        while len(events) < 4 and time.monotonic() < deadline:
            try:
                a = seen.get(timeout=0.2)
            except queue.Empty:
                continue
            if a.endpoint == device.config.uuid:
                events.append(a)
    assert [a.kind for a in events] == ["Hello", "Bye", "Hello", "Bye"]
    assert events[0].xaddrs == (old_xaddr,) and events[2].xaddrs == (device.xaddr,)
    assert events[2].metadata_version > events[0].metadata_version


def test_probe_survives_hostile_responders(devices: list[OnvifDevice]) -> None:
    """A responder answering with entity bombs, junk and oversized datagrams changes nothing."""
    sock = discovery.group_socket("127.0.0.1")
    stop = threading.Event()

    def hostile() -> None:
        while not stop.is_set():
            sock.settimeout(0.2)
            try:
                data, sender = sock.recvfrom(65535)
            except TimeoutError:
                continue
            if b"Probe<" not in data and b"Probe>" not in data:
                continue
            for payload in (BILLION_LAUGHS, XXE, b"\x00" * 100, b"<a>" * 20000, match(addr="")):
                sock.sendto(payload, sender)

    t = threading.Thread(target=hostile, name="hostile-wsd", daemon=True)
    t.start()
    try:
        found = discovery.probe("127.0.0.1", timeout_s=1.5)
    finally:
        stop.set()
        t.join()
        sock.close()
    assert {d.config.uuid for d in devices} <= {a.endpoint for a in found}


def test_unknown_interface_is_a_clear_error() -> None:
    with pytest.raises(discovery.CameraError, match="no IPv4 address"):
        discovery.interface_address("nosuchif0")
