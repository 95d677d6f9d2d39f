"""`find`: the segments covering a camera's time range, where each is, and their verdicts.

The verdicts come from the same slice check an export package gets, and name the same
things `evgw verify` does: a segment whose file a signed `purge` record removed is a declared
gap (state `evicted` after a confirmed upload, `purged` before one), never MISSING. Origin
is proven only by a key the caller trusts; without one the verdict is INTEGRITY_ONLY at best.
A segment in central storage counts as hash-checked only when the store answers with a
SHA-256 checksum equal to the signed one, for the object version the upload confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from segments.case_found import (
    CONFIRMED,
    EVICTED,
    HELD,
    MISSING,
    PURGED,
    FindResult,
    found_segment,
    whole_sha256,
)
from segments.hashing import hash_file
from segments.index_readonly import open_readonly
from segments.ledger import signature_ok
from segments.package import ORIGINAL, make_proofs, original_name
from segments.records import MEDIA_KINDS
from segments.signing import Verifier, fingerprint
from segments.slice_check import FileHash, check_slice
from segments.trust import TrustedKeys
from segments.verify import SeqFinding, StreamIssue, Verdict, with_origin
from segments.verify.purges import Removal, removals

from .lookup import LOCAL, Selection, Stream, load_stream, select
from .originals import confirmed_versions
from .sources import CaseSources


def find(
    sources: CaseSources,
    camera: str,
    start: datetime,
    end: datetime,
    source: str,
    trust: TrustedKeys | None,
    now: datetime | None = None,
) -> FindResult:
    """The segments covering [start, end) with their state and slice-check verdicts."""
    stream = load_stream(sources, camera)
    chosen = select(stream, start, end, now)
    verifier, trusted, origin = _key(stream, trust, sources.gateway)
    removed = _removals(stream, verifier)
    states = segment_states(sources, stream, removed)
    findings: dict[int, SeqFinding] = {}
    issues: tuple[StreamIssue, ...] = ()
    integrity = Verdict.INCOMPLETE
    if chosen.lines:
        seqs = chosen.seqs
        checkpoint = stream.covering_checkpoint(seqs[-1])
        proofs = [] if checkpoint is None else make_proofs(stream.lines, seqs, checkpoint.size)
        check = check_slice(
            chosen.lines,
            verifier=verifier,
            checkpoint=checkpoint,
            proofs={p.seq: p for p in proofs},
            file_hash=_file_hasher(sources, stream, chosen, source),
            check_plain=False,
            require_checkpoint=False,
            removed=_excused(sources, removed),
        )
        findings = {f.seq: f for f in check.findings}
        issues, integrity = check.issues, check.verdict
    segments = tuple(found_segment(r, states, findings.get(r.seq)) for r in chosen.media)
    return FindResult(
        camera, start.isoformat(), end.isoformat(), source,
        str(with_origin(integrity, trusted)), str(integrity), fingerprint(verifier), origin,
        segments, chosen.holes, issues,
    )  # fmt: skip


def segment_states(
    sources: CaseSources, stream: Stream, removed: Mapping[int, Removal]
) -> dict[int, str]:
    """seq -> local | confirmed | held | evicted | purged | missing.

    On disk: held (legal hold), confirmed (uploaded) or local; gone: evicted or purged when a
    signed purge record declares it (after or before a confirmed upload), else missing.
    """
    index = open_readonly(sources.index_path)
    rows = {}
    if index is not None:
        try:
            rows = {r.seq: r for r in index.local_segments() if r.stream == stream.camera}
        finally:
            index.close()
    states: dict[int, str] = {}
    for r in stream.records:
        if r.kind not in MEDIA_KINDS or not r.file:
            continue
        row = rows.get(r.seq)
        if (stream.root / r.file).is_file():
            held = row is not None and row.held
            states[r.seq] = HELD if held else CONFIRMED if row and row.confirmed else LOCAL
        elif r.seq in removed:
            states[r.seq] = EVICTED if removed[r.seq].confirmed else PURGED
        else:
            states[r.seq] = MISSING
    return states


def _key(stream: Stream, trust: TrustedKeys | None, gateway: str) -> tuple[Verifier, bool, str]:
    """The caller's trusted key for this gateway, else the ledger's own (integrity only)."""
    first = stream.records[0] if stream.records else None
    named = first.gateway if first is not None else gateway
    key = None if trust is None else trust.for_subject(named, first.key_id if first else None)
    if trust is not None and key is not None:
        return key, True, f"trusted for gateway {named!r} from {trust.origin}"
    why = "no trusted key given" if trust is None else trust.unlisted(named)
    return stream.ledger_key(), False, f"the ledger's own key record, integrity only: {why}"


def _removals(stream: Stream, verifier: Verifier) -> dict[int, Removal]:
    """Removals declared by purge records that verify with the key the records are checked
    with (V7's rule, shared with `evgw verify`)."""
    purges = [r for r in stream.records if r.kind == "purge" and signature_ok(r, verifier)]
    return removals({r.seq: r for r in stream.records}, purges)


def _excused(sources: CaseSources, removed: Mapping[int, Removal]) -> dict[int, Removal]:
    """Removals that excuse an absent file: all of them, but a confirmed upload must still be
    found in central storage when the gateway has one."""
    if sources.central is None:
        return dict(removed)
    return {seq: r for seq, r in removed.items() if not r.confirmed}


def _file_hasher(sources: CaseSources, stream: Stream, chosen: Selection, source: str) -> FileHash:
    """(size, SHA-256) of a sealed file where `source` says to look for it; a central object
    without a whole-object checksum is (size, None): present, not hash-checked."""
    by_name = {f"{ORIGINAL}/{original_name(r)}": r for r in chosen.media}
    versions = {} if sources.central is None else confirmed_versions(sources, stream.camera)

    def file_hash(rel: str) -> tuple[int, str | None] | None:
        r = by_name[rel]
        assert r.file is not None
        local = stream.root / r.file
        if source == LOCAL and local.is_file():
            return hash_file(local)
        if sources.central is None:
            return None
        info = sources.central.head(sources.central_key(r), version_id=versions.get(r.seq))
        if info is None:
            return None
        return info.size, whole_sha256(info.checksum_sha256)

    return file_hash
