"""Auto-enrolment (thread `enrol`): record the cameras the camera network offers, and follow
whether they are still there.

At start and every `rescan_interval_s` (at once after a Hello from an unknown endpoint) it
probes through the shared `CameraDirectory`, asks each new device who it is, and enrols what
the allow-list and device limit admit (`enrollment`): the daemon records it (`enrol`), and it
is remembered in data_dir (`gateway.enrolled`). A device that is not admitted is
logged and reported once (`refused`, rate-limited) and not asked again while the daemon runs;
what forged announcements can make it remember or report is bounded.

An enrolled camera not heard of (no probe answer, no Hello) for `lost_after_s`, or that
says Bye, is `lost`; heard of again, it is `refound`. `presence(camera, event, facts)`
declares `found`, `lost` and `refound` (a signed `camera` record and an event).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from cameras.errors import CameraError, OnvifError
from cameras.redact import redact
from cameras.wsd import Announcement

from ..config import CameraConfig, Config, DiscoveryConfig
from ..enrolled import Enrolled, EnrolledStore
from .directory import CameraDirectory
from .enrollment import refusal_after_query, refusal_before_query
from .rate_limit import RateLimiter

if TYPE_CHECKING:
    from cameras.onvif_client import DeviceInfo

log = logging.getLogger(__name__)

FOUND, LOST, REFOUND = "found", "lost", "refound"
MAX_QUERIES_PER_ROUND = 8  # new devices asked per probe; the rest wait for the next round
MAX_PENDING = 256  # Hellos of strangers (and probe answers) taken in per round
MAX_REMEMBERED = 4096  # endpoints refused or failing, remembered so as not to ask again
REPORTS_PER_MINUTE, REPORTS_BURST = 10.0, 40  # refusals logged and reported

Query = Callable[[Announcement], "DeviceInfo"]
Enrol = Callable[[Enrolled], bool]
Presence = Callable[[str, str, dict[str, object]], None]
Refused = Callable[[dict[str, object]], None]


class AutoEnroll(threading.Thread):
    """`known` are the configured cameras' (serial, ONVIF address): never enrolled again."""

    def __init__(
        self,
        policy: DiscoveryConfig,
        directory: CameraDirectory,
        store: EnrolledStore,
        query: Query,
        enrol: Enrol,
        presence: Presence,
        refused: Refused,
        *,
        configured: Iterable[tuple[str | None, str | None]] = (),
        taken_ids: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="enrol", daemon=True)
        self.policy = policy
        self._directory = directory
        self._store = store
        self._query = query
        self._enrol = enrol
        self._presence = presence
        self._refused_cb = refused
        self._clock = clock
        self._configured_serials = {s for s, _ in configured if s}
        self._configured_xaddrs = {x for _, x in configured if x}
        self._taken = set(taken_ids)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._pending: dict[str, Announcement] = {}  # Hellos of strangers, by endpoint
        self._cameras: dict[str, Enrolled] = {}  # by id
        self._by_endpoint: dict[str, str] = {}
        self._by_serial: dict[str, str] = {}
        self._last_seen: dict[str, float] = {}
        self._lost: set[str] = set()
        self._ignored = Bounded()  # endpoints refused or configured: not asked again
        self._failed = Bounded()  # endpoints whose query failed (logged once)
        self._reports = RateLimiter(REPORTS_PER_MINUTE, burst=REPORTS_BURST)

    def remember(self, entries: Iterable[Enrolled]) -> None:
        """Cameras enrolled before this run: recorded again, judged lost only after a while."""
        now = self._clock()
        with self._lock:
            for e in entries:
                self._add(e, now)

    def reconfigure(self, cameras: Iterable[CameraConfig]) -> list[Enrolled]:
        """A reload names these cameras: from now on they are the configuration's, never
        enrolled; an enrolled camera it now names (by id or serial) is forgotten here, the
        reload having handed it to its configured entry. Returns the ones forgotten."""
        cameras = list(cameras)
        serials = {c.serial for c in cameras if c.serial}
        ids = {c.id for c in cameras}
        with self._lock:
            self._configured_serials = serials
            self._configured_xaddrs = {c.onvif for c in cameras if c.onvif}
            self._taken |= ids
            gone = [e for e in self._cameras.values() if e.id in ids or e.serial in serials]
            for e in gone:
                del self._cameras[e.id]
                self._by_serial.pop(e.serial, None)
                self._by_endpoint.pop(e.endpoint, None)
                self._last_seen.pop(e.id, None)
                self._lost.discard(e.id)
        return gone

    @property
    def enrolled(self) -> list[Enrolled]:
        with self._lock:
            return list(self._cameras.values())

    def wake(self) -> None:
        """Probe now (the `rediscover` command)."""
        self._wake.set()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()
        if self.is_alive():
            self.join(10.0)

    def on_announcement(self, a: Announcement) -> None:
        """A Hello or Bye the daemon heard: presence news, or a new device to look at now."""
        with self._lock:
            camera = self._by_endpoint.get(a.endpoint)
            if camera is None:
                if a.kind == "Hello" and a.endpoint not in self._ignored:
                    if len(self._pending) < MAX_PENDING:
                        self._pending[a.endpoint] = a
                    self._wake.set()
                return
        if a.kind == "Bye":
            self._declare_lost(camera)
        else:
            self._seen(camera, a)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.round()
            except Exception:
                log.exception("auto-enrolment round failed")
            self._wake.wait(self.policy.rescan_interval_s)
            self._wake.clear()

    def round(self) -> None:
        """One probe: note who answered, consider new devices, declare the long silent lost."""
        with self._lock:
            pending, self._pending = list(self._pending.values()), {}
        try:
            found = self._directory.probe()
        except CameraError as e:
            log.warning("auto-enrolment: WS-Discovery probe failed: %s", e)
            found = []
        new: dict[str, Announcement] = {}
        for a in [*found[:MAX_PENDING], *pending]:
            with self._lock:
                camera = self._by_endpoint.get(a.endpoint)
                skip = a.endpoint in self._ignored or not a.xaddrs
            if camera is not None:
                self._seen(camera, a)
            elif not skip:
                new.setdefault(a.endpoint, a)
        fresh = [a for a in new.values() if a.endpoint not in self._failed]
        again = [a for a in new.values() if a.endpoint in self._failed]
        queries = 0
        for a in fresh + again:
            if self._halt.is_set():
                return
            with self._lock:
                count = len(self._cameras)
            reason = refusal_before_query(self.policy, a, count)
            if reason is not None:
                self._refuse(a, reason)
            elif queries < MAX_QUERIES_PER_ROUND:
                queries += 1
                self._consider(a)
            elif a.endpoint not in self._failed:
                self._wake.set()  # more new devices than one round asks: the next at once
        self._check_lost()

    def _consider(self, a: Announcement) -> None:
        """Ask an admitted device who it is; enrol it if that is admitted too."""
        try:
            device = self._query(a)
        except OnvifError as e:
            if a.endpoint not in self._failed:
                self._failed.add(a.endpoint)
                log.warning("auto-enrolment: %s did not answer who it is: %s (asked again "
                            "at the next probe)", redact(a.xaddrs[0]), e)  # fmt: skip
            return
        if device.serial in self._configured_serials or device.xaddr in self._configured_xaddrs:
            with self._lock:
                self._ignored.add(a.endpoint)
            return
        with self._lock:
            same = self._by_serial.get(device.serial) if device.serial else None
        if same is not None:  # an enrolled camera answering with a new endpoint (reset)
            self._seen(same)
            return
        reason = refusal_after_query(self.policy, device)
        if reason is not None:
            self._refuse(a, reason, device)
            return
        with self._lock:
            entry = Enrolled.of(device, self._taken)
        if not self._enrol(entry):
            return
        self._store.add(entry)
        with self._lock:
            self._add(entry, self._clock())
        log.info("enrolled camera %s %s serial %s at %s as %s", entry.manufacturer,
                 entry.model, entry.serial, redact(entry.xaddr), entry.id)  # fmt: skip
        self._presence(entry.id, FOUND, entry.facts())

    def _add(self, e: Enrolled, now: float) -> None:
        self._cameras[e.id] = e
        self._taken.add(e.id)
        self._by_serial[e.serial] = e.id
        if e.endpoint:
            self._by_endpoint[e.endpoint] = e.id
        self._last_seen[e.id] = now

    def _refuse(self, a: Announcement, reason: str, device: DeviceInfo | None = None) -> None:
        with self._lock:
            self._ignored.add(a.endpoint)
        if not self._reports.allow("refused", self._clock()):
            log.debug("auto-enrolment: device %s refused (%s); reports rate-limited",
                      a.endpoint[:80], reason)  # fmt: skip
            return
        address = redact(a.xaddrs[0]) if a.xaddrs else "?"
        log.warning("auto-enrolment: device %s at %s not enrolled: %s", a.endpoint[:80],
                    address, reason)  # fmt: skip
        facts: dict[str, object] = {"endpoint": a.endpoint[:256], "address": address}
        if device is not None:
            facts |= {"serial": device.serial[:256], "manufacturer": device.manufacturer[:256]}
        self._refused_cb({**facts, "reason": reason})

    def _seen(self, camera: str, a: Announcement | None = None) -> None:
        """Heard of `camera`; at another address, that one is remembered for the next start
        (tried first there; the camera process checks the serial before using it)."""
        with self._lock:
            self._last_seen[camera] = self._clock()
            back = camera in self._lost
            self._lost.discard(camera)
            entry = self._cameras[camera]
            moved = _moved(entry, a)
            if moved is not None:
                entry = self._cameras[camera] = moved
        if moved is not None:
            self._store.add(moved)
        if back:
            self._presence(camera, REFOUND, entry.facts())

    def _declare_lost(self, camera: str) -> None:
        with self._lock:
            if camera in self._lost:
                return
            self._lost.add(camera)
            entry = self._cameras[camera]
        self._presence(camera, LOST, entry.facts())

    def _check_lost(self) -> None:
        now = self._clock()
        with self._lock:
            silent = [
                c
                for c, seen in self._last_seen.items()
                if c not in self._lost and now - seen > self.policy.lost_after_s
            ]
        for camera in silent:
            self._declare_lost(camera)


