"""Keep a passthrough camera's own OSD showing date/time and the site text (`[recording] osd`).

In passthrough the gateway draws nothing: the picture's time and place are the camera's OSD.
A named thread per camera process sets it over ONVIF (`cameras.onvif_osd`) after the camera
is resolved, then checks it after every reconnect and every `check_s` with one read-back
call; a camera that rebooted (OSD gone or changed) gets it again. What the camera shows is a
signed `camera` record (`osd_applied`), its refusal one too (`osd_refused`), each written
only when something changed; both also go to the camera's health (`osd`) and to MQTT events.
Nothing here can stop recording: every failure is logged and reported.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cameras.errors import OnvifConnectionError, OnvifError, OnvifTimeoutError
from cameras.health import HealthCounter
from cameras.onvif_osd import OsdOutcome, OsdTarget, apply_osd
from cameras.onvif_transport import OnvifTls
from cameras.osd_plan import OsdWanted
from cameras.redact import redact
from segments.errors import WriteError

from ..config import CameraConfig
from .camera_identity import CameraIdentity

log = logging.getLogger(__name__)

OSD_APPLIED = "osd_applied"
OSD_REFUSED = "osd_refused"
CHECK_S = 300.0  # a periodic read-back: one GetOSDs call
RETRY_S = 30.0  # after the camera could not be reached for its OSD
MAX_REASON = 300

Declare = Callable[[str, dict[str, object]], None]
"""(event, extra) → a signed `camera` record."""
EventSink = Callable[[str, dict[str, object]], None]


class OsdKeeper(threading.Thread):
    def __init__(
        self,
        camera: CameraConfig,
        wanted: OsdWanted,
        declare: Declare,
        health: HealthCounter,
        on_event: EventSink,
        timeout_s: float,
        check_s: float = CHECK_S,
    ) -> None:
        super().__init__(name=f"osd-{camera.id}", daemon=True)
        self.camera = camera
        self.wanted = wanted
        self._declare = declare
        self._health = health
        self._on_event = on_event
        self._timeout_s = timeout_s
        self._check_s = check_s
        self._tls = OnvifTls(camera.onvif_ca_file, camera.onvif_cert_sha256)
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._target: OsdTarget | None = None
        self._earlier: OsdOutcome | None = None
        self._ours: frozenset[str] = frozenset()
        self._recorded: tuple[object, ...] | None = None

    def resolved(self, identity: CameraIdentity | None) -> None:
        """The camera was just resolved (each (re)connect): check its OSD now."""
        if identity is None:
            return
        c = self.camera
        target = OsdTarget(
            identity.xaddr,
            identity.profile_token,
            c.onvif_username,
            c.onvif_password,
            identity.clock_offset_s,
            self._tls,
            self._timeout_s,
        )
        with self._lock:
            old = self._target
            if old is None or (old.xaddr, old.profile_token) != (
                target.xaddr,
                target.profile_token,
            ):
                self._earlier = None  # another address or profile: read everything again
            self._target = target
        self._wake.set()

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()

    def run(self) -> None:
        delay = self._check_s
        while not self._halt.is_set():
            self._wake.wait(delay)
            self._wake.clear()
            with self._lock:
                target, earlier = self._target, self._earlier
            if self._halt.is_set() or target is None:
                continue
            try:
                delay = self.check(target, earlier)
            except Exception:  # a bug here must not end the checks (recording is apart)
                log.exception("%s: OSD check failed unexpectedly; retrying", self.camera.id)
                delay = RETRY_S

    def check(self, target: OsdTarget, earlier: OsdOutcome | None) -> float:
        """One check or apply; the delay until the next periodic one."""
        try:
            outcome = apply_osd(target, self.wanted, self._ours, earlier)
        except (OnvifTimeoutError, OnvifConnectionError) as e:
            log.warning("%s: OSD not checked (retrying in %g s): %s", self.camera.id, RETRY_S, e)
            return min(RETRY_S, self._check_s)
        except OnvifError as e:
            self._refused(str(e))
            return self._check_s
        with self._lock:
            self._earlier = outcome
            self._ours = self._ours | {o.token for o in outcome.applied}
        self._applied(outcome)
        return self._check_s

    def _applied(self, outcome: OsdOutcome) -> None:
        osds = [o.summary() for o in outcome.applied]
        key: tuple[object, ...] = (OSD_APPLIED, repr(osds), outcome.refused)
        state = describe(outcome)
        self._health.osd_state(state)
        if not outcome.changed and key == self._recorded:
            return
        extra: dict[str, object] = {
            "service": "media",
            "media_xaddr": redact(outcome.site.media_xaddr),
            "source": outcome.site.source,
            "text": self.wanted.text,
            "osds": osds,
            "refused": list(outcome.refused),
            "truncated": outcome.truncated,
            "reapplied": outcome.changed and self._recorded is not None,
        }
        if self._record(OSD_APPLIED, extra):
            self._recorded = key
            log.info("%s: camera OSD %s", self.camera.id, state)
            facts = {"camera": self.camera.id, "osd": state, "osds": len(osds)}
            self._on_event(OSD_APPLIED, facts)

    def _refused(self, reason: str) -> None:
        reason = reason[:MAX_REASON]
        with self._lock:
            self._earlier = None
        self._health.osd_state(f"refused: {reason}")
        key: tuple[object, ...] = (OSD_REFUSED, reason)
        if key == self._recorded:
            return
        if self._record(OSD_REFUSED, {"reason": reason, "text": self.wanted.text}):
            self._recorded = key
            log.warning("%s: camera OSD not set (recording goes on): %s", self.camera.id, reason)
            self._on_event(OSD_REFUSED, {"camera": self.camera.id, "reason": reason})

    def _record(self, event: str, facts: dict[str, object]) -> bool:
        try:
            self._declare(event, facts)
        except WriteError as e:
            log.error("%s: %s not recorded: %s", self.camera.id, event, e)
            return False
        return True


def describe(outcome: OsdOutcome) -> str:
    """The OSD in a line for health: each text OSD's kind and place, and what was refused."""
    shown = [
        f"{o.text_type}@{o.position}" + (f" {o.plain_text[:40]!r}" if o.plain_text else "")
        for o in outcome.applied
    ]
    line = ", ".join(shown)
    if outcome.refused:
        line += "; not set: " + "; ".join(outcome.refused)
    return line[:MAX_REASON]
