"""Frozen-picture detection on synthetic thumbnails, and thumbnails made from decoded frames."""

import av
import numpy as np
import pytest

from cameras.freeze import DEFAULT_THRESHOLD, THUMB_SIZE, FreezeDetector, thumbnail

W, H = THUMB_SIZE
RNG = np.random.default_rng(6)
SCENE = RNG.integers(0, 256, (H, W), dtype=np.uint8)


def _bars(shift: int) -> np.ndarray:
    """Vertical bars scrolled `shift` pixels: the simulator's moving smpte, in small."""
    x = (np.arange(W) + shift) % W
    return np.tile((x // 8 * 32).astype(np.uint8), (H, 1))


def _noisy(base: np.ndarray, sigma: float = 0.6) -> np.ndarray:
    """The same picture with per-sample encoder noise (larger than measured on x264 output)."""
    noise = RNG.normal(0.0, sigma, base.shape)
    return np.clip(base + noise, 0, 255).round().astype(np.uint8)


def test_a_moving_picture_is_never_frozen() -> None:
    d = FreezeDetector(frozen_after_s=3)
    states = [d.update(float(t), _bars(4 * 25 * t)) for t in range(20)]
    assert not any(s.frozen for s in states)
    assert all(s.still_for_s == 0.0 for s in states)
    assert min(s.score for s in states[1:]) > 10 * DEFAULT_THRESHOLD


def test_a_noisy_static_picture_freezes_after_the_configured_time() -> None:
    d = FreezeDetector(frozen_after_s=5)
    states = [d.update(100.0 + t, _noisy(SCENE)) for t in range(8)]
    assert [s.still_for_s for s in states] == [float(t) for t in range(8)]
    assert [s.frozen for s in states] == [False] * 5 + [True] * 3
    assert 0 < max(s.score for s in states) < DEFAULT_THRESHOLD


def test_still_time_follows_irregular_sample_times() -> None:
    d = FreezeDetector(frozen_after_s=2.5)
    stamps = [10.0, 10.9, 12.3, 12.4, 13.6]
    states = [d.update(t, SCENE) for t in stamps]
    assert [s.still_for_s for s in states] == pytest.approx([0.0, 0.9, 2.3, 2.4, 3.6])
    assert [s.frozen for s in states] == [False, False, False, False, True]


def test_a_change_clears_frozen_and_the_timer_starts_again() -> None:
    d = FreezeDetector(frozen_after_s=2)
    for t in range(4):
        state = d.update(float(t), SCENE)
    assert state.frozen
    changed = d.update(4.0, _bars(0))
    assert not changed.frozen and changed.still_for_s == 0.0
    assert changed.score > DEFAULT_THRESHOLD
    assert not d.update(5.0, _bars(0)).frozen
    again = d.update(6.0, _bars(0))
    assert again.frozen and again.still_for_s == 2.0


def test_a_slow_drift_adds_up_and_is_not_a_freeze() -> None:
    """Dawn light: each second changes less than the threshold, the minute changes a lot."""
    d = FreezeDetector(frozen_after_s=10)
    step = DEFAULT_THRESHOLD / 2
    states = [d.update(float(t), (SCENE + round(step * t)).astype(np.uint8)) for t in range(40)]
    assert not any(s.frozen for s in states)
    assert max(s.still_for_s for s in states) < 10


def test_a_small_moving_object_counts_as_change() -> None:
    """A 6x6 blob (about 1.5 % of the picture) moving over a still background."""
    d = FreezeDetector(frozen_after_s=3)
    states = []
    for t in range(10):
        thumb = SCENE.copy()
        x = 6 * t % (W - 6)
        thumb[10:16, x : x + 6] = 255
        states.append(d.update(float(t), thumb))
    assert not any(s.frozen for s in states)


def test_uniform_is_reported_and_frozen_only_when_unchanged() -> None:
    d = FreezeDetector(frozen_after_s=2)
    black = np.zeros((H, W), np.uint8)
    states = [d.update(float(t), black) for t in range(3)]
    assert all(s.uniform for s in states) and states[-1].frozen
    d = FreezeDetector(frozen_after_s=2)
    levels = [d.update(float(t), np.full((H, W), 10 * t, np.uint8)) for t in range(5)]
    assert all(s.uniform and not s.frozen for s in levels)
    assert not FreezeDetector(1).update(0.0, SCENE).uniform


def test_reset_time_going_back_and_a_new_size_restart_the_timer() -> None:
    d = FreezeDetector(frozen_after_s=1)
    d.update(0.0, SCENE)
    assert d.update(2.0, SCENE).frozen
    d.reset()
    assert d.update(3.0, SCENE).still_for_s == 0.0
    assert d.update(1.0, SCENE).still_for_s == 0.0  # wall clock stepped back
    assert d.update(1.5, SCENE).still_for_s == 0.5
    small = SCENE.reshape(18, 2, 32, 2).mean(axis=(1, 3)).astype(np.uint8)
    assert d.update(2.0, small).still_for_s == 0.0


def test_the_detector_keeps_its_own_copy_of_the_reference() -> None:
    d = FreezeDetector(frozen_after_s=1)
    thumb = SCENE.copy()
    d.update(0.0, thumb)
    thumb[:] = 0  # the caller reuses its buffer
    assert d.update(1.0, SCENE).score == 0.0


@pytest.mark.parametrize(("frozen_after_s", "threshold"), [(0, 1.0), (5, 0.0), (-1, 1.0)])
def test_bad_settings_are_refused(frozen_after_s: float, threshold: float) -> None:
    with pytest.raises(ValueError):
        FreezeDetector(frozen_after_s, threshold)


def _block_mean(luma: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The exact area average when the size divides the picture (16:9 sizes into 64x36)."""
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
    assert np.abs(thumb - _block_mean(luma, THUMB_SIZE)).max() <= 1.0


def test_a_thumbnail_of_an_odd_size_still_averages() -> None:
    """1000x562 is no multiple of the thumbnail and its rows are padded: still an even average."""
    frame = av.VideoFrame.from_ndarray(np.full((562, 1000), 77, np.uint8), format="gray")
    frame = frame.reformat(format="yuv420p")
    assert frame.planes[0].line_size != frame.width
    thumb = thumbnail(frame)
    assert thumb.shape == (H, W) and np.abs(thumb.astype(int) - thumb[0, 0]).max() <= 1


def test_a_thumbnail_does_not_touch_the_frame() -> None:
    frame, _ = _frame(640, 360, "yuv420p")
    before = frame.to_ndarray().copy()
    thumb = thumbnail(frame)
    thumb[:] = 0
    assert np.array_equal(frame.to_ndarray(), before)
