"""Frozen-picture detection: a stream that keeps delivering frames whose picture no longer changes.

Frame counters cannot see this (a frozen camera still sends 25 fps of the same image), so the
detector compares small grayscale thumbnails sampled about once per second. It is pure: the
caller feeds `(wall time, thumbnail)` samples and reads the state back.

A picture counts as unchanged while its mean absolute difference to the first picture of the
current still run stays below `threshold` (grey levels, 0..255). Comparing with the start of
the run rather than with the previous sample means a slow drift (dawn light, a slow pan) adds
up and ends the run instead of hiding below the per-sample threshold.

OpenCV is imported on first use: a camera process without frozen-picture checks never loads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

Thumbnail = npt.NDArray[np.uint8]

THUMB_SIZE = (64, 36)  # width, height: 16:9; each thumbnail pixel averages ~30x30 of 1080p
# Grey levels on the thumbnail. Measured: a 1080p static picture re-encoded by x264 (IDR vs
# P frames, CRF 23..35, with or without temporal noise) scores <= 0.28 and a ticking OSD clock
# 0.01; at 640x360 the simulator's smpte pattern moving 4 px/frame scores ~76 a second apart, its
# small bouncing ball 1.3..2.2. The threshold sits between noise and the smallest motion.
DEFAULT_THRESHOLD = 0.75
UNIFORM_STD = 2.0  # a thumbnail this flat is one colour: lens cap, black or blue screen

_LUMA_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p",
                         "nv12", "nv21", "nv16", "gray"})  # fmt: skip


@dataclass(frozen=True)
class FreezeState:
    frozen: bool
    still_for_s: float  # how long the picture has not changed (0.0 on a changed sample)
    score: float  # mean absolute difference to the still run's first picture (0..255)
    uniform: bool  # the picture is a single flat colour (reported, never counted as frozen)


class FreezeDetector:
    """Raises `frozen` once the picture has stayed unchanged for `frozen_after_s` seconds."""

    def __init__(self, frozen_after_s: float, threshold: float = DEFAULT_THRESHOLD) -> None:
        if frozen_after_s <= 0 or threshold <= 0:
            raise ValueError("frozen_after_s and threshold must be positive")
        self.frozen_after_s = frozen_after_s
        self.threshold = threshold
        self._reference: Thumbnail | None = None
        self._since = 0.0
        self._last_ts = 0.0

    def reset(self) -> None:
        """Forget the picture (call on reconnect: a new connection is not evidence of a freeze)."""
        self._reference = None

    def update(self, ts: float, thumb: Thumbnail) -> FreezeState:
        uniform = float(np.std(thumb)) < UNIFORM_STD
        ref = self._reference
        if ref is None or ref.shape != thumb.shape or ts < self._last_ts:
            return self._restart(ts, thumb, score=0.0, uniform=uniform)
        self._last_ts = ts
        import cv2

        score = float(cv2.mean(cv2.absdiff(ref, thumb))[0])
        if score >= self.threshold:
            return self._restart(ts, thumb, score, uniform)
        still = ts - self._since
        return FreezeState(still >= self.frozen_after_s, still, score, uniform)

    def _restart(self, ts: float, thumb: Thumbnail, score: float, uniform: bool) -> FreezeState:
        self._reference = thumb.copy()
        self._since = self._last_ts = ts
        return FreezeState(False, 0.0, score, uniform)


def thumbnail(frame: av.VideoFrame, size: tuple[int, int] = THUMB_SIZE) -> Thumbnail:
    """A small grey picture from the luma plane: a view of the plane and one area resize."""
    import cv2

    if frame.format.name not in _LUMA_FIRST:
        frame = frame.reformat(format="gray")
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
    luma = rows[:, : plane.width]
    return np.asarray(cv2.resize(luma, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
