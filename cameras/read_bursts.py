"""A live stream is read in bursts: between them, its frames wait in the kernel's socket buffer.

A camera sends a frame every 40 ms. Read as it comes, every frame wakes the camera process
for one packet, and Python, PyAV and FFmpeg run it with cold caches: on a live 720p25 stream
that cost twice the CPU of `ffmpeg -c copy` doing the same remux, though the code run per
packet is small. Once the reader has caught up (`BurstPacer`), it pauses for `burst_s`; TCP
goes on receiving, and the frames that came meanwhile are read back to back (same run, same
machine: 1.9× ffmpeg without pauses, 1.1× with 0.2 s, 0.96× with 0.5 s).

Pausing only when caught up keeps the reader from ever falling behind, whatever the load: a
busy process simply reads longer bursts. Packets read in a burst are seen up to `burst_s`
after they arrived; the last of each burst is fresh, and the PTS anchor and the drift check,
both keyed on the packet that arrived earliest for its PTS, rely on that.
"""

from __future__ import annotations

import array
import fcntl
import termios
import threading
from collections.abc import Callable, Sequence

DEFAULT_BURST_S = 0.25
CAUGHT_UP_PACKETS = 2
MEAN_OF = 32  # packets in the running mean of a packet's size
EDGE_CREEP = 0.01  # s/s: a camera clock 1 % slow is still followed (real ones: < 0.01 %)
EDGE_FORGET_S = 10.0


def unread_bytes(fd: int) -> int:
    """Bytes received on socket `fd` and not yet read (FIONREAD); raises OSError when gone."""
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count, True)
    return count[0]


class BurstPacer:
    """Pauses the reader of the connections on `fds` for `burst_s` whenever it has caught up.

    Caught up is two things. The socket holds at most two packets' worth, not nothing:
    FFmpeg's H.264 parser hands out a frame when the next one begins, and a camera sends a
    frame at once, so the rest of the next frame is usually waiting already. And the packet
    just read is fresh: once the reader has stalled (a slow disk, a busy parent), the backlog
    also waits in the camera, behind a full TCP window that the socket's count cannot see,
    and resting then would drain it one window per rest. Fresh is judged on the monotonic
    clock against the packet's PTS: less than half a rest later than the freshest packet
    (the live edge, which creeps later by `EDGE_CREEP` to follow a camera clock running
    slow, and is taken afresh when the PTS jump by more than `EDGE_FORGET_S`).
    """

    def __init__(
        self, fds: Sequence[int], burst_s: float, sleep: Callable[[float], object] | None = None
    ) -> None:
        """`sleep` defaults to an Event's timed wait: unlike `time.sleep` (under libfaketime,
        as the clock-step tests run the daemon) it cannot fail and cut the stream."""
        self._fds = tuple(fds) if burst_s > 0 else ()
        self._burst_s = burst_s
        self._sleep = sleep or threading.Event().wait
        self._mean_size = 0.0
        self._edge: float | None = None  # arrival (monotonic) minus PTS of the freshest packet
        self._edge_at = 0.0

    def _unread(self) -> int | None:
        try:
            return sum(unread_bytes(fd) for fd in self._fds)
        except OSError:
            return None  # the connection is gone: the next read says so at once

    def behind_s(self, arrival: float, pts_s: float) -> float:
        """How much later than the live edge a video packet of `pts_s` arrived at `arrival`."""
        offset, edge = arrival - pts_s, self._edge
        if edge is not None:
            edge += (arrival - self._edge_at) * EDGE_CREEP
        if edge is None or offset < edge or offset - edge > EDGE_FORGET_S:
            edge = offset
        self._edge, self._edge_at = edge, arrival
        return offset - edge

    def after_packet(self, size: int, arrival: float, pts_s: float | None) -> None:
        """The reader wants the next packet, after one of `size` bytes that arrived at
        `arrival` (monotonic) with `pts_s` (None: not video). Pauses if caught up."""
        if not self._fds:
            return
        mean = self._mean_size
        self._mean_size = mean = size if not mean else mean + (size - mean) / MEAN_OF
        if pts_s is None or self.behind_s(arrival, pts_s) > self._burst_s / 2:
            return
        unread = self._unread()
        if unread is not None and unread <= CAUGHT_UP_PACKETS * mean:
            self._sleep(self._burst_s)
