"""A hung camera is cut off after `read_timeout_s` without a packet, at no cost per packet.

PyAV's own read timeout is an FFmpeg interrupt callback that takes the GIL and reads the clock
on every I/O check (several times per RTP packet): about 5 % of a passthrough camera's CPU.
The stream is opened without it; two cheaper guards take its place:

- FFmpeg's RTSP `timeout` option (socket I/O, microseconds) ends a read on a silent socket,
  in C (`av.error.TimeoutError`, gap reason `rtsp_timeout`);
- a camera whose connection stays alive but sends no media (its RTSP server answers keepalives
  and sends RTCP reports while the encoder is stuck) keeps FFmpeg reading forever: this
  watchdog, a thread that wakes once per `read_timeout_s` while packets flow, then shuts the
  stream's socket down (`shutdown(2)` on the connection FFmpeg opened, found among the
  process's sockets by its peer address). FFmpeg sees the connection end, and the stream
  reports `rtsp_timeout`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Collection
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322}
FD_DIR = "/proc/self/fd"


def socket_fds() -> set[int]:
    """This process's open sockets (empty where /proc is unreadable)."""
    fds: set[int] = set()
    with contextlib.suppress(OSError):
        for name in os.listdir(FD_DIR):
            with contextlib.suppress(OSError, ValueError):
                if os.readlink(f"{FD_DIR}/{name}").startswith("socket:"):
                    fds.add(int(name))
    return fds


def peer_addresses(url: str) -> set[tuple[str, int]]:
    """The (address, port) pairs FFmpeg may have connected to for `url`."""
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    if not parts.hostname or port is None:
        return set()
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError:
        return set()
    return {(str(info[4][0]), port) for info in found}


def connections_to(fds: Collection[int], peers: Collection[tuple[str, int]]) -> list[int]:
    """Those of `fds` that are TCP connections to one of `peers`."""
    found = []
    for fd in fds:
        try:
            with socket.socket(fileno=os.dup(fd)) as s:
                peer = s.getpeername()
        except OSError:
            continue
        if isinstance(peer, tuple) and (str(peer[0]), peer[1]) in peers:
            found.append(fd)
    return found


def shut_down(fds: Collection[int]) -> None:
    """End the connections on `fds` for every holder of them (FFmpeg's reads return)."""
    for fd in fds:
        try:
            with socket.socket(fileno=os.dup(fd)) as s:
                s.shutdown(socket.SHUT_RDWR)
        except OSError as e:
            log.debug("socket %d already gone: %s", fd, e)


class ReadWatchdog(threading.Thread):
    """Cuts the connections on `fds` once no packet was `seen` for `timeout_s`."""

    def __init__(self, name: str, fds: Collection[int], timeout_s: float) -> None:
        super().__init__(name=name, daemon=True)
        self._fds = tuple(fds)
        self._timeout_s = timeout_s
        self._done = threading.Event()
        self.last_seen = time.monotonic()  # written by the reader for each packet
        self.fired = False

    def run(self) -> None:
        due = self.last_seen + self._timeout_s
        while not self._done.wait(max(0.0, due - time.monotonic())):
            due = self.last_seen + self._timeout_s
            if time.monotonic() >= due:
                self.fired = True
                shut_down(self._fds)
                return

    def stop(self) -> None:
        self._done.set()
        if self.is_alive():
            self.join()
