"""ONVIF replies as hostile servers and the camera network may send them: bombs, chunks, fuzz."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cameras.errors import (
    OnvifAuthError,
    OnvifError,
    OnvifReplyError,
    OnvifTimeoutError,
)
from cameras.onvif_client import probe_device
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice

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


# --- replies as the camera network may send them ------------------------------------------


class ScriptedServer(ThreadingHTTPServer):
    """An ONVIF camera in-process: the emulator's answers, except the operations in `script`
    (operation -> (status, body)), optionally sent with chunked transfer encoding."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.device = OnvifDevice(
            DeviceConfig(default_profiles("rtsp://127.0.0.1:1/main"), serial="SCRIPTED"),
            self.server_address[1],
        )
        self.script: dict[str, tuple[int, bytes]] = {}
        self.chunk: int | None = None

    @property
    def xaddr(self) -> str:
        return self.device.xaddr


class ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: object) -> None:
        pass

    def do_POST(self) -> None:
        from testbeds.onvif_soap import respond

        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        scripted = next(
            (v for op, v in self.server.script.items() if f":{op}".encode() in body), None
        )
        status, payload = scripted or respond(self.server.device, body)
        self.send_response(status)
        self.send_header("Content-Type", "application/soap+xml")
        chunk = self.server.chunk
        if chunk is None:
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(payload), chunk):
            part = payload[i : i + chunk]
            self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    t = threading.Thread(target=server.serve_forever, name="scripted-soap", daemon=True)
    t.start()
    yield server
    server.shutdown()
    server.server_close()
    t.join()


@pytest.mark.parametrize("chunk", [1, 7, 100, 4096])
def test_chunked_replies_are_read_whole(scripted: ScriptedServer, chunk: int) -> None:
    """The reproduction: one read(n) returned only the first chunk of a chunked reply."""
    scripted.chunk = chunk
    info = probe_device(scripted.xaddr, timeout_s=10)
    assert info.serial == "SCRIPTED" and info.stream_uri == "rtsp://127.0.0.1:1/main"


def test_a_chunked_reply_over_the_cap_is_refused(scripted: ScriptedServer) -> None:
    scripted.chunk = 64 * 1024
    big = ENV.format(dtd="", val="1" + " " * (2 * 1024 * 1024)).encode()
    scripted.script["GetSystemDateAndTime"] = (200, big)
    with pytest.raises(OnvifReplyError, match="exceeds"):
        probe_device(scripted.xaddr, timeout_s=10)


def test_media_service_on_another_host_is_asked_at_the_device(scripted: ScriptedServer) -> None:
    """GetCapabilities may name any host; the credentials go only where we reached the camera."""
    from testbeds.onvif_soap import envelope, get_capabilities

    answer = get_capabilities(scripted.device, None)  # type: ignore[arg-type]
    moved = answer.replace("127.0.0.1", "192.0.2.66", 2)
    scripted.script["GetCapabilities"] = (200, envelope(moved))
    info = probe_device(scripted.xaddr, timeout_s=10)
    assert info.stream_uri == "rtsp://127.0.0.1:1/main"


def test_media_xaddr_keeps_only_the_path() -> None:
    from cameras.onvif_replies import media_xaddr

    caps = type("C", (), {"Media": type("M", (), {"XAddr": "http://192.0.2.66:81/media?x=1"})})
    assert media_xaddr(caps, "https://10.0.0.5:8443/onvif/device_service") == (
        "https://10.0.0.5:8443/media?x=1"
    )
    assert media_xaddr(None, "http://10.0.0.5/d") == "http://10.0.0.5/d"


# --- property-based: hostile SOAP through zeep and our readers -------------------------------

SOAP_CASES = 200
DIGITS = "²³٣۳१１𝟑0123456789"
SOAP_NS = (
    'xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"'
)
soap_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="<&\x00"), max_size=30
)
soap_value = (
    soap_text
    | st.text(st.sampled_from(DIGITS), min_size=1, max_size=6)
    | st.just("9" * 40)
    | st.just("x" * 300_000)
)


@st.composite
def hostile_reply(draw: st.DrawFn) -> tuple[str, bytes]:
    """(operation, reply body): a plausible ONVIF answer with fields mangled."""
    op = draw(st.sampled_from(["GetSystemDateAndTime", "GetDeviceInformation", "GetStreamUri"]))
    if op == "GetSystemDateAndTime":
        parts = {k: draw(soap_value) for k in ("Hour", "Minute", "Second", "Year", "Month", "Day")}
        inner = (
            "<tds:SystemDateAndTime><tt:UTCDateTime><tt:Time>"
            + "".join(f"<tt:{k}>{parts[k]}</tt:{k}>" for k in ("Hour", "Minute", "Second"))
            + "</tt:Time><tt:Date>"
            + "".join(f"<tt:{k}>{parts[k]}</tt:{k}>" for k in ("Year", "Month", "Day"))
            + "</tt:Date></tt:UTCDateTime></tds:SystemDateAndTime>"
        )
    elif op == "GetDeviceInformation":
        inner = "".join(
            f"<tds:{k}>{draw(soap_value)}</tds:{k}>"
            for k in ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId")
        )
    else:
        inner = f"<trt:MediaUri><tt:Uri>{draw(soap_value)}</tt:Uri></trt:MediaUri>"
    inner *= draw(st.integers(1, 3))  # repeated fields
    nest = draw(st.integers(0, 2000))
    inner = "<tt:X>" * nest + inner + "</tt:X>" * nest if draw(st.booleans()) else inner
    prefix = "trt" if op == "GetStreamUri" else "tds"
    body = (
        f'<?xml version="1.0"?><s:Envelope {SOAP_NS}><s:Body><{prefix}:{op}Response>{inner}'
        f"</{prefix}:{op}Response></s:Body></s:Envelope>"
    ).encode()
    cut = draw(st.one_of(st.none(), st.integers(0, len(body))))
    return op, body if cut is None else body[:cut]


@pytest.fixture(scope="module")
def scripted_module() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    t = threading.Thread(target=server.serve_forever, name="scripted-soap", daemon=True)
    t.start()
    yield server
    server.shutdown()
    server.server_close()
    t.join()


@settings(max_examples=SOAP_CASES, deadline=None)
@given(reply=hostile_reply(), chunk=st.sampled_from([None, 4096]))
def test_fuzz_hostile_soap_replies_only_declared_error(
    scripted_module: ScriptedServer, reply: tuple[str, bytes], chunk: int | None
) -> None:
    op, body = reply
    scripted_module.script = {op: (200, body)}
    scripted_module.chunk = chunk
    try:
        info = probe_device(scripted_module.xaddr, timeout_s=10)
    except OnvifError:
        return
    assert len(info.serial) <= 256 and len(info.stream_uri) <= 2048
    assert info.stream_uri.lower().startswith(("rtsp://", "rtsps://"))
