"""Frozen is not still: synthetic samples, then simulated cameras encoded and decoded by x264.

The scenes are the three a site shows: a still room with sensor noise and the camera's ticking
clock (must be `scene_still`, never frozen), a stuck camera sending the same frame, bare or with
its clock still ticking (must freeze within `frozen_after_s`), and a small ball moving over a
still background (neither).
"""

from collections.abc import Callable, Iterator
from fractions import Fraction

import av
import numpy as np
import pytest

from cameras.freeze import MOTION_LEVEL, FreezeDetector, FreezeState
from cameras.picture import GRID_SIZE, PictureSample, sample_picture

W, H = GRID_SIZE
RNG = np.random.default_rng(6)
GRID = RNG.integers(0, 256, (H, W), dtype=np.uint8)
TILES = RNG.integers(0, 256, (8, 64, 64), dtype=np.uint8)


def _sample(grid: np.ndarray = GRID, tiles: np.ndarray = TILES) -> PictureSample:
    return PictureSample(grid.copy(), tiles.copy())


def _noise(tiles: np.ndarray = TILES) -> np.ndarray:
    """The same tiles with fresh sensor noise: a few pixels off by one."""
    flips = RNG.random(tiles.shape) < 0.05
    return np.where(flips, tiles ^ 1, tiles).astype(np.uint8)


def _run(d: FreezeDetector, samples: list[PictureSample], start: float = 0.0) -> list[FreezeState]:
    return [d.update(start + t, s) for t, s in enumerate(samples)]


def test_a_bit_identical_picture_freezes_after_the_configured_time() -> None:
    states = _run(FreezeDetector(frozen_after_s=5), [_sample()] * 8, start=100.0)
    assert [s.stuck_for_s for s in states] == [float(t) for t in range(8)]
    assert [s.frozen for s in states] == [False] * 5 + [True] * 3
    assert not any(s.scene_still for s in states)


def test_a_still_picture_with_sensor_noise_is_still_not_frozen() -> None:
    states = _run(FreezeDetector(frozen_after_s=5), [_sample(tiles=_noise()) for _ in range(10)])
    assert not any(s.frozen for s in states)
    assert [s.scene_still for s in states] == [False] * 5 + [True] * 5
    assert all(s.live_tiles == 8 for s in states[1:]) and states[-1].still_for_s == 9.0


def test_life_seen_once_per_gop_keeps_a_still_scene_alive() -> None:
    """With CRF the encoder skips the noise in P-frames: pictures repeat until the next IDR."""
    gop = [_sample(tiles=_noise())] * 3  # three pictures a GOP, identical within it
    samples = [s for _ in range(5) for s in [_sample(tiles=_noise()), *gop[1:]]]
    states = _run(FreezeDetector(frozen_after_s=3), samples)
    assert not any(s.frozen for s in states) and states[-1].scene_still


def test_a_ticking_osd_clock_in_one_tile_is_no_sign_of_life() -> None:
    samples = []
    for t in range(6):
        tiles = TILES.copy()
        tiles[0, 50:60, :40] = t  # the camera's clock, drawn over a stuck picture
        samples.append(_sample(tiles=tiles))
    states = _run(FreezeDetector(frozen_after_s=4), samples)
    assert [s.live_tiles for s in states[1:]] == [1] * 5
    assert states[-1].frozen


def test_motion_ends_a_still_run_and_a_frozen_one() -> None:
    d = FreezeDetector(frozen_after_s=2)
    assert _run(d, [_sample()] * 4)[-1].frozen
    moved = GRID.copy()
    moved[40:42, 70:72] ^= 0x80  # a small object: two by two cells of 8x8 pixels at 720p
    state = d.update(4.0, _sample(moved))
    assert not state.frozen and not state.scene_still and state.still_for_s == 0.0
    assert state.score >= MOTION_LEVEL and state.moved
    again = _run(d, [_sample(moved)] * 3, start=5.0)
    assert again[-1].frozen and again[-1].stuck_for_s == 3.0
    assert not any(s.moved for s in again)


def test_a_first_picture_and_a_live_still_one_have_not_moved() -> None:
    """Only motion lets passthrough put its next check off (segments/pictures.py)."""
    d = FreezeDetector(frozen_after_s=30)
    states = _run(d, [_sample(tiles=_noise()) for _ in range(4)])
    assert states[0].still_for_s == 0.0 and not any(s.moved for s in states)


