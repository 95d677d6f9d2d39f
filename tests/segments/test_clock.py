"""The gateway's own clock: kernel sync status and wall-clock step detection."""

import pytest

from segments.clock import ClockStep, StepDetector, kernel_clock_status
from segments.records import ClockStatus


def test_kernel_clock_status_is_a_clock_status() -> None:
    s = kernel_clock_status()
    assert isinstance(s, ClockStatus)
    assert s.source in {"adjtimex", "adjtimex-failed", "unknown"}
    if s.source == "adjtimex":
        assert isinstance(s.synced, bool)
        assert s.est_error_s is not None and s.est_error_s >= 0
    else:
        assert s.synced is None and s.est_error_s is None


class FakeClocks:
    """Wall and monotonic clocks the test moves by hand."""

    def __init__(self, wall: float = 1_800_000_000.0, mono: float = 1000.0) -> None:
        self.wall = wall
        self.mono = mono

    def tick(self, seconds: float, wall_extra: float = 0.0) -> None:
        self.mono += seconds
        self.wall += seconds + wall_extra

    def detector(self, threshold_s: float = 1.0) -> StepDetector:
        return StepDetector(lambda: self.wall, lambda: self.mono, threshold_s)


def test_steady_clocks_give_no_step() -> None:
    c = FakeClocks()
    d = c.detector()
    for _ in range(100):
        c.tick(1.0)
        assert d.check() is None


def test_slow_drift_of_half_a_second_over_many_checks_is_no_step() -> None:
    c = FakeClocks()
    d = c.detector()
    for _ in range(500):
        c.tick(1.0, wall_extra=0.5 / 500)
        assert d.check() is None
    assert c.wall - c.mono == pytest.approx(1_800_000_000.0 - 1000.0 + 0.5)


@pytest.mark.parametrize("jump", [5.0, -3.0])
def test_a_jump_is_reported_once_with_its_size(jump: float) -> None:
    c = FakeClocks()
    d = c.detector()
    c.tick(1.0)
    assert d.check() is None
    before = c.wall
    c.tick(0.5, wall_extra=jump)
    step = d.check()
    assert isinstance(step, ClockStep)
    assert step.step_s == pytest.approx(jump)
    assert step.wall_before == before
    assert step.wall_after == c.wall
    for _ in range(10):
        c.tick(1.0)
        assert d.check() is None, "a step is reported only once"


def test_steps_at_the_threshold_are_not_reported_above_it_are() -> None:
    c = FakeClocks(wall=1000.0, mono=0.0)  # exact binary fractions: no rounding at the edge
    d = c.detector(threshold_s=1.0)
    c.tick(1.0, wall_extra=1.0)
    assert d.check() is None
    c.tick(1.0, wall_extra=-1.0)
    assert d.check() is None
    c.tick(1.0, wall_extra=1.25)
    step = d.check()
    assert step is not None and step.step_s == 1.25


def test_two_separate_jumps_are_two_steps() -> None:
    c = FakeClocks()
    d = c.detector()
    c.tick(1.0, wall_extra=5.0)
    first = d.check()
    c.tick(1.0, wall_extra=-3.0)
    second = d.check()
    assert first is not None and second is not None
    assert (first.step_s, second.step_s) == (pytest.approx(5.0), pytest.approx(-3.0))


def test_the_real_clocks_do_not_step_between_two_quick_checks() -> None:
    d = StepDetector()
    assert d.check() is None
