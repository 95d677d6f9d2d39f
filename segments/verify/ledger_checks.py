"""Steps V1-V8 of the stream verifier: everything about records, before any media is read.

The result names the media files still to check (V9, V10) and what signed `purge` records
declared removed, so the media checks can tell an eviction from a deletion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..checkpoint import Checkpoint
from ..errors import CryptoFormatError
from ..ledger import CHECKPOINTS_NAME, LEDGER_NAME, line_hash, signature_ok
from ..merkle import MerkleAccumulator, leaf_hash
from ..records import GENESIS_PREV, MEDIA_KINDS, Record
from ..signing import Verifier, fingerprint
from ..trust import TrustedKeys, declared_key
from .camera_events import EVENT_KIND, camera_notification
from .purges import Removal, declared_removals
from .report import KEY_FROM_CALLER, KEY_FROM_LEDGER, KEY_NONE, Findings, SeqVerdict, Verdict
from .source import MediaSource
from .time_order import TimeOrder, lasts


@dataclass
class LedgerResult:
    """What V1-V8 found, and what the media checks need next."""

    findings: Findings
    verifier: Verifier | None
    key_source: str
    origin: str  # how origin was (not) established
    records: int  # ledger lines
    media: list[Record] = field(default_factory=list)  # records whose file V9 checks
    evicted: dict[int, Removal] = field(default_factory=dict)  # seq -> its declared removal
    checkpoints_used: int = 0
    pinned: int = 0

    @property
    def trusted(self) -> bool:
        return self.key_source == KEY_FROM_CALLER


def check_ledger(name: str, source: MediaSource, trust: TrustedKeys | None) -> LedgerResult:
    """Run V1-V8 over the stream `name`; `trust` holds the caller's trusted keys, if any."""
    found = Findings()
    lines, torn = split_lines(source.read_bytes(LEDGER_NAME))
    records = _parse(found, lines, torn)  # V1
    verifier, key_source, origin = _trust(found, records, trust)  # V2
    result = LedgerResult(found, verifier, key_source, origin, len(lines))
    walk = _Walk(result)
    for i, (line, record) in enumerate(zip(lines, records, strict=True)):
        if record is not None:
            walk.step(i, line, record)  # V3-V6
    result.evicted = declared_removals(found, walk.purges)  # V7
    present = {r.seq for r in records if r is not None}
    first_absent = next(s for s in range(len(present) + 1) if s not in present)
    _checkpoints(name, result, lines, walk.last_seq, first_absent, source)  # V8
    return result


def split_lines(data: bytes | None) -> tuple[list[bytes], bool]:
    """Non-empty lines, and whether the last one lacks its newline (a torn append)."""
    if not data:
        return [], False
    lines = [line for line in data.split(b"\n") if line]
    return lines, not data.endswith(b"\n")


def _parse(found: Findings, lines: list[bytes], torn: bool) -> list[Record | None]:
    """V1: every line parsed; an unreadable one (None) still counts for chain and tree."""
    if not lines:
        found.issue("V1", Verdict.INCOMPLETE, f"no ledger records in {LEDGER_NAME}")
    records: list[Record | None] = []
    for index, line in enumerate(lines):
        record: Record | None = None
        try:
            record = Record.from_json(line)
        except (CryptoFormatError, RecursionError) as e:
            if torn and index == len(lines) - 1:
                found.issue(
                    "V1",
                    Verdict.INCOMPLETE,
                    f"ledger line {index + 1} is unfinished (crash mid-write); "
                    "the gateway sets it aside at its next start",
                )
            else:
                found.issue(
                    "V1", Verdict.NOT_AUTHENTIC, f"ledger line {index + 1} is unreadable: {e}"
                )
        records.append(record)
    return records


def _trust(
    found: Findings, records: list[Record | None], trust: TrustedKeys | None
) -> tuple[Verifier | None, str, str]:
    """V2: the caller's key for the gateway the records name, else the ledger's own.

    Returns the key that checks signatures, where it came from, and how origin stands.
    """
    declared: Verifier | None = None
    try:
        declared = declared_key(records[0] if records else None)
    except CryptoFormatError as e:
        found.add("V2", 0, SeqVerdict.SIG_BAD, f"key record holds no usable public key: {e}")
    first = next((r for r in records if r is not None), None)
    gateway = None if first is None else first.gateway
    hint = declared.key_id if declared is not None else (first.key_id if first else None)
    trusted = None if trust is None else trust.for_subject(gateway, hint)
    if trust is not None and trusted is not None:
        if declared is not None and declared.public_key_text() != trusted.public_key_text():
            found.add(
                "V2",
                0,
                SeqVerdict.SIG_BAD,
                f"ledger declares key {fingerprint(declared)}, not the trusted "
                f"{fingerprint(trusted)}",
            )
        origin = f"for gateway {gateway!r} from {trust.origin}"
        return trusted, KEY_FROM_CALLER, origin
    origin = "no trusted key given" if trust is None else trust.unlisted(gateway)
    if declared is not None:
        return declared, KEY_FROM_LEDGER, origin
    if records:
        found.issue(
            "V2",
            Verdict.NOT_AUTHENTIC,
            "no key to check signatures with: the ledger does not start with its `key` record "
            "and no trusted key applies; pass the device's public key (--pubkey)",
        )
    return None, KEY_NONE, origin


