"""What the freeze detector keeps of one decoded picture: a motion grid and full-resolution tiles.

Two views answer two questions. A 160x90 area-averaged grey grid answers "did something
move?": each cell averages 8x8 pixels of 720p (12x12 of 1080p), so a 10-pixel ball still moves
a cell by tens of grey levels while sensor noise averages out. A few untouched luma tiles answer
"is the sensor alive?": a live sensor never delivers the same pixels twice, a stuck camera (a
decoder repeating its last frame, an encoder fed the same buffer) repeats them bit for bit.

The tiles sit at fixed places away from the edges, where cameras draw their own clock and
name: a ticking OSD on a stuck camera must not pass for a live sensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

Gray = npt.NDArray[np.uint8]

GRID_SIZE = (160, 90)  # width, height: 16:9
TILE = 64  # pixels a side, full resolution (smaller for pictures under 256 pixels)
# Tile centres as fractions of the picture: two rows of four, clear of OSD corners and bands.
TILE_X = (0.12, 0.38, 0.62, 0.88)
TILE_Y = (0.32, 0.68)
# 8-bit formats whose first plane is the luma plane, row by row (the decoders' usual output).
LUMA_FIRST = frozenset(
    {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"}
)


@dataclass(frozen=True)
class PictureSample:
    grid: Gray  # GRID_SIZE area average of the luma plane
    tiles: Gray  # (n, side, side) copies of full-resolution luma


class PictureSampler:
    """`sample_picture` for one camera's pictures, keeping its scaler between them: setting
    up FFmpeg's area scaler costs about 1 ms, five times the scaling itself (PyAV would set
    up a new one for every frame). One thread's: a scaler is not shared."""

    def __init__(self) -> None:
        self._scaler = VideoReformatter()

    def __call__(self, frame: av.VideoFrame) -> PictureSample:
        return sample_picture(frame, self._scaler)


def sample_picture(frame: av.VideoFrame, scaler: VideoReformatter | None = None) -> PictureSample:
    """The grid and the tiles of a decoded frame: read-only copies, the frame is untouched."""
    grid, tiles = thumbnail(frame, GRID_SIZE, scaler), luma_tiles(frame)
    grid.setflags(write=False)
    tiles.setflags(write=False)
    return PictureSample(grid, tiles)


def thumbnail(
    frame: av.VideoFrame,
    size: tuple[int, int] = GRID_SIZE,
    scaler: VideoReformatter | None = None,
) -> Gray:
    """A small grey picture: FFmpeg's area average of the luma plane (a new frame; the
    decoded one is untouched). swscale does it in C, so no image library is loaded for it."""
    width, height = size
    scaler = scaler or VideoReformatter()
    small = scaler.reformat(frame, width=width, height=height, format="gray", interpolation="AREA")
    return np.asarray(small.to_ndarray(), dtype=np.uint8)


def luma_tiles(frame: av.VideoFrame) -> Gray:
    """Copies of the tiles, read in place from the luma plane (about 30 us at 720p)."""
    luma = _luma(frame)
    height, width = luma.shape
    side = min(TILE, width // 4, height // 4)
    if side < 1:
        return np.zeros((0, 0, 0), np.uint8)
    places = [
        (round((height - side) * fy), round((width - side) * fx)) for fy in TILE_Y for fx in TILE_X
    ]
    return np.stack([luma[y : y + side, x : x + side] for y, x in places])


def _luma(frame: av.VideoFrame) -> Gray:
    """The luma plane as a view (rows padded to the line size are cut off)."""
    if frame.format.name not in LUMA_FIRST:
        frame = frame.reformat(format="gray")
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), np.uint8, count=plane.line_size * frame.height)
    return rows.reshape(frame.height, plane.line_size)[:, : frame.width]
