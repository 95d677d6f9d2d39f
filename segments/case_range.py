"""Which ledger records cover a camera's time range, and what the time without a segment is.

The ledger says what was recorded (segments) and what was declared about the rest (`gap`
records, the `boot` record after a stop or a crash, the final checkpoint of a clean stop).
Time after the ledger's last record is not yet recorded (or, beyond now, in the future):
neither is an undeclared gap. Pure functions over records, so the box's `find`/`export` (its
local ledger) and the archive's (the records catalogued from the bucket) name every hole the
same way.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evgw.errors import UsageError

from .checkpoint import Checkpoint
from .errors import CryptoFormatError
from .records import MEDIA_KINDS, Record
from .signing import Verifier
from .trust import declared_key
from .verify.time_order import OUT_OF_TIMELINE, lasts

LOCAL, CENTRAL = "local", "central"
HOLE_TOLERANCE_S = 1.0  # clock jitter between one segment's end and the next one's start
DECLARED, UNDECLARED, BEFORE_LEDGER, NOT_YET_RECORDED, FUTURE = (
    "declared",
    "undeclared",
    "before_ledger",
    "not_yet_recorded",
    "future",
)
CLEAN_STOP = "operator_stop"


@dataclass(frozen=True)
class Hole:
    """Time inside the range without a segment, and what the ledger says about it.

    `status` is declared (by the `gap` or `boot` record `seq`, or by the final checkpoint
    of a clean stop when `seq` is None), undeclared, before_ledger (before its first
    record), not_yet_recorded (after its last record: the gateway may be recording now) or
    future (after now).
    """

    start: str
    end: str
    reason: str
    seq: int | None
    status: str = DECLARED


@dataclass(frozen=True)
class StreamEnd:
    """Where the ledger starts and stops, and whether it stopped cleanly."""

    first: datetime | None  # start of the first record on the recording timeline
    last: datetime | None  # end of the last record on the recording timeline
    stopped_cleanly: bool  # a final checkpoint covers every record (a clean stop)
    now: datetime


@dataclass(frozen=True)
class Selection:
    """The contiguous ledger slice `first..last` covering the range, its media and holes."""

    lines: tuple[bytes, ...]  # ledger lines of seqs first..last
    media: tuple[Record, ...]
    holes: tuple[Hole, ...]

    @property
    def seqs(self) -> range:
        first = Record.from_json(self.lines[0]).seq if self.lines else 0
        return range(first, first + len(self.lines))


@dataclass(frozen=True)
class Stream:
    camera: str
    root: Path
    lines: tuple[bytes, ...]
    records: tuple[Record, ...]
    checkpoints: tuple[Checkpoint, ...]

    def covering_checkpoint(self, last_seq: int) -> Checkpoint | None:
        """The newest checkpoint, if it covers `last_seq` (else the slice is not yet pinned)."""
        newest = max(self.checkpoints, key=lambda c: c.size, default=None)
        return newest if newest is not None and newest.size > last_seq else None

    def ledger_key(self) -> Verifier:
        """The key the ledger's own `key` record (seq 0) declares: integrity, not origin."""
        try:
            declared = declared_key(self.records[0])
        except CryptoFormatError as e:
            raise UsageError(f"{self.root}: {e}; pass --pubkey") from e
        if declared is None:
            raise UsageError(f"{self.root}: the ledger has no key record; pass --pubkey")
        return declared

    def end(self, now: datetime) -> StreamEnd:
        timeline = [span(r) for r in self.records if r.kind not in OUT_OF_TIMELINE and r.start]
        newest = max((c.size for c in self.checkpoints), default=0)
        return stream_end(timeline, newest == len(self.lines) > 0, now)


def stream_end(
    timeline: Sequence[tuple[datetime, datetime]], stopped_cleanly: bool, now: datetime
) -> StreamEnd:
    """Where a ledger starts and stops, from the spans of its records on the timeline."""
    first = min((s for s, _ in timeline), default=None)
    last = max((e for _, e in timeline), default=None)
    return StreamEnd(first, last, stopped_cleanly, now)


def select(
    stream: Stream, start: datetime, end: datetime, now: datetime | None = None
) -> Selection:
    """Media and declaring records overlapping [start, end), the slice of seqs spanning them,
    and the holes; `now` (default: the clock) separates not yet recorded from future."""
    tail = stream.end(now or datetime.now(UTC))
    return choose(stream.records, stream.lines, start, end, tail)


