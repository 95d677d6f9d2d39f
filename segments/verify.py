"""Offline verification of recorded streams: signatures, chain, checkpoints and media hashes.

Needs no secret (an age identity only adds the plaintext check) and reads only through a
`MediaSource`, so the same procedure checks a data dir, a copy of it, or an export package.
It never stops at the first problem: every record gets a verdict and every defect a line,
so an expert can see *what* is wrong, not only *that* something is.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Protocol, cast

from .age_reader import DecryptStatus, decrypt_stream
from .agekeys import X25519Identity
from .checkpoint import Checkpoint
from .errors import CryptoFormatError
from .ledger import CHECKPOINTS_NAME, LEDGER_NAME, line_hash, signature_ok
from .merkle import MerkleAccumulator, leaf_hash
from .records import GENESIS_PREV, Record
from .signing import Verifier, fingerprint, parse_public_key

TIME_TOLERANCE_S = 1.0  # clock jitter between a segment's end and the next record's start
MAX_ROWS_PER_RUN = 1000  # a longer run of missing seqs is one row (a forged seq can be huge)
READ_BLOCK = 4 << 20

Progress = Callable[[int, int], None]  # (bytes processed so far, total bytes)


class SeqVerdict(StrEnum):
    """Per-seq verdicts, in rising severity."""

    OK = "OK"
    GAP = "GAP"
    TRUNCATED = "TRUNCATED"
    MISSING = "MISSING"
    TIME_REGRESSION = "TIME_REGRESSION"
    HASH_MISMATCH = "HASH_MISMATCH"
    CHAIN_BREAK = "CHAIN_BREAK"
    SIG_BAD = "SIG_BAD"


class Verdict(StrEnum):
    """Overall verdicts, in rising severity."""

    AUTHENTIC = "AUTHENTIC"
    AUTHENTIC_WITH_DECLARED_GAPS = "AUTHENTIC_WITH_DECLARED_GAPS"
    INCOMPLETE = "INCOMPLETE"
    NOT_AUTHENTIC = "NOT_AUTHENTIC"


PASSING = frozenset({Verdict.AUTHENTIC, Verdict.AUTHENTIC_WITH_DECLARED_GAPS})
"""The verdicts under which `evgw verify` (and export, verify-export) exit 0."""


_SEVERITY = {v: i for i, v in enumerate(SeqVerdict)}
_VERDICT_RANK = {v: i for i, v in enumerate(Verdict)}
_IMPACT = {
    SeqVerdict.OK: Verdict.AUTHENTIC,
    SeqVerdict.GAP: Verdict.AUTHENTIC_WITH_DECLARED_GAPS,
    SeqVerdict.TRUNCATED: Verdict.AUTHENTIC_WITH_DECLARED_GAPS,
    SeqVerdict.MISSING: Verdict.INCOMPLETE,
    SeqVerdict.TIME_REGRESSION: Verdict.NOT_AUTHENTIC,
    SeqVerdict.HASH_MISMATCH: Verdict.NOT_AUTHENTIC,
    SeqVerdict.CHAIN_BREAK: Verdict.NOT_AUTHENTIC,
    SeqVerdict.SIG_BAD: Verdict.NOT_AUTHENTIC,
}

KEY_FROM_CALLER = "pubkey"  # the caller's trusted key: proves origin
KEY_FROM_LEDGER = "ledger"  # the stream's own `key` record: proves integrity since then
KEY_NONE = "none"


class MediaSource(Protocol):
    """Read access to one stream's folder; paths are relative to it, '/'-separated."""

    def read_bytes(self, relpath: str) -> bytes | None:
        """Whole small file (ledger, checkpoints), None if absent."""
        ...

    def stat_hash(self, relpath: str) -> tuple[int, str] | None:
        """(size, SHA-256 hex) of a media file, None if absent."""
        ...

    def open(self, relpath: str) -> BinaryIO: ...


