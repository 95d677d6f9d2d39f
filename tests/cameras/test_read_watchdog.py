"""The read watchdog cuts a connection that delivers nothing, and only that one."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from cameras.errors import StreamError
from cameras.read_watchdog import (
    ReadWatchdog,
    connections_to,
    peer_addresses,
    shut_down,
    socket_fds,
)
from cameras.rtsp import RTSP_TIMEOUT, RtspStream, StreamSettings, open_options
from testbeds.rtsp import RtspTestServer


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def _connect(server: socket.socket) -> tuple[socket.socket, socket.socket]:
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    return client, accepted


def _blocked_read(conn: socket.socket) -> tuple[threading.Thread, list[bytes]]:
    """A thread blocked in recv on `conn`, as FFmpeg is on a silent camera."""
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(conn.recv(100)), name="reader")
    reader.start()
    return reader, got


def test_connections_to_finds_the_connection_to_the_peer_only(listener: socket.socket) -> None:
    before = socket_fds()
    with socket.create_server(("127.0.0.1", 0)) as other:
        (a, a_in), (b, b_in) = _connect(listener), _connect(other)
        with a, a_in, b, b_in:
            new = socket_fds() - before
            assert {a.fileno(), b.fileno()} <= new
            port = listener.getsockname()[1]
            assert connections_to(new, {("127.0.0.1", port)}) == [a.fileno()]


def test_peer_addresses_resolve_the_url_with_rtsp_default_ports() -> None:
    assert peer_addresses("rtsp://u:p@127.0.0.1:8554/cam") == {("127.0.0.1", 8554)}
    assert peer_addresses("rtsp://127.0.0.1/cam") == {("127.0.0.1", 554)}
    assert peer_addresses("/tmp/clip.mp4") == set()


def test_a_silent_connection_is_cut_after_the_timeout(listener: socket.socket) -> None:
    client, accepted = _connect(listener)
    with client, accepted:
        reader, got = _blocked_read(client)
        started = time.monotonic()
        watchdog = ReadWatchdog("watchdog", [client.fileno()], timeout_s=0.5)
        watchdog.start()
        reader.join(10)
        assert not reader.is_alive() and got == [b""], "the blocked read ends as end of stream"
        assert time.monotonic() - started >= 0.5
        assert watchdog.fired
        watchdog.stop()


def test_packets_keep_the_watchdog_quiet_and_stop_ends_it(listener: socket.socket) -> None:
    client, accepted = _connect(listener)
    with client, accepted:
        watchdog = ReadWatchdog("watchdog", [client.fileno()], timeout_s=0.3)
        watchdog.start()
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:  # packets arriving every 50 ms for 4 timeouts
            watchdog.last_seen = time.monotonic()
            time.sleep(0.05)
        watchdog.stop()
        assert not watchdog.is_alive() and not watchdog.fired
        accepted.sendall(b"still open")
        assert client.recv(100) == b"still open"


def test_shutting_down_a_closed_descriptor_is_harmless() -> None:
    a, b = socket.socketpair()
    fd = a.fileno()
    a.close()
    b.close()
    shut_down([fd])


def test_rtsp_options_bound_socket_io_in_ffmpeg_never_below_the_open_timeout() -> None:
    settings = StreamSettings("rtsp://127.0.0.1/cam", open_timeout_s=10.0, read_timeout_s=2.5)
    assert open_options(settings.url, settings) == {"rtsp_transport": "tcp", "timeout": "10000000"}
    assert open_options("/tmp/clip.mp4", settings) == {}


@pytest.mark.integration
def test_a_stalled_camera_ends_in_rtsp_timeout_after_the_read_timeout(
    rtsp_server: RtspTestServer,
) -> None:
    """The server stops (SIGSTOP) with the connection open: nothing arrives, nothing closes."""
    settings = StreamSettings(rtsp_server.url("cam1"), open_timeout_s=10.0, read_timeout_s=1.5)
    try:
        with RtspStream(settings) as stream, pytest.raises(StreamError) as raised:
            for received, _ in enumerate(stream.packets()):
                if received == 10:
                    rtsp_server.stall()
                    stalled_at = time.monotonic()
        waited = time.monotonic() - stalled_at
    finally:
        rtsp_server.resume()
    assert raised.value.reason == RTSP_TIMEOUT
    # Packets already buffered may come first; the cut is one read timeout after the last.
    assert 1.5 <= waited < 2 * 1.5 + 1.5


class MediaDroppingRelay:
    """Between FFmpeg and the RTSP server: once `drop_media` is set, interleaved RTP frames
    (even channels) are dropped while RTCP frames pass and the last one is repeated every
    0.2 s: a connection that stays busy and sends no video, as a camera whose encoder hung
    while its RTSP server keeps answering."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._target = target
        self.port = self._listener.getsockname()[1]
        self.drop_media = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="media-dropping-relay")
        self._thread.start()

    def close(self) -> None:
        self._done.set()
        self._listener.close()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        upstream = socket.create_connection(self._target)
        with client, upstream:
            threading.Thread(target=self._copy, args=(client, upstream), daemon=True).start()
            self._filter(upstream, client)

    def _copy(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)

    def _filter(self, source: socket.socket, sink: socket.socket) -> None:
        buffer, rtcp = b"", b""
        source.settimeout(0.2)
        with contextlib.suppress(OSError):
            while not self._done.is_set():
                try:
                    data = source.recv(65536)
                except TimeoutError:
                    data = None
                if data == b"":
                    return
                buffer += data or b""
                while buffer:
                    if buffer[:1] != b"$":  # an RTSP reply: passed on to the next frame
                        cut = buffer.find(b"$")
                        cut = len(buffer) if cut < 0 else cut
                        sink.sendall(buffer[:cut])
                        buffer = buffer[cut:]
                        continue
                    end = 4 + int.from_bytes(buffer[2:4], "big")
                    if len(buffer) < 4 or len(buffer) < end:
                        break
                    frame, buffer = buffer[:end], buffer[end:]
                    if frame[1] % 2:
                        rtcp = frame
                    if frame[1] % 2 or not self.drop_media.is_set():
                        sink.sendall(frame)
                if self.drop_media.is_set() and rtcp:
                    sink.sendall(rtcp)


@pytest.mark.integration
def test_a_busy_connection_without_video_ends_in_rtsp_timeout(
    rtsp_server: RtspTestServer,
) -> None:
    """RTCP keeps the socket busy, so FFmpeg's socket timeout never fires: the watchdog does."""
    relay = MediaDroppingRelay(("127.0.0.1", rtsp_server.port))
    url = rtsp_server.url("cam1").replace(f":{rtsp_server.port}/", f":{relay.port}/")
    settings = StreamSettings(url, open_timeout_s=10.0, read_timeout_s=1.5)
    try:
        with RtspStream(settings) as stream, pytest.raises(StreamError) as raised:
            for received, _ in enumerate(stream.packets()):
                if received == 10:
                    relay.drop_media.set()
                    dropped_at = time.monotonic()
        waited = time.monotonic() - dropped_at
    finally:
        relay.close()
    assert raised.value.reason == RTSP_TIMEOUT
    assert 1.5 <= waited < 2 * 1.5 + 1.5
