"""`evgw find`: which segments cover a camera's time range, where they are, what is missing.

The ledger says what was recorded (segments and declared gaps); the local folder and the index
say where each sealed file is now (local, confirmed upload, legal hold, evicted). Each
segment's verdict comes from the same slice check an export package gets.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from segments.checkpoint import Checkpoint
from segments.hashing import hash_file
from segments.index import Index
from segments.ledger import LEDGER_NAME, read_checkpoints, read_lines
from segments.package import ORIGINAL, make_proofs, original_name
from segments.records import MEDIA_KINDS, Record
from segments.signing import Verifier, load_verifier, parse_public_key
from segments.slice_check import check_slice
from segments.store import StreamStore
from segments.verify import SeqFinding, StreamIssue, Verdict
from uplink.object_keys import media_key
from uplink.objectstore import ObjectStore

from .config import Config, load_config
from .daemon import object_store_settings
from .errors import EvgwError
from .status_cmd import index_path

LOCAL, CENTRAL = "local", "central"
HOLE_TOLERANCE_S = 1.0  # clock jitter between one segment's end and the next one's start


class FindError(EvgwError):
    """The range cannot be looked up: unknown camera, bad times, no ledger."""


def parse_time(text: str) -> datetime:
    """ISO 8601 with an offset or `Z`; a time without offset is refused (which zone?)."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as e:
        raise FindError(f"{text!r} is not an ISO 8601 time (e.g. 2026-11-27T14:00:00+08:00)") from e
    if when.tzinfo is None:
        raise FindError(f"{text!r} has no UTC offset: add one, e.g. +08:00, or Z for UTC")
    return when.astimezone(UTC)


def when(iso: str | None) -> datetime | None:
    return None if iso is None else datetime.fromisoformat(iso).astimezone(UTC)


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


@dataclass(frozen=True)
class Stream:
    camera: str
    root: Path
    lines: tuple[bytes, ...]
    records: tuple[Record, ...]
    checkpoints: tuple[Checkpoint, ...]


