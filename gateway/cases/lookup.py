"""Which ledger records cover a camera's time range, and what the time without a segment is.

The ledger says what was recorded (segments) and what was declared about the rest (`gap`
records, the `boot` record after a stop or a crash, the final checkpoint of a clean stop).
Time after the ledger's last record is not yet recorded (or, beyond now, in the future):
neither is an undeclared gap. `find` (where each segment is, its verdict) and `export` (the
package) build on this selection.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evgw.errors import EvgwError, UsageError
from segments.checkpoint import Checkpoint
from segments.errors import CryptoFormatError
from segments.ledger import LEDGER_NAME, read_checkpoints, read_lines
from segments.records import MEDIA_KINDS, Record
from segments.signing import Verifier
from segments.store import DataDir
from segments.trust import declared_key
from segments.verify.time_order import OUT_OF_TIMELINE, lasts

from .sources import CaseSources

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


class DamagedLedgerError(EvgwError):
    """The gateway's ledger cannot be read as asked (damaged, or nothing recorded)."""


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
        timeline = [r for r in self.records if r.kind not in OUT_OF_TIMELINE and r.start]
        first = min((_span(r)[0] for r in timeline), default=None)
        last = max((_span(r)[1] for r in timeline), default=None)
        newest = max((c.size for c in self.checkpoints), default=0)
        return StreamEnd(first, last, newest == len(self.lines) > 0, now)


def load_stream(sources: CaseSources, camera: str) -> Stream:
    if camera not in sources.cameras:
        known = ", ".join(sources.cameras)
        raise UsageError(f"{sources.config_path}: no camera {camera!r} (configured: {known})")
    root = DataDir(sources.data_dir).stream(camera)
    lines = tuple(read_lines(root / LEDGER_NAME))
    if not lines:
        raise UsageError(f"{root / LEDGER_NAME}: no ledger for camera {camera!r}; nothing recorded")
    records = tuple(Record.from_json(line) for line in lines)
    for i, r in enumerate(records):
        if r.seq != i:
            raise DamagedLedgerError(
                f"{root / LEDGER_NAME} line {i + 1} holds seq {r.seq}: the ledger is damaged",
                hint=f"run `evgw verify {sources.data_dir}`",
            )
    return Stream(camera, root, lines, records, tuple(read_checkpoints(root)))


def select(
    stream: Stream, start: datetime, end: datetime, now: datetime | None = None
) -> Selection:
    """Media and declaring records overlapping [start, end), the slice of seqs spanning them,
    and the holes; `now` (default: the clock) separates not yet recorded from future."""
    media = [
        r for r in stream.records if r.kind in MEDIA_KINDS and r.file and _overlaps(r, start, end)
    ]
    declared = [r for r in stream.records if _declares(r) and _overlaps(r, start, end)]
    if not media:
        return Selection((), (), ())
    seqs = [r.seq for r in (*media, *declared)]
    lines = stream.lines[min(seqs) : max(seqs) + 1]
    tail = stream.end(now or datetime.now(UTC))
    return Selection(lines, tuple(media), tuple(holes(media, declared, start, end, tail)))


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
    for r in sorted(media, key=lambda r: _span(r)[0]):
        seg_start, seg_end = _span(r)
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
        g_start, g_end = _span(g)
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


def _span(r: Record) -> tuple[datetime, datetime]:
    start, end = r.start_ts, r.end_ts
    assert start is not None
    return _utc(start), _utc(start if end is None else end)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _overlaps(r: Record, start: datetime, end: datetime) -> bool:
    """Whether `r` lies partly in [start, end]; a one-frame segment is an instant, kept at end."""
    if r.start is None:
        return False
    s, e = _span(r)
    if s == e:
        return start <= s <= end
    return s < end and e > start
