"""Per-camera health counters and the typed snapshot other parts read."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class IdentityEvent:
    """The camera's last declared move or identity change (`moved`, `identity_changed`)."""

    event: str
    detail: str
    at: float  # wall time it was declared


@dataclass(frozen=True)
class CameraHealth:
    camera_id: str
    online: bool
    frames: int
    fps: float
    bitrate_bps: float
    last_frame_age_s: float | None
    reconnects: int
    last_error: str | None
    rejected_input: int = 0  # messages from the camera network refused as malformed
    identity_event: IdentityEvent | None = None
    scene_still: bool = False  # nothing moves but the sensor is alive (information, no alarm)
    event_service: str | None = None  # "subscribed", "unsupported", "error: ..."; None: none
    tamper: str | None = None  # the tamper topic the camera reports active
    osd: str | None = None  # what the camera's OSD shows as we set it, or "refused: ..."
    camera_signed: bool | None = None  # the last sealed segment carried Media Signing SEIs
    signing_lost: bool = False  # signed segments, then an unsigned one, in this run
    encoder_fallback: str | None = None  # burn_in: the configured encoder failed; why, and what


class HealthCounter:
    """Thread-safe counters fed by the reader thread; fps and bitrate over a sliding window.

    `news` is set when something a monitor must hear at once changes (online, an error, the
    identity, tamper, ...), so its reader can report on change and otherwise rarely; the
    counters of frames and rejected input are not news.
    """

    def __init__(self, camera_id: str, window_s: float = 5.0) -> None:
        self._camera_id = camera_id
        self._window_s = window_s
        self._lock = threading.Lock()
        self._recent: deque[tuple[float, int]] = deque()
        self._frames = 0
        self._online = False
        self._reconnects = 0
        self._last_frame: float | None = None
        self._last_error: str | None = None
        self._rejected = 0
        self._identity_event: IdentityEvent | None = None
        self._scene_still = False
        self._event_service: str | None = None
        self._tamper: str | None = None
        self._osd: str | None = None
        self._camera_signed: bool | None = None
        self._signed_seen = False
        self._encoder_fallback: str | None = None
        self.news = threading.Event()

    def _change(self, name: str, value: object) -> None:
        """Set field `name` (the lock held), raising `news` when its value changes."""
        if getattr(self, name) != value:
            setattr(self, name, value)
            self.news.set()

    def connected(self) -> None:
        with self._lock:
            self._change("_online", True)

    def frame(self, nbytes: int, now: float | None = None) -> None:
        """One video packet of `nbytes`, arrived at `now` (monotonic; read here when None)."""
        now = time.monotonic() if now is None else now
        recent, oldest = self._recent, now - self._window_s
        with self._lock:
            self._frames += 1
            self._last_frame = now
            recent.append((now, nbytes))
            while recent[0][0] < oldest:
                recent.popleft()

    def failed(self, error: str) -> None:
        with self._lock:
            self._online = False
            self._last_error = error
            self._reconnects += 1
            self.news.set()

    def rejected(self, count: int = 1) -> None:
        """Malformed messages from the camera network (WS-Discovery, ONVIF) refused."""
        with self._lock:
            self._rejected += count

    def identity_changed(self, event: IdentityEvent) -> None:
        with self._lock:
            self._change("_identity_event", event)

    def scene_still(self, still: bool) -> None:
        """The freeze detector's verdict on the last picture: still scene, live sensor."""
        with self._lock:
            self._change("_scene_still", still)

    def event_service(self, status: str) -> None:
        """How the camera's event subscription stands (`onvif_events` statuses)."""
        with self._lock:
            self._change("_event_service", status)

    def tamper(self, topic: str | None) -> None:
        """The camera reports tamper on `topic` (None: no tamper active)."""
        with self._lock:
            self._change("_tamper", topic)

    def osd_state(self, state: str | None) -> None:
        """The camera's OSD as last applied (a short description), or why it was not."""
        with self._lock:
            self._change("_osd", state)

    def segment_signing(self, signed: bool) -> bool:
        """A passthrough segment was sealed with (or without) the camera's signatures.

        Returns True when `signing_lost` changed: a camera that signed this run and stopped
        may have been swapped or reconfigured; it clears when signing resumes.
        """
        with self._lock:
            before = self._signed_seen and self._camera_signed is False
            self._change("_camera_signed", signed)
            self._signed_seen = self._signed_seen or signed
            return before != (self._signed_seen and not signed)

    def encoder_fallback(self, detail: str | None) -> None:
        """Burn-in records with libx264 because the configured encoder failed (None: it is
        the configured encoder again)."""
        with self._lock:
            self._change("_encoder_fallback", detail)

    def snapshot(self, now: float | None = None) -> CameraHealth:
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = [(t, n) for t, n in self._recent if now - t <= self._window_s]
            span = (recent[-1][0] - recent[0][0]) if len(recent) > 1 else 0.0
            fps = (len(recent) - 1) / span if span > 0 else 0.0
            bitrate = sum(n for _, n in recent[1:]) * 8 / span if span > 0 else 0.0
            return CameraHealth(
                camera_id=self._camera_id,
                online=self._online,
                frames=self._frames,
                fps=round(fps, 2),
                bitrate_bps=round(bitrate),
                last_frame_age_s=None if self._last_frame is None else now - self._last_frame,
                reconnects=self._reconnects,
                last_error=self._last_error,
                rejected_input=self._rejected,
                identity_event=self._identity_event,
                scene_still=self._scene_still and self._online,  # an offline camera shows nothing
                event_service=self._event_service,
                tamper=self._tamper,
                osd=self._osd,
                camera_signed=self._camera_signed,
                signing_lost=self._signed_seen and self._camera_signed is False,
                encoder_fallback=self._encoder_fallback,
            )
