"""Judge a new record object and catalogue it: parse, place, signature, chain, seq.

Steps, numbered as in the code:
 (1) the bytes parse as a ledger record and are its canonical JSON (what the device signed
     and chained is exactly these bytes);
 (2) its key is the one the uploader derives from it (site, gateway, stream, seq, start);
 (3) its signature verifies with the gateway's trusted key (never the key it names itself);
 (4) no other record holds its seq;
 (5) its `prev` is the hash of the catalogued record before it, and the catalogued record
     after it (if any) chains to it; seq 0 chains to the genesis value.
A record failing (1)-(4) is not catalogued; a chain break is catalogued and reported, since
both sides are validly signed and only a person can tell which history is true.
"""

from __future__ import annotations

from dataclasses import dataclass

from segments.errors import CryptoFormatError
from segments.ledger import line_hash, signature_ok
from segments.merkle import leaf_hash
from segments.records import GENESIS_PREV, MEDIA_KINDS, Record
from segments.trust import TrustedKeys
from uplink.object_keys import ObjectKeyError, media_key, record_key

from ..catalogue.db import Tx
from ..findings import (
    BAD_SIGNATURE,
    CHAIN_BREAK,
    DUPLICATE_SEQ,
    MISPLACED,
    NO_SEQ,
    UNPARSABLE,
    Finding,
)
from .bucket import Version
from .object_names import ObjectName

PENDING, NONE = "pending", "none"


@dataclass(frozen=True)
class Accepted:
    record: Record
    line: bytes


def judge_record(data: bytes, name: ObjectName, trust: TrustedKeys) -> Accepted | Finding:
    """Steps (1)-(3), pure: the record to catalogue, or the finding that refuses it."""

    def refuse(kind: str, detail: str, seq: int | None = name.seq) -> Finding:
        return Finding(
            kind, name.gateway, detail, name.stream or "", NO_SEQ if seq is None else seq, name.key
        )

    # (1) a canonical ledger record
    try:
        record = Record.from_json(data)
    except CryptoFormatError as e:
        return refuse(UNPARSABLE, f"not a ledger record: {e}")
    if record.to_json() != data:
        return refuse(UNPARSABLE, "not in canonical JSON: not the bytes the device chained")
    # (2) where its key says: the key the uploader derives from the record itself
    if _key_of(record, name.site) != name.key:
        shown = f"{record.gateway}/{record.stream}/#{record.seq} ({record.start})"
        return refuse(MISPLACED, f"the record names {shown}, not the place of its key")
    # (3) signed by the trusted key of its gateway
    key = trust.for_subject(name.gateway, record.key_id)
    if key is None or not signature_ok(record, key):
        return refuse(
            BAD_SIGNATURE,
            f"signed by key {record.key_id or '(none)'}, not the "
            f"trusted key of {name.gateway}; the record is not accepted",
        )
    return Accepted(record, data)


def catalogue_record(
    tx: Tx, accepted: Accepted, name: ObjectName, version: Version
) -> list[Finding]:
    """Steps (4)-(5) against the catalogue, then store the record; its findings."""
    record, gateway = accepted.record, name.gateway
    here = line_hash(accepted.line)
    # (4) one record per seq
    held = tx.record(gateway, record.stream, record.seq)
    if held is not None:
        if held.record_hash == here:
            return []
        return [
            Finding(
                DUPLICATE_SEQ,
                gateway,
                f"another signed record {held.object_key} holds "
                "this seq; this one is not catalogued",
                record.stream,
                record.seq,
                name.key,
            )
        ]
    segment_key = _media_key_of(record, name.site) if record.kind in MEDIA_KINDS else None
    tx.add_record(
        gateway=gateway, stream=record.stream, seq=record.seq, kind=record.kind,
        start=record.start, end=record.end, leaf_hash=leaf_hash(accepted.line).hex(),
        record_hash=here, prev=record.prev, object_key=name.key, version_id=version.version_id,
        uploaded_at=version.last_modified, media_key=segment_key,
        sha256_cipher=record.sha256_cipher, size_cipher=record.size_cipher,
        media_state=PENDING if segment_key else NONE, reason=record.reason,
        **_purge_target(record),
    )  # fmt: skip
    # (5) chained both ways
    found = []
    before = (
        GENESIS_PREV if record.seq == 0 else _hash_of(tx, gateway, record.stream, record.seq - 1)
    )
    if before is not None and record.prev != before:
        found.append(_break(gateway, record.stream, record.seq, name.key))
    after = tx.record(gateway, record.stream, record.seq + 1)
    if after is not None and after.prev != here:
        found.append(_break(gateway, record.stream, record.seq + 1, after.object_key))
    return found


def _key_of(record: Record, site: str) -> str | None:
    """The record object's key as the uploader makes it; None when the record has none."""
    try:
        start = record.start_ts
        if start is None:
            return None
        return record_key(site, record.gateway, record.stream, record.seq, start)
    except (CryptoFormatError, ObjectKeyError, ValueError, OverflowError):
        return None


def _media_key_of(record: Record, site: str) -> str | None:
    """The key of the segment object the uploader sends with this record."""
    start = record.start_ts
    if start is None or not record.file:
        return None
    try:
        return media_key(site, record.gateway, record.stream, record.seq, start)
    except ObjectKeyError:
        return None  # a name too long for a segment key: no object can hold it


def _purge_target(record: Record) -> dict[str, object]:
    """What a `purge` record declares removed: an earlier seq with its ciphertext hash and size.

    Anything else it holds declares nothing (the gateway's verifier reads purges the same way,
    `segments.verify.purges`).
    """
    extra = record.extra if record.kind == "purge" else {}
    seq, sha256, size = extra.get("seq"), extra.get("sha256_cipher"), extra.get("size_cipher")
    if not (
        isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < record.seq
        and isinstance(sha256, str) and len(sha256) == 64
        and isinstance(size, int) and not isinstance(size, bool)
    ):  # fmt: skip
        return {"purge_seq": None, "purge_sha256": None, "purge_size": None}
    return {"purge_seq": seq, "purge_sha256": sha256, "purge_size": size}


def _hash_of(tx: Tx, gateway: str, stream: str, seq: int) -> str | None:
    row = tx.record(gateway, stream, seq)
    return None if row is None else str(row.record_hash)


def _break(gateway: str, stream: str, seq: int, key: str) -> Finding:
    return Finding(
        CHAIN_BREAK,
        gateway,
        f"record {seq}'s prev is not the hash of record "
        f"{seq - 1}: the history between them was rewritten",
        stream,
        seq,
        key,
    )
