"""The emulated camera's SOAP responder, bytes in and bytes out: auth by its own clock, faults."""

from __future__ import annotations

import base64
import datetime as dt
import os
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zeep.wsse.username import UsernameToken

from cameras.safe_xml import child, parse_xml, text_of
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_soap import password_digest, respond

pytestmark = pytest.mark.multicast

SOAP = '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">{}<s:Body>{}</s:Body></s:Envelope>'
TDS = 'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"'
TRT = 'xmlns:trt="http://www.onvif.org/ver10/media/wsdl"'


@dataclass(frozen=True)
class Camera:
    """A served device without a server: config, address and a clock two hours behind."""

    config: DeviceConfig
    xaddr: str = "http://127.0.0.1:1/onvif/device_service"

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.config.clock_skew_s)


CAMERA = Camera(
    DeviceConfig(
        default_profiles("rtsp://127.0.0.1:1/main", "rtsp://127.0.0.1:1/sub"),
        username="admin",
        password="secret",
        clock_skew_s=-7200,
    )
)


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


def ask(request: str, header: str = "", camera: Camera = CAMERA) -> tuple[int, str]:
    status, payload = respond(camera, SOAP.format(header, request).encode())
    return status, payload.decode()


def signed(request: str, camera: Camera = CAMERA) -> tuple[int, str]:
    return ask(request, security("admin", "secret", camera.now()), camera)


def test_password_digest_matches_zeep() -> None:
    """Same digest as zeep's client-side UsernameToken (Base64(SHA1(nonce+created+password)))."""
    created = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    token = UsernameToken("u", "pw", use_digest=True, nonce="n" * 16, created=created)
    header = token._create_password_digest()
    digest = next(e.text for e in header if e.tag.endswith("Password"))
    stamp = next(e.text for e in header if e.tag.endswith("Created"))
    assert password_digest(b"n" * 16, stamp, "pw") == digest


def test_clock_is_answered_unauthenticated_and_skewed() -> None:
    status, text = ask(f"<tds:GetSystemDateAndTime {TDS}/>")
    assert status == 200
    hour = int(text.split("<tt:Hour>")[1].split("<")[0])
    assert hour == (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).hour


def test_auth_uses_the_devices_own_clock() -> None:
    request = f"<tds:GetDeviceInformation {TDS}/>"
    ok = signed(request)
    assert ok[0] == 200 and "<tds:SerialNumber>SIM0001<" in ok[1]
    local_now = dt.datetime.now(dt.UTC)  # two hours ahead of the camera: stale
    stale = ask(request, security("admin", "secret", local_now))
    assert stale[0] == 400 and "ter:NotAuthorized" in stale[1] and "stale" in stale[1]
    wrong = ask(request, security("admin", "nope", CAMERA.now()))
    assert wrong[0] == 400 and "ter:NotAuthorized" in wrong[1]
    missing = ask(request)
    assert missing[0] == 400 and "ter:NotAuthorized" in missing[1]


def test_stream_uri_per_profile_token() -> None:
    def stream_uri(token: str) -> tuple[int, str]:
        token_xml = f"<trt:ProfileToken>{token}</trt:ProfileToken>"
        return signed(f"<trt:GetStreamUri {TRT}>{token_xml}</trt:GetStreamUri>")

    status, text = stream_uri("sub")
    assert status == 200 and "<tt:Uri>rtsp://127.0.0.1:1/sub</tt:Uri>" in text
    status, text = stream_uri("nope")
    assert status == 400 and "ter:InvalidArgVal" in text


def test_unknown_and_failing_operations_are_receiver_faults() -> None:
    status, text = signed(f"<tds:Reboot {TDS}/>")
    assert status == 400 and "ter:ActionNotSupported" in text
    failing = Camera(DeviceConfig(CAMERA.config.profiles, fail_operation="GetProfiles"))
    status, text = ask(f"<trt:GetProfiles {TRT}/>", camera=failing)
    assert status == 500 and "s:Receiver" in text and "simulated" in text


@pytest.mark.parametrize(
    "body",
    [
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b"<unterminated",
        SOAP.format("", "").encode(),
    ],
)
def test_hostile_requests_get_sender_faults(body: bytes) -> None:
    status, payload = respond(CAMERA, body)
    text = payload.decode()
    assert status == 400 and "<s:Fault>" in text and "root:" not in text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1500))
def test_fuzz_any_body_gets_an_envelope(data: bytes) -> None:
    status, payload = respond(CAMERA, data)
    assert status in (200, 400, 500) and payload.startswith(b"<?xml")


def test_the_vendor_dialect_says_the_same_in_other_words() -> None:
    open_camera = Camera(replace(CAMERA.config, username=None, password=None))
    vendor = Camera(replace(open_camera.config, dialect="vendor", manufacturer="HIKVISION"))
    request = SOAP.format("", f"<tds:GetDeviceInformation {TDS}/>").encode()
    ours, theirs = respond(open_camera, request)[1], respond(vendor, request)[1]
    assert b"<s:Envelope" in ours and b"<s:Envelope" not in theirs
    assert b"<SOAP-ENV:Envelope" in theirs and b"<ns2:SerialNumber>" in theirs
    assert b"\r\n    <" in theirs and b"<hk:Extension" in theirs
    root = parse_xml(theirs, 64 * 1024)
    info = child(child(root, "Body"), "GetDeviceInformationResponse")
    assert text_of(child(info, "Manufacturer")) == "HIKVISION"
    fault = respond(vendor, SOAP.format("", f"<tds:Nope {TDS}/>").encode())[1]
    assert b"<SOAP-ENV:Value>SOAP-ENV:Receiver</SOAP-ENV:Value>" in fault
