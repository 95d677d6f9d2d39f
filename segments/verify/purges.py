"""Step V7: which segments a signed `purge` record declares removed from the local store.

A purge excuses a segment's absent file only if it names an earlier segment by its exact
ciphertext size and SHA-256: a purge of an altered file, of a non-segment or of a later seq
declares nothing. `evgw verify` and `evgw find` both read evictions through this one rule,
so they call the same absence the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..records import MEDIA_KINDS, Record
from .report import Findings, SeqVerdict

PURGED_REASON = "purged"


@dataclass(frozen=True)
class Removal:
    """A segment's file removed by the gateway, as its signed `purge` record declares."""

    seq: int
    reason: str  # evicted_confirmed, evicted_unuploaded, ...
    purge_seq: int

    @property
    def detail(self) -> str:
        return f"media file evicted from the local store (purge record seq {self.purge_seq})"

    @property
    def confirmed(self) -> bool:
        """Whether central storage had confirmed the segment before it was evicted."""
        return self.reason == "evicted_confirmed"


def match_purge(purge: Record, segment_of: Callable[[int], Record | None]) -> Removal | str | None:
    """The removal `purge` declares, the problem with it, or None when its target is unknown."""
    extra = purge.extra
    target = extra.get("seq")
    if not isinstance(target, int) or isinstance(target, bool) or not 0 <= target < purge.seq:
        return "purge record names no earlier seq"
    segment = segment_of(target)
    if segment is None:
        return None  # the segment's own record is absent: already MISSING
    if segment.kind not in MEDIA_KINDS:
        return f"purge names seq {target}, a {segment.kind} record, not a segment"
    if (extra.get("sha256_cipher"), extra.get("size_cipher")) != (
        segment.sha256_cipher,
        segment.size_cipher,
    ):
        return (
            f"purge of seq {target} deleted a file whose SHA-256/size differ from the "
            "signed segment record (altered before it was evicted)"
        )
    reason = purge.reason if isinstance(purge.reason, str) and purge.reason else PURGED_REASON
    return Removal(target, reason, purge.seq)


def declared_removals(found: Findings, purges: Iterable[Record]) -> dict[int, Removal]:
    """V7 over the signature-checked `purges` of a stream: seq -> the removal of its file.

    A purge that declares nothing valid is a HASH_MISMATCH finding on the purge's own seq.
    """
    removed: dict[int, Removal] = {}
    for purge in purges:
        match = match_purge(purge, found.record)
        if isinstance(match, str):
            found.add("V7", purge.seq, SeqVerdict.HASH_MISMATCH, match)
        elif match is not None:
            removed.setdefault(match.seq, match)
    return removed


def removals(records: Mapping[int, Record], purges: Iterable[Record]) -> dict[int, Removal]:
    """seq -> the removal of its file, from purges whose signatures the caller checked."""
    found: dict[int, Removal] = {}
    for purge in purges:
        match = match_purge(purge, records.get)
        if isinstance(match, Removal):
            found.setdefault(match.seq, match)
    return found
