"""What one camera process is given: its own camera and nothing else (built by `wiring`).

A camera process parses hostile bytes (FFmpeg), so its plan carries no signing key, no path
to one, no other camera's credentials, no `[discovery]` default credentials (they are already
resolved into this camera's own) and nothing of the uplink. Plain data, light to import: the
daemon builds it without loading the video stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from segments.plan import RecordingPlan
from segments.records import StreamIdentity

from .config import CameraConfig, DiscoveryConfig, RecordingConfig

PASSTHROUGH_PICTURE_S = 3.0  # the shortest interval between passthrough's picture checks
CHECKS_PER_FROZEN = 5  # passthrough picture checks within frozen_after_s


def picture_interval_s(overlay: str, frozen_after_s: float) -> float:
    """Seconds between frozen-picture checks.

    Burn-in decodes every frame anyway: a picture a second. Passthrough decodes a keyframe for
    each check, its largest cost after the remux (about 4 ms at 360p here, a sixth of the
    camera process's CPU at one check every 3 s), so it checks a fifth of `frozen_after_s`
    apart (3 s at least): a stuck camera is still reported within `frozen_after_s` and one
    interval (1.2 x frozen_after_s; 36 s at the default 30 s), plus the keyframe interval.
    While the picture moves and its P-frames stay busy, checks wait up to five intervals
    (`segments.pictures`): a picture that sticks stops the bytes, so the bound holds, except
    for an encoder padding an unchanged picture: within 2 x frozen_after_s (30 s under 15 s).
    """
    if overlay == "burn_in":
        return 1.0
    return max(PASSTHROUGH_PICTURE_S, frozen_after_s / CHECKS_PER_FROZEN)


@dataclass(frozen=True)
class CameraPlan:
    """Everything one camera process needs, picklable: its own camera and nothing else."""

    camera: CameraConfig
    recording: RecordingPlan
    identity: StreamIdentity
    timeouts: RecordingConfig
    discovery: DiscoveryConfig
    data_dir: Path
    frozen_after_s: float

    def __post_init__(self) -> None:
        if self.discovery.username is not None or self.discovery.password is not None:
            raise ValueError("a camera plan carries no [discovery] credentials")

    @property
    def picture_interval_s(self) -> float:
        """Frozen-picture checks decode every frame in burn_in, only keyframes in passthrough."""
        return picture_interval_s(self.camera.overlay, self.frozen_after_s)
