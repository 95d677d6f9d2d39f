"""Token buckets per key (no I/O, the time passed in): `burst` at once, then `per_minute`.

The command gate keeps one per operator key, so one operator (or one stolen operator key)
cannot flood the ledger with holds, and one for its own refusal reports, so a flood of forged
commands costs a bounded number of log lines and events.
"""

from __future__ import annotations


class RateLimiter:
    def __init__(self, per_minute: float, burst: int) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError(f"rate {per_minute}/min with burst {burst} admits nothing")
        self.per_minute = per_minute
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def allow(self, key: str, now: float) -> bool:
        """Take one token from `key`'s bucket at monotonic time `now`, if it has one."""
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.per_minute / 60.0)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        return allowed
