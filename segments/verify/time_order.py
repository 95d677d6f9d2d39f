"""Step V5 of the stream verifier: records follow one another in time.

A record may not start before the previous one ends (nor end before it starts), unless a
`clock` record declared a backward step at least that large. Times are read with the checking
parser: an unreadable or offset-less time is itself a finding, never a guess.
"""

from __future__ import annotations

from datetime import datetime

from ..errors import CryptoFormatError
from ..records import Record
from ..timeline import parse_iso

TIME_TOLERANCE_S = 1.0  # clock jitter between a segment's end and the next record's start
STEP_TOLERANCE_S = 2.0
"""Slack around a declared clock step. A step is read off the wall clock, while segments run
on the camera's PTS timeline, which the recorder lets part from the wall clock by up to
`max_camera_drift_s` (2 s by default) before it re-anchors: a busy box's clock record may
start that much before the last segment ends, and the jump back to the next segment may
exceed the step by as much."""

OUT_OF_TIMELINE = frozenset({"purge", "hold", "export", "camera", "event"})
"""Records about other records or other times (evictions, legal holds, exports) or about the
camera (found at a new address, answering as another device, its own notifications): they are
appended whenever they happen, also while a segment is open or a gap is, so they stand outside
the recording timeline."""


class TimeOrder:
    """Walks the records in ledger order and names each one that goes back in time."""

    def __init__(self) -> None:
        self.ref: datetime | None = None  # end of the previous in-order, non-clock record
        self.allowance_s = 0.0  # backward clock steps not yet used up

    def check(self, record: Record, *, advance: bool) -> str | None:
        """The problem with `record`'s times, or None; `advance` False for an out-of-order
        record, which is checked but does not move the reference."""
        if record.kind in OUT_OF_TIMELINE:
            return None
        try:
            start, end = parse_iso(record.start), parse_iso(record.end)
        except CryptoFormatError:
            return "start/end is not an ISO 8601 time with UTC offset"
        back = 0.0
        if start is not None and self.ref is not None:
            back = (self.ref - start).total_seconds()
        inverted = 0.0
        if record.kind != "clock" and start is not None and end is not None:
            inverted = (start - end).total_seconds()
        slack = STEP_TOLERANCE_S if record.kind == "clock" or self.allowance_s else TIME_TOLERANCE_S
        problem = self._regression(back, inverted, slack)
        if not advance:
            return problem
        if record.kind == "clock":
            if start is not None and end is not None and end < start:
                self.allowance_s += (start - end).total_seconds()
        else:
            self.ref = end or start or self.ref
        return problem

    def _regression(self, back: float, inverted: float, slack: float) -> str | None:
        worst = max(back, inverted)
        if worst <= TIME_TOLERANCE_S or (back <= slack and inverted <= TIME_TOLERANCE_S):
            return None
        if worst <= self.allowance_s + slack:
            self.allowance_s = 0.0  # explained by the declared clock step
            return None
        if back >= inverted:
            return f"starts {back:.3f} s before the previous record ends (no clock step declared)"
        return f"ends {inverted:.3f} s before it starts (no clock step declared)"


def lasts(record: Record) -> bool:
    """A boot right after the previous record (first start, quick restart) leaves no gap."""
    try:
        start, end = parse_iso(record.start), parse_iso(record.end)
    except CryptoFormatError:
        return True
    return start is None or end is None or (end - start).total_seconds() > TIME_TOLERANCE_S
