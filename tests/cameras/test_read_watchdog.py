"""The read watchdog cuts a connection that delivers nothing, and only that one."""

from __future__ import annotations

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