@dataclass(frozen=True)
class SeqFinding:
    """One table row: the worst verdict of a seq, with every reason in `detail`."""

    seq: int
    verdict: str  # a SeqVerdict, or "GAP(<reason>)"
    detail: str
    kind: str | None
    start: str | None
    end: str | None
    file: str | None
    through: int | None = None  # last seq of a collapsed run of MISSING seqs


@dataclass(frozen=True)
class StreamIssue:
    """A defect of the stream not tied to one seq (unreadable line, bad checkpoint)."""

    impact: Verdict
    detail: str


@dataclass(frozen=True)
class StreamReport:
    stream: str
    verdict: Verdict
    findings: tuple[SeqFinding, ...]
    issues: tuple[StreamIssue, ...]
    key_source: str
    fingerprint: str | None
    records: int  # ledger lines
    checkpoints_used: int  # valid checkpoints whose root matched the ledger
    pinned: int  # ledger lines covered by the newest matching checkpoint


@dataclass(frozen=True)
class Report:
    verdict: Verdict
    streams: tuple[StreamReport, ...]
    key_source: str
    fingerprint: str | None
    checkpoints_used: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


# --- the verifier ---


def verify(
    streams: Sequence[tuple[str, MediaSource]],
    *,
    pubkey: Verifier | None = None,
    identities: Sequence[X25519Identity] = (),
    progress: Progress | None = None,
) -> Report:
    """Verify each named stream; `pubkey` is the trusted device key (else each ledger's own)."""
    checks = [_LedgerCheck(name, source).check_ledger(pubkey) for name, source in streams]
    total = sum(c.media_bytes(decrypt=bool(identities)) for c in checks)
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    reports = tuple(c.check_media(identities, advance) for c in checks)
    fingerprints = {r.fingerprint for r in reports}
    sources = {r.key_source for r in reports}
    return Report(
        verdict=_worst_verdict([r.verdict for r in reports], Verdict.INCOMPLETE),
        streams=reports,
        key_source=sources.pop() if len(sources) == 1 else "mixed",
        fingerprint=fingerprints.pop() if len(fingerprints) == 1 else None,
        checkpoints_used=sum(r.checkpoints_used for r in reports),
    )


@dataclass
class _Row:
    entries: list[tuple[SeqVerdict, str | None, str]] = field(default_factory=list)
    record: Record | None = None
    through: int | None = None


@dataclass(frozen=True)
class _MediaJob:
    record: Record
    file: str


