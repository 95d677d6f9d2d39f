"""When does a camera count as hung? Pure rules over what the progress tracker observed.

A camera records, or sits in a declared gap; anything else for too long is a hang that nothing
else would notice (a deadlock, a hung decoder): the supervisor then kills its process, and the
systemd watchdog goes unfed. All times here are monotonic, so wall-clock steps never look like
a hang.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CameraProgress:
    """One camera as the rules see it; every time is `time.monotonic()`."""

    camera: str
    segment_seconds: float
    alive: bool
    online: bool
    gap_reason: str | None
    since: float
    last_frame_at: float | None = None
    last_sealed_at: float | None = None


@dataclass(frozen=True)
class ProgressLimits:
    """How long each kind of silence may last before it counts as a hang."""

    frame_stall_s: float = 20.0
    seal_margin_s: float = 30.0
    connect_grace_s: float = 60.0

    @classmethod
    def for_timeouts(cls, open_timeout_s: float, read_timeout_s: float) -> ProgressLimits:
        """Never stricter than the stream's own timeouts, which declare gaps first."""
        return cls(
            frame_stall_s=max(cls.frame_stall_s, 3 * read_timeout_s),
            connect_grace_s=max(cls.connect_grace_s, 3 * open_timeout_s),
        )


def camera_problem(cam: CameraProgress, now: float, limits: ProgressLimits) -> str | None:
    """Why this camera looks hung, or None while it records or is in a declared gap."""
    if not cam.alive:
        return f"{cam.camera}: worker is not running"
    if not cam.online:
        if cam.gap_reason is not None:
            return None
        waited = now - cam.since
        if waited > limits.connect_grace_s:
            return f"{cam.camera}: not connected after {waited:.0f} s and no gap recorded"
        return None
    frame_age = now - _latest(cam.since, cam.last_frame_at)
    if frame_age > limits.frame_stall_s:
        return f"{cam.camera}: no frame for {frame_age:.0f} s while online"
    seal_age = now - _latest(cam.since, cam.last_sealed_at)
    seal_limit = 2 * cam.segment_seconds + limits.seal_margin_s
    if seal_age > seal_limit:
        return f"{cam.camera}: no segment sealed for {seal_age:.0f} s (limit {seal_limit:.0f} s)"
    return None


def _latest(since: float, at: float | None) -> float:
    return since if at is None else max(since, at)


def progress_ok(
    cameras: Sequence[CameraProgress], now: float, limits: ProgressLimits | None = None
) -> tuple[bool, str]:
    """(True, "") when every camera makes progress or is in a declared gap; else the reasons."""
    limits = limits or ProgressLimits()
    problems = [p for cam in cameras if (p := camera_problem(cam, now, limits)) is not None]
    return not problems, "; ".join(problems)


def status_line(
    cameras: Sequence[CameraProgress],
    now: float,
    backlog: int | None,
    limits: ProgressLimits | None = None,
) -> str:
    """What `systemctl status` shows: e.g. "recording 3/4 cameras (yard-1: rtsp_timeout)"."""
    limits = limits or ProgressLimits()
    recording = [c for c in cameras if c.online and camera_problem(c, now, limits) is None]
    gaps = [f"{c.camera}: {c.gap_reason}" for c in cameras if not c.online and c.gap_reason]
    text = f"recording {len(recording)}/{len(cameras)} cameras"
    if gaps:
        text += f" ({', '.join(gaps)})"
    if backlog is not None:
        text += f", upload backlog {backlog}"
    return text
