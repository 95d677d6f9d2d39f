"""Picture samples for the freeze detector: an area-averaged grid and full-resolution tiles."""

import av
import numpy as np
import pytest

from cameras.picture import (
    GRID_SIZE,
    TILE,
    PictureSampler,
    luma_tiles,
    sample_picture,
    thumbnail,
)

W, H = GRID_SIZE
RNG = np.random.default_rng(6)
SCENE = RNG.integers(0, 256, (H, W), dtype=np.uint8)


def _block_mean(luma: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The exact area average when the size divides the picture (16:9 sizes into 160x90)."""
    w, h = size
    rows, cols = luma.shape
    blocks = luma.reshape(h, rows // h, w, cols // w).astype(np.float64)
    return blocks.mean(axis=(1, 3))


def _frame(width: int, height: int, fmt: str) -> tuple[av.VideoFrame, np.ndarray]:
    """A frame in `fmt` showing the scene scaled up, and its luma as gray (full range)."""
    gray = np.kron(SCENE, np.ones((height // H, width // W), np.uint8))
    frame = av.VideoFrame.from_ndarray(gray, format="gray").reformat(format=fmt)
    return frame, frame.reformat(format="gray").to_ndarray()


@pytest.mark.parametrize("fmt", ["yuv420p", "nv12", "yuvj420p", "rgb24"])
def test_a_thumbnail_is_the_area_average_of_the_luma_plane(fmt: str) -> None:
    frame, luma = _frame(1280, 720, fmt)
    thumb = thumbnail(frame)
    assert thumb.shape == (H, W) and thumb.dtype == np.uint8
    assert np.abs(thumb - _block_mean(luma, GRID_SIZE)).max() <= 1.0


def test_a_thumbnail_of_an_odd_size_still_averages() -> None:
    """1000x562 is no multiple of the grid and its rows are padded: still an even average."""
    frame = av.VideoFrame.from_ndarray(np.full((562, 1000), 77, np.uint8), format="gray")
    frame = frame.reformat(format="yuv420p")
    assert frame.planes[0].line_size != frame.width
    thumb = thumbnail(frame)
    assert thumb.shape == (H, W) and np.abs(thumb.astype(int) - thumb[0, 0]).max() <= 1


def _yuv(luma: np.ndarray) -> av.VideoFrame:
    """A yuv420p frame with exactly this luma plane (grey chroma)."""
    height, width = luma.shape
    planes = np.full((height * 3 // 2, width), 128, np.uint8)
    planes[:height] = luma
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


def _where(luma: np.ndarray, tile: np.ndarray) -> tuple[int, int]:
    """Where a tile of random pixels sits in the luma plane (unique with certainty)."""
    side = tile.shape[0]
    for y, x in zip(*np.nonzero(luma[: -side + 1, : -side + 1] == tile[0, 0]), strict=True):
        if np.array_equal(luma[y : y + side, x : x + side], tile):
            return int(y), int(x)
    raise AssertionError("tile not found in the picture")


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1000, 562)])
def test_tiles_are_full_resolution_luma_from_inside_the_picture(width: int, height: int) -> None:
    luma = RNG.integers(0, 256, (height, width), dtype=np.uint8)
    frame = _yuv(luma)
    tiles = luma_tiles(frame)
    assert tiles.shape == (8, TILE, TILE)
    places = [_where(luma, tile) for tile in tiles]
    assert len(set(places)) == 8
    for y, x in places:
        assert 0.1 * height < y < 0.9 * height - TILE, "clear of OSD bands at top and bottom"
        assert 0.05 * width < x < 0.95 * width - TILE


def test_tiles_of_an_rgb_frame_are_its_grey_levels() -> None:
    frame, luma = _frame(1280, 720, "rgb24")
    for tile in luma_tiles(frame):
        _where(luma, tile)


def test_a_small_picture_gets_smaller_tiles() -> None:
    frame = av.VideoFrame.from_ndarray(np.zeros((120, 160), np.uint8), format="gray")
    assert luma_tiles(frame).shape == (8, 30, 30)


def test_a_sample_is_a_read_only_copy_and_leaves_the_frame_untouched() -> None:
    """The detector keeps samples as they are: nobody may write into them afterwards."""
    frame, _ = _frame(640, 360, "yuv420p")
    before = frame.to_ndarray().copy()
    sample = sample_picture(frame)
    for pixels in (sample.grid, sample.tiles):
        with pytest.raises(ValueError):
            pixels[:] = 0
    assert np.array_equal(frame.to_ndarray(), before)


def test_a_sampler_keeps_its_scaler_across_sizes_and_formats() -> None:
    """A reconnect may bring another resolution: the kept scaler follows, samples stay equal."""
    sampler = PictureSampler()
    for width, height, fmt in [(1280, 720, "yuv420p"), (640, 360, "nv12"), (1280, 720, "yuv420p")]:
        frame, _ = _frame(width, height, fmt)
        kept, fresh = sampler(frame), sample_picture(frame)
        assert np.array_equal(kept.grid, fresh.grid) and np.array_equal(kept.tiles, fresh.tiles)