class _LedgerCheck:
    """Findings of one stream: `check_ledger` (steps 1-8), then `check_media` (9-11)."""

    def __init__(self, name: str, source: MediaSource) -> None:
        self.name = name
        self.source = source
        self.rows: dict[int, _Row] = {}
        self.issues: list[StreamIssue] = []
        self.jobs: list[_MediaJob] = []
        self.purges: list[Record] = []  # signed `purge` records, in ledger order
        self.declared: dict[int, tuple[str, int]] = {}  # evicted seq -> (reason, purge seq)
        self.lines: list[bytes] = []
        self.verifier: Verifier | None = None
        self.key_source = KEY_NONE
        self.last_seq = -1
        self.first_absent = 0
        self.checkpoints_used = 0
        self.pinned = 0

    def check_ledger(self, pubkey: Verifier | None) -> _LedgerCheck:
        source = self.source
        # (1) Read the ledger; empty lines are skipped like the writer's reader does.
        lines, torn = _split_lines(source.read_bytes(LEDGER_NAME))
        self.lines = lines
        if not lines:
            self._issue(Verdict.INCOMPLETE, f"no ledger records in {LEDGER_NAME}")
        # (2) Parse every line; an unreadable one still counts for the chain and the tree.
        records = [
            self._parse(i, line, torn and i == len(lines) - 1) for i, line in enumerate(lines)
        ]
        # (3) Choose the trusted key: the caller's, else the ledger's own `key` record.
        self.verifier, self.key_source = self._trust(records, pubkey)
        # (4)-(7) Record by record: signature, chain and seq, time order, declared gaps, media.
        self._walk(records)
        # (7b) Declared removals: a signed `purge` naming an earlier segment by its hash.
        for purge in self.purges:
            self._purge(purge)
        # (8) Checkpoints: signature, root over the first `size` lines, cut-off tail.
        self._checkpoints(source.read_bytes(CHECKPOINTS_NAME))
        return self

    # helpers for findings

    def _row(self, seq: int) -> _Row:
        return self.rows.setdefault(seq, _Row())

    def _add(self, seq: int, verdict: SeqVerdict, detail: str, reason: str | None = None) -> None:
        self._row(seq).entries.append((verdict, reason, detail))

    def _issue(self, impact: Verdict, detail: str) -> None:
        self.issues.append(StreamIssue(impact, detail))

    def _missing(self, first: int, last: int, detail: str) -> None:
        if last - first + 1 <= MAX_ROWS_PER_RUN:
            for seq in range(first, last + 1):
                self._add(seq, SeqVerdict.MISSING, detail)
        else:
            row = self._row(first)
            row.through = last
            row.entries.append((SeqVerdict.MISSING, None, f"seqs {first}-{last}: {detail}"))

    # (2)

    def _parse(self, index: int, line: bytes, torn: bool) -> Record | None:
        try:
            return Record.from_json(line)
        except (CryptoFormatError, RecursionError) as e:
            if torn:
                self._issue(
                    Verdict.INCOMPLETE,
                    f"ledger line {index + 1} is unfinished (crash mid-write); "
                    "the gateway sets it aside at its next start",
                )
            else:
                self._issue(Verdict.NOT_AUTHENTIC, f"ledger line {index + 1} is unreadable: {e}")
            return None

    # (3)

    def _trust(
        self, records: list[Record | None], pubkey: Verifier | None
    ) -> tuple[Verifier | None, str]:
        first = records[0] if records else None
        declared: Verifier | None = None
        if first is not None and first.kind == "key" and first.seq == 0:
            text = first.extra.get("public_key") if isinstance(first.extra, dict) else None
            try:
                declared = parse_public_key(text) if isinstance(text, str | bytes) else None
            except CryptoFormatError as e:
                self._add(0, SeqVerdict.SIG_BAD, f"key record holds no usable public key: {e}")
        if pubkey is not None:
            if declared is not None and declared.public_key_text() != pubkey.public_key_text():
                self._add(
                    0,
                    SeqVerdict.SIG_BAD,
                    f"ledger declares key {fingerprint(declared)}, not the trusted "
                    f"{fingerprint(pubkey)}",
                )
            return pubkey, KEY_FROM_CALLER
        if declared is not None:
            return declared, KEY_FROM_LEDGER
        if records:
            self._issue(
                Verdict.NOT_AUTHENTIC,
                "no trusted key: the ledger does not start with its `key` record; "
                "pass the device's public key (--pubkey)",
            )
        return None, KEY_NONE

    # (4)-(7)

    def _walk(self, records: list[Record | None]) -> None:
        anchor: tuple[int, str] | None = None  # (seq, line hash) of the last in-order record
        stream: str | None = None
        time = _TimeOrder()
        for i, (line, record) in enumerate(zip(self.lines, records, strict=True)):
            if record is None:
                continue
            seq = record.seq
            row = self._row(seq)
            if row.record is None:
                row.record = record
            # (4) Signature against the trusted key.
            if self._signature(record) and record.kind == "purge":
                self.purges.append(record)
            if stream is None:
                stream = record.stream
            elif record.stream != stream:
                self._add(
                    seq, SeqVerdict.CHAIN_BREAK, f"record belongs to stream {record.stream!r}"
                )
            # (5) Chain: seq continuity and `prev`. A gap in seqs is MISSING; the `prev` of the
            #     record after it points at a line we do not have, so it cannot be checked.
            in_order = True
            if anchor is None:
                if seq > 0:
                    self._missing(0, seq - 1, "not in the ledger (its head is cut off)")
                elif record.prev != GENESIS_PREV:
                    self._add(seq, SeqVerdict.CHAIN_BREAK, "first record's prev is not genesis")
            elif seq == anchor[0] + 1:
                if record.prev != anchor[1]:
                    self._add(seq, SeqVerdict.CHAIN_BREAK, f"prev does not match seq {anchor[0]}")
            elif seq > anchor[0] + 1:
                self._missing(anchor[0] + 1, seq - 1, "not in the ledger")
            else:
                in_order = False
                self._add(
                    seq,
                    SeqVerdict.CHAIN_BREAK,
                    f"line {i + 1} repeats or reorders seq {seq} after seq {anchor[0]}",
                )
            if in_order:
                anchor = (seq, line_hash(line))
            # (6) Time order.
            problem = time.check(record, advance=in_order)
            if problem:
                self._add(seq, SeqVerdict.TIME_REGRESSION, problem)
            # (7) Declared gaps and media presence.
            self._kind(record)
        self.last_seq = anchor[0] if anchor is not None else -1
        present = {r.seq for r in records if r is not None}
        self.first_absent = next(s for s in range(len(present) + 1) if s not in present)

    def _signature(self, record: Record) -> bool:
        if self.verifier is None:
            self._add(record.seq, SeqVerdict.SIG_BAD, "signature not checked: no trusted key")
            return False
        try:
            ok = signature_ok(record, self.verifier)
        except (TypeError, ValueError):
            ok = False
        if ok:
            return True
        if record.key_id != self.verifier.key_id:
            detail = f"signed by key SHA256:{record.key_id}, not the trusted " + fingerprint(
                self.verifier
            )
        else:
            detail = "signature does not verify: the record was altered"
        self._add(record.seq, SeqVerdict.SIG_BAD, detail)
        return False

    def _kind(self, record: Record) -> None:
        seq = record.seq
        if record.kind == "gap" or (record.kind == "boot" and _lasts(record)):
            reason = record.reason if isinstance(record.reason, str) else "unspecified"
            self._add(seq, SeqVerdict.GAP, f"declared {record.kind}", reason)
        elif record.kind in ("segment", "truncated"):
            if record.kind == "truncated":
                self._add(seq, SeqVerdict.TRUNCATED, f"crash leftover ({record.reason})")
            problem = _media_claim_problem(record)
            if problem:
                self._add(seq, SeqVerdict.HASH_MISMATCH, problem)
            else:
                assert isinstance(record.file, str)
                self.jobs.append(_MediaJob(record, record.file))

    # (7b)

    def _purge(self, purge: Record) -> None:
        """Accept a purge as declaring its segment's absence only if it names that file exactly."""
        extra = purge.extra
        target = extra.get("seq")
        if not isinstance(target, int) or isinstance(target, bool) or not 0 <= target < purge.seq:
            self._add(purge.seq, SeqVerdict.HASH_MISMATCH, "purge record names no earlier seq")
            return
        row = self.rows.get(target)
        segment = row.record if row is not None else None
        if segment is None:
            return  # the segment's own record is absent: already MISSING
        if segment.kind not in ("segment", "truncated"):
            self._add(
                purge.seq,
                SeqVerdict.HASH_MISMATCH,
                f"purge names seq {target}, a {segment.kind} record, not a segment",
            )
            return
        if (extra.get("sha256_cipher"), extra.get("size_cipher")) != (
            segment.sha256_cipher,
            segment.size_cipher,
        ):
            self._add(
                purge.seq,
                SeqVerdict.HASH_MISMATCH,
                f"purge of seq {target} deleted a file whose SHA-256/size differ from the "
                "signed segment record (altered before it was evicted)",
            )
            return
        reason = purge.reason if isinstance(purge.reason, str) and purge.reason else "purged"
        self.declared.setdefault(target, (reason, purge.seq))

    # (8)

    def _checkpoints(self, data: bytes | None) -> None:
        lines, _ = _split_lines(data)
        valid: list[tuple[int, Checkpoint]] = []
        for j, line in enumerate(lines, start=1):
            try:
                cp = Checkpoint.from_json(line)
            except (CryptoFormatError, RecursionError) as e:
                self._issue(Verdict.NOT_AUTHENTIC, f"checkpoint line {j} is unreadable: {e}")
                continue
            if self.verifier is None:
                continue
            try:
                ok = cp.verify(self.verifier)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                self._issue(
                    Verdict.NOT_AUTHENTIC, f"checkpoint {j} (size {cp.size}): bad signature"
                )
            elif cp.stream != self.name and cp.stream != self._stream_name():
                self._issue(
                    Verdict.NOT_AUTHENTIC, f"checkpoint {j} belongs to stream {cp.stream!r}"
                )
            else:
                valid.append((j, cp))
        # A checkpoint of size S pins seqs 0..S-1 (the writer numbers lines from 0). Its root
        # is recomputed when all of them are present; a deleted record is already MISSING.
        checkable = min(len(self.lines), self.first_absent)
        roots = _roots_at(self.lines, {cp.size for _, cp in valid if cp.size <= checkable})
        for j, cp in valid:
            if cp.size not in roots:
                continue
            if roots[cp.size] != cp.root:
                self._issue(
                    Verdict.NOT_AUTHENTIC,
                    f"checkpoint {j}: the ledger's first {cp.size} records differ from the "
                    "signed tree head (history rewritten)",
                )
            else:
                self.checkpoints_used += 1
                self.pinned = max(self.pinned, cp.size)
        newest = max(valid, key=lambda v: v[1].size, default=None)
        if newest is not None and newest[1].size - 1 > self.last_seq:
            j, cp = newest
            self._missing(
                self.last_seq + 1,
                cp.size - 1,
                f"cut off: checkpoint {j} covers seqs 0-{cp.size - 1}, the ledger ends at "
                f"seq {self.last_seq}",
            )

    def _stream_name(self) -> str | None:
        for row in self.rows.values():
            if row.record is not None:
                return row.record.stream
        return None

    # (9)-(10)

    def media_bytes(self, *, decrypt: bool) -> int:
        size = sum(_declared_size(j.record) for j in self.jobs)
        return size * 2 if decrypt else size

    def check_media(
        self, identities: Sequence[X25519Identity], advance: Callable[[int], None]
    ) -> StreamReport:
        for job in self.jobs:
            # (9) Presence, size and SHA-256 of the ciphertext.
            ok = self._ciphertext(job)
            advance(_declared_size(job.record))
            # (10) With identities: decrypt and compare the plaintext the record signed.
            if identities:
                if ok:
                    self._plaintext(job, identities)
                advance(_declared_size(job.record))
        return self._report()

    def _ciphertext(self, job: _MediaJob) -> bool:
        record = job.record
        try:
            found = self.source.stat_hash(job.file)
        except OSError as e:
            self._add(record.seq, SeqVerdict.MISSING, f"media file {job.file} unreadable: {e}")
            return False
        if found is None:
            declared = self.declared.get(record.seq)
            if declared is not None:
                reason, by = declared
                detail = f"media file evicted from the local store (purge record seq {by})"
                self._add(record.seq, SeqVerdict.GAP, detail, reason)
            else:
                self._add(record.seq, SeqVerdict.MISSING, f"media file {job.file} is absent")
            return False
        size, sha256 = found
        if size != record.size_cipher:
            self._add(
                record.seq,
                SeqVerdict.HASH_MISMATCH,
                f"media file has {size} bytes, the record signed {record.size_cipher}",
            )
            return False
        if sha256 != record.sha256_cipher:
            self._add(
                record.seq,
                SeqVerdict.HASH_MISMATCH,
                "media file's SHA-256 differs from the signed record (altered or replaced)",
            )
            return False
        return True

    def _plaintext(self, job: _MediaJob, identities: Sequence[X25519Identity]) -> None:
        record = job.record
        try:
            with self.source.open(job.file) as src:
                result = decrypt_stream(
                    src, cast(BinaryIO, _Discard()), identities, allow_truncated=True
                )
        except (CryptoFormatError, OSError) as e:
            self._issue(Verdict.INCOMPLETE, f"seq {record.seq}: plaintext not checked: {e}")
            return
        if record.kind == "truncated":
            note = f"{result.plaintext_size} bytes of plaintext authenticated"
            if result.reason is not DecryptStatus.COMPLETE:
                note += f" ({result.detail})"
            self._add(record.seq, SeqVerdict.TRUNCATED, note)
        elif not result.complete:
            self._add(record.seq, SeqVerdict.HASH_MISMATCH, f"does not decrypt: {result.detail}")
        elif (result.plaintext_size, result.plaintext_sha256) != (
            record.size_plain,
            record.sha256_plain,
        ):
            self._add(
                record.seq,
                SeqVerdict.HASH_MISMATCH,
                "decrypted plaintext differs from the signed size/SHA-256",
            )

    # (11) Verdicts.

    def _report(self) -> StreamReport:
        findings = tuple(_finding(seq, row) for seq, row in sorted(self.rows.items()))
        seq_verdicts = [_IMPACT[_worst_entry(row)[0]] for row in self.rows.values()]
        verdict = _worst_verdict(
            [*seq_verdicts, *(i.impact for i in self.issues)], Verdict.AUTHENTIC
        )
        return StreamReport(
            stream=self.name,
            verdict=verdict,
            findings=findings,
            issues=tuple(self.issues),
            key_source=self.key_source,
            fingerprint=None if self.verifier is None else fingerprint(self.verifier),
            records=len(self.lines),
            checkpoints_used=self.checkpoints_used,
            pinned=self.pinned,
        )


