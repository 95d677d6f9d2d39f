"""Generated H.264 test media: no media is committed, tests and benches make what they need."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np


def gradient_clip(width: int, height: int, count: int, *, fps: int, gop: int) -> list[av.Packet]:
    """A moving-gradient H.264 clip whose P-frames predict from earlier frames."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = Fraction(1, fps)
    codec.options = {"preset": "ultrafast", "bframes": "0", "g": str(gop)}
    yy, xx = np.mgrid[0:height, 0:width]
    packets: list[av.Packet] = []
    for i in range(count):
        y = ((xx + yy) // 2 + 3 * i).astype(np.uint8)
        uv = np.full((height // 2, width), 128, np.uint8)
        frame = av.VideoFrame.from_ndarray(np.vstack([y, uv]), format="yuv420p")
        frame.pts = i
        packets.extend(codec.encode(frame))
    packets.extend(codec.encode(None))
    return packets
