"""What a recorder is told to make: segment length, mode, encoder and overlay settings, recipients.

Plain data, light to import: the daemon builds a plan for each camera process without loading
the video stack, which only the camera process needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal
from zoneinfo import ZoneInfo

from .agekeys import X25519Recipient
from .overlay.text import OverlaySpec

SOFTWARE_ENCODER: Final = "libx264"
Encoder = Literal["libx264", "h264_vaapi", "h264_v4l2m2m", "h264_qsv", "h264_nvenc"]
"""The H.264 encoders burn_in may be told to use; a hardware one falls back to libx264."""


@dataclass(frozen=True)
class EncodeSettings:
    codec: Encoder = SOFTWARE_ENCODER
    preset: str = "veryfast"  # libx264's, also when a hardware encoder falls back to it
    crf: int = 23
    gop_s: float = 2.0
    device: str | None = None  # a hardware encoder's device; None: its usual one


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
