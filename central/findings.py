"""What sync can find wrong in the bucket, each kind with what it means and what to do.

The kinds are machine names (kept in English, as in JSON); what each means is marked for the
catalogue and translated where shown.

A finding names the gateway and, where it applies, the stream and seq (or tree size) and
the object key. Findings are stored once: re-running sync over the same bucket reports the
same finding without adding it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from evgw.i18n import N_

UNTRUSTED_GATEWAY = "untrusted_gateway"
BAD_SIGNATURE = "bad_signature"
CHAIN_BREAK = "chain_break"
UNPARSABLE = "unparsable"
OVERSIZED = "oversized"
MISPLACED = "misplaced"
DUPLICATE_SEQ = "duplicate_seq"
OVERWRITE = "overwrite"
DELETED = "deleted"
VANISHED = "vanished"
MISSING_SEGMENT = "missing_segment"
MISSING_RECORD = "missing_record"
SEGMENT_MISMATCH = "segment_mismatch"
ORPHAN_OBJECT = "orphan_object"
UNKNOWN_OBJECT = "unknown_object"
FORK = "fork"
ROLLBACK = "rollback"
ROOT_MISMATCH = "root_mismatch"
FOREIGN_WITNESS = "foreign_witness"
TIMESTAMP_REFUSED = "timestamp_refused"

MEANING = {
    UNTRUSTED_GATEWAY: N_(
        "objects of a gateway [trust] lists no key for: nothing of it accepted; "
        "if the gateway is ours, add its device key to [trust] and sync again, else find out who "
        "writes there"
    ),
    BAD_SIGNATURE: N_(
        "a record or checkpoint not signed by the gateway's trusted key: forged, or "
        "the device key was replaced; not accepted. Check the gateway's enrolment and the bucket's "
        "write permissions"
    ),
    CHAIN_BREAK: N_(
        "a record's prev is not the hash of the record before it: history rewritten. "
        "Compare both records with the box's ledger (`evgw verify`) and preserve the bucket "
        "versions"
    ),
    UNPARSABLE: N_(
        "an object at a record or checkpoint key that is not one: find who wrote it "
        "(store access logs); it is kept, not read again"
    ),
    OVERSIZED: N_(
        "a record or checkpoint object larger than [archive] max_object_bytes: not read; "
        "find who wrote it"
    ),
    MISPLACED: N_(
        "an object whose content names another gateway, stream, seq or start than its "
        "key: a copy or a move; find who wrote it"
    ),
    DUPLICATE_SEQ: N_(
        "two different signed records with one seq: the device key signed two "
        "histories (a stolen or cloned box); the first one is catalogued"
    ),
    OVERWRITE: N_(
        "more than one version of a key the uploader writes once: an overwrite attempt; "
        "the first version is the one catalogued. Check the bucket's object lock and who holds "
        "write keys"
    ),
    DELETED: N_(
        "a delete marker on evidence: someone deleted it (the versions are still there); "
        "check who holds delete rights on the bucket"
    ),
    VANISHED: N_(
        "an object version catalogued earlier is no longer in the bucket: deleted for "
        "good, which only a bucket without object lock (or a privileged key) allows; the catalogue "
        "keeps its hashes. Enable object lock and find who deleted it"
    ),
    MISSING_SEGMENT: N_(
        "a segment record whose segment object is not in the bucket: check the "
        "gateway's upload backlog (`evgw status`), else the segment was deleted"
    ),
    MISSING_RECORD: N_(
        "a signed checkpoint covers a seq no accepted record object holds: records "
        "deleted or never uploaded; check the gateway's upload backlog (`evgw status`)"
    ),
    SEGMENT_MISMATCH: N_(
        "a segment object whose size or SHA-256 differs from its signed record: "
        "the stored segment was replaced; retrieve the first version, preserve the others"
    ),
    ORPHAN_OBJECT: N_(
        "a segment object no catalogued record names: its record is missing, refused "
        "or was never written; see the other findings for that seq"
    ),
    UNKNOWN_OBJECT: N_(
        "an object under a gateway's prefix that is no evgw object key: find who wrote it"
    ),
    FORK: N_(
        "two signed checkpoints of one stream and size with different roots: two histories "
        "signed by one device key; treat the gateway's key as compromised"
    ),
    ROLLBACK: N_(
        "a checkpoint newer than, but smaller than or inconsistent with, an earlier one: "
        "the box's history was cut back or rewritten (a wiped or restored box); verify the box"
    ),
    ROOT_MISMATCH: N_(
        "a checkpoint whose root is not the RFC 6962 root of the catalogued records: "
        "the records or the checkpoint belong to another history"
    ),
    FOREIGN_WITNESS: N_(
        "a .witnessed object this archive did not write, or that does not verify "
        "with [witness] signing_key over the checkpoint beside it: someone forged or replaced a "
        "cosignature; boxes are verified only against the archive's own (`evgw archive "
        "verify-box`). Find who holds write keys to the bucket"
    ),
    TIMESTAMP_REFUSED: N_(
        "a checkpoint's RFC 3161 token that does not hold: broken, for other "
        "bytes (another checkpoint's token), or not from the TSA of [tsa] ca_file; the checkpoint "
        "has no trusted time. Check the gateway's [tsa] and who writes to the bucket"
    ),
}

NO_SEQ = -1
MAX_DETAIL = 500
MAX_KEY_BYTES = 1024  # S3's longest key; a longer one (a hostile store) is shown cut


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
        # Details and keys may quote hostile bytes: keep what is stored and shown bounded.
        if len(self.detail) > MAX_DETAIL:
            object.__setattr__(self, "detail", self.detail[: MAX_DETAIL - 1] + "…")
        for name in ("gateway", "stream", "key"):
            value = getattr(self, name)
            if len(value.encode("utf-8")) > MAX_KEY_BYTES:
                cut = value.encode("utf-8")[: MAX_KEY_BYTES - 3].decode("utf-8", "ignore")
                object.__setattr__(self, name, cut + "…")

    @property
    def fingerprint(self) -> str:
        """What makes a finding the same finding: kind, gateway, stream, seq and key."""
        fields = [self.kind, self.gateway, self.stream, str(self.seq), self.key]
        return hashlib.sha256("\n".join(fields).encode("utf-8")).hexdigest()

    def where(self) -> str:
        """Gateway, stream and seq as one short label for a report line."""
        parts = [self.gateway]
        if self.stream:
            parts.append(self.stream)
        if self.seq != NO_SEQ:
            parts.append(f"#{self.seq}")
        return "/".join(parts)
