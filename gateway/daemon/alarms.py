"""Which alarms are active, from one snapshot of facts: pure, so every rule is testable.

"Recording" means a valid segment was sealed recently and frames keep arriving, not that
the process is alive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEGMENT_MARGIN_S = 15.0
FRAME_STALE_S = 5.0
IDENTITY_ALARMS = {"moved": "camera_moved", "identity_changed": "camera_identity_changed"}
SIGNING_LOST = (
    "the camera signed its video earlier in this run and its last segment is unsigned "
    "(ONVIF Media Signing SEIs stopped): swapped, reset or reconfigured?"
)


@dataclass(frozen=True)
class CameraFacts:
    camera: str
    online: bool
    fps: float
    bitrate_bps: float
    last_frame_age_s: float | None
    last_segment_age_s: float | None
    reconnects: int
    clock_offset_s: float | None
    last_error: str | None
    frozen: bool
    segment_seconds: int
    disk_paused: bool = False
    rejected_input: int = 0
    identity_event: str | None = None  # `moved` or `identity_changed`, as last declared
    identity_detail: str | None = None
    identity_event_age_s: float | None = None
    scene_still: bool = False  # information only: never an alarm
    event_service: str | None = None  # the camera's event subscription: subscribed, unsupported…
    tamper: str | None = None  # tamper topic the camera reports active -> camera_tamper
    osd: str | None = None  # the camera's OSD as set over ONVIF, or "refused: ..."
    camera_signed: bool | None = None  # passthrough: the last segment had Media Signing SEIs
    signing_lost: bool = False  # it signed earlier in this run and stopped
    encoder_fallback: str | None = None  # burn_in records with libx264 instead: why

    @property
    def recording(self) -> bool:
        limit = 2 * self.segment_seconds + SEGMENT_MARGIN_S
        return (
            self.online
            and self.last_frame_age_s is not None
            and self.last_frame_age_s < FRAME_STALE_S
            and self.last_segment_age_s is not None
            and self.last_segment_age_s <= limit
        )


@dataclass(frozen=True)
class GatewayFacts:
    ts: float
    uptime_s: float
    free_bytes: int
    used_bytes: int
    quota_bytes: int
    min_free_bytes: int
    backlog_count: int
    backlog_bytes: int
    oldest_unconfirmed_age_s: float | None
    upload_state: str | None
    minutes_left: float | None
    clock_synced: bool | None
    clock_est_error_s: float | None
    tampered: int
    unuploaded_purges: int
    cameras: tuple[CameraFacts, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Thresholds:
    disk_low_minutes: float = 60.0
    backlog_age_s: float = 1800.0
    clock_drift_s: float = 2.0
    startup_grace_s: float = 60.0
    connect_grace_s: float = 10.0
    identity_change_s: float = 3600.0  # how long a declared move or new identity stays raised


@dataclass(frozen=True)
class Alarm:
    alarm: str
    camera: str | None
    detail: str


DEFAULT_THRESHOLDS = Thresholds()


def evaluate(facts: GatewayFacts, limits: Thresholds = DEFAULT_THRESHOLDS) -> list[Alarm]:
    alarms = [a for c in facts.cameras for a in _camera_alarms(c, facts, limits)]
    low = facts.minutes_left is not None and facts.minutes_left < limits.disk_low_minutes
    if low or facts.free_bytes < facts.min_free_bytes:
        alarms.append(Alarm("disk_low", None, f"{facts.minutes_left} minutes of recording left"))
    age = facts.oldest_unconfirmed_age_s
    if age is not None and age > limits.backlog_age_s:
        alarms.append(
            Alarm("upload_backlog", None, f"{facts.backlog_count} items, oldest {age:.0f} s")
        )
    if facts.unuploaded_purges:
        alarms.append(
            Alarm("purge_unuploaded", None, f"{facts.unuploaded_purges} segments purged unuploaded")
        )
    if facts.clock_synced is False:
        alarms.append(Alarm("clock_unsynced", None, "the gateway clock is not NTP-synchronised"))
    if facts.tampered:
        alarms.append(
            Alarm("tamper_detected", None, f"{facts.tampered} local files changed after sealing")
        )
    return alarms


def _camera_alarms(c: CameraFacts, facts: GatewayFacts, limits: Thresholds) -> list[Alarm]:
    found = []
    connecting = c.reconnects == 0 and facts.uptime_s < limits.connect_grace_s
    if not c.online and not connecting:
        found.append(Alarm("camera_offline", c.camera, c.last_error or "no stream"))
    elif c.frozen:
        found.append(Alarm("camera_frozen", c.camera, "the picture has stopped changing"))
    if not c.recording and facts.uptime_s > limits.startup_grace_s:
        age = "never" if c.last_segment_age_s is None else f"{c.last_segment_age_s:.0f} s ago"
        found.append(Alarm("recording_stopped", c.camera, f"last segment sealed {age}"))
    if c.clock_offset_s is not None and abs(c.clock_offset_s) > limits.clock_drift_s:
        found.append(
            Alarm("clock_drift", c.camera, f"camera clock off by {c.clock_offset_s:+.1f} s")
        )
    if c.signing_lost:
        found.append(Alarm("camera_signing_lost", c.camera, SIGNING_LOST))
    if c.encoder_fallback:
        found.append(Alarm("encoder_fallback", c.camera, c.encoder_fallback))
    return found + _identity_alarms(c, limits) + _tamper_alarms(c)


def _identity_alarms(c: CameraFacts, limits: Thresholds) -> list[Alarm]:
    """A declared move or new identity stays raised for `identity_change_s`: someone must look
    whether the camera was moved on purpose or something answers in its place."""
    since = c.identity_event_age_s
    alarm = IDENTITY_ALARMS.get(c.identity_event or "")
    if alarm is None or since is None or since >= limits.identity_change_s:
        return []
    return [Alarm(alarm, c.camera, c.identity_detail or alarm)]


def _tamper_alarms(c: CameraFacts) -> list[Alarm]:
    """The camera's own tamper detection (scene changed, lens covered, too dark…) is active."""
    if not c.tamper:
        return []
    return [Alarm("camera_tamper", c.camera, f"the camera reports {c.tamper}")]


@dataclass
class AlarmTracker:
    """Remembers since when each alarm is active; reports what was raised and cleared."""

    active: dict[tuple[str, str | None], tuple[Alarm, float]] = field(default_factory=dict)

    def update(self, alarms: list[Alarm], now: float) -> tuple[list[Alarm], list[Alarm]]:
        current = {(a.alarm, a.camera): a for a in alarms}
        raised = [a for key, a in current.items() if key not in self.active]
        cleared = [a for key, (a, _) in self.active.items() if key not in current]
        self.active = {
            key: (a, self.active[key][1] if key in self.active else now)
            for key, a in current.items()
        }
        return raised, cleared

    def payload(self, now: float) -> dict[str, object]:
        return {
            "ts": now,
            "active": [
                {"alarm": a.alarm, "camera": a.camera, "since": since, "detail": a.detail}
                for a, since in self.active.values()
            ],
        }
