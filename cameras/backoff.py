"""Capped exponential backoff with jitter, so many gateways do not reconnect in lockstep."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    initial_s: float = 0.5
    cap_s: float = 5.0
    factor: float = 2.0
    jitter: float = 0.3
    rng: random.Random = field(default_factory=random.Random, repr=False)
    _attempt: int = 0

    def next_delay(self) -> float:
        """Delay before the next attempt: initial·factor^n capped, then ±jitter."""
        base = min(self.cap_s, self.initial_s * self.factor**self._attempt)
        if base < self.cap_s:
            self._attempt += 1
        spread = base * self.jitter
        return max(0.0, base + self.rng.uniform(-spread, spread))

    def reset(self) -> None:
        self._attempt = 0
