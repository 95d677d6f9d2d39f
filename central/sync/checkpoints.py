"""Judge new checkpoint objects and hold every checkpoint to the records and the one before.

For a new checkpoint object:
 (1) it parses as a signed checkpoint in canonical JSON;
 (2) it names the gateway, stream and size its key names;
 (3) its device signature verifies with the gateway's trusted key (a checkpoint failing it
     is catalogued as unsigned, reported, and takes part in nothing below);
 (4) fork: another signed checkpoint of the same size has a different root;
 (5) rollback in time: a signed checkpoint signed later than one of larger size.
Then, for every signed checkpoint still pending, as soon as records 0..size-1 are catalogued:
 (6) its root is the RFC 6962 root over those records' leaf hashes;
 (7) a consistency proof built from the catalogued leaves, from the newest consistent
     checkpoint smaller than it, verifies (`verify_consistency`); it is then consistent.
The tree over the stream's leaves is hashed once per sync (`MerkleTree`), so judging many
checkpoints costs O(n + checkpoints x log^2 n), not O(n x checkpoints).
A checkpoint whose records have not all arrived stays pending, judged again by a later sync
from the catalogue alone (nothing is fetched twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from segments.checkpoint import Checkpoint
from segments.errors import CryptoFormatError
from segments.merkle import verify_consistency
from segments.merkle_tree import MerkleTree
from segments.timeline import parse_iso
from segments.trust import TrustedKeys

from ..catalogue.db import Tx
from ..findings import (
    BAD_SIGNATURE,
    FORK,
    MISPLACED,
    MISSING_RECORD,
    ROLLBACK,
    ROOT_MISMATCH,
    UNPARSABLE,
    Finding,
)
from .bucket import Version
from .object_names import ObjectName

PENDING, CONSISTENT, INCONSISTENT, UNSIGNED = "pending", "consistent", "inconsistent", "unsigned"


@dataclass(frozen=True)
class ConsistentCheckpoint:
    """A checkpoint sync newly found consistent: what the witness co-signs."""

    gateway: str
    stream: str
    size: int
    root: str
    object_key: str
    version_id: str


def judge_checkpoint(data: bytes, name: ObjectName) -> Checkpoint | Finding:
    """Steps (1)-(2), pure."""
    assert name.stream is not None and name.seq is not None
    # (1) a canonical signed checkpoint
    try:
        checkpoint = Checkpoint.from_json(data)
        when = parse_iso(checkpoint.time)
    except (CryptoFormatError, ValueError) as e:
        return Finding(UNPARSABLE, name.gateway, f"not a checkpoint: {e}", name.stream,
                       name.seq, name.key)  # fmt: skip
    if checkpoint.to_json() != data or when is None:
        return Finding(UNPARSABLE, name.gateway, "not a checkpoint in canonical JSON with a "
                       "time", name.stream, name.seq, name.key)  # fmt: skip
    # (2) where its key says
    said = (checkpoint.gateway, checkpoint.stream, checkpoint.size)
    if said != (name.gateway, name.stream, name.seq):
        shown = f"{checkpoint.gateway}/{checkpoint.stream} size {checkpoint.size}"
        return Finding(MISPLACED, name.gateway, f"the checkpoint names {shown}, its key "
                       "another place", name.stream, name.seq, name.key)  # fmt: skip
    return checkpoint


def catalogue_checkpoint(
    tx: Tx, checkpoint: Checkpoint, name: ObjectName, version: Version, trust: TrustedKeys
) -> list[Finding]:
    """Steps (3)-(5): store the checkpoint (pending, or unsigned) and report what it shows."""
    gateway, stream, size = name.gateway, checkpoint.stream, checkpoint.size
    when = parse_iso(checkpoint.time)
    assert when is not None
    # (3) the device signature, with the trusted key only
    key = trust.for_subject(gateway, checkpoint.key_id)
    signed = key is not None and checkpoint.verify(key)
    if signed and tx.same_checkpoint(gateway, stream, size, checkpoint.root):
        return []  # the same head uploaded again: an overwrite, reported as one
    tx.add_checkpoint(
        gateway=gateway, stream=stream, size=size, root=checkpoint.root, time=checkpoint.time,
        time_ts=when.timestamp(), object_key=name.key, version_id=version.version_id,
        uploaded_at=version.last_modified, signature_ok=signed,
        state=PENDING if signed else UNSIGNED,
    )  # fmt: skip
    if not signed:
        return [Finding(BAD_SIGNATURE, gateway, f"checkpoint of size {size} is not signed by "
                        f"the trusted key of {gateway}", stream, size, name.key)]  # fmt: skip
    # (4) one root per size
    found = [
        Finding(FORK, gateway, f"checkpoints {row.object_key} and this one both sign size "
                f"{size} with different roots", stream, size, name.key)
        for row in tx.other_roots(gateway, stream, size, checkpoint.root)
    ]  # fmt: skip
    # (5) a later signature never covers fewer records
    this = (name.key, size, when.timestamp())
    for row in tx.out_of_order(gateway, stream, size, when.timestamp()):
        other = (row.object_key, row.size, row.time_ts)
        newer, older = (this, other) if this[2] > other[2] else (other, this)
        found.append(Finding(ROLLBACK, gateway, f"signed after the checkpoint of size "
                             f"{older[1]} ({older[0]}) but covers only {newer[1]} records: "
                             "the history was cut back", stream, newer[1], newer[0]))  # fmt: skip
    return found


def settle_stream(
    tx: Tx, gateway: str, stream: str, missing_after: float
) -> tuple[list[Finding], list[ConsistentCheckpoint]]:
    """Steps (6)-(7) for the stream's pending checkpoints, smallest first.

    A checkpoint uploaded before `missing_after` (a time) whose records have still not all
    arrived reports the first seq it lacks: the records were deleted or never uploaded.
    """
    rows = [row for row in tx.checkpoints_of(gateway, stream) if row.signature_ok]
    leaves = tx.leaf_prefix(gateway, stream)
    tree = MerkleTree(leaves)
    found: list[Finding] = []
    consistent: list[ConsistentCheckpoint] = []
    accepted: list[Any] = [row for row in rows if row.state == CONSISTENT]
    for row in rows:
        if row.state != PENDING:
            continue
        if row.size > len(leaves):
            if row.uploaded_at < missing_after:
                found.append(Finding(MISSING_RECORD, gateway, f"checkpoint size {row.size} covers "
                                     f"seq {len(leaves)}, which no accepted record object holds",
                                     stream, len(leaves)))  # fmt: skip
            continue
        # (6) the root over the catalogued records
        if tree.root(row.size).hex() != row.root:
            tx.set_checkpoint(row.id, INCONSISTENT, None)
            found.append(Finding(ROOT_MISMATCH, gateway, f"the root of checkpoint size {row.size} "
                                 f"is not the root of catalogued records 0..{row.size - 1}",
                                 stream, row.size, row.object_key))  # fmt: skip
            continue
        # (7) consistent with the newest consistent checkpoint below it
        below = [r for r in accepted if r.size < row.size]
        old_size, old_root = (below[-1].size, below[-1].root) if below else (0, "")
        proof = tree.consistency_proof(old_size, row.size)
        old = bytes.fromhex(old_root) if old_root else b""
        if not verify_consistency(old_size, row.size, old, bytes.fromhex(row.root), proof):
            tx.set_checkpoint(row.id, INCONSISTENT, old_size)
            found.append(Finding(ROLLBACK, gateway, f"checkpoint size {row.size} is not "
                                 f"consistent with checkpoint size {old_size}", stream,
                                 row.size, row.object_key))  # fmt: skip
            continue
        tx.set_checkpoint(row.id, CONSISTENT, old_size)
        accepted = sorted([*accepted, row], key=lambda r: r.size)
        consistent.append(ConsistentCheckpoint(gateway, stream, row.size, row.root,
                                                row.object_key, row.version_id))  # fmt: skip
    return found, consistent