def slice_seqs(records: Sequence[Record], start: datetime, end: datetime) -> range | None:
    """The seqs from the first to the last record that records or declares time in
    [start, end); None when no segment lies there."""
    media = [
        r.seq for r in records if r.kind in MEDIA_KINDS and r.file and _overlaps(r, start, end)
    ]
    if not media:
        return None
    seqs = media + [r.seq for r in records if _declares(r) and _overlaps(r, start, end)]
    return range(min(seqs), max(seqs) + 1)


def choose(
    records: Sequence[Record],
    lines: Sequence[bytes] | Mapping[int, bytes],
    start: datetime,
    end: datetime,
    tail: StreamEnd,
) -> Selection:
    """`select` over any records that hold the slice, with `lines[seq]` their ledger lines:
    the box passes its whole ledger, the archive the records it fetched for the range."""
    span = slice_seqs(records, start, end)
    if span is None:
        return Selection((), (), ())
    chosen = [r for r in records if r.seq in span]
    media = [r for r in chosen if r.kind in MEDIA_KINDS and r.file and _overlaps(r, start, end)]
    declared = [r for r in chosen if _declares(r) and _overlaps(r, start, end)]
    sliced = tuple(lines[seq] for seq in span)
    return Selection(sliced, tuple(media), tuple(holes(media, declared, start, end, tail)))


def holes(
    media: Sequence[Record],
    declared: Sequence[Record],
    start: datetime,
    end: datetime,
    tail: StreamEnd,
) -> list[Hole]:
    """Parts of [start, end) no segment covers, each with what the ledger says about it."""
    found: list[Hole] = []
    cursor = start
    for r in sorted(media, key=lambda r: span(r)[0]):
        seg_start, seg_end = span(r)
        if (seg_start - cursor).total_seconds() > HOLE_TOLERANCE_S:
            found += _named(cursor, seg_start, declared, tail)
        cursor = max(cursor, seg_end)
    if (end - cursor).total_seconds() > HOLE_TOLERANCE_S:
        found += _named(cursor, end, declared, tail)
    return found


def _named(a: datetime, b: datetime, declared: Sequence[Record], tail: StreamEnd) -> list[Hole]:
    """The hole [a, b), cut where the ledger starts and ends and where now is."""
    marks = {t for t in (tail.first, tail.last, tail.now) if t is not None and a < t < b}
    parts: list[Hole] = []
    for s, e in itertools.pairwise(sorted({a, b, *marks})):
        if (e - s).total_seconds() <= HOLE_TOLERANCE_S:
            continue
        if s >= tail.now:
            parts.append(Hole(s.isoformat(), e.isoformat(), FUTURE, None, FUTURE))
        elif tail.first is not None and e <= tail.first:
            reason = "before the ledger's first record"
            parts.append(Hole(s.isoformat(), e.isoformat(), reason, None, BEFORE_LEDGER))
        elif tail.last is not None and s >= tail.last:
            parts.append(_after_last(s, e, tail))
        else:
            parts.append(_declared(s, e, declared))
    return parts


def _declared(a: datetime, b: datetime, declared: Sequence[Record]) -> Hole:
    for g in declared:
        g_start, g_end = span(g)
        if g_start < b and g_end > a:
            return Hole(a.isoformat(), b.isoformat(), g.reason or g.kind, g.seq, DECLARED)
    return Hole(a.isoformat(), b.isoformat(), UNDECLARED, None, UNDECLARED)


def _after_last(a: datetime, b: datetime, tail: StreamEnd) -> Hole:
    """After the ledger's last record: a clean stop declared it, else it is not recorded yet."""
    if tail.stopped_cleanly:
        return Hole(a.isoformat(), b.isoformat(), CLEAN_STOP, None, DECLARED)
    return Hole(a.isoformat(), b.isoformat(), "not yet recorded", None, NOT_YET_RECORDED)


def _declares(r: Record) -> bool:
    """A record that declares time without recording: a gap, or a lasting boot."""
    return r.kind == "gap" or (r.kind == "boot" and lasts(r))


def span(r: Record) -> tuple[datetime, datetime]:
    """Where `r` lies on the timeline (an instant when it has no end)."""
    start, end = r.start_ts, r.end_ts
    assert start is not None
    return _utc(start), _utc(start if end is None else end)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _overlaps(r: Record, start: datetime, end: datetime) -> bool:
    """Whether `r` lies partly in [start, end]; a one-frame segment is an instant, kept at end."""
    if r.start is None:
        return False
    s, e = span(r)
    if s == e:
        return start <= s <= end
    return s < end and e > start
