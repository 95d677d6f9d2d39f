"""The ONVIF test camera speaks SOAP 1.2, checks UsernameToken digests against its own clock."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.client
import os
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zeep.wsse.username import UsernameToken

from cameras.discovery import MalformedMessageError, parse_xml, text_of
from testbeds.onvif_device import (
    DeviceConfig,
    OnvifDevice,
    default_profiles,
    password_digest,
    probe_id,
)

SOAP = '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">{}<s:Body>{}</s:Body></s:Envelope>'
TDS = 'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"'


def security(user: str, password: str, created: dt.datetime) -> str:
    nonce = os.urandom(16)
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/'
        'oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken>'
        f"<Username>{user}</Username><Password>{password_digest(nonce, stamp, password)}</Password>"
        f"<Nonce>{base64.b64encode(nonce).decode()}</Nonce><Created>{stamp}</Created>"
        "</UsernameToken></Security></s:Header>"
    )


@pytest.fixture
def device() -> Iterator[OnvifDevice]:
    config = DeviceConfig(
        default_profiles("rtsp://127.0.0.1:1/main"),
        username="admin",
        password="secret",
        clock_skew_s=-7200,
    )
    d = OnvifDevice(config, discovery=False).start()
    yield d
    d.stop()


def post(device: OnvifDevice, body: bytes) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", device.port, timeout=5)
    conn.request("POST", "/onvif/device_service", body, {"Content-Type": "application/soap+xml"})
    r = conn.getresponse()
    out = r.status, r.read().decode()
    conn.close()
    return out


def test_password_digest_matches_zeep() -> None:
    """Same digest as zeep's client-side UsernameToken (Base64(SHA1(nonce+created+password)))."""
    created = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    token = UsernameToken("u", "pw", use_digest=True, nonce="n" * 16, created=created)
    header = token._create_password_digest()
    digest = next(e.text for e in header if e.tag.endswith("Password"))
    stamp = next(e.text for e in header if e.tag.endswith("Created"))
    assert password_digest(b"n" * 16, stamp, "pw") == digest


def test_clock_is_answered_unauthenticated_and_skewed(device: OnvifDevice) -> None:
    status, text = post(device, SOAP.format("", f"<tds:GetSystemDateAndTime {TDS}/>").encode())
    assert status == 200
    hour = int(text.split("<tt:Hour>")[1].split("<")[0])
    assert hour == (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).hour


def test_auth_uses_the_devices_own_clock(device: OnvifDevice) -> None:
    request = f"<tds:GetDeviceInformation {TDS}/>"
    camera_now = device.now()
    ok = post(device, SOAP.format(security("admin", "secret", camera_now), request).encode())
    assert ok[0] == 200 and "<tds:SerialNumber>SIM0001<" in ok[1]
    local_now = dt.datetime.now(dt.UTC)  # two hours ahead of the camera: stale
    stale = post(device, SOAP.format(security("admin", "secret", local_now), request).encode())
    assert stale[0] == 400 and "ter:NotAuthorized" in stale[1] and "stale" in stale[1]
    wrong = post(device, SOAP.format(security("admin", "nope", camera_now), request).encode())
    assert wrong[0] == 400 and "ter:NotAuthorized" in wrong[1]
    missing = post(device, SOAP.format("", request).encode())
    assert missing[0] == 400 and "ter:NotAuthorized" in missing[1]


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b"<unterminated",
        SOAP.format("", "").encode(),
    ],
)
def test_hostile_requests_get_sender_faults(device: OnvifDevice, body: bytes) -> None:
    status, text = post(device, body)
    assert status == 400 and "<s:Fault>" in text and "root:" not in text


def test_oversized_request_refused(device: OnvifDevice) -> None:
    status, _ = post(device, b"<x>" + b"a" * 70_000 + b"</x>")
    assert status == 413


def test_restart_keeps_identity_on_a_new_port(device: OnvifDevice) -> None:
    old = device.xaddr
    device.restart()
    assert device.xaddr != old
    status, _text = post(device, SOAP.format("", f"<tds:GetSystemDateAndTime {TDS}/>").encode())
    assert status == 200


def test_probe_id_reads_video_transmitter_probes() -> None:
    probe = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
        "<a:MessageID>urn:uuid:42</a:MessageID></s:Header><s:Body><d:Probe>"
        "<d:Types>{}</d:Types></d:Probe></s:Body></s:Envelope>"
    )
    assert probe_id(probe.format("dn:NetworkVideoTransmitter").encode()) == "urn:uuid:42"
    assert probe_id(probe.format("").encode()) == "urn:uuid:42"
    assert probe_id(probe.format("dn:Printer").encode()) == ""


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1500))
def test_fuzz_probe_id_only_declared_error(data: bytes) -> None:
    with contextlib.suppress(MalformedMessageError):
        assert isinstance(probe_id(data), str)


def test_parse_xml_keeps_namespaces() -> None:
    root = parse_xml(SOAP.format("", "<x>1</x>").encode())
    assert root.tag == "{http://www.w3.org/2003/05/soap-envelope}Envelope"
    assert text_of(root) == "1"
