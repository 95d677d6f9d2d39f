"""Capped exponential backoff with jitter, so many gateways do not retry in lockstep.

One formula for every retry on the box: a camera reconnecting, a camera process restarting,
an upload waiting for the store.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

MAX_DOUBLINGS = 32  # far past any cap; keeps the power finite


def backoff_delay(
    failures: int,
    initial_s: float,
    cap_s: float,
    jitter: float,
    rng: random.Random,
    factor: float = 2.0,
) -> float:
    """initial·factor^(failures-1) capped at `cap_s`, then ±`jitter` of it (failures >= 1)."""
    base = min(cap_s, initial_s * factor ** min(max(failures - 1, 0), MAX_DOUBLINGS))
    spread = base * jitter
    return max(0.0, base + rng.uniform(-spread, spread))


@dataclass
class Backoff:
    """The same formula for one retrying loop that counts its own failures."""

    initial_s: float = 0.5
    cap_s: float = 5.0
    factor: float = 2.0
    jitter: float = 0.3
    rng: random.Random = field(default_factory=random.Random, repr=False)
    _failures: int = 0

    def next_delay(self) -> float:
        """Delay before the next attempt."""
        self._failures += 1
        return backoff_delay(
            self._failures, self.initial_s, self.cap_s, self.jitter, self.rng, self.factor
        )

    def reset(self) -> None:
        self._failures = 0
