"""RTSP passwords never cross the network in clear: the Basic-refusing relay, end to end."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cameras.errors import StreamError
from cameras.rtsp import INSECURE_AUTH, RtspStream, StreamSettings, needs_guard
from cameras.rtsp_guard import MAX_HEADER, FramingError, ServerScanner
from tests.conftest import RtspServerFactory

USER, PASSWORD = "admin", "S3cretPW-guard"


def frames(settings: StreamSettings, count: int = 5) -> int:
    got = 0
    with RtspStream(settings) as s:
        for p in s.packets():
            got += p.stream is s.video
            if got >= count:
                break
    return got


@pytest.mark.integration
def test_a_camera_asking_for_basic_is_refused_before_the_password_is_sent(
    rtsp_server_factory: RtspServerFactory,
) -> None:
    server = rtsp_server_factory(["cam:320x240@25"], USER, PASSWORD, auth="basic")
    url = server.url("cam", with_credentials=False)
    with pytest.raises(StreamError) as info:
        frames(StreamSettings(url, USER, PASSWORD, open_timeout_s=10))
    assert info.value.reason == INSECURE_AUTH
    assert "Basic" in str(info.value) and "allow_basic_auth" in str(info.value)
    assert PASSWORD not in str(info.value)
    # Allowed per camera: Basic is used (the test server is on loopback).
    assert frames(StreamSettings(url, USER, PASSWORD, allow_basic_auth=True)) == 5


@pytest.mark.integration
def test_digest_cameras_record_through_the_guard(rtsp_server_factory: RtspServerFactory) -> None:
    server = rtsp_server_factory(["cam:320x240@25"], USER, PASSWORD)
    url = server.url("cam", with_credentials=False)
    assert needs_guard(f"rtsp://{USER}:x@h/p", False)
    assert frames(StreamSettings(url, USER, PASSWORD)) == 5
    with pytest.raises(StreamError) as info:
        frames(StreamSettings(url, USER, "wrong"))
    assert info.value.reason == "auth_failed"


# --- a hostile RTSP server that records what it receives ---------------------------------

Script = Callable[[str, int], bytes]  # (request text, request number) -> reply


class FakeRtspServer:
    """Answers each request per `script` and keeps every request it got."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, name="fake-rtsp", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            buffer = b""
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while b"\r\n\r\n" in buffer:
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    text = head.decode(errors="replace")
                    self.requests.append(text)
                    conn.sendall(self.script(text, len(self.requests)))

    def close(self) -> None:
        self.sock.close()


def reply(status: str, cseq: str, *headers: str, body: str = "") -> bytes:
    lines = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def cseq(request: str) -> str:
    for line in request.split("\r\n"):
        if line.lower().startswith("cseq:"):
            return line.split(":", 1)[1].strip()
    return "0"


SDP = (
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\na=control:track1\r\n"
)


@pytest.fixture
def fake() -> Iterator[Callable[[Script], FakeRtspServer]]:
    servers: list[FakeRtspServer] = []

    def start(script: Script) -> FakeRtspServer:
        servers.append(FakeRtspServer(script))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def basic_always(request: str, n: int) -> bytes:
    return reply("401 Unauthorized", cseq(request), 'WWW-Authenticate: Basic realm="cam"')


def basic_at_setup(request: str, n: int) -> bytes:
    """Everything open until SETUP, then a Basic challenge: a late downgrade attempt."""
    method = request.split(" ", 1)[0]
    if method == "OPTIONS":
        return reply("200 OK", cseq(request), "Public: OPTIONS, DESCRIBE, SETUP, PLAY")
    if method == "DESCRIBE":
        return reply("200 OK", cseq(request), "Content-Type: application/sdp", body=SDP)
    return reply("401 Unauthorized", cseq(request), 'WWW-Authenticate: Basic realm="cam"')


def both_offered(request: str, n: int) -> bytes:
    return reply(
        "401 Unauthorized",
        cseq(request),
        'WWW-Authenticate: Basic realm="cam"',
        'WWW-Authenticate: Digest realm="cam", nonce="abc"',
    )