# Records about other records or other times (evictions, legal holds, exports): they are
# appended whenever they happen, also while a segment is open, so they stand outside the
# recording timeline.
OUT_OF_TIMELINE = frozenset({"purge", "hold", "export"})


class _TimeOrder:
    """A record may not start before the previous one ends (nor end before it starts),
    unless a `clock` record declared a backward step at least that large."""

    def __init__(self) -> None:
        self.ref: datetime | None = None  # end of the previous in-order, non-clock record
        self.allowance_s = 0.0  # backward clock steps not yet used up

    def check(self, record: Record, *, advance: bool) -> str | None:
        if record.kind in OUT_OF_TIMELINE:
            return None  # written at any moment, even while a segment is open; about other times
        try:
            start, end = _when(record.start), _when(record.end)
        except ValueError:
            return "start/end is not an ISO 8601 time with UTC offset"
        back = 0.0
        if start is not None and self.ref is not None:
            back = (self.ref - start).total_seconds()
        inverted = 0.0
        if record.kind != "clock" and start is not None and end is not None:
            inverted = (start - end).total_seconds()
        problem = _regression(back, inverted, self)
        if not advance:
            return problem
        if record.kind == "clock":
            if start is not None and end is not None and end < start:
                self.allowance_s += (start - end).total_seconds()
        else:
            self.ref = end or start or self.ref
        return problem


