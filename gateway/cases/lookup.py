"""Which segments cover a camera's time range, where each one is, and what is missing.

The ledger says what was recorded (segments and declared gaps); the local folder and the index
say where each sealed file is now (local, confirmed upload, legal hold, evicted). Each
segment's verdict comes from the same slice check an export package gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evgw.errors import EvgwError, UsageError
from segments.checkpoint import Checkpoint
from segments.errors import CryptoFormatError
from segments.hashing import hash_file
from segments.index import Index
from segments.ledger import LEDGER_NAME, read_checkpoints, read_lines
from segments.package import ORIGINAL, make_proofs, original_name
from segments.records import MEDIA_KINDS, Record
from segments.signing import Verifier
from segments.slice_check import FileHash, check_slice
from segments.store import DataDir
from segments.trust import declared_key
from segments.verify import SeqFinding, StreamIssue, Verdict

from .sources import CaseSources

LOCAL, CENTRAL = "local", "central"
HOLE_TOLERANCE_S = 1.0  # clock jitter between one segment's end and the next one's start


class DamagedLedgerError(EvgwError):
    """The gateway's ledger cannot be read as asked (damaged, or nothing recorded)."""


@dataclass(frozen=True)
class Hole:
    """Time inside the range without a segment; `reason` from a gap record, else undeclared."""

    start: str
    end: str
    reason: str
    seq: int | None


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


@dataclass(frozen=True)
class FoundSegment:
    seq: int
    kind: str
    start: str | None
    end: str | None
    file: str | None
    state: str
    verdict: str
    detail: str


@dataclass(frozen=True)
class FindResult:
    camera: str
    start: str
    end: str
    source: str
    verdict: str
    segments: tuple[FoundSegment, ...]
    gaps: tuple[Hole, ...]
    issues: tuple[StreamIssue, ...]


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


def select(stream: Stream, start: datetime, end: datetime) -> Selection:
    """Media and gap records overlapping [start, end), and the slice of seqs spanning them."""
    media = [
        r for r in stream.records if r.kind in MEDIA_KINDS and r.file and _overlaps(r, start, end)
    ]
    gaps = [r for r in stream.records if r.kind == "gap" and _overlaps(r, start, end)]
    seqs = [r.seq for r in (*media, *gaps)]
    if not media:
        return Selection((), (), ())
    lines = stream.lines[min(seqs) : max(seqs) + 1]
    return Selection(lines, tuple(media), tuple(holes(media, gaps, start, end)))


def holes(
    media: Sequence[Record], gaps: Sequence[Record], start: datetime, end: datetime
) -> list[Hole]:
    """Parts of [start, end) no segment covers, named by the gap record overlapping them."""
    found: list[Hole] = []
    cursor = start
    for r in sorted(media, key=lambda r: _span(r)[0]):
        seg_start, seg_end = _span(r)
        if (seg_start - cursor).total_seconds() > HOLE_TOLERANCE_S:
            found.append(_hole(cursor, seg_start, gaps))
        cursor = max(cursor, seg_end)
    if (end - cursor).total_seconds() > HOLE_TOLERANCE_S:
        found.append(_hole(cursor, end, gaps))
    return found


def _hole(a: datetime, b: datetime, gaps: Sequence[Record]) -> Hole:
    for g in gaps:
        g_start, g_end = _span(g)
        if g_start < b and g_end > a:
            return Hole(a.isoformat(), b.isoformat(), g.reason or "gap", g.seq)
    return Hole(a.isoformat(), b.isoformat(), "undeclared", None)


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


def segment_states(sources: CaseSources, stream: Stream) -> dict[int, str]:
    """seq -> local | confirmed | held | evicted | purged | missing."""
    index = Index.open(sources.index_path)
    try:
        rows = {r.seq: r for r in index.local_segments() if r.stream == stream.camera}
    finally:
        index.close()
    purged = {p.extra.get("seq"): p.reason or "" for p in stream.records if p.kind == "purge"}
    states: dict[int, str] = {}
    for r in stream.records:
        if r.kind not in MEDIA_KINDS or not r.file:
            continue
        row = rows.get(r.seq)
        if (stream.root / r.file).is_file():
            held = row is not None and row.held
            states[r.seq] = "held" if held else "confirmed" if row and row.confirmed else LOCAL
        elif r.seq in purged:
            states[r.seq] = "evicted" if "confirmed" in purged[r.seq] else "purged"
        else:
            states[r.seq] = "missing"
    return states


def find(
    sources: CaseSources,
    camera: str,
    start: datetime,
    end: datetime,
    source: str,
    pubkey: Verifier | None,
) -> FindResult:
    """The segments covering [start, end) with their state and slice-check verdicts.

    Without `pubkey` the ledger's own key record is used: integrity, not origin.
    """
    stream = load_stream(sources, camera)
    chosen = select(stream, start, end)
    states = segment_states(sources, stream)
    findings: dict[int, SeqFinding] = {}
    issues: tuple[StreamIssue, ...] = ()
    verdict = Verdict.INCOMPLETE
    if chosen.lines:
        seqs = chosen.seqs
        checkpoint = stream.covering_checkpoint(seqs[-1])
        proofs = [] if checkpoint is None else make_proofs(stream.lines, seqs, checkpoint.size)
        check = check_slice(
            chosen.lines,
            verifier=pubkey or stream.ledger_key(),
            checkpoint=checkpoint,
            proofs={p.seq: p for p in proofs},
            file_hash=_file_hasher(sources, stream, chosen, source),
            check_plain=False,
            require_checkpoint=False,
        )
        findings = {f.seq: f for f in check.findings}
        issues, verdict = check.issues, check.verdict
    segments = tuple(_found(r, states, findings.get(r.seq)) for r in chosen.media)
    return FindResult(
        camera, start.isoformat(), end.isoformat(), source, str(verdict), segments, chosen.holes,
        issues,
    )  # fmt: skip


def _file_hasher(sources: CaseSources, stream: Stream, chosen: Selection, source: str) -> FileHash:
    """(size, SHA-256) of a sealed file where `source` says to look for it."""
    by_name = {f"{ORIGINAL}/{original_name(r)}": r for r in chosen.media}

    def file_hash(rel: str) -> tuple[int, str] | None:
        r = by_name[rel]
        assert r.file is not None
        local = stream.root / r.file
        if source == LOCAL and local.is_file():
            return hash_file(local)
        if sources.central is None:
            return None
        info = sources.central.head(sources.central_key(r))
        # A HEAD gives the size; the content hash is checked when it is exported.
        return None if info is None else (info.size, r.sha256_cipher or "")

    return file_hash


def _found(r: Record, states: dict[int, str], finding: SeqFinding | None) -> FoundSegment:
    return FoundSegment(
        r.seq, r.kind, r.start, r.end, r.file, states.get(r.seq, "missing"),
        finding.verdict if finding else "-", finding.detail if finding else "",
    )  # fmt: skip
