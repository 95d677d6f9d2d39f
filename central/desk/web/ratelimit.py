"""The login rate limit: after `limit` failed logins within `window_s` from one address, that
address gets no answer to its guesses until the oldest failure leaves the window.

Pure bookkeeping over the times it is told (the app passes its clock), held in memory by one
desk process: a restart forgets it, which only gives a guesser another five tries.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

MAX_ADDRESSES = 10_000  # beyond this, addresses without recent failures are forgotten


@dataclass
class LoginLimiter:
    limit: int = 5
    window_s: float = 60.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def blocked(self, address: str, now: float) -> bool:
        """Whether `address` used up its failures within the window."""
        return len(self._recent(address, now)) >= self.limit

    def failed(self, address: str, now: float) -> None:
        if len(self._failures) >= MAX_ADDRESSES:
            self._forget_old(now)
        self._recent(address, now).append(now)

    def retry_after_s(self, address: str, now: float) -> int:
        """Whole seconds until `address` may try again (0: now)."""
        recent = self._recent(address, now)
        if len(recent) < self.limit:
            return 0
        return max(1, int(recent[-self.limit] + self.window_s - now + 0.999))

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.setdefault(address, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def _forget_old(self, now: float) -> None:
        for address in list(self._failures):
            if not self._recent(address, now):
                del self._failures[address]
