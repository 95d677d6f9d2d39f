"""WS-Discovery on the camera network: multicast a Probe and collect ProbeMatches; follow
Hello and Bye announcements in a background thread.

Every datagram comes from a network anyone on the camera LAN can write to. A bad one is
rejected through a `RejectLog` (counted, logged once per sender) and never stops a probe or
the listener. What a probe collects is capped in total and per sender, and only XAddrs on
the sender's own host are kept (`wsd.from_sender`), so a flood of fake endpoints costs
bounded memory and cannot steer the gateway's credentials to other hosts.
"""

from __future__ import annotations

import fcntl
import logging
import select
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable

from . import wsd
from .errors import MalformedMessageError, NetworkSetupError
from .rejects import RejectLog
from .wsd import MULTICAST_GROUP, WSD_PORT, Announcement

log = logging.getLogger(__name__)

SIOCGIFADDR = 0x8915
IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)
MAX_ENDPOINTS = 128  # distinct endpoints one probe collects
MAX_PER_SENDER = 16  # of them from one sender address


def interface_address(interface: str) -> str:
    """IPv4 address of a network interface such as ``eth1`` (Linux SIOCGIFADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            req = struct.pack("256s", interface.encode()[:15])
            return socket.inet_ntoa(fcntl.ioctl(s.fileno(), SIOCGIFADDR, req)[20:24])
        except OSError as e:
            raise NetworkSetupError(
                f"interface {interface!r} has no IPv4 address ({e}); check [discovery] interface"
            ) from e


def sender_socket(address: str) -> socket.socket:
    """UDP socket on `address` whose multicast leaves through that address's interface."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((address, 0))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    except OSError as e:
        s.close()
        raise NetworkSetupError(f"cannot send WS-Discovery from {address}: {e}") from e
    return s


