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

PASSTHROUGH_PICTURE_S = 3.0


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
        return 1.0 if self.camera.overlay == "burn_in" else PASSTHROUGH_PICTURE_S
