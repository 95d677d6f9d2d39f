"""A live stream is read in bursts, and the reader never rests while it is behind."""

from __future__ import annotations

import itertools
import os
import socket
import threading
from collections.abc import Iterator

import pytest

from cameras.read_bursts import BurstPacer, unread_bytes
from cameras.rtsp import RtspStream, StreamSettings
from testbeds.rtsp import RtspTestServer


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    with a, b:
        yield a, b


class Rests:
    """The pacer's sleep, noted instead of slept."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


def resting_pacer(reader: socket.socket) -> tuple[BurstPacer, Rests]:
    """A pacer of 0.25 s rests on `reader`, and the rests it took."""
    rests = Rests()
    return BurstPacer([reader.fileno()], 0.25, sleep=rests), rests


def test_unread_bytes_counts_what_waits_on_the_socket(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    sender, reader = pair
    assert unread_bytes(reader.fileno()) == 0
    sender.sendall(b"x" * 1000)
    assert unread_bytes(reader.fileno()) == 1000
    reader.recv(400)
    assert unread_bytes(reader.fileno()) == 600


def test_the_reader_rests_only_once_it_has_caught_up(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    sender, reader = pair
    pacer, rests = resting_pacer(reader)
    pacer.after_packet(100, 100.0, 0.0)
    assert rests.taken == [0.25]  # nothing waiting
    sender.sendall(b"x" * 1000)  # ten packets' worth behind: read on
    pacer.after_packet(100, 100.04, 0.04)
    pacer.after_packet(100, 100.08, 0.08)
    assert rests.taken == [0.25]
    reader.recv(850)  # the next packet has begun to arrive: caught up
    pacer.after_packet(100, 100.12, 0.12)
    assert rests.taken == [0.25, 0.25]
    pacer.after_packet(100, 100.13, None)  # audio says nothing of the live edge
    assert rests.taken == [0.25, 0.25]


def test_a_reader_behind_the_live_edge_reads_on_though_its_socket_is_empty(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    """A stalled reader's backlog waits in the camera behind a full TCP window."""
    pacer, rests = resting_pacer(pair[1])
    pacer.after_packet(100, 100.0, 0.0)
    pacer.after_packet(100, 103.0, 0.04)  # read 3 s late: a backlog
    pacer.after_packet(100, 103.01, 2.0)
    assert rests.taken == [0.25]
    pacer.after_packet(100, 103.02, 2.96)  # the live edge again
    assert rests.taken == [0.25, 0.25]
    assert pacer.behind_s(1000.0, -60.0) == 0.0  # PTS jumped back: a new edge


def test_a_reader_without_bursts_or_without_its_connection_never_rests(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    _, reader = pair
    rests = Rests()
    BurstPacer([reader.fileno()], 0.0, sleep=rests).after_packet(100, 1.0, 0.0)
    BurstPacer([], 0.25, sleep=rests).after_packet(100, 1.0, 0.0)
    gone = os.dup(reader.fileno())
    os.close(gone)
    BurstPacer([gone], 0.25, sleep=rests).after_packet(100, 1.0, 0.0)  # the next read will say why
    assert rests.taken == []


def _voluntary_switches() -> int:
    """How often this thread gave up the CPU to wait (for the network or a rest)."""
    status = f"/proc/self/task/{threading.get_native_id()}/status"
    with open(status) as f:
        line = next(x for x in f if x.startswith("voluntary_ctxt_switches"))
    return int(line.split()[1])


def _read(url: str, burst_s: float, packets: int) -> tuple[list[int], int]:
    """PTS of the first `packets` video packets, and how often the reader waited for them."""
    pts: list[int] = []
    with RtspStream(StreamSettings(url, read_burst_s=burst_s)) as stream:
        waits = _voluntary_switches()
        for packet in stream.packets():
            assert packet.pts is not None
            pts.append(packet.pts)
            if len(pts) == packets:
                return pts, _voluntary_switches() - waits
    raise AssertionError("the stream ended")


@pytest.mark.integration
def test_a_live_stream_is_read_in_bursts_without_losing_a_frame(
    rtsp_server: RtspTestServer,
) -> None:
    """Waits are counted by the kernel, not timed: a loaded machine only makes bursts longer."""
    url = rtsp_server.url("cam1")
    each_frame, waits_each = _read(url, 0.0, 100)
    in_bursts, waits_bursts = _read(url, 0.25, 100)
    step = each_frame[1] - each_frame[0]
    for pts in (each_frame, in_bursts):
        assert [b - a for a, b in itertools.pairwise(pts)] == [step] * 99
    assert waits_each >= 50  # frames come one by one, but for the camera's first GOP
    assert waits_bursts <= 30  # 4 s of video: about 16 rests of 0.25 s, and a few reads
