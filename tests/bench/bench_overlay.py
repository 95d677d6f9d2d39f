"""Micro-benchmark of Overlay.apply: `python3 -m tests.bench.bench_overlay` from the repo root.

At 720p and 1080p, on frames decoded from a short in-memory H.264 clip (so make_writable
really copies, as in the daemon), prints µs per frame:

- first: the very first apply (font metrics, glyph cache, whole layout);
- mean: apply on 250 frames at 25 fps wall time, i.e. one text re-render every 25 frames,
  after two minutes of warm-up (the overlay caches glyphs and the seconds' redrawn regions);
- copy: make_writable alone on a decoded frame;
- blend: apply on an already writable frame within the same second;
- render: the extra cost of a frame that starts a new second, and that cost / 25.

Mean, blend, copy and render are the best of a few rounds, since the build box's cores are
shared.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import av

from segments.overlay import Overlay, OverlaySpec
from tests.segments.clips import gradient_clip

SPEC = OverlaySpec(location="某某检查站 一号卡口", camera="一号摄像机", gps=(31.230416, 121.473701))
WALL = 1_795_759_387.0
FPS = 25
FRAMES = 250
CLIP_FRAMES = 25
WARM_UP_S = 120


def _decoded(packets: list[av.Packet]) -> Iterator[av.VideoFrame]:
    """Decoded frames, endlessly: the clip is decoded again from its keyframe when it ends."""
    while True:
        codec = av.CodecContext.create("h264", "r")
        yield from itertools.chain.from_iterable(map(codec.decode, [*packets, None]))


def bench(width: int, height: int, rounds: int = 3) -> dict[str, float]:
    overlay = Overlay.open(
        SPEC, ZoneInfo("Asia/Shanghai"), width=width, height=height, pix_fmt="yuv420p"
    )
    frames = _decoded(gradient_clip(width, height, CLIP_FRAMES, fps=FPS, gop=250))
    start = time.perf_counter_ns()
    overlay.apply(next(frames), WALL)
    first = (time.perf_counter_ns() - start) / 1000
    frame = next(frames)
    for second in range(WARM_UP_S):
        overlay.apply(frame, WALL + second)
    mean = copy = blend = render = float("inf")
    for r in range(rounds):
        base = WALL + WARM_UP_S + r * FRAMES // FPS
        samples = []
        for i in range(FRAMES):
            frame = next(frames)
            start = time.perf_counter_ns()
            overlay.apply(frame, base + i / FPS)
            samples.append(time.perf_counter_ns() - start)
        mean = min(mean, statistics.fmean(samples) / 1000)
        copies = []
        for _ in range(FRAMES // 5):
            frame = next(frames)
            start = time.perf_counter_ns()
            frame.make_writable()
            copies.append(time.perf_counter_ns() - start)
        copy = min(copy, statistics.median(copies) / 1000)
        blends, renders = [], []
        for i in range(FRAMES // 5):
            start = time.perf_counter_ns()
            overlay.apply(frame, base + 500 + i + 0.5)  # a new second: render + blend
            mid = time.perf_counter_ns()
            overlay.apply(frame, base + 500 + i + 0.5)  # same second: blend only
            renders.append(mid - start)
            blends.append(time.perf_counter_ns() - mid)
        blend = min(blend, statistics.median(blends) / 1000)
        render = min(render, statistics.median(renders) / 1000 - blend)
    return {"first": first, "mean": mean, "copy": copy, "blend": blend, "render": render}


def main() -> None:
    for width, height in ((1280, 720), (1920, 1080)):
        r = bench(width, height)
        print(
            f"{height}p: first {r['first'] / 1000:5.1f} ms | "
            f"mean {r['mean']:6.1f} µs/frame over {FRAMES} frames at {FPS} fps | "
            f"copy {r['copy']:6.1f} | blend {r['blend']:5.1f} | "
            f"render {r['render']:7.1f} µs ({r['render'] / FPS:5.1f} µs/frame at {FPS} fps)"
        )


if __name__ == "__main__":
    main()