def _regression(back: float, inverted: float, order: _TimeOrder) -> str | None:
    worst = max(back, inverted)
    if worst <= TIME_TOLERANCE_S:
        return None
    if worst <= order.allowance_s + TIME_TOLERANCE_S:
        order.allowance_s = 0.0  # explained by the declared clock step
        return None
    if back >= inverted:
        return f"starts {back:.3f} s before the previous record ends (no clock step declared)"
    return f"ends {inverted:.3f} s before it starts (no clock step declared)"


# --- pure helpers ---


def _split_lines(data: bytes | None) -> tuple[list[bytes], bool]:
    """Non-empty lines, and whether the last one lacks its newline (a torn append)."""
    if not data:
        return [], False
    lines = [line for line in data.split(b"\n") if line]
    return lines, not data.endswith(b"\n")


def _roots_at(lines: Sequence[bytes], sizes: set[int]) -> dict[int, str]:
    """RFC 6962 roots over the first `size` lines, for each wanted size, in one pass."""
    acc = MerkleAccumulator()
    roots = {0: acc.root().hex()} if 0 in sizes else {}
    top = max(sizes, default=0)
    for line in lines[:top]:
        acc.append(leaf_hash(line))
        if acc.size in sizes:
            roots[acc.size] = acc.root().hex()
    return roots