class _Walk:
    """V3-V6, record by record in ledger order."""

    def __init__(self, result: LedgerResult) -> None:
        self.result = result
        self.found = result.findings
        self.anchor: tuple[int, str] | None = None  # (seq, line hash) of the last in-order record
        self.stream: str | None = None
        self.gateway: str | None = None
        self.time = TimeOrder()
        self.purges: list[Record] = []  # signed `purge` records, in ledger order

    @property
    def last_seq(self) -> int:
        return self.anchor[0] if self.anchor is not None else -1

    def step(self, index: int, line: bytes, record: Record) -> None:
        self.found.see(record)
        if self._signature(record) and record.kind == "purge":  # V3
            self.purges.append(record)
        in_order = self._chain(index, line, record)  # V4
        problem = self.time.check(record, advance=in_order)  # V5
        if problem:
            self.found.add("V5", record.seq, SeqVerdict.TIME_REGRESSION, problem)
        self._kind(record)  # V6

    def _signature(self, record: Record) -> bool:
        verifier = self.result.verifier
        if verifier is None:
            self.found.add(
                "V3", record.seq, SeqVerdict.SIG_BAD, "signature not checked: no trusted key"
            )
            return False
        try:
            ok = signature_ok(record, verifier)
        except (TypeError, ValueError):
            ok = False
        if ok:
            return True
        if record.key_id != verifier.key_id:
            detail = f"signed by key id {record.key_id}, not the trusted " + fingerprint(verifier)
        else:
            detail = "signature does not verify: the record was altered"
        self.found.add("V3", record.seq, SeqVerdict.SIG_BAD, detail)
        return False

    def _chain(self, index: int, line: bytes, record: Record) -> bool:
        """Stream name, seq continuity and `prev`; False for a repeated or reordered seq.

        A hole in the seqs is MISSING; the `prev` of the record after it points at a line we
        do not have, so it cannot be checked.
        """
        seq, found = record.seq, self.found
        if self.stream is None:
            self.stream, self.gateway = record.stream, record.gateway
        elif record.stream != self.stream:
            found.add(
                "V4", seq, SeqVerdict.CHAIN_BREAK, f"record belongs to stream {record.stream!r}"
            )
        elif record.gateway != self.gateway:
            found.add("V4", seq, SeqVerdict.CHAIN_BREAK, f"record names gateway {record.gateway!r}")
        anchor = self.anchor
        if anchor is None:
            if seq > 0:
                found.missing("V4", 0, seq - 1, "not in the ledger (its head is cut off)")
            elif record.prev != GENESIS_PREV:
                found.add("V4", seq, SeqVerdict.CHAIN_BREAK, "first record's prev is not genesis")
        elif seq == anchor[0] + 1:
            if record.prev != anchor[1]:
                found.add("V4", seq, SeqVerdict.CHAIN_BREAK, f"prev does not match seq {anchor[0]}")
        elif seq > anchor[0] + 1:
            found.missing("V4", anchor[0] + 1, seq - 1, "not in the ledger")
        else:
            found.add(
                "V4",
                seq,
                SeqVerdict.CHAIN_BREAK,
                f"line {index + 1} repeats or reorders seq {seq} after seq {anchor[0]}",
            )
            return False
        self.anchor = (seq, line_hash(line))
        return True

    def _kind(self, record: Record) -> None:
        """Declared gaps, and the media claims of segment records."""
        seq = record.seq
        if record.kind == "gap" or (record.kind == "boot" and lasts(record)):
            reason = record.reason if isinstance(record.reason, str) else "unspecified"
            self.found.add("V6", seq, SeqVerdict.GAP, f"declared {record.kind}", reason)
        elif record.kind == "camera":
            self.found.add("V6", seq, SeqVerdict.OK, camera_event(record))
        elif record.kind == EVENT_KIND:
            self.found.add("V6", seq, SeqVerdict.OK, camera_notification(record))
        elif record.kind in MEDIA_KINDS:
            if record.kind == "truncated":
                self.found.add("V6", seq, SeqVerdict.TRUNCATED, f"crash leftover ({record.reason})")
            problem = _media_claim_problem(record)
            if problem:
                self.found.add("V6", seq, SeqVerdict.HASH_MISMATCH, problem)
            else:
                self.result.media.append(record)


