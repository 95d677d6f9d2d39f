"""How often a camera process checks for a frozen picture, and that the alarm still comes in
time at that cadence: a camera alive for a minute, then stuck, checked on its keyframes."""

import numpy as np
import pytest

from cameras.freeze import FreezeDetector
from cameras.picture import GRID_SIZE, PictureSample
from gateway.camera_plan import PASSTHROUGH_PICTURE_S, picture_interval_s

W, H = GRID_SIZE
RNG = np.random.default_rng(17)
GRID = RNG.integers(0, 256, (H, W), dtype=np.uint8)
TILES = RNG.integers(0, 256, (8, 64, 64), dtype=np.uint8)
KEYFRAME_S = 1.0
STUCK_AT = 60.0


def _picture(alive: bool) -> PictureSample:
    """The scene; a live sensor adds noise to every tile, a stuck camera repeats it."""
    tiles = np.where(RNG.random(TILES.shape) < 0.05, TILES ^ 1, TILES) if alive else TILES
    return PictureSample(GRID.copy(), tiles.astype(np.uint8))


def _first_frozen(frozen_after_s: float, interval_s: float) -> float:
    """Stream time of the first frozen verdict, pictures taken on keyframes as `PictureTap`
    takes them: the first keyframe at least `interval_s` after the last picture."""
    detector, last = FreezeDetector(frozen_after_s), None
    for k in range(int((STUCK_AT + 3 * frozen_after_s) / KEYFRAME_S)):
        ts = k * KEYFRAME_S
        if last is not None and ts - last < interval_s:
            continue
        last = ts
        if detector.update(ts, _picture(alive=ts < STUCK_AT)).frozen:
            assert ts >= STUCK_AT, "a live camera was reported frozen"
            return ts
    raise AssertionError("never reported frozen")


def test_burn_in_checks_every_second_passthrough_a_fifth_of_frozen_after_s() -> None:
    assert picture_interval_s("burn_in", 30.0) == 1.0
    assert picture_interval_s("passthrough", 30.0) == 6.0
    assert picture_interval_s("passthrough", 120.0) == 24.0
    assert picture_interval_s("passthrough", 3.0) == PASSTHROUGH_PICTURE_S  # never closer


@pytest.mark.parametrize("frozen_after_s", [2.0, 3.0, 10.0, 30.0, 120.0])
def test_a_stuck_camera_is_reported_within_frozen_after_s_and_one_interval(
    frozen_after_s: float,
) -> None:
    interval = picture_interval_s("passthrough", frozen_after_s)
    reported = _first_frozen(frozen_after_s, interval) - STUCK_AT
    assert reported <= frozen_after_s + interval + KEYFRAME_S
    assert reported <= 1.2 * frozen_after_s + KEYFRAME_S or interval == PASSTHROUGH_PICTURE_S
