"""Which encoder made a burn-in camera's picture, as a record says it: light, no PyAV.

The recorder signs a `camera` record (reason `encoder_fallback`) when the configured encoder
could not be used; its extra holds `facts()`. The camera process reads it back from that
record to raise the alarm, so health says exactly what the ledger says.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .plan import SOFTWARE_ENCODER, EncodeSettings

ENCODER_FALLBACK = "encoder_fallback"
RENDER_NODE = "/dev/dri/renderD128"
DEVICES = {
    "h264_vaapi": RENDER_NODE,
    "h264_qsv": RENDER_NODE,
    "h264_nvenc": "/dev/nvidia0",
    "h264_v4l2m2m": "/dev/video*",
}
"""Where each hardware encoder's device usually is, when `[recording] encoder_device` is empty."""
DEVICE_INFO = {
    "h264_vaapi": ("/sys/dev/char", "/sys/devices"),
    "h264_qsv": ("/sys/dev/char", "/sys/devices"),
    "h264_nvenc": ("/proc/driver/nvidia", "/sys/dev/char", "/sys/devices"),
    "h264_v4l2m2m": ("/dev", "/sys/dev/char", "/sys/devices"),
}
"""What the drivers read to find their device (v4l2m2m lists /dev for m2m nodes)."""


@dataclass(frozen=True)
class EncoderChoice:
    """The encoder asked for and the one used; `reason` says why they differ (None: same)."""

    wanted: str
    used: str
    reason: str | None = None

    @property
    def fell_back(self) -> bool:
        return self.used != self.wanted

    def facts(self) -> dict[str, object]:
        """What the signed `camera` record and the event say about a fallback."""
        return {"wanted": self.wanted, "used": self.used, "why": self.reason}

    @classmethod
    def from_facts(cls, facts: Mapping[str, object]) -> EncoderChoice:
        why = facts.get("why")
        return cls(
            str(facts.get("wanted")), str(facts.get("used")), None if why is None else str(why)
        )

    def describe(self) -> str:
        return f"{self.wanted} unavailable ({self.reason}); recording with {self.used}"


def encoder_device(settings: EncodeSettings) -> str:
    """The configured device of a hardware encoder, else its usual one (may be a pattern)."""
    return settings.device or DEVICES[settings.codec]


def encoder_access(settings: EncodeSettings) -> tuple[list[Path], list[Path]]:
    """The device nodes the configured encoder opens, and what its driver reads to find
    them: a confined camera process must be allowed both (none for libx264)."""
    if settings.codec == SOFTWARE_ENCODER:
        return [], []
    pattern = encoder_device(settings)
    if settings.codec == "h264_nvenc":
        pattern = str(Path(pattern).parent / "nvidia*")  # with nvidiactl and nvidia-uvm
    nodes = [Path(p) for p in sorted(glob.glob(pattern))]
    return nodes, [Path(p) for p in DEVICE_INFO[settings.codec]]