def camera_event(record: Record) -> str:
    """A `camera` record in words: a declared event, shown, neither a gap nor a defect."""
    extra = record.extra

    def field(name: str) -> str:
        value = extra.get(name)
        return value[:120] if isinstance(value, str) and value else "?"

    event = field("event")
    if event in ("osd_applied", "osd_refused"):
        return osd_event(record)
    text = f"declared camera {event}: {field('old_address')} -> {field('new_address')}"
    if event == "identity_changed":
        text += f", endpoint {field('endpoint')}, certificate {field('cert_sha256')[:16]}"
    return f"{text}, serial {field('serial')}"


def osd_event(record: Record) -> str:
    """An `osd_applied`/`osd_refused` record in words: what the camera's own OSD shows."""
    extra = record.extra
    reason = extra.get("reason")
    if extra.get("event") == "osd_refused":
        why = reason[:160] if isinstance(reason, str) else "?"
        return f"camera OSD not set (camera refused): {why}"
    osds = extra.get("osds")
    shown = []
    for osd in osds[:8] if isinstance(osds, list) else []:
        if not isinstance(osd, dict):
            continue
        kind, where, text = osd.get("type"), osd.get("position"), osd.get("text")
        part = f"{kind if isinstance(kind, str) else '?'}"[:24]
        if isinstance(text, str) and text:
            part += f" {text[:64]!r}"
        shown.append(f"{part} at {where[:24] if isinstance(where, str) else '?'}")
    refused = extra.get("refused")
    missing = f"; not set: {len(refused)} item(s)" if isinstance(refused, list) and refused else ""
    again = " again (the camera had lost or changed it)" if extra.get("reapplied") is True else ""
    return f"camera OSD set{again}: {', '.join(shown) or 'nothing'}{missing}"


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


def _checkpoints(
    name: str,
    result: LedgerResult,
    lines: Sequence[bytes],
    last_seq: int,
    first_absent: int,
    source: MediaSource,
) -> None:
    """V8: signed tree heads: signature, stream, root over the first `size` lines, cut-off tail."""
    found = result.findings
    first = found.first_record()
    valid: list[tuple[int, Checkpoint]] = []
    for j, line in enumerate(split_lines(source.read_bytes(CHECKPOINTS_NAME))[0], start=1):
        try:
            cp = Checkpoint.from_json(line)
        except (CryptoFormatError, RecursionError) as e:
            found.issue("V8", Verdict.NOT_AUTHENTIC, f"checkpoint line {j} is unreadable: {e}")
            continue
        if result.verifier is None:
            continue
        try:
            ok = cp.verify(result.verifier)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            found.issue(
                "V8", Verdict.NOT_AUTHENTIC, f"checkpoint {j} (size {cp.size}): bad signature"
            )
        elif cp.stream != name and (first is None or cp.stream != first.stream):
            found.issue(
                "V8", Verdict.NOT_AUTHENTIC, f"checkpoint {j} belongs to stream {cp.stream!r}"
            )
        else:
            valid.append((j, cp))
    # A checkpoint of size S pins seqs 0..S-1 (the writer numbers lines from 0). Its root
    # is recomputed when all of them are present; a deleted record is already MISSING.
    checkable = min(len(lines), first_absent)
    roots = roots_at(lines, {cp.size for _, cp in valid if cp.size <= checkable})
    for j, cp in valid:
        if cp.size not in roots:
            continue
        if roots[cp.size] != cp.root:
            found.issue(
                "V8",
                Verdict.NOT_AUTHENTIC,
                f"checkpoint {j}: the ledger's first {cp.size} records differ from the "
                "signed tree head (history rewritten)",
            )
        else:
            result.checkpoints_used += 1
            result.pinned = max(result.pinned, cp.size)
    newest = max(valid, key=lambda v: v[1].size, default=None)
    if newest is not None and newest[1].size - 1 > last_seq:
        j, cp = newest
        found.missing(
            "V8",
            last_seq + 1,
            cp.size - 1,
            f"cut off: checkpoint {j} covers seqs 0-{cp.size - 1}, the ledger ends at "
            f"seq {last_seq}",
        )


def roots_at(lines: Sequence[bytes], sizes: set[int]) -> dict[int, str]:
    """RFC 6962 roots over the first `size` lines, for each wanted size, in one pass."""
    acc = MerkleAccumulator()
    roots = {0: acc.root().hex()} if 0 in sizes else {}
    top = max(sizes, default=0)
    for line in lines[:top]:
        acc.append(leaf_hash(line))
        if acc.size in sizes:
            roots[acc.size] = acc.root().hex()
    return roots
