"""What sync can find wrong in the bucket, each kind with what it means and what to do.

A finding names the gateway and, where it applies, the stream and seq (or tree size) and
the object key. Findings are stored once: re-running sync over the same bucket reports the
same finding without adding it again.
"""

from __future__ import annotations

from dataclasses import dataclass

UNTRUSTED_GATEWAY = "untrusted_gateway"
BAD_SIGNATURE = "bad_signature"
CHAIN_BREAK = "chain_break"
UNPARSABLE = "unparsable"
OVERSIZED = "oversized"
MISPLACED = "misplaced"
DUPLICATE_SEQ = "duplicate_seq"
OVERWRITE = "overwrite"
DELETED = "deleted"
MISSING_SEGMENT = "missing_segment"
MISSING_RECORD = "missing_record"
SEGMENT_MISMATCH = "segment_mismatch"
ORPHAN_OBJECT = "orphan_object"
UNKNOWN_OBJECT = "unknown_object"
FORK = "fork"
ROLLBACK = "rollback"
ROOT_MISMATCH = "root_mismatch"

MEANING = {
    UNTRUSTED_GATEWAY: "objects of a gateway [trust] lists no key for: nothing of it accepted; "
    "enrol its device key if the gateway is ours, else investigate who writes there",
    BAD_SIGNATURE: "a record or checkpoint not signed by the gateway's trusted key: forged or "
    "written by another key; not accepted",
    CHAIN_BREAK: "a record's prev is not the hash of the record before it: history rewritten",
    UNPARSABLE: "an object at a record or checkpoint key that is not one: investigate the writer",
    OVERSIZED: "a record or checkpoint object larger than [archive] max_object_bytes: not read",
    MISPLACED: "an object whose content names another gateway, stream or seq than its key",
    DUPLICATE_SEQ: "two different signed records with one seq: the device signed two histories",
    OVERWRITE: "more than one version of a key the uploader writes once: an overwrite attempt; "
    "the first version is the one catalogued",
    DELETED: "a delete marker on evidence: someone deleted it (the versions are still there)",
    MISSING_SEGMENT: "a segment record whose segment object is not in the bucket",
    MISSING_RECORD: "a signed checkpoint covers a seq no accepted record object holds: records "
    "deleted or never uploaded (check the gateway's upload backlog)",
    SEGMENT_MISMATCH: "a segment object whose size or SHA-256 differs from its signed record",
    ORPHAN_OBJECT: "a segment object no record names",
    UNKNOWN_OBJECT: "an object under a gateway's prefix that is no evgw object key",
    FORK: "two checkpoints of one stream and size with different roots: two histories",
    ROLLBACK: "a checkpoint newer than, but smaller than or inconsistent with, an earlier one",
    ROOT_MISMATCH: "a checkpoint whose root is not the RFC 6962 root of the catalogued records",
}

NO_SEQ = -1


@dataclass(frozen=True)
class Finding:
    """One thing wrong; `seq` is -1 and `stream`/`key` '' where they do not apply."""

    kind: str
    gateway: str
    detail: str
    stream: str = ""
    seq: int = NO_SEQ
    key: str = ""

    def __post_init__(self) -> None:
        if self.kind not in MEANING:
            raise ValueError(f"unknown finding kind {self.kind!r}")

    def where(self) -> str:
        """Gateway, stream and seq as one short label for a report line."""
        parts = [self.gateway]
        if self.stream:
            parts.append(self.stream)
        if self.seq != NO_SEQ:
            parts.append(f"#{self.seq}")
        return "/".join(parts)
