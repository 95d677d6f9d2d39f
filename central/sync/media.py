"""Pair segment objects with the records that name them, once both had time to arrive.

The gateway uploads a segment and its record as separate objects, in parallel, so either may
arrive first. A record without its segment object, or a segment object without a record, is
pending until it is `settle_s` old, then reported; unless a signed `purge` record names that
segment by its hash and size: the ring buffer evicted it before it could be uploaded, a
declared loss the gateway already alarmed about, counted but not a finding. A pair is
compared once: size from the listing, SHA-256 from the store's own checksum where it keeps
one (a HEAD, no download).
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

from ..catalogue.db import SeenVersion, Tx
from ..findings import MISSING_SEGMENT, ORPHAN_OBJECT, SEGMENT_MISMATCH, Finding
from .bucket import Bucket
from .records import PENDING

OK, MISSING, MISMATCH, PURGED = "ok", "missing", "mismatch", "purged"


def settle_media(
    tx: Tx, bucket: Bucket, pool: Executor, gateway: str, settle_s: float, now: float
) -> list[Finding]:
    """Judge the gateway's records still waiting for their segment, then unpaired segments."""
    found = []
    pairs: list[tuple[Any, SeenVersion, list[SeenVersion]]] = []
    for row in tx.records_waiting_for_media(gateway):
        versions = [v for v in tx.object_versions_of(row.media_key) if not v.delete_marker]
        if versions:
            pairs.append((row, min(versions, key=lambda v: v.last_modified), versions))
        elif now - row.uploaded_at >= settle_s:
            why = _undeclared(tx, gateway, row)
            tx.set_media_state(row.id, MISSING if why else PURGED)
            if why:
                found.append(
                    Finding(MISSING_SEGMENT, gateway, why, row.stream, row.seq, row.media_key)
                )
    stored = bucket.sha256_many([(first.key, first.version_id) for _, first, _ in pairs], pool)
    for (row, first, versions), sha256 in zip(pairs, stored, strict=True):
        problem = _compare(row, first.size, sha256)
        tx.set_media_state(row.id, MISMATCH if problem else OK)
        for version in versions:
            tx.judge(version.key, version.version_id)
        if problem:
            found.append(Finding(SEGMENT_MISMATCH, gateway, problem, row.stream, row.seq,
                                 row.media_key))  # fmt: skip
    for version in tx.unjudged_media(gateway):
        named_by = tx.record_naming_media(version.key)
        if named_by is not None:
            if named_by.media_state != PENDING:  # a later version; overwrites are reported
                tx.judge(version.key, version.version_id)
            continue
        if now - version.last_modified >= settle_s:
            tx.judge(version.key, version.version_id)
            found.append(Finding(ORPHAN_OBJECT, gateway, "a segment object no catalogued record "
                                 "names", key=version.key))  # fmt: skip
    return found


def _undeclared(tx: Tx, gateway: str, row: Any) -> str | None:
    """Why the absent segment is a finding; None when a signed `purge` record declares it
    evicted before upload (the ring buffer ran full), with its exact hash and size."""
    purge = tx.purge_of(gateway, row.stream, row.seq)
    missing = f"no object {row.media_key} holds this record's segment"
    if purge is None:
        return missing
    if (purge.purge_sha256, purge.purge_size) != (row.sha256_cipher, row.size_cipher):
        return (
            f"{missing}; purge record {purge.seq} names it with another SHA-256/size, so it "
            "declares nothing"
        )
    return None


def _compare(row: Any, size: int, stored_sha256: str | None) -> str | None:
    """Why the stored segment is not the one the record signed; None when it is."""
    want_size, want_sha = row.size_cipher, row.sha256_cipher
    if want_size is not None and size != want_size:
        return f"the segment object holds {size} bytes, the signed record {want_size}"
    if stored_sha256 is not None and want_sha is not None and stored_sha256 != want_sha:
        return (
            f"the store's SHA-256 of the segment is {stored_sha256}, the signed record's {want_sha}"
        )
    return None
