"""WS-Discovery messages: parsing, normalising, and hostile input (hypothesis included)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cameras import wsd
from cameras.errors import MalformedMessageError
from cameras.wsd import Announcement, parse_message
from tests.cameras.wsd_samples import (
    BILLION_LAUGHS,
    UID,
    XXE,
    envelope,
    hello,
    match,
    match_xml,
)

pytestmark = pytest.mark.multicast

UNICODE_DIGITS = "²³¹٣۳߃३১੩૩୩௩౩೩൩๓໓༣၃႓០᠓１𝟑𝟯"


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


@pytest.mark.parametrize("digit", list(UNICODE_DIGITS))
def test_unicode_digits_in_metadata_version_are_no_number(digit: str) -> None:
    """The reproduction: "²".isdigit() is true and int("²") raises; no digit but 0-9 counts."""
    assert digit.isdigit()
    [a] = parse_message(match(version=digit))
    assert a.metadata_version == 0
    [h] = parse_message(hello(version=f"1{digit}"))
    assert h.metadata_version == 0


@pytest.mark.parametrize(
    ("text", "version"),
    [("7", 7), (" 12 ", 12), ("-1", 0), ("1e3", 0), ("0x10", 0), ("9" * 9, 999_999_999),
     ("9" * 10, 0), ("", 0), ("+5", 0)],
)  # fmt: skip
def test_metadata_version_takes_ascii_digits_only(text: str, version: int) -> None:
    [a] = parse_message(match(version=text))
    assert a.metadata_version == version


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (BILLION_LAUGHS, "DTD"),
        (XXE, "DTD"),
        (b"<s:Envelope", "well-formed"),
        (b"\xff\xfe\x00garbage", "well-formed"),
        (b"<x>" + b"a" * (wsd.MAX_DATAGRAM + 1) + b"</x>", "exceeds"),
        (b"<notsoap/>", "not a SOAP envelope"),
        (match(addr=""), "EndpointReference"),
        (match(xaddrs="ftp://only-bad"), "XAddr"),
        (envelope("<d:Hello>&undefined;</d:Hello>"), "well-formed"),
        (envelope("<x>" * 100 + "</x>" * 100), "nests deeper"),
    ],
)
def test_hostile_datagrams_are_rejected(data: bytes, why: str) -> None:
    with pytest.raises(MalformedMessageError, match=why):
        parse_message(data)


def test_repeated_fields_take_the_first() -> None:
    inner = match_xml(version="4").replace(
        "</d:ProbeMatch>",
        "<a:EndpointReference><a:Address>urn:uuid:other</a:Address></a:EndpointReference>"
        "<d:MetadataVersion>²</d:MetadataVersion></d:ProbeMatch>",
    )
    [a] = parse_message(envelope(f"<d:ProbeMatches>{inner}</d:ProbeMatches>"))
    assert a.endpoint == f"urn:uuid:{UID.lower()}" and a.metadata_version == 4


def test_items_per_datagram_are_capped() -> None:
    one = "<d:ProbeMatch><a:EndpointReference><a:Address>u{}</a:Address></a:EndpointReference>"
    many = "".join(one.format(n) + "</d:ProbeMatch>" for n in range(wsd.MAX_ITEMS * 3))
    assert len(parse_message(envelope(f"<d:ProbeMatches>{many}</d:ProbeMatches>"))) == wsd.MAX_ITEMS


def test_every_truncation_of_a_datagram_is_only_a_malformed_message() -> None:
    data = match(scopes="onvif://www.onvif.org/name/x", version="²")
    for cut in range(len(data)):
        with contextlib.suppress(MalformedMessageError):
            parse_message(data[:cut])


def test_from_sender_keeps_only_the_senders_own_xaddrs() -> None:
    a = Announcement(
        "ProbeMatch",
        "urn:uuid:1",
        (
            "http://10.0.0.5/onvif",
            "http://10.0.0.6/onvif",
            "http://10.0.0.5:8080/x",
            "http://[::1]/",
        ),
        source="10.0.0.5",
    )
    assert wsd.from_sender(a).xaddrs == ("http://10.0.0.5/onvif", "http://10.0.0.5:8080/x")
    assert wsd.same_host("http://[::1]:80/", "0:0:0:0:0:0:0:1")
    assert not wsd.same_host("http://[bad/", "10.0.0.5")


def test_parse_xml_keeps_namespaces() -> None:
    from cameras.safe_xml import parse_xml, text_of

    doc = '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><x>1</x></s:Envelope>'
    root = parse_xml(doc.encode(), 1000)
    assert root.tag == "{http://www.w3.org/2003/05/soap-envelope}Envelope"
    assert text_of(root) == "1"


def test_merge_unites_xaddrs_per_endpoint() -> None:
    a = Announcement("ProbeMatch", "urn:uuid:1", ("http://a/",), ("s1",))
    b = Announcement("ProbeMatch", "urn:uuid:1", ("http://b/", "http://a/"), ("s2",))
    [m] = wsd.merge([a, b])
    assert m.xaddrs == ("http://a/", "http://b/") and m.scopes == ("s1", "s2")


# --- property-based: only MalformedMessageError may ever escape ------------------------------
# Case counts (hypothesis examples per run) are the max_examples below.

RAW_CASES = 500
FIELD_CASES = 500
STRUCTURE_CASES = 400
TRUNCATION_CASES = 300


def _parse(data: bytes) -> list[Announcement]:
    try:
        found = parse_message(data, "10.0.0.5")
    except MalformedMessageError:
        return []
    for a in found:
        assert a.endpoint and all(wsd.valid_xaddr(x) for x in a.xaddrs)
        assert 0 <= a.metadata_version < 10**9
        assert isinstance(a.name + a.location + a.hardware, str)
        assert len(a.xaddrs) <= wsd.MAX_ITEMS and len(a.scopes) <= wsd.MAX_ITEMS
    assert len(found) <= wsd.MAX_ITEMS
    return found


@settings(max_examples=RAW_CASES, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_raw_bytes(data: bytes) -> None:
    _parse(data)


xml_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="<&\x00"), max_size=80
)
digits = st.text(st.sampled_from(UNICODE_DIGITS + "0123456789 -+."), max_size=12)


@settings(max_examples=FIELD_CASES, deadline=None)
@given(addr=xml_text, scopes=xml_text, xaddrs=xml_text, version=digits | xml_text)
def test_fuzz_probe_match_fields(addr: str, scopes: str, xaddrs: str, version: str) -> None:
    _parse(match(addr, scopes, xaddrs, version))


FIELDS = ["EndpointReference", "Address", "XAddrs", "Scopes", "Types", "MetadataVersion"]


@st.composite
def element(draw: st.DrawFn, depth: int = 0) -> str:
    """A ProbeMatch-ish element: fields repeated, missing, nested, huge or Unicode-digit."""
    tag = draw(st.sampled_from([*FIELDS, "ProbeMatch", "Hello", "Bye", "x"]))
    prefix = "a" if tag in ("EndpointReference", "Address") else "d"
    if depth < 3 and draw(st.booleans()):
        inner = "".join(draw(st.lists(element(depth + 1), max_size=4)))
    else:
        inner = draw(
            st.one_of(
                xml_text,
                digits,
                st.just("http://10.0.0.5/onvif " * draw(st.integers(0, 300))),
                st.just(f"urn:uuid:{UID}"),
            )
        )
    return f"<{prefix}:{tag}>{inner}</{prefix}:{tag}>"


@settings(max_examples=STRUCTURE_CASES, deadline=None)
@given(
    items=st.lists(element(), max_size=6),
    wrap=st.sampled_from(["ProbeMatches", "Hello", "Bye", "Probe"]),
    nest=st.integers(0, 120),
)
def test_fuzz_structure_repeated_missing_deep(items: list[str], wrap: str, nest: int) -> None:
    body = "".join(items)
    if wrap == "ProbeMatches":
        body = f"<d:ProbeMatch>{body}</d:ProbeMatch>" * 2
    deep = "<d:x>" * nest + body + "</d:x>" * nest
    _parse(envelope(f"<d:{wrap}>{deep}</d:{wrap}>"))


@settings(max_examples=TRUNCATION_CASES, deadline=None)
@given(version=digits, cut=st.floats(0, 1), repeat=st.integers(1, 40))
def test_fuzz_truncated_and_repeated_datagrams(version: str, cut: float, repeat: int) -> None:
    data = envelope("<d:ProbeMatches>" + match_xml(version=version) * repeat + "</d:ProbeMatches>")
    _parse(data[: int(len(data) * cut)])
    _parse(data)