def test_changes_in_the_osd_bands_are_not_motion() -> None:
    """The top and bottom eighth hold the camera's clock and name: ticking there is no motion."""
    d = FreezeDetector(frozen_after_s=3)
    states = []
    for t in range(5):
        grid = GRID.copy()
        grid[2:6, 4:40] = 40 * t  # the clock, top left
        grid[-5:-2, 100:150] = 255 - 40 * t  # a changing caption, bottom right
        states.append(d.update(float(t), _sample(grid)))
    assert all(s.score == 0.0 for s in states) and states[-1].frozen
    grid = GRID.copy()
    grid[12, 4] ^= 0x80  # just below the top band
    assert d.update(5.0, _sample(grid)).score >= MOTION_LEVEL


def test_a_slow_drift_adds_up_and_is_motion() -> None:
    """Dawn light: each second changes less than the motion level, the minute changes a lot."""
    d = FreezeDetector(frozen_after_s=10)
    step = MOTION_LEVEL / 4
    states = [d.update(float(t), _sample((GRID // 2 + round(step * t)).astype(np.uint8)))
              for t in range(40)]  # fmt: skip
    assert not any(s.frozen or s.scene_still for s in states)
    assert max(s.still_for_s for s in states) < 10


def test_irregular_times_reset_a_time_going_back_and_a_new_size() -> None:
    d = FreezeDetector(frozen_after_s=1)
    stamps = [10.0, 10.4, 11.3]
    assert [d.update(t, _sample()).stuck_for_s for t in stamps] == pytest.approx([0, 0.4, 1.3])
    assert d.update(12.0, _sample()).frozen
    d.reset()
    assert d.update(13.0, _sample()).stuck_for_s == 0.0
    assert d.update(1.0, _sample()).stuck_for_s == 0.0  # wall clock stepped back
    assert d.update(1.5, _sample()).stuck_for_s == 0.5
    assert d.update(2.0, _sample(tiles=TILES[:4])).stuck_for_s == 0.0


def test_uniform_is_reported() -> None:
    d = FreezeDetector(frozen_after_s=2)
    black = np.zeros((H, W), np.uint8)
    states = _run(d, [_sample(black, np.zeros_like(TILES))] * 3)
    assert all(s.uniform for s in states) and states[-1].frozen
    assert not FreezeDetector(1).update(0.0, _sample()).uniform


@pytest.mark.parametrize(("after", "level", "tiles"), [(0, 1.0, 3), (5, 0.0, 3), (5, 1.0, 0)])
def test_bad_settings_are_refused(after: float, level: float, tiles: int) -> None:
    with pytest.raises(ValueError):
        FreezeDetector(after, level, tiles)


# Simulated cameras: numpy scenes through libx264 and back, as the recorder sees them.

FPS = 10
SIZE = (480, 270)
SECONDS = 16
# x264 fed one picture again and again re-encodes it a little differently at each IDR until its
# rate control settles: measured 6 s (zerolatency) and 8 s (CRF 23), then bit-identical forever.
SETTLE_S = 8.0
FROZEN_AFTER_S = 5.0
# A camera-like encoder (CRF 23, 2 s GOP: P-frames skip faint noise) and the test server's.
ENCODERS = {
    "crf23": {"preset": "veryfast", "crf": "23", "g": str(2 * FPS)},
    "zerolatency": {"preset": "ultrafast", "tune": "zerolatency", "g": str(FPS)},
}


def _room() -> np.ndarray:
    """A still room: smooth shading, three boxes, fine texture (float luma)."""
    w, h = SIZE
    yy, xx = np.mgrid[0:h, 0:w]
    room = 90 + 40 * np.sin(xx / 100) + 30 * np.cos(yy / 75)
    for x0, y0, x1, y1, v in [(100, 120, 210, 250, 200), (300, 60, 450, 240, 60)]:
        room[y0:y1, x0:x1] = v
    return np.asarray(room + np.random.default_rng(1).normal(0, 4, (h, w)), np.float32)


def _clock(scene: np.ndarray, i: int) -> np.ndarray:
    """The camera's own OSD clock, top left: six 14x20 digits, one shade per value."""
    ticking = scene.copy()
    for place, digit in enumerate(f"{i // FPS:06d}"):
        x = 10 + 16 * place
        ticking[8:28, x : x + 14] = 30 + 20 * int(digit)
    return ticking


def noisy_static(room: np.ndarray, i: int, rng: np.random.Generator) -> np.ndarray:
    return _clock(room + rng.normal(0, 1.5, room.shape), i)  # temporal sensor noise


def bit_identical(room: np.ndarray, i: int, rng: np.random.Generator) -> np.ndarray:
    return room  # the stuck camera: the same buffer encoded again and again


def stuck_with_clock(room: np.ndarray, i: int, rng: np.random.Generator) -> np.ndarray:
    return _clock(room, i)  # the sensor is stuck, the camera's clock is drawn after it


def small_motion(room: np.ndarray, i: int, rng: np.random.Generator) -> np.ndarray:
    """A 10-pixel ball rolling 2 px a frame over the still background (no noise at all)."""
    w, h = SIZE
    yy, xx = np.mgrid[0:h, 0:w]
    scene = room.copy()
    scene[(xx - 40 - 2 * i) ** 2 + (yy - 80) ** 2 <= 25] = 235
    return scene


def _frames(
    scene: Callable[[np.ndarray, int, np.random.Generator], np.ndarray],
) -> Iterator[av.VideoFrame]:
    room, rng = _room(), np.random.default_rng(2)
    w, h = SIZE
    for i in range(SECONDS * FPS):
        planes = np.full((h * 3 // 2, w), 128, np.uint8)
        planes[:h] = np.clip(scene(room, i, rng), 0, 255).round()
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts = i
        yield frame


def _camera(scene: Callable[..., np.ndarray], options: dict[str, str]) -> list[av.VideoFrame]:
    """What a camera encoding `scene` sends, decoded again."""
    codec = av.CodecContext.create("libx264", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width, codec.height, codec.pix_fmt = *SIZE, "yuv420p"
    codec.time_base = Fraction(1, FPS)
    codec.options = dict(options)
    packets = [p for f in _frames(scene) for p in codec.encode(f)] + codec.encode(None)
    decoder = av.CodecContext.create("h264", "r")
    assert isinstance(decoder, av.VideoCodecContext)
    frames = [f for p in packets for f in decoder.decode(p)] + decoder.decode(None)
    return [f for f in frames if isinstance(f, av.VideoFrame)]


def _judge(frames: list[av.VideoFrame], keyframes_only: bool) -> list[tuple[float, FreezeState]]:
    """(stream time, verdict): burn-in sees a decoded picture each second, passthrough only
    keyframes (one or two seconds apart here)."""
    d = FreezeDetector(frozen_after_s=FROZEN_AFTER_S)
    states = []
    for i, frame in enumerate(frames):
        if frame.key_frame if keyframes_only else i % FPS == FPS // 2:
            states.append((i / FPS, d.update(i / FPS, sample_picture(frame))))
    return states


@pytest.fixture(scope="module", params=list(ENCODERS))
def cameras(request: pytest.FixtureRequest) -> dict[str, list[av.VideoFrame]]:
    options = ENCODERS[request.param]
    scenes = {
        "noisy": noisy_static,
        "stuck": bit_identical,
        "stuck_clock": stuck_with_clock,
        "ball": small_motion,
    }
    return {name: _camera(scene, options) for name, scene in scenes.items()}


@pytest.mark.parametrize("keyframes_only", [False, True], ids=["burn_in", "passthrough"])
def test_a_noisy_still_room_is_scene_still_and_never_frozen(
    cameras: dict[str, list[av.VideoFrame]], keyframes_only: bool
) -> None:
    states = [s for _, s in _judge(cameras["noisy"], keyframes_only)]
    assert not any(s.frozen for s in states)
    assert states[-1].scene_still and states[-1].still_for_s >= FROZEN_AFTER_S


@pytest.mark.parametrize("keyframes_only", [False, True], ids=["burn_in", "passthrough"])
@pytest.mark.parametrize("scene", ["stuck", "stuck_clock"])
def test_a_stuck_camera_freezes_within_frozen_after_s(
    cameras: dict[str, list[av.VideoFrame]], scene: str, keyframes_only: bool
) -> None:
    """Stuck from the first frame: frozen once x264 has settled (SETTLE_S), no later."""
    states = _judge(cameras[scene], keyframes_only)
    first = next(i for i, (_, s) in enumerate(states) if s.frozen)
    assert states[first][0] <= SETTLE_S + FROZEN_AFTER_S + 1.0
    assert all(s.frozen and not s.scene_still for _, s in states[first:])


@pytest.mark.parametrize("keyframes_only", [False, True], ids=["burn_in", "passthrough"])
def test_a_small_moving_ball_is_neither_still_nor_frozen(
    cameras: dict[str, list[av.VideoFrame]], keyframes_only: bool
) -> None:
    states = [s for _, s in _judge(cameras["ball"], keyframes_only)]
    assert not any(s.frozen or s.scene_still for s in states)
    assert min(s.score for s in states[1:]) >= MOTION_LEVEL
