"""What WS-Discovery saw on the camera network: announced addresses and the serials behind them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from cameras import discovery
from cameras.discovery import AnnouncementListener
from cameras.errors import CameraError
from cameras.rejects import OnReject, RejectLog
from cameras.wsd import WSD_PORT, Announcement

from ..config import DiscoveryConfig

log = logging.getLogger(__name__)


class CameraDirectory:
    """What WS-Discovery saw on the camera network, shared by all resolvers of a gateway.

    `start` runs a Hello/Bye listener; `probe` multicasts a Probe at most once per
    `probe_interval_s` (concurrent callers share one), so many offline cameras cost one probe.
    Datagrams both reject are tallied in `rejects` (and reported through `on_reject`).
    Each Hello/Bye is then passed to the callbacks given to `listen` (in the daemon: the
    camera processes and auto-enrolment; in a camera process, announcements arrive from the
    daemon through `on_announcement`).
    """

    def __init__(
        self,
        config: DiscoveryConfig,
        *,
        port: int = WSD_PORT,
        probe_interval_s: float = 10.0,
        on_reject: OnReject | None = None,
    ) -> None:
        self.config = config
        self.port = port
        self.probe_interval_s = probe_interval_s
        self._lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._seen: dict[str, Announcement] = {}
        self._serials: dict[str, str] = {}
        self._last_probe: tuple[float, list[Announcement]] | None = None
        self._listener: AnnouncementListener | None = None
        self._address: str | None = config.address
        self.rejects = RejectLog("WS-Discovery datagram", log, on_reject)
        self._listeners: list[Callable[[Announcement], None]] = []

    def listen(self, listener: Callable[[Announcement], None]) -> None:
        """Call `listener` with every Hello and Bye after the directory took it in."""
        with self._lock:
            self._listeners.append(listener)

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def address(self) -> str:
        """The IPv4 address of the camera network (looked up from the interface once)."""
        if self._address is None:
            if self.config.interface is None:
                raise CameraError("discovery is off: set [discovery] interface or address")
            self._address = discovery.interface_address(self.config.interface)
        return self._address

    def start(self) -> CameraDirectory:
        """Listen for Hello/Bye when discovery is configured; a failure is logged, not fatal."""
        if self.enabled and self._listener is None:
            try:
                listener = AnnouncementListener(
                    self.on_announcement, self.address(), port=self.port, rejects=self.rejects
                )
                self._listener = listener.start()
            except CameraError as e:
                log.error("cannot follow camera announcements: %s", e)
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def on_announcement(self, a: Announcement) -> None:
        with self._lock:
            old = None
            if a.kind == "Bye":
                self._seen.pop(a.endpoint, None)
            else:
                old = self._seen.get(a.endpoint)
                self._seen[a.endpoint] = a
            listeners = list(self._listeners)
        if a.kind == "Hello" and old is not None and old.xaddrs != a.xaddrs:
            log.info("camera %s announced a new address %s", a.endpoint, ", ".join(a.xaddrs))
        for listener in listeners:
            try:
                listener(a)
            except Exception:
                log.exception("announcement of %s not handled", a.endpoint[:80])

    def xaddrs(self, endpoint: str) -> tuple[str, ...]:
        with self._lock:
            a = self._seen.get(endpoint)
        return a.xaddrs if a is not None else ()

    def endpoint_at(self, xaddr: str) -> str:
        """The endpoint last seen announcing `xaddr`, or ""."""
        with self._lock:
            return next((e for e, a in self._seen.items() if xaddr in a.xaddrs), "")

    def remember_serial(self, endpoint: str, serial: str) -> None:
        if endpoint and serial:
            with self._lock:
                self._serials[endpoint] = serial

    def serial_of(self, endpoint: str) -> str | None:
        with self._lock:
            return self._serials.get(endpoint)

    def probe(self, fresh: bool = False) -> list[Announcement]:
        """Cameras answering a Probe now (or, unless `fresh`, in the last `probe_interval_s`);
        [] if off."""
        if not self.enabled:
            return []
        with self._probe_lock:
            now = time.monotonic()
            recent = self._last_probe and now - self._last_probe[0] < self.probe_interval_s
            if recent and self._last_probe and not fresh:
                return self._last_probe[1]
            found = discovery.probe(
                self.address(), self.config.probe_timeout_s, port=self.port, rejects=self.rejects
            )
            found = [a for a in found if a.xaddrs]
            self._last_probe = (time.monotonic(), found)
        with self._lock:
            self._seen.update({a.endpoint: a for a in found})
        return found
