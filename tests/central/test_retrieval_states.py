"""`archive find`'s states, decided from signed records and what the bucket holds (pure):
the same words as the box's `find`, and an unsigned record never changes one."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central.retrieval.find import segment_states, stream_removals
from central.retrieval.objects import SegmentObject
from central.retrieval.stream import ArchiveStream
from segments.case_range import Selection
from segments.records import Record
from segments.signing import Ed25519Signer
from tests.segments.sealed_stream import SIGNER, Stream


def note(s: Stream, kind: str, reason: str, start: float, end: float, **extra: object) -> Record:
    return s.ledger.append(replace(s.draft(kind, start, end, reason=reason), extra=extra))


def test_states_follow_signed_purges_and_holds_and_the_objects_held(tmp_path: Path) -> None:
    s = Stream(tmp_path)
    s.start()
    kept, lost, gone, altered, released, evicted = (s.segment() for _ in range(6))
    t = s.t

    def purge(r: Record, reason: str) -> Record:
        return note(s, "purge", reason, t, t, seq=r.seq, sha256_cipher=r.sha256_cipher,
                    size_cipher=r.size_cipher)  # fmt: skip

    notes = [
        note(s, "hold", "hold", kept.start_ts or 0, kept.end_ts or 0, hold_id=1),
        note(s, "hold", "hold", released.start_ts or 0, released.end_ts or 0, hold_id=2),
        note(s, "hold", "release", released.start_ts or 0, released.end_ts or 0, hold_id=2),
        purge(lost, "evicted_unuploaded"),
        purge(evicted, "evicted_confirmed"),
        purge(gone, "evicted_confirmed"),  # confirmed upload, yet the archive lacks it
    ]
    forger = Ed25519Signer(Ed25519PrivateKey.generate())
    forged = purge(altered, "evicted_unuploaded")
    forged = replace(forged, sig=base64.b64encode(forger.sign(forged.signed_part())).decode())
    segments = [kept, lost, gone, altered, released, evicted]
    records = {r.seq: r for r in [*segments, *notes, forged]}
    stream = ArchiveStream("gw1", "cam1", SIGNER.verifier(), records, {}, {}, (),
                           Selection((), (), ()))  # fmt: skip
    objects = {r.seq: SegmentObject(r, f"k/{r.seq}", ()) for r in segments}
    signed = {r.seq: (r.size_cipher, r.sha256_cipher) for r in (kept, released, evicted)}
    hashes = {**{r.seq: None for r in segments}, **signed,
              altered.seq: (altered.size_cipher, "0" * 64)}  # fmt: skip
    states = segment_states(stream, objects, hashes, stream_removals(stream))
    assert states == {
        kept.seq: "held",
        lost.seq: "purged",  # a declared loss before any upload
        gone.seq: "missing",  # the box says the archive had it: the archive must
        altered.seq: "missing",  # other bytes are not the segment; a forged purge excuses nothing
        released.seq: "confirmed",  # a released hold holds nothing
        evicted.seq: "evicted",
    }
