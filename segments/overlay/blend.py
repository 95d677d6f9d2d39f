"""Blending the text into a frame's YUV planes with integer terms computed once per change.

Per plane, out = (bg * inv + add) >> 8 inside the text rectangle: no RGB round trip, a few
same-dtype numpy passes per frame. The terms change only when the text does, and then only
in the region that changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from av.video.plane import VideoPlane
from numpy.typing import NDArray

SUPPORTED_FORMATS = frozenset({"yuv420p", "yuvj420p", "nv12"})


@dataclass(frozen=True)
class BlendTerms:
    """Blend terms for the drawn text: out = (bg * inv + add) >> 8, per plane.

    Updated in place, region by region, when the text changes within one layout.
    """

    x: int
    y: int
    luma_inv: NDArray[np.uint16]
    luma_add: NDArray[np.uint16]
    chroma_inv: NDArray[np.uint16]
    chroma_add: NDArray[np.uint16]
    luma_buf: NDArray[np.uint16] = field(repr=False)
    chroma_buf: NDArray[np.uint16] = field(repr=False)

    @classmethod
    def for_canvas(
        cls, x: int, y: int, h: int, w: int, *, width: int, height: int, nv12: bool
    ) -> BlendTerms:
        """Terms for an h x w canvas at (x, y), clipped to what a width x height frame has
        (odd frame sizes, text wider than the frame); their values come from `update`."""
        lh, lw = min(h, height - y), min(w, width - x)
        cw_max = (width + 1) // 2 * (2 if nv12 else 1)
        cx = x if nv12 else x // 2
        ch = min(h // 2, (height + 1) // 2 - y // 2)
        cw = min(w if nv12 else w // 2, cw_max - cx)
        return cls(
            x=x,
            y=y,
            luma_inv=np.empty((lh, lw), np.uint16),
            luma_add=np.empty((lh, lw), np.uint16),
            chroma_inv=np.empty((ch, cw), np.uint16),
            chroma_add=np.empty((ch, cw), np.uint16),
            luma_buf=np.empty((lh, lw), np.uint16),
            chroma_buf=np.empty((ch, cw), np.uint16),
        )

    def update(
        self,
        red: NDArray[np.uint16],
        green: NDArray[np.uint16],
        at: tuple[int, int],
        *,
        nv12: bool,
        black: int,
        white: int,
    ) -> None:
        """Recompute the terms of the canvas region at `at` (even row, column) from the red
        (everything painted) and green (text) coverage Pillow would draw there."""
        r0, c0 = at
        # Alphas scaled 0..256 so that ">> 8" divides exactly.
        a_text = to256(green)
        a_all = np.maximum(to256(red), a_text)
        luma_add = black * (a_all - a_text) + white * a_text + 128
        blocks = a_all[0::2, 0::2] + a_all[0::2, 1::2] + a_all[1::2, 0::2] + a_all[1::2, 1::2]
        a_chroma = (blocks + 2) >> 2
        if nv12:  # interleaved U,V: same alpha for both bytes
            a_chroma = np.repeat(a_chroma, 2, axis=1)
            cc0 = c0
        else:
            cc0 = c0 // 2
        put(self.luma_inv, r0, c0, 256 - a_all)
        put(self.luma_add, r0, c0, luma_add)
        put(self.chroma_inv, r0 // 2, cc0, 256 - a_chroma)
        put(self.chroma_add, r0 // 2, cc0, 128 * a_chroma + 128)

    def apply(self, frame: av.VideoFrame, *, nv12: bool) -> None:
        """Blend into the frame's planes, in place (the frame must be writable)."""
        for region, inv, add, buf in self._regions(frame, nv12):
            blend_region(region, inv, add, buf)

    def save(self, frame: av.VideoFrame, *, nv12: bool) -> list[NDArray[np.uint8]]:
        """Copies of what `apply` will cover, for `restore`."""
        return [region.copy() for region, *_ in self._regions(frame, nv12)]

    def restore(self, frame: av.VideoFrame, saved: list[NDArray[np.uint8]], *, nv12: bool) -> None:
        """Put back what `save` copied: the frame's pixels are the decoder's again."""
        for (region, *_), before in zip(self._regions(frame, nv12), saved, strict=True):
            np.copyto(region, before)

    def _regions(
        self, frame: av.VideoFrame, nv12: bool
    ) -> list[tuple[NDArray[np.uint8], NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint16]]]:
        planes = frame.planes
        cy = self.y // 2
        cx = self.x if nv12 else self.x // 2
        chroma = planes[1:2] if nv12 else planes[1:3]
        luma = region_of(planes[0], self.x, self.y, self.luma_inv.shape)
        return [(luma, self.luma_inv, self.luma_add, self.luma_buf)] + [
            (region_of(p, cx, cy, self.chroma_inv.shape), self.chroma_inv, self.chroma_add,
             self.chroma_buf)
            for p in chroma
        ]  # fmt: skip


def put(dst: NDArray[np.uint16], row: int, col: int, values: NDArray[np.integer[Any]]) -> None:
    """dst[row:, col:] = values, clipped to dst."""
    h = min(values.shape[0], dst.shape[0] - row)
    w = min(values.shape[1], dst.shape[1] - col)
    if h > 0 and w > 0:
        dst[row : row + h, col : col + w] = values[:h, :w]


def to256(mask: NDArray[np.uint8] | NDArray[np.uint16]) -> NDArray[np.uint16]:
    """Map 0..255 coverage to 0..256 so fully opaque pixels replace the background exactly."""
    a = mask.astype(np.uint16, copy=False)
    return a + (a >> 7)


def region_of(plane: VideoPlane, x: int, y: int, shape: tuple[int, ...]) -> NDArray[np.uint8]:
    """plane[y:, x:] over `shape`, as a strided view of the frame's own memory."""
    h, w = shape
    stride = plane.line_size  # may exceed the visible width (alignment padding)
    return np.ndarray(
        (h, w), np.uint8, buffer=memoryview(plane), offset=y * stride + x, strides=(stride, 1)
    )


def blend_region(
    region: NDArray[np.uint8],
    inv: NDArray[np.uint16],
    add: NDArray[np.uint16],
    buf: NDArray[np.uint16],
) -> None:
    """region = (region * inv + add) >> 8, in place."""
    # Same-dtype passes: far faster than a mixed uint8*uint16 ufunc or a strided byte pick.
    np.copyto(buf, region)
    np.multiply(buf, inv, out=buf)
    np.add(buf, add, out=buf)
    np.right_shift(buf, 8, out=buf)
    np.copyto(region, buf, casting="unsafe")