def load_stream(config: Config, camera: str) -> Stream:
    if camera not in {c.id for c in config.cameras}:
        known = ", ".join(c.id for c in config.cameras)
        raise FindError(f"{config.path}: no camera {camera!r} (configured: {known})")
    root = StreamStore(config.gateway.data_dir, camera).root
    lines = tuple(read_lines(root / LEDGER_NAME))
    if not lines:
        raise FindError(f"{root / LEDGER_NAME}: no ledger for camera {camera!r}; nothing recorded")
    records = tuple(Record.from_json(line) for line in lines)
    for i, r in enumerate(records):
        if r.seq != i:
            raise FindError(
                f"{root / LEDGER_NAME} line {i + 1} holds seq {r.seq}: the ledger is damaged; "
                f"run `evgw verify {config.gateway.data_dir}`"
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
    s = when(r.start)
    assert s is not None
    return s, when(r.end) or s


def _overlaps(r: Record, start: datetime, end: datetime) -> bool:
    if r.start is None:
        return False
    s, e = _span(r)
    return s < end and e > start


def trusted_key(stream: Stream, pubkey: str | None) -> Verifier:
    """The caller's key, else the ledger's own `key` record (seq 0)."""
    if pubkey is not None:
        return load_verifier(pubkey)
    first = stream.records[0]
    text = first.extra.get("public_key") if first.kind == "key" else None
    if not isinstance(text, str):
        raise FindError(f"{stream.root}: the ledger has no key record; pass --pubkey")
    return parse_public_key(text)


def covering_checkpoint(stream: Stream, last_seq: int) -> Checkpoint | None:
    """The newest checkpoint, if it covers `last_seq` (else the slice is not yet pinned)."""
    newest = max(stream.checkpoints, key=lambda c: c.size, default=None)
    return newest if newest is not None and newest.size > last_seq else None


# --- where each segment is ---


def segment_states(config: Config, stream: Stream) -> dict[int, str]:
    """seq -> local | confirmed | held | evicted | purged | missing."""
    index = Index.open(index_path(config))
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


def central_store(config: Config) -> ObjectStore | None:
    return None if config.upload is None else ObjectStore(object_store_settings(config.upload))


def central_key(config: Config, record: Record) -> str:
    start = when(record.start)
    assert start is not None
    return media_key(
        config.gateway.site, config.gateway.id, record.stream, record.seq, start.timestamp()
    )


# --- the command ---


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


def find(
    config: Config, camera: str, start: datetime, end: datetime, source: str, pubkey: str | None
) -> FindResult:
    stream = load_stream(config, camera)
    chosen = select(stream, start, end)
    states = segment_states(config, stream)
    store = central_store(config)
    by_name = {f"{ORIGINAL}/{original_name(r)}": r for r in chosen.media}

    def file_hash(rel: str) -> tuple[int, str] | None:
        r = by_name[rel]
        assert r.file is not None
        local = stream.root / r.file
        if source == LOCAL and local.is_file():
            return hash_file(local)
        if store is None:
            return None
        info = store.head(central_key(config, r))
        # A HEAD gives the size; the content hash is checked when it is exported.
        return None if info is None else (info.size, r.sha256_cipher or "")

    findings: dict[int, SeqFinding] = {}
    issues: tuple[StreamIssue, ...] = ()
    verdict = Verdict.INCOMPLETE
    if chosen.lines:
        first = Record.from_json(chosen.lines[0]).seq
        checkpoint = covering_checkpoint(stream, first + len(chosen.lines) - 1)
        seqs = range(first, first + len(chosen.lines))
        proofs = [] if checkpoint is None else make_proofs(stream.lines, seqs, checkpoint.size)
        check = check_slice(
            chosen.lines,
            verifier=trusted_key(stream, pubkey),
            checkpoint=checkpoint,
            proofs={p.seq: p for p in proofs},
            file_hash=file_hash,
            check_plain=False,
            require_checkpoint=False,
        )
        findings = {f.seq: f for f in check.findings}
        issues, verdict = check.issues, check.verdict
    segments = tuple(
        FoundSegment(
            r.seq,
            r.kind,
            r.start,
            r.end,
            r.file,
            states.get(r.seq, "missing"),
            findings[r.seq].verdict if r.seq in findings else "-",
            findings[r.seq].detail if r.seq in findings else "",
        )
        for r in chosen.media
    )
    return FindResult(
        camera,
        start.isoformat(),
        end.isoformat(),
        source,
        str(verdict),
        segments,
        chosen.holes,
        issues,
    )


def render(result: FindResult) -> str:
    out = [f"camera {result.camera}: {result.start} .. {result.end} (source {result.source})"]
    if not result.segments:
        out.append("  no recording in this range")
    out.append(f"  {'seq':>6}  {'start':<32}  {'end':<32}  {'state':<9}  verdict")
    for s in result.segments:
        detail = f"  {s.detail}" if s.detail else ""
        out.append(
            f"  {s.seq:>6}  {s.start or '-':<32}  {s.end or '-':<32}  {s.state:<9}  {s.verdict}"
            + detail
        )
    out += [f"  gap {h.start} .. {h.end}: {h.reason}" for h in result.gaps]
    out += [f"  ! {i.impact}: {i.detail}" for i in result.issues]
    out.append(f"verdict: {result.verdict}")
    return "\n".join(out)


def add_range_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, required=True, help="the TOML configuration file")
    p.add_argument("--camera", required=True, help="camera id")
    p.add_argument("--from", dest="start", required=True, help="ISO 8601 with offset or Z")
    p.add_argument("--to", dest="end", required=True, help="ISO 8601 with offset or Z")
    p.add_argument(
        "--source",
        choices=(LOCAL, CENTRAL),
        default=LOCAL,
        help="where to look for the sealed files (default: local, then central)",
    )
    p.add_argument("--pubkey", help="trusted device key 'ed25519:<base64>' or a file holding it")


def parse_range(args: argparse.Namespace) -> tuple[datetime, datetime]:
    start, end = parse_time(args.start), parse_time(args.end)
    if end <= start:
        raise FindError(f"--to {args.end} is not after --from {args.start}")
    return start, end


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "find", help="segments covering a camera's time range: state, gaps and verdicts"
    )
    add_range_arguments(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def run(args: argparse.Namespace) -> int:
    try:
        start, end = parse_range(args)
        result = find(load_config(args.config), args.camera, start, end, args.source, args.pubkey)
    except FindError as e:
        print(f"evgw find: {e}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(result), indent=2, ensure_ascii=False) if args.json else render(result))
    return 0 if result.segments else 1
