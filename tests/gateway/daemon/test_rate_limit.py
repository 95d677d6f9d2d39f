"""Token buckets: a burst at once, then the rate; each key on its own."""

from __future__ import annotations

import pytest

from gateway.daemon.rate_limit import RateLimiter


def test_burst_then_rate_per_key() -> None:
    limiter = RateLimiter(per_minute=6, burst=3)
    assert [limiter.allow("a", 0.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", 0.0), "another key has its own bucket"
    assert not limiter.allow("a", 9.0), "one token every 10 s"
    assert limiter.allow("a", 10.5) and not limiter.allow("a", 10.5)
    assert [limiter.allow("a", 1000.0) for _ in range(4)] == [True, True, True, False]


def test_refused_tries_do_not_cost_tokens() -> None:
    limiter = RateLimiter(per_minute=60, burst=1)
    assert limiter.allow("a", 0.0)
    assert not any(limiter.allow("a", 0.1 * i) for i in range(1, 10))
    assert limiter.allow("a", 1.0)


def test_a_clock_that_goes_back_adds_nothing() -> None:
    limiter = RateLimiter(per_minute=60, burst=1)
    assert limiter.allow("a", 100.0)
    assert not limiter.allow("a", 50.0)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (1, 0), (-1, 5)])
def test_a_limiter_that_admits_nothing_is_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate, burst)
