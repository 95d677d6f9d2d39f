"""The simulated RTSP camera behaves like the cameras the gateway must survive.

PyAV is the client, as in the gateway. The failure tests pin down what PyAV reports on a
dead camera (end of stream) and a frozen one (ExitError from the read timeout), because the
gateway maps those to gap reasons.
"""

from __future__ import annotations

import hashlib
import itertools
import socket
import threading
import time
from fractions import Fraction

import av
import av.container
import numpy as np
import pytest

from testbeds.rtsp import RtspTestServer
from tests.conftest import RtspServerFactory

pytestmark = pytest.mark.integration

TCP = {"rtsp_transport": "tcp"}


def open_input(url: str, read_timeout: float = 5.0) -> av.container.InputContainer:
    return av.open(url, options=TCP, timeout=(5, read_timeout))


def video_packets(url: str, seconds: float) -> list[av.Packet]:
    """Video packets (non-empty) received during `seconds` of wall time."""
    out: list[av.Packet] = []
    with open_input(url) as c:
        deadline = time.monotonic() + seconds
        for packet in c.demux(video=0):
            if packet.size:
                out.append(packet)
            if time.monotonic() > deadline:
                break
    return out


def gray_frames(url: str, count: int) -> list[np.ndarray]:
    with open_input(url) as c:
        frames = []
        for frame in c.decode(video=0):
            frames.append(frame.to_ndarray(format="gray").astype(np.int16))
            if len(frames) == count:
                return frames
    raise AssertionError(f"stream ended after {len(frames)} frames")


@pytest.mark.parametrize(("mount", "size"), [("cam1", (640, 360)), ("cam2", (1280, 720))])
def test_mounts_deliver_h264_at_size_and_25fps(
    rtsp_server: RtspTestServer, mount: str, size: tuple[int, int]
) -> None:
    with open_input(rtsp_server.url(mount)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == "h264"
        pts: list[int] = []
        for frame in c.decode(stream):
            assert (frame.width, frame.height) == size
            if frame.pts is not None:  # FFmpeg's RTSP demuxer gives the very first packet none
                pts.append(frame.pts)
            if len(pts) == 30:
                break
    assert stream.time_base == Fraction(1, 90000)
    steps = {b - a for a, b in itertools.pairwise(pts)}
    assert steps == {90000 // 25}


def test_audio_mount_delivers_decodable_aac(rtsp_server_factory: RtspServerFactory) -> None:
    server = rtsp_server_factory(["av:320x240@25:audio"])
    with open_input(server.url("av")) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
        samples = 0
        for frame in c.decode(audio=0):
            assert frame.sample_rate == 16000
            samples += frame.samples
            if samples >= 16000:
                break
        assert len(c.streams.video) == 1


def test_picture_moves_by_default_and_freezes_with_speed_zero(
    rtsp_server_factory: RtspServerFactory,
) -> None:
    moving = rtsp_server_factory(["m:320x240@25"])
    # smpte has a noise patch; a pattern without one stands still when not scrolled.
    frozen = rtsp_server_factory(["f:320x240@25"], pattern="colors", speed=0)
    first, *_, last = gray_frames(moving.url("m"), 10)
    assert np.abs(last - first).mean() > 5
    first, *_, last = gray_frames(frozen.url("f"), 10)
    assert np.abs(last - first).mean() < 1


def test_clients_of_one_mount_receive_identical_packets(rtsp_server: RtspTestServer) -> None:
    url = rtsp_server.url("cam1")
    results: dict[str, list[av.Packet]] = {}

    def read(name: str, delay: float, seconds: float) -> None:
        time.sleep(delay)
        results[name] = video_packets(url, seconds)

    threads = [
        threading.Thread(target=read, args=("early", 0.0, 4.0), name="rtsp-early"),
        threading.Thread(target=read, args=("late", 1.0, 2.0), name="rtsp-late"),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    early = [hashlib.sha256(bytes(p)).hexdigest() for p in results["early"]]
    late = [hashlib.sha256(bytes(p)).hexdigest() for p in results["late"]]
    assert len(late) >= 25
    # The late client may join halfway through an access unit: its first packet can differ.
    first = next(i for i, h in enumerate(late) if h in early)
    assert first <= 1
    start = early.index(late[first])
    assert late[first:] == early[start : start + len(late) - first]


def test_digest_auth_accepts_right_and_rejects_wrong_credentials(
    rtsp_server_factory: RtspServerFactory,
) -> None:
    server = rtsp_server_factory(["cam1:320x240@25"], user="admin", password="s3cret")
    with open_input(server.url("cam1")) as c:
        assert next(c.decode(video=0)).width == 320
    wrong = server.url("cam1", with_credentials=False).replace("//", "//admin:wrong@")
    with pytest.raises(av.error.HTTPUnauthorizedError):
        open_input(wrong)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(
            f"DESCRIBE {server.url('cam1', with_credentials=False)} RTSP/1.0\r\n"
            "CSeq: 1\r\n\r\n".encode()
        )
        reply = s.recv(4096).decode()
    assert reply.startswith("RTSP/1.0 401")
    assert "WWW-Authenticate: Digest " in reply


def test_kill_ends_the_stream_promptly(rtsp_server: RtspTestServer) -> None:
    with open_input(rtsp_server.url("cam1")) as c:
        received = 0
        killed_at = 0.0
        for packet in c.demux(video=0):
            if packet.size == 0:
                continue  # PyAV's flush packets at end of stream
            received += 1
            if received == 10:
                rtsp_server.kill()
                killed_at = time.monotonic()
        # PyAV turns the peer's close into a normal end of iteration: no exception.
        assert time.monotonic() - killed_at < 3


def test_stall_raises_exit_error_from_read_timeout(rtsp_server: RtspTestServer) -> None:
    read_timeout = 2.0
    with open_input(rtsp_server.url("cam1"), read_timeout) as c:
        received = 0
        stalled_at = 0.0
        with pytest.raises(av.error.ExitError, match="Immediate exit requested"):
            for _ in c.demux(video=0):
                received += 1
                if received == 10:
                    rtsp_server.stall()
                    stalled_at = time.monotonic()
        # The last buffered frame arrives after one timeout, the error after the second.
        assert time.monotonic() - stalled_at < 2 * read_timeout + 1.5
    rtsp_server.resume()


def test_restart_serves_new_clients_on_the_same_port(rtsp_server: RtspTestServer) -> None:
    port = rtsp_server.port
    rtsp_server.kill()
    with pytest.raises(av.error.ConnectionRefusedError):
        open_input(rtsp_server.url("cam1"))
    rtsp_server.restart()
    assert rtsp_server.port == port
    assert len(video_packets(rtsp_server.url("cam1"), 1.0)) >= 10


def test_noise_makes_a_still_picture_live_without_moving_it(
    rtsp_server_factory: RtspServerFactory,
) -> None:
    """--noise blends snow over the pattern: fresh sensor noise in every frame, no motion."""
    still = rtsp_server_factory(["s:320x240@25"], pattern="colors", speed=0, noise=0.03)
    frames = gray_frames(still.url("s"), 20)  # the mixer's first frames may lack an input
    diff = np.abs(frames[-1] - frames[10])
    assert np.count_nonzero(diff) > 0.5 * diff.size
    assert 0.5 < diff.mean() < 5