def _moved(entry: Enrolled, a: Announcement | None) -> Enrolled | None:
    """`entry` at the address `a` announces, if that is another one (and a storable one)."""
    if a is None or not a.xaddrs or entry.xaddr in a.xaddrs:
        return None
    try:
        return replace(entry, xaddr=a.xaddrs[0])
    except ValueError:
        return None


class Bounded:
    """A set of at most `MAX_REMEMBERED` endpoints, the oldest forgotten first: forged
    announcements with ever new endpoints cannot grow the daemon's memory."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, item: str) -> None:
        if len(self._items) >= MAX_REMEMBERED:
            del self._items[next(iter(self._items))]
        self._items[item] = None

    def __contains__(self, item: object) -> bool:
        return item in self._items


def for_gateway(
    config: Config,
    directory: CameraDirectory,
    enrol: Enrol,
    presence: Presence,
    refused: Refused,
) -> AutoEnroll:
    """Auto-enrolment for the daemon, with the cameras it enrolled before (unless configured
    now); not started."""
    configured = [(c.serial, c.onvif) for c in config.cameras]
    ids = {c.id for c in config.cameras}
    serials = {c.serial for c in config.cameras if c.serial}
    store = EnrolledStore(config.gateway.data_dir)
    enroller = AutoEnroll(
        config.discovery,
        directory,
        store,
        onvif_query(config.discovery, config.recording.open_timeout_s),
        enrol,
        presence,
        refused,
        configured=configured,
        taken_ids=ids,
    )
    before = [e for e in store.load() if e.id not in ids and e.serial not in serials]
    enroller.remember(before)
    if before:
        log.info("recording %d camera(s) enrolled before: %s", len(before),
                 ", ".join(e.id for e in before))  # fmt: skip
    return enroller


def onvif_query(policy: DiscoveryConfig, timeout_s: float) -> Query:
    """Ask an announced device who it is, with the [discovery] default credentials."""

    def query(a: Announcement) -> DeviceInfo:
        from cameras import onvif_client  # the SOAP stack (zeep, aiohttp) loads on first use

        info = onvif_client.probe_device(
            a.xaddrs[0], policy.username, policy.password, timeout_s, endpoint=a.endpoint
        )
        return replace(info, name=a.name, location=a.location, scopes=a.scopes)

    return query
