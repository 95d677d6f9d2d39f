"""The camera process's event side: the camera's own notifications into signed `event` records.

Runs beside the recording (`camera_child`), for ONVIF cameras only: an `EventSubscriber`
thread follows the camera where the resolver last found it, and each notification goes
through `event_policy` (chatty motion coalesced, tamper and inputs never) into an `event`
record drafted here and signed by the daemon (`RemoteLog`), which turns it into an MQTT
`camera_event`. Tamper news sets the health's `tamper` field (-> the `camera_tamper` alarm)
and is reported to the daemon at once, before the record is asked for, so the alarm and the
event leave together.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from cameras.event_topics import Notification
from cameras.health import HealthCounter
from cameras.onvif_events import EventSubscriber, EventTarget, Flag, PullSettings
from cameras.onvif_transport import OnvifTls
from segments.clock import kernel_clock_status
from segments.errors import WriteError
from segments.records import StreamIdentity
from segments.stream_log import StreamLog
from segments.timeline import iso_utc

from ..config import CameraConfig
from .event_policy import EventThrottle, Pending, TamperLatch
from .resolver import CameraResolver

log = logging.getLogger(__name__)


def event_extra(p: Pending) -> dict[str, object]:
    """The `extra` of an `event` record: what the camera said, bounded by `event_topics`."""
    n = p.notification
    extra: dict[str, object] = {
        "topic": n.topic,
        "kind": n.kind,
        "state": n.state,
        "source": dict(n.source),
        "camera_time": None if n.camera_time is None else iso_utc(n.camera_time.timestamp()),
        "operation": n.operation,
    }
    if p.coalesced > 1:
        extra["coalesced"] = p.coalesced
    return extra


class CameraEvents:
    """Notifications in (from the subscriber thread), records and health out."""

    def __init__(
        self,
        identity: Callable[[], StreamIdentity],
        ledger: StreamLog,
        health: HealthCounter,
        report_health: Callable[[], None],
        throttle: EventThrottle | None = None,
        latch: TamperLatch | None = None,
    ) -> None:
        self._identity = identity
        self._ledger = ledger
        self._health = health
        self._report_health = report_health
        self.throttle = throttle or EventThrottle()
        self.latch = latch or TamperLatch()
        self._tamper: str | None = None
        self._dropped = 0

    def notification(self, n: Notification) -> None:
        now = time.time()
        self.latch.update(n, now)
        self._update_tamper(now)
        for pending in self.throttle.offer(n, now):
            self._record(pending)
        self._note_dropped()

    def idle(self) -> None:
        """After each pull: held notifications whose interval is over, tamper hold time."""
        now = time.time()
        self._update_tamper(now)
        for pending in self.throttle.due(now):
            self._record(pending)

    def status(self, status: str) -> None:
        self._health.event_service(status)

    def _update_tamper(self, now: float) -> None:
        active = self.latch.active(now)
        if active != self._tamper:
            self._tamper = active
            self._health.tamper(active)
            self._report_health()

    def _record(self, p: Pending) -> None:
        draft = self._identity().draft(
            kind="event",
            start=p.arrived,
            end=None,
            clock=kernel_clock_status(),
            reason=p.notification.kind,
            extra=event_extra(p),
        )
        try:
            self._ledger.append(draft)
        except WriteError as e:
            log.error("camera event %s not recorded: %s", p.notification.topic, e)

    def _note_dropped(self) -> None:
        if self.throttle.dropped != self._dropped:
            self._dropped = self.throttle.dropped
            log.warning("camera events beyond %d a minute: %d not recorded so far",
                        self.throttle.max_per_minute, self._dropped)  # fmt: skip


def event_target(
    camera: CameraConfig, resolver: CameraResolver
) -> Callable[[], EventTarget | None]:
    """Where the camera's device service is now (None until resolved, and for rtsp cameras)."""
    tls = OnvifTls(camera.onvif_ca_file, camera.onvif_cert_sha256)

    def target() -> EventTarget | None:
        found = resolver.identity
        if found is None:
            return None
        return EventTarget(
            found.xaddr, camera.onvif_username, camera.onvif_password, found.clock_offset_s, tls
        )

    return target


def start_events(
    name: str,
    camera: CameraConfig,
    resolver: CameraResolver,
    events: CameraEvents,
    stop: Flag,
    settings: PullSettings | None = None,
    on_reject: Callable[[int], None] | None = None,
) -> EventSubscriber | None:
    """The subscriber thread for an ONVIF camera, started; None for an `rtsp` camera."""
    if camera.rtsp is not None:
        return None
    subscriber = EventSubscriber(
        name,
        event_target(camera, resolver),
        events.notification,
        events.status,
        stop,
        settings=settings,
        on_reject=on_reject,
        on_idle=events.idle,
    )
    subscriber.start()
    return subscriber
