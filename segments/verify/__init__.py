"""Offline verification of recorded streams: signatures, chain, checkpoints and media hashes.

Needs no secret (an age identity only adds the plaintext check) and reads only through a
`MediaSource`, so the same procedure checks a data dir, a copy of it, or an export package.
It never stops at the first problem: every record gets a verdict and every defect a line,
so an expert can see *what* is wrong, not only *that* something is. Each finding names the
step below that produced it.

The procedure, for each stream:

V1  Parse: read the ledger and parse every line. An unreadable line is NOT_AUTHENTIC, an
    unfinished last line (a crash mid-append) INCOMPLETE; both still count for the chain
    and the Merkle tree.
V2  Key: the caller's trusted key for the gateway the records name (`--pubkey`, or the
    trust file's entry); without one, the key the ledger's first (`key`) record declares,
    which proves integrity since then, not origin (the verdict is then INTEGRITY_ONLY at
    best). A key record naming another key than the trusted one is SIG_BAD.
V3  Signature: every record verifies with the trusted key (SIG_BAD).
V4  Chain: one stream and gateway name; seqs continue (a hole is MISSING); `prev` holds the
    hash of the previous line; a repeated or reordered seq is a CHAIN_BREAK.
V5  Time: no record starts before the previous one ends, nor ends before it starts, unless
    a `clock` record declared a backward step that large (TIME_REGRESSION).
V6  Declared gaps and media claims: `gap` records and lasting `boot`s are GAP(reason),
    `truncated` segments TRUNCATED; a media record names a file inside the stream folder,
    with the ciphertext's size and SHA-256 (else HASH_MISMATCH); a `camera` record (moved,
    identity changed) is shown as the declared event it is (OK).
V7  Declared removals: a signed `purge` names an earlier segment by its exact size and
    SHA-256; only then is that segment's absent file a GAP(reason) in V9.
V8  Checkpoints: each signed tree head verifies, belongs to this stream, and its root
    matches the ledger's first `size` lines (else history was rewritten); seqs it covers
    beyond the ledger's end are MISSING (the tail was cut off).
V9  Ciphertext: each media file is present (else MISSING, or GAP when purged per V7) and
    its size and SHA-256 match the signed record (HASH_MISMATCH).
V10 Plaintext, given age identities: the file decrypts and its plaintext's size and SHA-256
    match the record (HASH_MISMATCH); a truncated segment reports its authenticated prefix.
V11 Verdicts: a seq's verdict is its worst finding; a stream's is the worst impact of its
    seqs and issues (INTEGRITY_ONLY instead of a passing one when V2 found no trusted key);
    the report's is the worst of its streams' and of the report's own issues.

Given witnessed checkpoints (`witness`), steps W1-W4 (`witness_checks`) run after V8 and
hold each stream to what the central witness cosigned: a cut tail, a rewritten record or a
fork is NOT_AUTHENTIC even when the box's own checkpoints were cut or re-signed too.

V12 Timestamps (checked before V11 sums up): the RFC 3161 token beside each checkpoint
    (`checkpoints/<size>.tsr`) is over that checkpoint's exact bytes and, given TSA trust
    anchors, signed by a TSA chaining to them; a refused token is NOT_AUTHENTIC, a missing
    one only listed (`StreamReport.timestamps`), one without anchors listed as UNCHECKED.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cryptography import x509

from ..agekeys import X25519Identity
from ..signing import fingerprint
from ..timestamp import TimestampFinding
from ..trust import TrustedKeys
from .ledger_checks import LedgerResult, check_ledger
from .media_checks import check_media, media_bytes
from .report import (
    EXIT_FAIL,
    EXIT_INTEGRITY_ONLY,
    EXIT_PASS,
    KEY_FROM_CALLER,
    KEY_FROM_LEDGER,
    KEY_NONE,
    PASSING,
    Report,
    SeqFinding,
    SeqVerdict,
    StreamIssue,
    StreamReport,
    Verdict,
    WitnessFinding,
    WitnessSummary,
    exit_code,
    with_origin,
    worst,
)
from .source import DirMediaSource, MediaSource
from .timestamps import check_timestamps
from .witness_checks import WitnessInput, assign, check_witness

Progress = Callable[[int, int], None]  # (bytes processed so far, total bytes)

__all__ = [
    "EXIT_FAIL",
    "EXIT_INTEGRITY_ONLY",
    "EXIT_PASS",
    "KEY_FROM_CALLER",
    "KEY_FROM_LEDGER",
    "KEY_NONE",
    "PASSING",
    "DirMediaSource",
    "MediaSource",
    "Progress",
    "Report",
    "SeqFinding",
    "SeqVerdict",
    "StreamIssue",
    "StreamReport",
    "Verdict",
    "WitnessFinding",
    "WitnessInput",
    "WitnessSummary",
    "exit_code",
    "verify",
    "with_origin",
]


def verify(
    streams: Sequence[tuple[str, MediaSource]],
    *,
    trust: TrustedKeys | None = None,
    identities: Sequence[X25519Identity] = (),
    progress: Progress | None = None,
    witness: WitnessInput | None = None,
    tsa_anchors: Sequence[x509.Certificate] | None = None,
) -> Report:
    """Verify each named stream; `trust` holds the caller's trusted keys (origin) if any,
    `witness` the witnessed checkpoints to hold the streams to and the witness key,
    `tsa_anchors` the CA certificates of the time-stamping authorities the caller trusts."""
    ledgers = [(name, source, check_ledger(name, source, trust)) for name, source in streams]
    assigned, issues = (
        ({}, []) if witness is None else assign(witness, [(n, r) for n, _, r in ledgers])
    )
    total = sum(media_bytes(result, decrypt=bool(identities)) for _, _, result in ledgers)
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    reports = []
    for name, source, result in ledgers:
        summary = None
        if witness is not None:
            summary = check_witness(name, source, result, assigned.get(name, []), witness, trust)
        check_media(result, source, identities, advance)
        stamps = check_timestamps(source, result.findings, tsa_anchors)  # V12
        reports.append(_stream_report(name, result, summary, stamps))
    fingerprints = {r.fingerprint for r in reports}
    sources = {r.key_source for r in reports}
    own = [i.impact for i in issues]
    return Report(  # V11
        verdict=worst([*(r.verdict for r in reports), *own], Verdict.INCOMPLETE),
        integrity=worst([*(r.integrity for r in reports), *own], Verdict.INCOMPLETE),
        streams=tuple(reports),
        key_source=sources.pop() if len(sources) == 1 else "mixed",
        fingerprint=fingerprints.pop() if len(fingerprints) == 1 else None,
        checkpoints_used=sum(r.checkpoints_used for r in reports),
        issues=tuple(issues),
    )


def _stream_report(
    name: str,
    result: LedgerResult,
    witness: WitnessSummary | None,
    stamps: tuple[TimestampFinding, ...],
) -> StreamReport:
    """V11 for one stream."""
    found = result.findings
    integrity = found.verdict()
    return StreamReport(
        stream=name,
        verdict=with_origin(integrity, result.trusted),
        integrity=integrity,
        findings=found.findings(),
        issues=tuple(found.issues),
        key_source=result.key_source,
        fingerprint=None if result.verifier is None else fingerprint(result.verifier),
        origin=result.origin,
        records=result.records,
        checkpoints_used=result.checkpoints_used,
        pinned=result.pinned,
        witness=witness,
        timestamps=stamps,
    )
