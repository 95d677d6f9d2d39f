"""Ring-buffer policy: which sealed segments to remove when the local store is over its limits.

Pure: it sees the index's view of the local segments and two numbers about the disk, and
returns a plan; the retention executor writes the signed `purge` records and deletes. Order:
oldest confirmed-uploaded segments first; a segment under legal hold never; unconfirmed ones
only when nothing confirmed is left, and only if the policy allows it (else: stop recording).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .index_rows import SegmentRow

EVICT_UNUPLOADED = "evict_unuploaded"
STOP_RECORDING = "stop_recording"
ON_FULL = (EVICT_UNUPLOADED, STOP_RECORDING)

EVICTED_CONFIRMED = "evicted_confirmed"
EVICTED_UNUPLOADED = "evicted_unuploaded"

QUOTA = "quota"
MIN_FREE = "min_free"


@dataclass(frozen=True)
class Limits:
    """`[storage]`: a byte quota for sealed segments (0: none) and the free space to keep."""

    quota_bytes: int = 0
    min_free_bytes: int = 0
    on_full: str = EVICT_UNUPLOADED

    def __post_init__(self) -> None:
        if self.quota_bytes < 0 or self.min_free_bytes < 0:
            raise ValueError("quota_bytes and min_free_bytes must be >= 0 (0 disables a limit)")
        if self.on_full not in ON_FULL:
            raise ValueError(f"on_full must be one of {', '.join(ON_FULL)}, not {self.on_full!r}")


@dataclass(frozen=True)
class Usage:
    """Bytes of sealed segments on disk, and bytes the filesystem still has free."""

    used_bytes: int
    free_bytes: int


@dataclass(frozen=True)
class Eviction:
    segment: SegmentRow
    purge: bool  # True: not yet confirmed by central storage, so its only copy goes

    @property
    def reason(self) -> str:
        return EVICTED_UNUPLOADED if self.purge else EVICTED_CONFIRMED


@dataclass(frozen=True)
class Plan:
    """What to remove, oldest first; `stop_recording` when the rest may not be evicted."""

    evictions: tuple[Eviction, ...]
    stop_recording: bool
    needed_bytes: int  # what the limits ask to free (0: within limits)
    frees_bytes: int  # what the evictions free
    causes: tuple[str, ...]  # QUOTA and/or MIN_FREE: the limits exceeded

    @property
    def unmet_bytes(self) -> int:
        """Still over the limits after the plan (only held or kept segments remain)."""
        return max(0, self.needed_bytes - self.frees_bytes)

    @property
    def purges(self) -> tuple[Eviction, ...]:
        return tuple(e for e in self.evictions if e.purge)


def needed_bytes(limits: Limits, usage: Usage) -> tuple[int, tuple[str, ...]]:
    """Bytes to free so that both limits hold, and which limits are exceeded.

    Removing a segment lowers the used bytes and raises the free bytes by its size.
    """
    over_quota = usage.used_bytes - limits.quota_bytes if limits.quota_bytes else 0
    short_free = limits.min_free_bytes - usage.free_bytes if limits.min_free_bytes else 0
    causes = tuple(c for c, n in ((QUOTA, over_quota), (MIN_FREE, short_free)) if n > 0)
    return max(0, over_quota, short_free), causes


def plan(segments: Sequence[SegmentRow], limits: Limits, usage: Usage) -> Plan:
    """Evict oldest confirmed first, then (policy permitting) oldest unconfirmed; never held."""
    need, causes = needed_bytes(limits, usage)
    if need == 0:
        return Plan((), False, 0, 0, ())
    free_to_go = sorted((s for s in segments if not s.held), key=_age)
    confirmed = [s for s in free_to_go if s.confirmed]
    unconfirmed = [s for s in free_to_go if not s.confirmed]
    evictions, freed = _take(confirmed, need, purge=False)
    stop = False
    if freed < need:
        if limits.on_full == EVICT_UNUPLOADED:
            purges, more = _take(unconfirmed, need - freed, purge=True)
            evictions += purges
            freed += more
        else:
            stop = True
    return Plan(tuple(evictions), stop, need, freed, causes)


def _take(
    candidates: Iterable[SegmentRow], need: int, *, purge: bool
) -> tuple[list[Eviction], int]:
    taken: list[Eviction] = []
    freed = 0
    for segment in candidates:
        if freed >= need:
            break
        taken.append(Eviction(segment, purge))
        freed += segment.size
    return taken, freed


def _age(segment: SegmentRow) -> tuple[float, str, int]:
    return segment.start_ts, segment.stream, segment.seq
