"""Wall-clock alignment of segment boundaries and the mapping from source PTS to wall time."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

from .errors import CryptoFormatError


def boundary_floor(wall: float, seconds: int) -> float:
    """Start of the aligned slot holding `wall` (14:03:27 → 14:03:00 for 60 s segments)."""
    return math.floor(wall / seconds) * seconds


def next_boundary(wall: float, seconds: int) -> float:
    return boundary_floor(wall, seconds) + seconds


def iso_utc(wall: float) -> str:
    """The form every record uses: UTC, microseconds, explicit offset."""
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="microseconds")


def parse_iso(text: object) -> datetime | None:
    """A record's `start`/`end` read back: an aware datetime, None when absent.

    Raises CryptoFormatError for anything else (not a string, not ISO 8601, no UTC offset):
    a ledger from elsewhere may hold anything, and a time without offset names no instant.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise CryptoFormatError(f"time {text!r} is not a string")
    try:
        when = datetime.fromisoformat(text)
    except ValueError as e:
        raise CryptoFormatError(f"time {text[:40]!r} is not ISO 8601") from e
    if when.tzinfo is None:
        raise CryptoFormatError(f"time {text[:40]!r} has no UTC offset")
    return when


def compact_utc(wall: float) -> str:
    """File-name form, sortable and free of ':' (20261127T060300Z)."""
    return datetime.fromtimestamp(wall, UTC).strftime("%Y%m%dT%H%M%SZ")


def pts_seconds(pts: int, time_base: Fraction) -> float:
    """`float(pts * time_base)`, to the same bit, without building a Fraction: integer true
    division rounds correctly, so it runs for every packet at a fraction of the cost."""
    return pts * time_base.numerator / time_base.denominator


@dataclass(frozen=True)
class PtsClock:
    """Wall time of a packet from its PTS, anchored once per connection.

    Timestamps come from the source, never from counting frames: a camera that drops
    frames leaves a visible hole instead of silently compressing time.
    """

    anchor_wall: float
    anchor_s: float

    @classmethod
    def anchor(cls, wall: float, pts: int, time_base: Fraction) -> PtsClock:
        return cls(anchor_wall=wall, anchor_s=pts_seconds(pts, time_base))

    def wall(self, pts: int, time_base: Fraction) -> float:
        return self.at(pts_seconds(pts, time_base))

    def at(self, seconds: float) -> float:
        """Wall time of a PTS already in seconds (`pts_seconds`), for a caller that has it."""
        return self.anchor_wall + seconds - self.anchor_s