def _when(text: object) -> datetime | None:
    """Aware datetime, None when absent; ValueError when unreadable or without offset."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError("time is not a string")
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError("time has no UTC offset")
    return when


def _lasts(record: Record) -> bool:
    """A boot right after the previous record (first start, quick restart) leaves no gap."""
    try:
        start, end = _when(record.start), _when(record.end)
    except ValueError:
        return True
    return start is None or end is None or (end - start).total_seconds() > TIME_TOLERANCE_S


def _media_claim_problem(record: Record) -> str | None:
    """Why a media record cannot be checked against a file, or None."""
    file = record.file
    if not isinstance(file, str) or not file:
        return "record names no media file"
    path = PurePosixPath(file)
    if path.is_absolute() or ".." in path.parts or "\\" in file:
        return f"media path {file[:80]!r} leaves the stream folder"
    if not isinstance(record.size_cipher, int) or not isinstance(record.sha256_cipher, str):
        return "record carries no ciphertext size/SHA-256"
    return None


def _declared_size(record: Record) -> int:
    size = record.size_cipher
    return size if isinstance(size, int) and size > 0 else 0


def _worst_entry(row: _Row) -> tuple[SeqVerdict, str | None, str]:
    return max(row.entries, key=lambda e: _SEVERITY[e[0]], default=(SeqVerdict.OK, None, ""))


def _worst_verdict(verdicts: Sequence[Verdict], empty: Verdict) -> Verdict:
    return max(verdicts, key=_VERDICT_RANK.__getitem__, default=empty)


def _finding(seq: int, row: _Row) -> SeqFinding:
    verdict, reason, _ = _worst_entry(row)
    ordered = sorted(row.entries, key=lambda e: -_SEVERITY[e[0]])
    label = f"GAP({reason})" if verdict is SeqVerdict.GAP else str(verdict)
    record = row.record
    return SeqFinding(
        seq=seq,
        verdict=label,
        detail="; ".join(dict.fromkeys(e[2] for e in ordered)),
        kind=record.kind if record else None,
        start=_text(record.start) if record else None,
        end=_text(record.end) if record else None,
        file=_text(record.file) if record else None,
        through=row.through,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) or value is None else str(value)


class _Discard(io.RawIOBase):
    """Sink for decrypted bytes: only their hash (kept by decrypt_stream) matters."""

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        return len(b)


# --- the filesystem edge ---


class DirMediaSource:
    """A stream folder on disk (`data_dir/streams/<camera>` or a copy of it)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, relpath: str) -> Path:
        return self.root.joinpath(*PurePosixPath(relpath).parts)

    def read_bytes(self, relpath: str) -> bytes | None:
        try:
            return self._path(relpath).read_bytes()
        except FileNotFoundError:
            return None

    def stat_hash(self, relpath: str) -> tuple[int, str] | None:
        """Hash in large blocks into one reused buffer; hashlib releases the GIL meanwhile."""
        try:
            f = open(self._path(relpath), "rb", buffering=0)  # noqa: SIM115 - closed below
        except (FileNotFoundError, IsADirectoryError):
            return None
        with f:
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            h = hashlib.sha256()
            buf = bytearray(READ_BLOCK)
            view = memoryview(buf)
            size = 0
            while n := f.readinto(buf):
                h.update(view[:n])
                size += n
        return size, h.hexdigest()

    def open(self, relpath: str) -> BinaryIO:
        return open(self._path(relpath), "rb")
