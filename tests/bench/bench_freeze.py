"""Cost and evidence of the freeze check: `python3 -m tests.bench.bench_freeze [--scenes]`.

Cost: µs per picture at 720p and 1080p on decoded frames (best of a few rounds, the cores are
shared) for the former check's 64x36 thumbnail (for comparison), the grid (160x90 area
average), the full-resolution tiles, the detector's update, and the whole check; the daemon
runs it once a second per camera (once per keyframe, about every 3 s, in passthrough).

--scenes: the signals the detector relies on, for simulated 720p cameras (a still room with
sensor noise, a stuck camera fed one frame, a 10-pixel ball) through libx264 in several rate
control modes. Per scene: the median inter-frame packet size, and for pictures one second
apart the share of tile pixels that changed and the largest grid-cell change.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from fractions import Fraction

import av
import numpy as np

from cameras.freeze import FreezeDetector
from cameras.picture import luma_tiles, sample_picture, thumbnail
from tests.segments.clips import gradient_clip

ROUNDS = 5
PICTURES = 100


def _decoded(width: int, height: int) -> list[av.VideoFrame]:
    codec = av.CodecContext.create("h264", "r")
    packets = gradient_clip(width, height, 10, fps=25, gop=25)
    return list(itertools.chain.from_iterable(map(codec.decode, [*packets, None])))  # type: ignore[arg-type]


def _best_us(work: Callable[[av.VideoFrame], object], frames: list[av.VideoFrame]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for i in range(PICTURES):
            work(frames[i % len(frames)])
        best = min(best, (time.perf_counter_ns() - start) / 1000 / PICTURES)
    return best


def cost(width: int, height: int) -> dict[str, float]:
    frames = _decoded(width, height)
    detector = FreezeDetector(frozen_after_s=30)
    samples = [sample_picture(f) for f in frames]
    clock = itertools.count()

    def update(frame: av.VideoFrame) -> object:
        return detector.update(float(next(clock)), samples[int(frame.pts or 0) % len(samples)])

    def check(frame: av.VideoFrame) -> object:
        return detector.update(float(next(clock)), sample_picture(frame))

    return {
        "old 64x36 thumbnail": _best_us(lambda f: thumbnail(f, (64, 36)), frames),
        "grid": _best_us(thumbnail, frames),
        "tiles": _best_us(luma_tiles, frames),
        "update": _best_us(update, frames),
        "check": _best_us(check, frames),
    }


# Simulated cameras for --scenes.

W, H, FPS, SECONDS = 1280, 720, 25, 8
ENCODERS = {
    "crf23 gop2s": {"preset": "veryfast", "crf": "23", "g": "50"},
    "zerolatency": {"preset": "ultrafast", "tune": "zerolatency", "g": "25"},
    "cbr 1M": {"preset": "veryfast", "b": "1000000", "maxrate": "1000000", "bufsize": "1000000"},
    "cbr 250k": {"preset": "veryfast", "b": "250000", "maxrate": "250000", "bufsize": "250000"},
}


def _room(rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    room = 90 + 40 * np.sin(xx / 200) + 30 * np.cos(yy / 150)
    for x0, y0, x1, y1, v in [(200, 300, 420, 600, 200), (600, 200, 900, 650, 60)]:
        room[y0:y1, x0:x1] = v
    return np.asarray(room + rng.normal(0, 4, (H, W)), np.float32)


def _scene(kind: str) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(1)
    room = _room(rng)
    yy, xx = np.mgrid[0:H, 0:W]
    for i in range(SECONDS * FPS):
        if kind == "noisy":
            luma = room + rng.normal(0, 1.5, room.shape)
        elif kind == "ball":
            luma = room.copy()
            luma[(xx - 100 - 4 * i) ** 2 + (yy - 250) ** 2 <= 25] = 230
        else:
            luma = room
        yield np.clip(luma, 0, 255).round().astype(np.uint8)


def scene(kind: str, options: dict[str, str]) -> str:
    codec = av.CodecContext.create("libx264", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width, codec.height, codec.pix_fmt = W, H, "yuv420p"
    codec.time_base = Fraction(1, FPS)
    codec.options = dict(options)
    packets = []
    for i, luma in enumerate(_scene(kind)):
        planes = np.full((H * 3 // 2, W), 128, np.uint8)
        planes[:H] = luma
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts = i
        packets += codec.encode(frame)
    packets += codec.encode(None)
    inter = statistics.median(p.size for p in packets if not p.is_keyframe)
    decoder = av.CodecContext.create("h264", "r")
    frames = [f for p in [*packets, None] for f in decoder.decode(p)]  # type: ignore[arg-type]
    pictures = [sample_picture(f) for f in frames[FPS // 2 :: FPS]]  # type: ignore[arg-type]
    changed = [float(np.mean(a.tiles != b.tiles)) for a, b in itertools.pairwise(pictures)]
    moved = [int(np.abs(a.grid.astype(np.int16) - b.grid).max()) for b in pictures[1:]
             for a in pictures[:1]]  # fmt: skip
    return (
        f"P {inter:6.0f} B  tiles changed "
        + " ".join(f"{c:.2f}" for c in changed)
        + "  grid max "
        + " ".join(str(m) for m in moved)
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenes", action="store_true", help="also run the simulated cameras")
    args = p.parse_args()
    for width, height in [(1280, 720), (1920, 1080)]:
        us = cost(width, height)
        print(f"{height}p: " + ", ".join(f"{k} {v:.0f} µs" for k, v in us.items()))
    if args.scenes:
        for name, options in ENCODERS.items():
            for kind in ("noisy", "stuck", "ball"):
                print(f"{name:12} {kind:6} {scene(kind, options)}")


if __name__ == "__main__":
    main()