@pytest.mark.parametrize("script", [basic_always, basic_at_setup])
def test_no_basic_authorization_ever_leaves(
    fake: Callable[[Script], FakeRtspServer], script: Script
) -> None:
    server = fake(script)
    settings = StreamSettings(f"rtsp://127.0.0.1:{server.port}/cam", USER, PASSWORD)
    with pytest.raises(StreamError) as info:
        frames(settings)
    assert info.value.reason == INSECURE_AUTH
    assert server.requests, "FFmpeg reached the server through the guard"
    assert not any("authorization" in r.lower() for r in server.requests), server.requests
    # The attack, where Basic is allowed: FFmpeg hands over the password as asked.
    open_door = fake(script)
    url = f"rtsp://127.0.0.1:{open_door.port}/cam"
    with pytest.raises(StreamError):
        frames(StreamSettings(url, USER, PASSWORD, allow_basic_auth=True))
    assert any("Authorization: Basic" in r for r in open_door.requests)


def test_a_digest_challenge_still_gets_digest(fake: Callable[[Script], FakeRtspServer]) -> None:
    server = fake(both_offered)
    with pytest.raises(StreamError) as info:
        frames(StreamSettings(f"rtsp://127.0.0.1:{server.port}/cam", USER, PASSWORD))
    assert info.value.reason != INSECURE_AUTH
    answered = [r for r in server.requests if "authorization" in r.lower()]
    assert answered and all("Digest" in r and "Basic" not in r for r in answered)


def test_an_unreachable_camera_behind_the_guard_is_offline() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        settings = StreamSettings(f"rtsp://127.0.0.1:{port}/c", USER, PASSWORD, open_timeout_s=2)
        with pytest.raises(StreamError) as info:
            frames(settings)
    assert info.value.reason == "camera_offline" and PASSWORD not in str(info.value)


# --- the scanner: pure, property-tested --------------------------------------------------

SCANNER_CASES = 400
CHALLENGE = b'RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Basic realm="x"\r\n\r\n'


def test_scanner_removes_basic_and_passes_frames_untouched() -> None:
    frame = b"$\x00\x00\x05" + b"WWW-A"  # binary payload that looks like text
    ok = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 4\r\n\r\nv=0\n"
    scanner = ServerScanner()
    out = scanner.feed(ok + frame + CHALLENGE)
    assert out == ok + frame + b"RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\n\r\n"
    assert scanner.basic_refused and scanner.messages == 2


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\n\r\n",
        b"x" * (MAX_HEADER + 10),
        b"RTSP/1.0 200 OK\r\nContent-Length: 999999999\r\n\r\n",
    ],
)
def test_scanner_refuses_what_is_not_rtsp(data: bytes) -> None:
    with pytest.raises(FramingError):
        ServerScanner().feed(data)


message = st.one_of(
    st.builds(
        lambda body, basic, digest: (
            b"RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\n"
            + (b'www-authenticate:  BASIC realm="r"\r\n' if basic else b"")
            + (b'WWW-Authenticate: Digest realm="r", nonce="n"\r\n' if digest else b"")
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        ),
        st.binary(max_size=50),
        st.booleans(),
        st.booleans(),
    ),
    st.builds(
        lambda payload: b"$\x01" + len(payload).to_bytes(2, "big") + payload,
        st.binary(max_size=300),
    ),
)


@settings(max_examples=SCANNER_CASES, deadline=None)
@given(messages=st.lists(message, max_size=8), cuts=st.lists(st.integers(0, 2000), max_size=6))
def test_fuzz_scanner_any_chunking_same_result_no_basic_out(
    messages: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(messages)
    whole = ServerScanner()
    expected = whole.feed(stream)
    pieces, last = [], 0
    for cut in sorted(c for c in cuts if c <= len(stream)):
        pieces.append(stream[last:cut])
        last = cut
    pieces.append(stream[last:])
    chunked = ServerScanner()
    assert b"".join(chunked.feed(p) for p in pieces) == expected
    assert chunked.basic_refused == whole.basic_refused
    assert re.search(rb"(?im)^www-authenticate[ \t]*:[ \t]*basic", expected) is None


@settings(max_examples=SCANNER_CASES, deadline=None)
@given(st.binary(max_size=3000))
def test_fuzz_scanner_hostile_bytes_only_framing_error(data: bytes) -> None:
    try:
        out = ServerScanner().feed(data)
    except FramingError:
        return
    assert len(out) <= len(data)
