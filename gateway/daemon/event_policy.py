"""Which camera notifications become ledger records, and whether the camera says it is tampered.

Pure: no I/O, the time is passed in, so every rule is testable.

`EventThrottle` keeps a chatty camera (motion on every frame) from flooding the ledger:
- tamper and digital-input notifications are never coalesced: each one is recorded;
- motion and other notifications are coalesced per (topic, source): at most one record per
  `interval_s`; what arrives in between is held, and the latest held state is recorded when
  the interval is over (`due`), with `coalesced` = how many notifications it stands for, so
  the last state a camera reported is never lost;
- above all of it, at most `max_per_minute` records per camera: a hostile camera cannot fill
  the disk with signed records; what is refused there is counted (`dropped`) and logged.

`TamperLatch` says which tamper topic is active: raised while the camera says so, cleared
when it says state false, or after `hold_s` without news (a camera that never clears, or a
tamper topic that carries no state).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from cameras.event_topics import INPUT, TAMPER, Notification

MAX_KEYS = 256  # distinct (topic, source) pairs remembered; the oldest are forgotten first


@dataclass(frozen=True)
class Pending:
    """A notification to record, and how many notifications it stands for (itself included)."""

    notification: Notification
    arrived: float  # wall time it arrived
    coalesced: int = 1


@dataclass
class _Key:
    last_recorded: float
    held: Pending | None = None


class EventThrottle:
    def __init__(self, interval_s: float = 10.0, max_per_minute: int = 120) -> None:
        self.interval_s = interval_s
        self.max_per_minute = max_per_minute
        self.dropped = 0
        self._keys: dict[tuple[str, tuple[tuple[str, str], ...]], _Key] = {}
        self._recent: deque[float] = deque()

    def offer(self, n: Notification, now: float) -> list[Pending]:
        """What to record now for notification `n` arriving at `now` (possibly nothing)."""
        if n.kind in (TAMPER, INPUT):
            return self._admit([Pending(n, now)], now)
        key = (n.topic, n.source)
        seen = self._keys.get(key)
        if seen is None or now - seen.last_recorded >= self.interval_s:
            coalesced = 1 + (seen.held.coalesced if seen and seen.held else 0)
            self._remember(key, _Key(now))
            return self._admit([Pending(n, now, coalesced)], now)
        held = seen.held
        seen.held = Pending(n, now, 1 + (held.coalesced if held else 0))
        return []

    def due(self, now: float) -> list[Pending]:
        """Held notifications whose interval is over: record them now."""
        ready = []
        for seen in self._keys.values():
            if seen.held is not None and now - seen.last_recorded >= self.interval_s:
                ready.append(seen.held)
                seen.held, seen.last_recorded = None, now
        return self._admit(ready, now)

    def _remember(self, key: tuple[str, tuple[tuple[str, str], ...]], value: _Key) -> None:
        self._keys.pop(key, None)
        self._keys[key] = value
        while len(self._keys) > MAX_KEYS:
            del self._keys[next(iter(self._keys))]

    def _admit(self, wanted: list[Pending], now: float) -> list[Pending]:
        while self._recent and now - self._recent[0] >= 60.0:
            self._recent.popleft()
        room = max(0, self.max_per_minute - len(self._recent))
        self.dropped += max(0, len(wanted) - room)
        admitted = wanted[:room]
        self._recent.extend(now for _ in admitted)
        return admitted


class TamperLatch:
    def __init__(self, hold_s: float = 600.0) -> None:
        self.hold_s = hold_s
        self._active: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def update(self, n: Notification, now: float) -> None:
        if n.kind != TAMPER:
            return
        key = (n.topic, n.source)
        self._active.pop(key, None)
        if n.state is not False:
            self._active[key] = now
        while len(self._active) > MAX_KEYS:
            del self._active[next(iter(self._active))]

    def active(self, now: float) -> str | None:
        """The most recently raised tamper topic still active, else None."""
        for key in [k for k, at in self._active.items() if now - at >= self.hold_s]:
            del self._active[key]
        if not self._active:
            return None
        topic, _ = next(reversed(self._active))
        return topic
