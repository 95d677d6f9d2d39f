"""ONVIF queries against the test camera, hostile servers, and the real RTSP stream behind it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import av
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cameras import onvif_client
from cameras.onvif_client import (
    MediaProfile,
    OnvifAuthError,
    OnvifConnectionError,
    OnvifError,
    OnvifFaultError,
    OnvifReplyError,
    OnvifTimeoutError,
    choose_profile,
    probe_device,
)
from testbeds.onvif_config import DeviceConfig, SimProfile, default_profiles
from testbeds.onvif_device import OnvifDevice
from testbeds.process import find_free_port
from tests.conftest import RtspServerFactory

DeviceFactory = Callable[..., OnvifDevice]


@pytest.fixture
def device_factory() -> Iterator[DeviceFactory]:
    started: list[OnvifDevice] = []

    def start(discovery: bool = False, **kw: Any) -> OnvifDevice:
        kw.setdefault(
            "profiles", default_profiles("rtsp://127.0.0.1:1/main", "rtsp://127.0.0.1:1/sub")
        )
        d = OnvifDevice(DeviceConfig(**kw), discovery=discovery).start()
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


def test_device_info_profiles_stream_and_clock_offset(device_factory: DeviceFactory) -> None:
    d = device_factory(
        username="admin",
        password="s3cret",
        clock_skew_s=3 * 3600 + 17,
        serial="SN-1",
        model="IPC-9",
    )
    info = probe_device(d.xaddr, "admin", "s3cret", timeout_s=10)
    assert (info.manufacturer, info.model, info.serial, info.firmware, info.hardware_id) == (
        "evgw",
        "IPC-9",
        "SN-1",
        "1.0.0",
        "evgw-sim",
    )
    assert [(p.token, p.size, p.fps, p.encoding) for p in info.profiles] == [
        ("sub", "640x360", 25, "H264"),
        ("main", "1280x720", 25, "H264"),
    ]
    assert info.profile_token == "main" and info.stream_uri == "rtsp://127.0.0.1:1/main"
    assert abs(info.clock_offset_s - (3 * 3600 + 17)) < 1.5


def test_configured_profile_by_name(device_factory: DeviceFactory) -> None:
    d = device_factory()
    info = probe_device(d.xaddr, profile="SubStream")
    assert info.profile_token == "sub" and info.stream_uri.endswith("/sub")


def test_wrong_password_is_a_clear_auth_error(device_factory: DeviceFactory) -> None:
    d = device_factory(username="admin", password="right")
    with pytest.raises(OnvifAuthError, match="refused the credentials"):
        probe_device(d.xaddr, "admin", "wrong", timeout_s=10)


def test_soap_fault_text_reaches_the_message(device_factory: DeviceFactory) -> None:
    d = device_factory(fail_operation="GetProfiles")
    with pytest.raises(OnvifFaultError, match=r"SOAP fault: GetProfiles failed \(simulated\)"):
        probe_device(d.xaddr, timeout_s=10)


def test_unreachable_device() -> None:
    with pytest.raises(OnvifConnectionError, match="cannot reach"):
        probe_device(f"http://127.0.0.1:{find_free_port()}/onvif/device_service", timeout_s=5)


def test_choose_profile() -> None:
    a = MediaProfile("a", "Sub", "H264", 640, 360, 25)
    b = MediaProfile("b", "Main", "H264", 1920, 1080, 15)
    c = MediaProfile("c", "Main30", "H264", 1920, 1080, 30)
    assert choose_profile([a, b, c]) == c
    assert choose_profile([a, b, c], "Sub") == a and choose_profile([a, b, c], "b") == b
    with pytest.raises(OnvifError, match="no profile 'x'"):
        choose_profile([a], "x")
    with pytest.raises(OnvifReplyError):
        choose_profile([])


# --- hostile SOAP servers ------------------------------------------------------------------

ENV = (
    '<?xml version="1.0"?>{dtd}<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema">'
    "<s:Body><tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:UTCDateTime><tt:Time>"
    "<tt:Hour>{val}</tt:Hour><tt:Minute>0</tt:Minute><tt:Second>0</tt:Second></tt:Time><tt:Date>"
    "<tt:Year>2024</tt:Year><tt:Month>1</tt:Month><tt:Day>1</tt:Day></tt:Date></tt:UTCDateTime>"
    "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></s:Body></s:Envelope>"
)
LAUGHS = (
    '<!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
)
XXE = '<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
HOSTILE = {
    "billion_laughs": (200, ENV.format(dtd=LAUGHS, val="&c;").encode()),
    "xxe": (200, ENV.format(dtd=XXE, val="&x;").encode()),
    "oversized": (200, ENV.format(dtd="", val="1" + " " * (2 * 1024 * 1024)).encode()),
    "garbage": (200, b"\x00\xff not xml at all"),
    "html_500": (500, b"<html><body>oops</body></html>"),
    "bad_date": (200, ENV.format(dtd="", val="99").encode()),
    "http_401": (401, b""),
}


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True
    status = 200
    payload = b""
    hang = threading.Event()


class HostileHandler(BaseHTTPRequestHandler):
    server: HostileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.server.payload == b"HANG":
            self.server.hang.wait(10)
            return
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/soap+xml")
        self.send_header("Content-Length", str(len(self.server.payload)))
        self.end_headers()
        self.wfile.write(self.server.payload)


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer(("127.0.0.1", 0), HostileHandler)
    server.hang = threading.Event()
    t = threading.Thread(target=server.serve_forever, name="hostile-soap", daemon=True)
    t.start()
    yield server
    server.hang.set()
    server.shutdown()
    server.server_close()
    t.join()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_replies_are_clear_errors(hostile: HostileServer, case: str) -> None:
    hostile.status, hostile.payload = HOSTILE[case]
    url = f"http://127.0.0.1:{hostile.server_address[1]}/onvif/device_service"
    start = time.monotonic()
    with pytest.raises(OnvifError) as e:
        probe_device(url, timeout_s=5)
    assert time.monotonic() - start < 5
    assert "root:" not in str(e.value)  # /etc/passwd never leaks into a message
    if case == "http_401":
        assert isinstance(e.value, OnvifAuthError)
    elif case != "html_500":
        assert isinstance(e.value, OnvifReplyError), repr(e.value)


def test_silent_server_times_out(hostile: HostileServer) -> None:
    hostile.payload = b"HANG"
    url = f"http://127.0.0.1:{hostile.server_address[1]}/onvif/device_service"
    start = time.monotonic()
    with pytest.raises(OnvifTimeoutError, match="did not answer within 1 s"):
        probe_device(url, timeout_s=1)
    assert time.monotonic() - start < 3


# --- parsers of reply objects --------------------------------------------------------------

anything = st.recursive(
    st.none() | st.integers() | st.text(max_size=20) | st.floats(allow_nan=True),
    lambda inner: st.builds(
        lambda d: SimpleNamespace(**d),
        st.dictionaries(
            st.sampled_from(
                [
                    "token",
                    "Name",
                    "VideoEncoderConfiguration",
                    "Resolution",
                    "Width",
                    "Height",
                    "RateControl",
                    "FrameRateLimit",
                    "Encoding",
                    "UTCDateTime",
                    "Date",
                    "Time",
                    "Year",
                    "Month",
                    "Day",
                    "Hour",
                    "Minute",
                    "Second",
                ]
            ),
            inner,
            max_size=6,
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(anything)
def test_fuzz_reply_readers_only_declared_error(obj: object) -> None:
    p = onvif_client.profile_from_reply(obj)
    assert p is None or (p.width > 0 and p.height > 0 and p.token)
    with contextlib.suppress(OnvifReplyError):
        onvif_client.camera_time(obj)


# --- discovery end to end -------------------------------------------------------------------


def test_discover_queries_every_camera(device_factory: DeviceFactory) -> None:
    devices = [
        device_factory(discovery=True, serial=f"D{i}", name=f"gate {i}", username="u", password="p")
        for i in range(3)
    ]
    bad = device_factory(discovery=True, serial="BAD", username="u", password="other")
    result = onvif_client.discover("127.0.0.1", timeout_s=1.5, username="u", password="p")
    got = {i.endpoint: i for i in result.devices}
    for d in devices:
        info = got[d.config.uuid]
        assert (info.serial, info.name, info.xaddr) == (d.config.serial, d.config.name, d.xaddr)
    failed = {a.endpoint: e for a, e in result.failures}
    assert isinstance(failed[bad.config.uuid], OnvifAuthError)


@pytest.mark.integration
def test_discovered_stream_uri_plays(
    rtsp_server_factory: RtspServerFactory, device_factory: DeviceFactory
) -> None:
    rtsp = rtsp_server_factory(["sub:640x360@25", "main:1280x720@25"])
    profiles = (
        SimProfile("p0", "Sub", 640, 360, 25, rtsp.url("sub")),
        SimProfile("p1", "Main", 1280, 720, 25, rtsp.url("main")),
    )
    d = device_factory(discovery=True, profiles=profiles)
    result = onvif_client.discover("127.0.0.1", timeout_s=1.5)
    [info] = [i for i in result.devices if i.endpoint == d.config.uuid]
    assert info.stream_uri == rtsp.url("main")
    with av.open(info.stream_uri, options={"rtsp_transport": "tcp"}, timeout=(10, 5)) as c:
        frames = []
        for frame in c.decode(video=0):
            frames.append((frame.width, frame.height))
            if len(frames) == 5:
                break
    assert frames == [(1280, 720)] * 5
