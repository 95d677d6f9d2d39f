"""Is the camera's clock still honest? Camera PTS against arrival on the monotonic clock.

After a connection is anchored, camera PTS alone would drive the burned-in clock and the
ledger times, so a camera (or someone in the middle) could shift time without a trace. Each
video packet's *lateness* is how much later it arrived than its PTS says, relative to the
anchor: network delay makes it a little positive, never negative.

- A packet that arrives more than `threshold_s` *early* is impossible for a network: the PTS
  ran ahead (a forward jump, or a fast camera clock). Re-anchor at once.
- A PTS that steps back by more than `threshold_s` from the previous packet is a backward
  jump (an encoder restart, a rewritten timestamp). Re-anchor at once.
- A lateness above `threshold_s` that lasts a whole window (10 s) is a slow camera clock; a
  network stall or a recorder that fell behind for a moment clears within the window,
  because the packets that follow arrive in a burst that catches up. Real clocks drift by
  parts per million, so waiting that long costs no accuracy.

Pure: it sees numbers, not packets, and tells the recorder how far to move the PTS-to-wall
mapping (`Drift.jump_s`, positive = the camera ran behind).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

DRIFT_WINDOW_S = 10.0


@dataclass(frozen=True)
class Drift:
    """Move the PTS→wall mapping by `jump_s`; `discontinuous` when PTS itself jumped."""

    jump_s: float
    discontinuous: bool


class DriftWatch:
    def __init__(self, threshold_s: float, window_s: float = DRIFT_WINDOW_S) -> None:
        if threshold_s <= 0 or window_s <= 0:
            raise ValueError("drift threshold and window must be positive")
        self.threshold_s = threshold_s
        self.window_s = window_s
        self._base: float | None = None
        self._prev_pts: float | None = None
        self._recent: deque[tuple[float, float]] = deque()  # (arrival, lateness)
        self._on_time = 0  # entries of `_recent` whose lateness is within the threshold

    def anchor(self, base_s: float) -> None:
        """A new anchor: `base_s` is arrival (monotonic) minus PTS seconds of the anchor packet."""
        self._base = base_s
        self._prev_pts = None
        self._forget()

    def observe(self, pts_s: float, arrival_mono: float) -> Drift | None:
        """One live video packet; the re-anchoring it calls for, if any."""
        if self._base is None:
            return None
        lateness = arrival_mono - pts_s - self._base
        jumped = self._prev_pts is not None and abs(pts_s - self._prev_pts) > self.threshold_s
        self._prev_pts = pts_s
        drift: Drift | None = None
        if lateness < -self.threshold_s:
            drift = Drift(lateness, jumped)
        elif jumped and lateness > self.threshold_s:
            drift = Drift(lateness, True)
        else:
            drift = self._sustained(arrival_mono, lateness)
        if drift is not None:
            self._base += drift.jump_s
            self._forget()
        return drift

    def _forget(self) -> None:
        self._recent.clear()
        self._on_time = 0

    def _sustained(self, now: float, lateness: float) -> Drift | None:
        """A lateness above the threshold for a whole window (one older entry is kept, so the
        window always reaches back `window_s` once it has seen that much).

        Runs for every video packet, so it counts the window's on-time entries instead of
        searching the window (150..250 entries at 15..25 fps); only a drift reads them all.
        """
        recent, threshold = self._recent, self.threshold_s
        recent.append((now, lateness))
        if lateness <= threshold:
            self._on_time += 1
        oldest = now - self.window_s
        while len(recent) > 1 and recent[1][0] <= oldest:
            if recent.popleft()[1] <= threshold:
                self._on_time -= 1
        if self._on_time or recent[0][0] > oldest:
            return None
        return Drift(min(late for _, late in recent), False)
