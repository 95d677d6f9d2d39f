"""Health, alarms and events to central monitoring, every `health_interval_s`.

The reporter only reads a snapshot of facts (a callable) and publishes; it changes nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from uplink.mqtt import GatewayLink

from .alarms import DEFAULT_THRESHOLDS, AlarmTracker, GatewayFacts, Thresholds, evaluate

log = logging.getLogger(__name__)

VERSION = "0.1.0"


class Reporter:
    def __init__(
        self,
        link: GatewayLink,
        facts: Callable[[], GatewayFacts],
        interval_s: float,
        *,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
    ) -> None:
        self.link = link
        self._facts = facts
        self._interval_s = interval_s
        self._thresholds = thresholds
        self._tracker = AlarmTracker()
        self._halt = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Reporter:
        self._thread = threading.Thread(target=self._run, name="reporter", daemon=True)
        self._thread.start()
        return self

    def poke(self) -> None:
        """Report now, not at the next interval (news that raises or clears an alarm)."""
        self._wake.set()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        self.report()

    def event(self, kind: str, **fields: Any) -> None:
        self.link.publish_event({"ts": time.time(), "kind": kind, **fields})

    def _run(self) -> None:
        while not self._halt.is_set():
            try:
                self.report()
            except Exception:
                log.exception("health report failed; trying again next interval")
            self._wake.wait(self._interval_s)
            self._wake.clear()

    def report(self) -> None:
        facts = self._facts()
        self.link.publish_retained("health", gateway_payload(facts))
        for camera in facts.cameras:
            payload = asdict(camera) | {"ts": facts.ts, "recording": camera.recording}
            self.link.publish_retained(f"cameras/{camera.camera}/health", payload)
        raised, cleared = self._tracker.update(evaluate(facts, self._thresholds), facts.ts)
        for alarm in raised:
            self.event("alarm_raised", alarm=alarm.alarm, camera=alarm.camera, detail=alarm.detail)
        for alarm in cleared:
            self.event("alarm_cleared", alarm=alarm.alarm, camera=alarm.camera)
        self.link.publish_retained("alarms", self._tracker.payload(facts.ts))


def gateway_payload(facts: GatewayFacts) -> dict[str, Any]:
    return {
        "ts": facts.ts,
        "version": VERSION,
        "uptime_s": round(facts.uptime_s, 1),
        "disk": {
            "free_bytes": facts.free_bytes,
            "used_bytes": facts.used_bytes,
            "quota_bytes": facts.quota_bytes,
        },
        "upload": {
            "backlog_count": facts.backlog_count,
            "backlog_bytes": facts.backlog_bytes,
            "oldest_unconfirmed_age_s": facts.oldest_unconfirmed_age_s,
            "state": facts.upload_state,
        },
        "minutes_left": facts.minutes_left,
        "clock": {"synced": facts.clock_synced, "est_error_s": facts.clock_est_error_s},
        "cameras_recording": sum(c.recording for c in facts.cameras),
        "cameras_total": len(facts.cameras),
    }
