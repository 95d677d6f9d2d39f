"""Where the daemon's records and events go: the log, central monitoring, uploads, retention.

Every source (camera processes, retention, the uploader) hands its news to one `EventRouter`,
so each kind of news is logged once and reported once, whatever produced it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from segments.records import Record
from uplink.timestamps import STAMPED, TimestampEvent
from uplink.uploader import UploadEvent

from .reporting import Reporter

log = logging.getLogger(__name__)

PURGE_ALARM_S = 3600.0
RECORD_EVENTS = {
    "segment": "segment_sealed",
    "truncated": "segment_truncated",
    "gap": "gap_close",
    "clock": "clock_step",
    "boot": "boot",
}


class EventRouter:
    """`reporter` is set once MQTT is up; `wake_uploads`/`poke_retention` once those run."""

    def __init__(self) -> None:
        self.reporter: Reporter | None = None
        self.wake_uploads = _nothing
        self.poke_retention = _nothing
        self._lock = threading.Lock()
        self._frozen: dict[str, bool] = {}
        self._purges: list[float] = []

    def emit(self, kind: str, **fields: Any) -> None:
        """An event for central monitoring (and the log)."""
        details = " ".join(f"{k}={v}" for k, v in fields.items())
        log.warning("event %s %s", kind, details)
        if self.reporter is not None:
            self.reporter.event(kind, **fields)

    def on_record(self, record: Record) -> None:
        """A camera process appended a record."""
        log_record(record)
        kind = RECORD_EVENTS.get(record.kind)
        if kind is not None and self.reporter is not None:
            self.reporter.event(
                kind, camera=record.stream, seq=record.seq, start=record.start, end=record.end,
                reason=record.reason, file=record.file,
            )  # fmt: skip
        if record.kind == "event":
            self._camera_event(record)
        if record.kind == "segment":
            self.poke_retention()

    def _camera_event(self, record: Record) -> None:
        """A camera notification (signed): an MQTT event; tamper news is reported at once."""
        extra = record.extra
        if self.reporter is None:
            return
        self.reporter.event(
            "camera_event", camera=record.stream, seq=record.seq, at=record.start,
            topic=extra.get("topic"), event=extra.get("kind"), state=extra.get("state"),
            source=extra.get("source"), camera_time=extra.get("camera_time"),
            coalesced=extra.get("coalesced"),
        )  # fmt: skip
        if extra.get("kind") == "tamper":
            self.reporter.poke()

    def on_retention(self, *, kind: str, **fields: object) -> None:
        if kind == "purge":
            now = time.time()
            with self._lock:  # only the alarm's window is kept: a full disk purges for weeks
                self._purges = [t for t in self._purges if now - t < PURGE_ALARM_S]
                self._purges.append(now)
        self.emit(kind, **fields)

    def on_upload(self, event: UploadEvent) -> None:
        level = logging.INFO if event.kind == "segment_confirmed" else logging.WARNING
        log.log(level, "upload %s %s #%d %s %s", event.kind, event.stream, event.seq, event.key,
                event.detail)  # fmt: skip
        if self.reporter is not None:
            self.reporter.event(
                event.kind, camera=event.stream, seq=event.seq, what=event.what,
                key=event.key, detail=event.detail,
            )  # fmt: skip

    def on_timestamp(self, event: TimestampEvent) -> None:
        """The timestamper's news (already logged there): a stored token goes up next."""
        if event.kind == STAMPED:
            self.wake_uploads()
        if self.reporter is not None:
            self.reporter.event(
                event.kind, camera=event.stream, size=event.size, detail=event.detail
            )

    def on_frozen(self, camera: str, frozen: bool) -> None:
        """A camera process judged its picture (about once a second): is it still changing?"""
        with self._lock:
            changed = frozen != self._frozen.get(camera, False)
            self._frozen[camera] = frozen
        if changed:
            self.emit("camera_frozen" if frozen else "camera_unfrozen", camera=camera)

    def frozen(self, camera: str) -> bool:
        with self._lock:
            return self._frozen.get(camera, False)

    def recent_purges(self, now: float) -> int:
        """Unuploaded segments purged within the last hour (the purge alarm's window)."""
        with self._lock:
            return sum(now - t < PURGE_ALARM_S for t in self._purges)


def log_record(record: Record) -> None:
    what = f"{record.stream}: {record.kind} #{record.seq}"
    if record.kind == "segment":
        log.info("%s %s", what, record.file)
    elif record.kind in ("gap", "truncated", "clock"):
        log.warning("%s %s from %s to %s", what, record.reason, record.start, record.end)
    else:
        log.info("%s %s", what, record.reason or "")


def _nothing() -> None:
    return None
