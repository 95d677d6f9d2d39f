"""The ONVIF test camera over HTTP: answers POSTs, refuses oversized ones, moves to a new port."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice

pytestmark = pytest.mark.multicast

CLOCK_REQUEST = (
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
    b'<tds:GetSystemDateAndTime xmlns:tds="http://www.onvif.org/ver10/device/wsdl"/>'
    b"</s:Body></s:Envelope>"
)


@pytest.fixture
def device() -> Iterator[OnvifDevice]:
    config = DeviceConfig(
        default_profiles("rtsp://127.0.0.1:1/main"), username="admin", password="secret"
    )
    d = OnvifDevice(config, discovery=False).start()
    yield d
    d.stop()


def post(device: OnvifDevice, body: bytes) -> tuple[int, str, str]:
    """Status, content type and text of the answer to POSTing `body` to the device service."""
    conn = http.client.HTTPConnection("127.0.0.1", device.port, timeout=5)
    try:
        headers = {"Content-Type": "application/soap+xml"}
        conn.request("POST", "/onvif/device_service", body, headers)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read().decode()
    finally:
        conn.close()


def test_post_is_answered_with_soap(device: OnvifDevice) -> None:
    status, content_type, text = post(device, CLOCK_REQUEST)
    assert status == 200 and content_type.startswith("application/soap+xml")
    assert "<tds:GetSystemDateAndTimeResponse>" in text


def test_fault_status_reaches_the_client(device: OnvifDevice) -> None:
    status, _, text = post(device, b"<unterminated")
    assert status == 400 and "<s:Fault>" in text


def test_oversized_request_refused(device: OnvifDevice) -> None:
    status, _, _ = post(device, b"<x>" + b"a" * 70_000 + b"</x>")
    assert status == 413


def test_restart_keeps_identity_on_a_new_port(device: OnvifDevice) -> None:
    old = device.xaddr
    device.restart()
    assert device.xaddr != old
    assert post(device, CLOCK_REQUEST)[0] == 200
