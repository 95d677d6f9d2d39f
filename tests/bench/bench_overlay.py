"""Micro-benchmark of Overlay.apply: `python3 -m tests.bench.bench_overlay` from the repo root.

Prints µs per frame in steady state (same second: blend only) and per re-render (once a
second), at 720p and 1080p, on a writable frame (make_writable is then a no-op). Each figure
is the best of a few rounds, since the build box's cores are shared.
"""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import av
import numpy as np

from segments.overlay import Overlay, OverlaySpec

SPEC = OverlaySpec(location="某某检查站 一号卡口", camera="一号摄像机", gps=(31.230416, 121.473701))
WALL = 1_795_759_387.0


def bench(width: int, height: int, frames: int = 200, rounds: int = 5) -> tuple[float, float]:
    """(µs per blended frame, µs per frame that also re-renders the text)."""
    overlay = Overlay.open(
        SPEC, ZoneInfo("Asia/Shanghai"), width=width, height=height, pix_fmt="yuv420p"
    )
    data = np.random.default_rng(0).integers(0, 256, (height * 3 // 2, width), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(data, format="yuv420p")
    overlay.apply(frame, WALL)
    blend = render = float("inf")
    for r in range(rounds):
        start = time.perf_counter()
        for _ in range(frames):
            overlay.apply(frame, WALL + 0.5)
        blend = min(blend, (time.perf_counter() - start) / frames * 1e6)
        start = time.perf_counter()
        for i in range(frames // 20):
            overlay.apply(frame, WALL + 1 + r * frames + i)
        render = min(render, (time.perf_counter() - start) / (frames // 20) * 1e6)
    return blend, render


def main() -> None:
    for width, height in ((1280, 720), (1920, 1080)):
        blend, render = bench(width, height)
        print(f"{height}p: {blend:7.1f} µs/frame (blend), {render:8.1f} µs/frame with re-render")


if __name__ == "__main__":
    main()