def group_socket(address: str, port: int = WSD_PORT) -> socket.socket:
    """UDP socket receiving the discovery group only on `address`'s interface."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        s.bind((MULTICAST_GROUP, port))
        mreq = socket.inet_aton(MULTICAST_GROUP) + socket.inet_aton(address)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
    except OSError as e:
        s.close()
        raise NetworkSetupError(
            f"cannot join {MULTICAST_GROUP}:{port} on {address}: {e}; "
            "does the interface have the MULTICAST flag (ip link set DEV multicast on)?"
        ) from e
    return s


def default_rejects() -> RejectLog:
    return RejectLog("WS-Discovery datagram", log)


class Matches:
    """The ProbeMatches of one probe: merged per endpoint, capped in total and per sender."""

    def __init__(
        self,
        rejects: RejectLog,
        max_endpoints: int = MAX_ENDPOINTS,
        max_per_sender: int = MAX_PER_SENDER,
    ) -> None:
        self._rejects = rejects
        self._max_endpoints = max_endpoints
        self._max_per_sender = max_per_sender
        self._found: dict[str, Announcement] = {}
        self._per_sender: dict[str, int] = {}
        self.dropped = 0

    def add(self, a: Announcement) -> None:
        a = wsd.from_sender(a)
        if not a.xaddrs:
            self._rejects.reject(a.source, f"{a.endpoint[:80]} offers no XAddr on its own host")
            return
        old = self._found.get(a.endpoint)
        if old is not None:
            self._found[a.endpoint] = wsd.merge([old, a])[0]
            return
        senders = self._per_sender.get(a.source, 0)
        if len(self._found) >= self._max_endpoints or senders >= self._max_per_sender:
            self.dropped += 1
            if self.dropped == 1:
                log.warning(
                    "WS-Discovery: more answers than the cap (%d in all, %d per sender); "
                    "the rest of this probe is ignored",
                    self._max_endpoints, self._max_per_sender,
                )  # fmt: skip
            return
        self._per_sender[a.source] = senders + 1
        self._found[a.endpoint] = a

    def result(self) -> list[Announcement]:
        return list(self._found.values())


def probe(
    address: str = "127.0.0.1",
    timeout_s: float = 3.0,
    *,
    repeats: int = 3,
    port: int = WSD_PORT,
    rejects: RejectLog | None = None,
) -> list[Announcement]:
    """Multicast a Probe for ONVIF video transmitters from `address`; collect for `timeout_s`.

    The Probe is sent `repeats` times (UDP may drop it) with one MessageID, as SOAP-over-UDP
    prescribes; replies are matched by RelatesTo and merged per endpoint.
    """
    rejects = rejects or default_rejects()
    message_id = uuid.uuid4().urn
    message = wsd.probe_message(message_id)
    found = Matches(rejects)
    with sender_socket(address) as s:
        start = time.monotonic()
        deadline = start + timeout_s
        sends = [start + 0.1 * i * (i + 1) for i in range(repeats)]
        while (now := time.monotonic()) < deadline:
            while sends and sends[0] <= now:
                sends.pop(0)
                s.sendto(message, (MULTICAST_GROUP, port))
            wait = min(deadline, sends[0] if sends else deadline) - now
            ready, _, _ = select.select([s], [], [], max(wait, 0.0))
            if not ready:
                continue
            try:
                data, (host, _) = s.recvfrom(65535)
            except OSError as e:
                log.warning("WS-Discovery receive failed: %s", e)
                continue
            for a in _replies(data, host, message_id, rejects):
                found.add(a)
    return found.result()


def _replies(data: bytes, host: str, message_id: str, rejects: RejectLog) -> list[Announcement]:
    """The ProbeMatches in one reply to our Probe; [] (and a rejection) for anything else."""
    try:
        if wsd.relates_to(data) != message_id:
            return []
        return [a for a in wsd.parse_message(data, host) if a.kind == "ProbeMatch"]
    except MalformedMessageError as e:
        rejects.reject(host, e)
    except Exception as e:  # the parser's own guard failed: still one datagram, not the probe
        rejects.reject(host, f"{type(e).__name__}: {e}")
    return []


class AnnouncementListener:
    """Background thread that reports Hello and Bye announcements to a callback.

    Nothing a datagram holds can end the thread: parse failures are rejections, a failing
    callback is logged, and only `stop` ends it.
    """

    def __init__(
        self,
        on_announcement: Callable[[Announcement], None],
        address: str = "127.0.0.1",
        *,
        port: int = WSD_PORT,
        rejects: RejectLog | None = None,
    ) -> None:
        self.on_announcement = on_announcement
        self.address = address
        self.port = port
        self.rejects = rejects or default_rejects()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def start(self) -> AnnouncementListener:
        self._sock = group_socket(self.address, self.port)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"wsd-listen-{self.address}", daemon=True
        )
        self._thread.start()
        return self

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], 0.2)
                if not ready:
                    continue
                data, (host, _) = sock.recvfrom(65535)
            except OSError as e:
                if self._stop.is_set():
                    return
                log.warning("WS-Discovery listener: receive failed: %s", e)
                self._stop.wait(0.2)
                continue
            for a in self._announcements(data, host):
                self._deliver(a)

    def _announcements(self, data: bytes, host: str) -> list[Announcement]:
        try:
            found = wsd.parse_message(data, host)
        except MalformedMessageError as e:
            self.rejects.reject(host, e)
            return []
        except Exception as e:
            self.rejects.reject(host, f"{type(e).__name__}: {e}")
            return []
        out = []
        for a in found:
            if a.kind == "Hello":
                a = wsd.from_sender(a)
                if not a.xaddrs:
                    self.rejects.reject(host, f"Hello of {a.endpoint[:80]} names another host")
                    continue
            if a.kind in ("Hello", "Bye"):
                out.append(a)
        return out

    def _deliver(self, a: Announcement) -> None:
        try:
            self.on_announcement(a)
        except Exception:
            log.exception("announcement callback failed for %s", a.endpoint)

    def __enter__(self) -> AnnouncementListener:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
