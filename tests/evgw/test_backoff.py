"""Capped exponential backoff: growth, cap, jitter bounds and reset."""

import random

from evgw.backoff import Backoff


def _delays(b: Backoff, n: int) -> list[float]:
    return [b.next_delay() for _ in range(n)]


def test_without_jitter_delays_double_up_to_the_cap() -> None:
    b = Backoff(initial_s=0.5, cap_s=5.0, factor=2.0, jitter=0.0)
    assert _delays(b, 7) == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_factor_is_honoured() -> None:
    b = Backoff(initial_s=1.0, cap_s=100.0, factor=3.0, jitter=0.0)
    assert _delays(b, 4) == [1.0, 3.0, 9.0, 27.0]


def test_jitter_stays_within_its_fraction_of_the_base() -> None:
    b = Backoff(initial_s=0.5, cap_s=5.0, jitter=0.3, rng=random.Random(1234))
    bases = [0.5, 1.0, 2.0, 4.0] + [5.0] * 200
    delays = _delays(b, len(bases))
    for base, d in zip(bases, delays, strict=True):
        assert base * 0.7 <= d <= base * 1.3, (base, d)
    capped = delays[4:]
    assert max(capped) <= 6.5
    assert len(set(capped)) > 100, "jitter should spread the delays"
    assert min(capped) < 4.5 < 5.5 < max(capped), "jitter should use most of its range"


def test_same_seed_gives_the_same_sequence() -> None:
    a = Backoff(rng=random.Random(7))
    b = Backoff(rng=random.Random(7))
    c = Backoff(rng=random.Random(8))
    assert _delays(a, 10) == _delays(b, 10)
    assert _delays(Backoff(rng=random.Random(7)), 10) != _delays(c, 10)


def test_delay_is_never_negative_with_jitter_over_one() -> None:
    b = Backoff(initial_s=1.0, cap_s=1.0, jitter=2.0, rng=random.Random(0))
    delays = _delays(b, 500)
    assert min(delays) == 0.0
    assert all(0.0 <= d <= 3.0 for d in delays)


def test_reset_starts_again_from_the_initial_delay() -> None:
    b = Backoff(initial_s=0.5, cap_s=5.0, jitter=0.0)
    _delays(b, 6)
    b.reset()
    assert _delays(b, 3) == [0.5, 1.0, 2.0]


def test_a_camera_down_for_hours_keeps_the_capped_delay() -> None:
    b = Backoff(initial_s=0.5, cap_s=5.0, jitter=0.0)
    assert _delays(b, 2000)[-1] == 5.0
