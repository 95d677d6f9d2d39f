"""`archive find`: the segments covering a camera's time range as the archive holds them.

The same answer as the box's `find` (`segments.case_found`), from the catalogue and the
bucket: each segment's state and slice-check verdict, and the holes named by the ledger's
own records. At the archive a segment is `confirmed` when a version of its object has the
signed size and SHA-256 (the store's checksum, no download), `held` when a signed hold
record (not released) covers it, `evicted` when the box's signed purge says it removed its
copy after the upload; an absent object is `purged` only when a signed purge declares it lost
before any upload, else `missing`. Origin comes only from the [trust] key of the gateway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from segments.case_found import (
    CONFIRMED,
    EVICTED,
    HELD,
    MISSING,
    PURGED,
    FindResult,
    found_segment,
)
from segments.case_range import CENTRAL, span
from segments.ledger import signature_ok
from segments.package import ORIGINAL, original_name
from segments.records import Record
from segments.signing import Verifier, fingerprint
from segments.slice_check import FileHash, check_slice
from segments.verify import Verdict, with_origin
from segments.verify.purges import Removal, removals

from .objects import SegmentObject, segment_objects, stored_hash
from .pinning import Pinned, pin
from .source import ArchiveSource
from .stream import ArchiveStream, load_range

HOLD, RELEASE = "hold", "release"


@dataclass(frozen=True)
class ArchiveFind:
    """The box's find result, and which checkpoint pins it (None: none covers it yet)."""

    result: FindResult
    pinned: Pinned | None

    def to_dict(self) -> dict[str, Any]:
        witness = None if self.pinned is None else self.pinned.witness
        return {**asdict(self.result), "witness": witness}


def archive_find(
    source: ArchiveSource,
    gateway: str,
    camera: str,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
) -> ArchiveFind:
    stream = load_range(source, gateway, camera, start, end, now or datetime.now(UTC))
    chosen = stream.selection
    removed = stream_removals(stream)
    objects = segment_objects(source, stream, chosen.media)
    hashes = {seq: stored_hash(source, obj) for seq, obj in objects.items()}
    states = segment_states(stream, objects, hashes, removed)
    pinned = pin(source, stream, chosen.seqs) if chosen.lines else None
    findings: dict[int, Any] = {}
    issues: tuple[Any, ...] = ()
    integrity = Verdict.INCOMPLETE
    if chosen.lines:
        check = check_slice(
            chosen.lines,
            verifier=stream.key,
            checkpoint=None if pinned is None else pinned.checkpoint,
            proofs={} if pinned is None else {p.seq: p for p in pinned.proofs},
            file_hash=_file_hash(chosen.media, hashes),
            check_plain=False,
            require_checkpoint=False,
            removed={seq: r for seq, r in removed.items() if not r.confirmed},
        )
        findings = {f.seq: f for f in check.findings}
        issues, integrity = check.issues, check.verdict
    segments = tuple(found_segment(r, states, findings.get(r.seq)) for r in chosen.media)
    origin = f"trusted for gateway {gateway!r} from {source.trust.origin}"
    result = FindResult(
        camera, start.isoformat(), end.isoformat(), CENTRAL, str(with_origin(integrity, True)),
        str(integrity), fingerprint(stream.key), origin, segments, chosen.holes, issues,
    )  # fmt: skip
    return ArchiveFind(result, pinned)


def segment_states(
    stream: ArchiveStream,
    objects: Mapping[int, SegmentObject],
    hashes: Mapping[int, tuple[int, str | None] | None],
    removed: Mapping[int, Removal],
) -> dict[int, str]:
    """seq -> confirmed | held | evicted | purged | missing, as described above."""
    held = _held(stream.notes, stream.key)
    states: dict[int, str] = {}
    for seq, obj in objects.items():
        r, found = obj.record, hashes.get(seq)
        if found is not None and found == (r.size_cipher, r.sha256_cipher):
            gone = seq in removed and removed[seq].confirmed
            states[seq] = HELD if _covered(r, held) else EVICTED if gone else CONFIRMED
        elif seq in removed and not removed[seq].confirmed and found is None:
            states[seq] = PURGED
        else:
            states[seq] = MISSING
    return states


def stream_removals(stream: ArchiveStream) -> dict[int, Removal]:
    """Removals declared by purge records signed with the trusted key (V7's rule)."""
    purges = [r for r in stream.notes if r.kind == "purge" and signature_ok(r, stream.key)]
    return removals(stream.records, purges)


def _held(notes: Iterable[Record], key: Verifier) -> list[tuple[datetime, datetime]]:
    """The spans of signed holds that no later signed release ended."""
    holds: dict[object, tuple[datetime, datetime]] = {}
    for r in sorted(notes, key=lambda n: n.seq):
        if r.kind != "hold" or not signature_ok(r, key) or r.start is None:
            continue
        hold_id = r.extra.get("hold_id")
        if r.reason == HOLD:
            holds[hold_id] = span(r)
        elif r.reason == RELEASE:
            holds.pop(hold_id, None)
    return list(holds.values())


def _covered(r: Record, held: list[tuple[datetime, datetime]]) -> bool:
    s, e = span(r)
    return any(a < e and b > s for a, b in held)


def _file_hash(
    media: Iterable[Record], hashes: Mapping[int, tuple[int, str | None] | None]
) -> FileHash:
    by_name = {f"{ORIGINAL}/{original_name(r)}": r.seq for r in media}

    def file_hash(rel: str) -> tuple[int, str | None] | None:
        return hashes.get(by_name[rel])

    return file_hash
