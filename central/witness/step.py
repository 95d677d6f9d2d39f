"""The witness step: co-sign each checkpoint sync newly found consistent, write it beside it.

For each checkpoint handed over (its gateway's catalogue work already committed):
 (1) a cosignature at its `.witnessed` key is catalogued already: nothing to do (a re-run
     neither re-signs nor re-writes);
 (2) refused, never co-signed, unless it is still `consistent`, records 0..size-1 are all
     catalogued and each chains to the one before, no other signed checkpoint of its size
     has another root (a fork), and none signed earlier is larger or later smaller (a
     rollback);
 (3) the checkpoint object is read back (the pinned version catalogued) and its device
     signature checked again with the trusted key;
 (4) the cosignature is made and its bytes committed to the catalogue *before* the put;
 (5) put beside the checkpoint (COMPLIANCE retention where the bucket has object lock, as
     the gateway's uploads) and its version committed.
A sync stopped between (4) and (5) leaves bytes without a version: `resume` puts exactly
those bytes again (or confirms the version sync's listing found), so one checkpoint never
gets two different cosignatures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from segments.checkpoint import Checkpoint
from segments.errors import CryptoFormatError
from segments.trust import TrustedKeys
from segments.witness import WITNESSED_SUFFIX, cosign
from uplink.objectstore import ObjectStore

from ..catalogue.companions import (
    WitnessedRow,
    add_witnessed,
    chain_intact,
    confirm_witnessed,
    signed_checkpoint,
    unconfirmed_witnessed,
    witnessed_at_key,
)
from ..catalogue.db import Catalogue, Tx
from ..sync.bucket import NULL_VERSION, Bucket
from ..sync.checkpoints import CONSISTENT, ConsistentCheckpoint
from .keys import WitnessKey

MAX_CHECKPOINT_BYTES = 64 * 1024


@dataclass
class WitnessCounts:
    witnessed: int = 0  # co-signed and written by this run
    resumed: int = 0  # signed by a stopped run, written by this one
    already: int = 0  # handed over but co-signed before
    refused: list[str] = field(default_factory=list)  # why each was not co-signed


class Witnesser:
    """`on_consistent` for `ArchiveSync`: co-signs what it is handed, one checkpoint at a time."""

    def __init__(
        self,
        key: WitnessKey,
        trust: TrustedKeys,
        catalogue: Catalogue,
        bucket: Bucket,
        store: ObjectStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = key
        self.trust = trust
        self.catalogue = catalogue
        self.bucket = bucket
        self.store = store
        self.counts = WitnessCounts()
        self._clock = clock

    def __call__(self, consistent: Sequence[ConsistentCheckpoint]) -> None:
        for checkpoint in consistent:
            self._witness(checkpoint)

    def resume(self) -> None:
        """Write the cosignatures a stopped run signed but did not see confirmed."""
        with self.catalogue.transaction() as tx:
            rows = unconfirmed_witnessed(tx)
        for row in rows:
            self._put(row)
            self.counts.resumed += 1

    def _witness(self, cp: ConsistentCheckpoint) -> None:
        target = witness_key_of(cp.object_key)
        with self.catalogue.transaction() as tx:
            # (1) co-signed before
            if witnessed_at_key(tx, target) is not None:
                self.counts.already += 1
                return
            # (2) only an intact, unforked, unrolled-back consistent checkpoint
            why = _refusal(tx, cp)
        if why is not None:
            self.counts.refused.append(f"{cp.gateway}/{cp.stream} size {cp.size}: {why}")
            return
        # (3) the checkpoint as uploaded, signed by the trusted key
        checkpoint = self._read(cp)
        if checkpoint is None:
            why = "the checkpoint object no longer reads back as the signed checkpoint catalogued"
            self.counts.refused.append(f"{cp.gateway}/{cp.stream} size {cp.size}: {why}")
            return
        # (4) signed and kept before it is put
        now = int(self._clock())
        body = cosign(checkpoint, self.key.name, self.key.signer, now).to_bytes()
        with self.catalogue.transaction() as tx:
            add_witnessed(tx, gateway=cp.gateway, stream=cp.stream, size=cp.size, root=cp.root,
                          checkpoint_key=cp.object_key, object_key=target, body=body,
                          cosigned_at=now, witnessed_at=None, version_id="",
                          adopted=False)  # fmt: skip
            row = witnessed_at_key(tx, target)
        assert row is not None
        # (5) beside the checkpoint
        self._put(row)
        self.counts.witnessed += 1

    def _read(self, cp: ConsistentCheckpoint) -> Checkpoint | None:
        data = self.bucket.read(cp.object_key, cp.version_id, MAX_CHECKPOINT_BYTES)
        try:
            checkpoint = Checkpoint.from_json(data or b"")
        except CryptoFormatError:
            return None
        key = self.trust.for_subject(cp.gateway, checkpoint.key_id)
        same = (checkpoint.gateway, checkpoint.stream, checkpoint.size, checkpoint.root) == (
            cp.gateway, cp.stream, cp.size, cp.root,
        )  # fmt: skip
        return checkpoint if same and key is not None and checkpoint.verify(key) else None

    def _put(self, row: WitnessedRow) -> None:
        version = self._stored(row)
        if version is None:
            retain = self.store.settings.retain_until(datetime.now(UTC))
            result = self.store.put_bytes(row.object_key, row.body, retain)
            version = result.version_id or f"{NULL_VERSION}:{result.etag.strip(chr(34))}"
        with self.catalogue.transaction() as tx:
            confirm_witnessed(tx, row.id, version, self._clock())

    def _stored(self, row: WitnessedRow) -> str | None:
        """The catalogued id of a version at the row's key holding exactly its bytes."""
        for page in self.bucket.versions(row.object_key):
            for v in page:
                if v.key != row.object_key or v.delete_marker or v.size != len(row.body):
                    continue
                if self.bucket.read(v.key, v.version_id, len(row.body)) == row.body:
                    return v.catalogued_as
        return None


def witness_key_of(checkpoint_key: str) -> str:
    """The `.witnessed` key beside a checkpoint object key (`…/checkpoints/<size>.json`)."""
    return checkpoint_key.rsplit(".", 1)[0] + WITNESSED_SUFFIX


def _refusal(tx: Tx, cp: ConsistentCheckpoint) -> str | None:
    """Why `cp` must not be co-signed; None when it may."""
    row = signed_checkpoint(tx, cp.object_key)
    if row is None or row.state != CONSISTENT or row.root != cp.root:
        return "no longer catalogued as consistent"
    if not chain_intact(tx, cp.gateway, cp.stream, cp.size):
        return f"records 0..{cp.size - 1} are not all catalogued and chained"
    if tx.other_roots(cp.gateway, cp.stream, cp.size, cp.root):
        return "a fork: another signed checkpoint of this size has another root"
    if tx.out_of_order(cp.gateway, cp.stream, cp.size, row.time_ts):
        return "a rollback: its signing time and size disagree with another checkpoint's"
    return None
