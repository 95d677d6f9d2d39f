"""DriftWatch: when camera PTS and monotonic arrival part, and when they only seem to."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segments.drift import Drift, DriftWatch

FPS = 25
JITTER_CASES = 300


def run(watch: DriftWatch, arrivals: list[tuple[float, float]]) -> list[tuple[int, Drift]]:
    watch.anchor(0.0)
    found = []
    for n, (pts_s, mono) in enumerate(arrivals):
        d = watch.observe(pts_s, mono)
        if d is not None:
            found.append((n, d))
    return found


def test_honest_camera_never_drifts() -> None:
    frames = [(n / FPS, n / FPS + 0.05) for n in range(FPS * 600)]
    assert run(DriftWatch(2.0), frames) == []


def test_a_forward_jump_is_immediate_and_discontinuous() -> None:
    frames = [(n / FPS + (100 if n >= 50 else 0), n / FPS) for n in range(100)]
    [(n, d)] = run(DriftWatch(2.0), frames)
    assert n == 50 and d.discontinuous and d.jump_s == pytest.approx(-100)


def test_a_backward_jump_is_immediate_and_discontinuous() -> None:
    frames = [(n / FPS + (1000 - 100 if n >= 50 else 1000), 1000 + n / FPS) for n in range(100)]
    [(n, d)] = run(DriftWatch(2.0), frames)
    assert n == 50 and d.discontinuous and d.jump_s == pytest.approx(100)


def test_slow_clock_needs_a_whole_window_above_the_threshold() -> None:
    frames = [(n / FPS, 2 * n / FPS) for n in range(FPS * 10)]
    found = run(DriftWatch(2.0, window_s=2.0), frames)
    n, d = found[0]
    assert not d.discontinuous and d.jump_s > 2.0
    assert 2 * n / FPS >= 2.0 + 2.0  # 2 s behind, then confirmed over 2 s
    assert len(found) >= 2  # and again as the clock keeps drifting


def test_a_stall_then_burst_is_no_drift() -> None:
    frames = [(n / FPS, n / FPS if n < 100 else max(n / FPS, 7.0)) for n in range(300)]
    assert run(DriftWatch(2.0), frames) == []


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        DriftWatch(0.0)


@settings(max_examples=JITTER_CASES, deadline=None)
@given(
    delays=st.lists(st.floats(0.0, 1.9), min_size=10, max_size=400),
    offset=st.floats(-1e6, 1e6),
)
def test_fuzz_network_delay_below_the_threshold_is_never_drift(
    delays: list[float], offset: float
) -> None:
    """Any delay pattern under the threshold (bursts, stalls, reordering) moves nothing."""
    watch = DriftWatch(2.0)
    watch.anchor(offset)
    for n, delay in enumerate(delays):
        assert watch.observe(n / FPS, offset + n / FPS + delay) is None


def test_a_recorder_behind_for_seconds_then_catching_up_is_no_drift() -> None:
    """An overloaded box reads 3-4 s late for 6 s, then catches up: the camera is honest."""
    frames = []
    for n in range(FPS * 30):
        pts = n / FPS
        late = 3.5 if 5.0 <= pts < 11.0 else 0.05
        frames.append((pts, pts + late))
    assert run(DriftWatch(2.0), frames) == []
