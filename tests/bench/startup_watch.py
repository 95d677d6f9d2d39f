"""Start-up of a camera: from its process's start to its first established TCP connection to
the RTSP server, read from /proc for evgw's camera processes and ffmpeg alike.

Polled every 20 ms, so a figure is good to about 30 ms (the kernel's process start time has
10 ms resolution). Each process counts once, at its first connection (evgw may probe the
camera before it opens the stream); a process holding several cameras gives one figure.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .proc_meter import started_at, tree

ESTABLISHED = "01"


@dataclass(frozen=True)
class Connected:
    pid: int
    process_start: float  # wall time
    connected: float  # wall time the connection was first seen

    @property
    def startup_s(self) -> float:
        return self.connected - self.process_start


def rtsp_sockets(port: int) -> set[int]:
    """Inodes of established IPv4/IPv6 TCP connections whose remote port is `port`."""
    found: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] == ESTABLISHED and int(cols[2].rsplit(":", 1)[1], 16) == port:
                found.add(int(cols[9]))
    return found


def socket_inodes(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def connected_pids(roots: Sequence[int], port: int) -> set[int]:
    """The processes in these trees holding an RTSP connection now: the camera processes,
    however they are started, restarted or grouped."""
    live = rtsp_sockets(port)
    return {p for root in roots for p in tree(root) if socket_inodes(p) & live}


@dataclass
class StartupWatch:
    """Watches each side's trees until `expected` processes have connected, `timeout_s` ends
    or it is stopped (at the end of the warm-up: it must not load the measured window)."""

    port: int
    sides: dict[str, Callable[[], Sequence[int]]]
    expected: int
    timeout_s: float = 120.0
    seen: dict[str, dict[int, Connected]] = field(default_factory=dict)  # side -> inode -> ...
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> StartupWatch:
        self._thread = threading.Thread(target=self._run, name="startup-watch", daemon=True)
        self._thread.start()
        return self

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def stop(self) -> None:
        self._stop.set()
        self.join()

    def _done(self) -> bool:
        return all(
            len({c.pid for c in self.seen.get(side, {}).values()}) >= self.expected
            for side in self.sides
        )

    def _run(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not self._done() and time.monotonic() < deadline and not self._stop.is_set():
            now = time.time()
            live = rtsp_sockets(self.port)
            for side, roots in self.sides.items():
                seen = self.seen.setdefault(side, {})
                for root in roots():
                    for pid in tree(root):
                        for inode in socket_inodes(pid) & live:
                            start = started_at(pid)
                            if inode not in seen and start is not None:
                                seen[inode] = Connected(pid, start, now)
            self._stop.wait(0.02)

    def first_per_process(self, side: str) -> list[Connected]:
        """Each process's first connection (a camera that reconnects is counted once)."""
        first: dict[int, Connected] = {}
        for c in sorted(self.seen.get(side, {}).values(), key=lambda c: c.connected):
            first.setdefault(c.pid, c)
        return list(first.values())
