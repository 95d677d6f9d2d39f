"""The slice check: a contiguous run of ledger lines against its files and a signed checkpoint.

What an export proves and what `evgw find` shows: each record of the slice is the device's,
in order, part of the signed log, and its files are the ones it signed. The procedure:

S1  Checkpoint: present (unless not required) and signed by the trusted device key.
S2  Parse: every line is a record; an unreadable line is NOT_AUTHENTIC and breaks the chain.
S3  Signature: every record verifies with the trusted key (SIG_BAD).
S4  Chain: seqs follow one another inside the slice and `prev` holds the previous line's
    hash (CHAIN_BREAK).
S5  Inclusion: each record's RFC 6962 proof leads to the checkpoint's root (CHAIN_BREAK).
S6  Declared gaps and files: `gap` records and lasting `boot`s are GAP(reason), as in the
    stream verifier; each media record's sealed file (and decrypted copy, when checked) is
    present with the signed size and SHA-256 (HASH_MISMATCH); an absent one is MISSING unless
    a signed `purge` declared its removal (GAP(reason), the caller passes those in); one seen
    only by size (a store's HEAD without a checksum) is UNCHECKED; a truncated segment's
    decrypted prefix is TRUNCATED.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .checkpoint import Checkpoint
from .errors import CryptoFormatError
from .ledger import line_hash, signature_ok
from .package import (
    DECRYPTED,
    ORIGINAL,
    RECORDS_NAME,
    InclusionProof,
    decrypted_name,
    original_name,
)
from .records import MEDIA_KINDS, Record
from .signing import Verifier, fingerprint
from .verify.camera_events import EVENT_KIND, camera_notification
from .verify.ledger_checks import camera_event
from .verify.purges import Removal
from .verify.report import Findings, SeqFinding, SeqVerdict, StreamIssue, Verdict
from .verify.time_order import lasts

FileHash = Callable[[str], tuple[int, str | None] | None]
"""package path -> (size, SHA-256), None when absent; a SHA-256 of None: present, unhashed."""


@dataclass(frozen=True)
class SliceCheck:
    verdict: Verdict
    findings: tuple[SeqFinding, ...]
    issues: tuple[StreamIssue, ...]


def check_slice(
    lines: Sequence[bytes],
    *,
    verifier: Verifier,
    checkpoint: Checkpoint | None,
    proofs: Mapping[int, InclusionProof],
    file_hash: FileHash,
    check_plain: bool = True,
    require_checkpoint: bool = True,
    removed: Mapping[int, Removal] | None = None,
) -> SliceCheck:
    """Run S1-S6 over a slice of ledger lines; every defect is a finding.

    `check_plain` False skips the decrypted copies (a gateway holds none);
    `require_checkpoint` False accepts records not yet pinned by a checkpoint; `removed`
    names the segments whose files signed purges declared removed (see `verify.purges`).
    """
    found = Findings()
    if not lines:
        found.issue("S2", Verdict.INCOMPLETE, f"{RECORDS_NAME} holds no records")
    cp_ok = checkpoint is not None and checkpoint.verify(verifier)
    if checkpoint is None:
        if require_checkpoint:
            found.issue("S1", Verdict.INCOMPLETE, "no checkpoint to prove inclusion against")
    elif not cp_ok:
        found.issue("S1", Verdict.NOT_AUTHENTIC, "the checkpoint's signature is bad")
    prev: tuple[int, str] | None = None
    for n, line in enumerate(lines, start=1):
        try:
            record = Record.from_json(line)
        except CryptoFormatError as e:
            found.issue("S2", Verdict.NOT_AUTHENTIC, f"record line {n}: {e}")
            prev = None
            continue
        seq = record.seq
        found.see(record)
        if not signature_ok(record, verifier):
            found.add(
                "S3",
                seq,
                SeqVerdict.SIG_BAD,
                f"signature does not verify with {fingerprint(verifier)}",
            )
        if prev is not None:
            if seq != prev[0] + 1:
                found.add(
                    "S4",
                    seq,
                    SeqVerdict.CHAIN_BREAK,
                    f"follows seq {prev[0]}: the slice has a hole",
                )
            elif record.prev != prev[1]:
                found.add("S4", seq, SeqVerdict.CHAIN_BREAK, f"prev does not match seq {prev[0]}")
        prev = (seq, line_hash(line))
        if checkpoint is not None and cp_ok:
            _inclusion(found, record, line, checkpoint, proofs.get(seq))
        if record.kind == "gap" or (record.kind == "boot" and lasts(record)):
            reason = record.reason or "unspecified"
            found.add("S6", seq, SeqVerdict.GAP, f"declared {record.kind}", reason)
        elif record.kind in MEDIA_KINDS and record.file:
            removal = (removed or {}).get(seq)
            _check_files(found, record, file_hash, check_plain, removal)
        elif record.kind == EVENT_KIND:
            found.add("S6", seq, SeqVerdict.OK, camera_notification(record))
        elif record.kind == "camera":
            found.add("S6", seq, SeqVerdict.OK, camera_event(record))
    return SliceCheck(found.verdict(), found.findings(), tuple(found.issues))


def _inclusion(
    found: Findings,
    record: Record,
    line: bytes,
    checkpoint: Checkpoint,
    proof: InclusionProof | None,
) -> None:
    """S5: the record's line is leaf `seq` of the signed tree."""
    if proof is None:
        found.add("S5", record.seq, SeqVerdict.CHAIN_BREAK, "no inclusion proof for this record")
    elif proof.tree_size != checkpoint.size or not proof.holds(line, checkpoint.root):
        found.add(
            "S5",
            record.seq,
            SeqVerdict.CHAIN_BREAK,
            f"inclusion proof fails against checkpoint (size {checkpoint.size})",
        )


def _check_files(
    found: Findings,
    record: Record,
    file_hash: FileHash,
    check_plain: bool,
    removal: Removal | None,
) -> None:
    """S6 for a media record: its sealed file, and its decrypted copy when asked."""
    seq = record.seq
    original = f"{ORIGINAL}/{original_name(record)}"
    stat = file_hash(original)
    if stat is None:
        if removal is not None:
            found.add("S6", seq, SeqVerdict.GAP, removal.detail, removal.reason)
        else:
            found.add("S6", seq, SeqVerdict.MISSING, f"{original} is absent")
    elif stat[0] != record.size_cipher or stat[1] not in (None, record.sha256_cipher):
        found.add(
            "S6", seq, SeqVerdict.HASH_MISMATCH, f"{original} differs from the signed SHA-256/size"
        )
    elif stat[1] is None:
        found.add("S6", seq, SeqVerdict.UNCHECKED, "present (signed size), not hash-checked")
    if not check_plain:
        return
    plain = f"{DECRYPTED}/{decrypted_name(record)}"
    stat = file_hash(plain)
    if stat is None:
        found.add("S6", seq, SeqVerdict.MISSING, f"{plain} is absent")
    elif record.kind == "truncated":
        found.add(
            "S6", seq, SeqVerdict.TRUNCATED, "segment was cut by a crash; its prefix is exported"
        )
    elif stat != (record.size_plain, record.sha256_plain):
        found.add(
            "S6", seq, SeqVerdict.HASH_MISMATCH, f"{plain} differs from the signed sha256_plain"
        )
