"""What a recorder is told to make: segment length, mode, encoder and overlay settings, recipients.

Plain data, light to import: the daemon builds a plan for each camera process without loading
the video stack, which only the camera process needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .agekeys import X25519Recipient
from .overlay.text import OverlaySpec


@dataclass(frozen=True)
class EncodeSettings:
    codec: str = "libx264"
    preset: str = "veryfast"
    crf: int = 23
    gop_s: float = 2.0


@dataclass(frozen=True)
class RecordingPlan:
    segment_seconds: int
    mode: str
    encode: EncodeSettings
    overlay: OverlaySpec
    tz: ZoneInfo
    recipients: tuple[X25519Recipient, ...]
    font_path: str | None = None
    max_camera_drift_s: float = 2.0
