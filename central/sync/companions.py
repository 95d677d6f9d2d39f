"""Judge the objects beside checkpoints: the archive's own cosignatures and the gateway's tokens.

A `.witnessed` object is accepted only as this archive's own:
 (W-a) the catalogue holds a cosignature at that key with exactly these bytes (written by the
       witness step; the listing confirms its version if the step stopped before it could);
 (W-b) or, none being catalogued, it verifies with [witness] signing_key under [witness]
       name over a checkpoint signed by the gateway's trusted key, catalogued at the key
       beside it with the same root: the archive's own from an earlier catalogue, adopted.
Anything else (other bytes than the catalogued cosignature, another key, another
checkpoint's note, garbage) is a `foreign_witness` finding.

A `.tsr` token is catalogued when listed and checked (`segments.timestamp.check_token`) as
soon as the checkpoint object beside it is catalogued: against that checkpoint's exact
bytes and, with [tsa] ca_file, the TSA's CA; a refused token is a `timestamp_refused`
finding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cryptography import x509

from segments.errors import SegmentError
from segments.signing import Verifier
from segments.store import SIDECAR_SUFFIX
from segments.timestamp import REFUSED, TOKEN_SUFFIX, check_token
from segments.trust import TrustedKeys
from segments.witness import WITNESSED_SUFFIX, WitnessedCheckpoint, open_witnessed

from ..catalogue.companions import (
    add_token,
    add_witnessed,
    confirm_witnessed,
    pending_tokens,
    set_token,
    signed_checkpoint,
    witnessed_at_key,
)
from ..catalogue.db import Tx
from ..findings import FOREIGN_WITNESS, TIMESTAMP_REFUSED, Finding
from .bucket import Bucket, Version
from .object_names import ObjectName


@dataclass(frozen=True)
class CompanionTrust:
    """What companions are held to: the archive's witness key and name, the TSA's CA.

    Without a witness key no `.witnessed` object can be the archive's own; without
    anchors tokens are checked against their checkpoint only (UNCHECKED origin)."""

    witness: Verifier | None = None
    witness_name: str | None = None
    anchors: tuple[x509.Certificate, ...] | None = None


def checkpoint_key_of(companion_key: str) -> str:
    """The checkpoint object a companion sits beside."""
    stem = companion_key.rsplit(".", 1)[0]
    return stem + SIDECAR_SUFFIX


def judge_companion(
    tx: Tx,
    name: ObjectName,
    version: Version,
    body: bytes,
    trust: CompanionTrust,
    keys: TrustedKeys,
) -> list[Finding]:
    assert name.stream is not None and name.seq is not None
    if name.key.endswith(TOKEN_SUFFIX):
        add_token(tx, gateway=name.gateway, stream=name.stream, size=name.seq,
                  object_key=name.key, version_id=version.catalogued_as, token=body)  # fmt: skip
        return []
    assert name.key.endswith(WITNESSED_SUFFIX)
    why = _not_ours(tx, name, version, body, trust, keys)
    if why is None:
        return []
    return [Finding(FOREIGN_WITNESS, name.gateway, why, name.stream, name.seq, name.key)]


def _not_ours(
    tx: Tx, name: ObjectName, version: Version, body: bytes, trust: CompanionTrust,
    keys: TrustedKeys,
) -> str | None:  # fmt: skip
    """Why the `.witnessed` object is not the archive's own; None when it is."""
    # (W-a) the cosignature the witness step wrote
    ours = witnessed_at_key(tx, name.key)
    if ours is not None:
        if ours.body != body:
            return "holds another cosignature than the one this archive wrote at this key"
        if not ours.version_id:
            confirm_witnessed(tx, ours.id, version.catalogued_as, time.time())
        return None
    # (W-b) the archive's own from before this catalogue: adopt it
    if trust.witness is None:
        return "no [witness] is configured, so no cosignature here can be this archive's"
    try:
        cp = WitnessedCheckpoint.from_bytes(body).checkpoint
        device = keys.for_subject(name.gateway, cp.key_id)
        if device is None:
            return f"no trusted key of gateway {name.gateway} to check the checkpoint it names"
        checked = open_witnessed(body, device, trust.witness, trust.witness_name).checkpoint
    except SegmentError as e:
        return f"does not verify with [witness] signing_key: {e}"
    if (checked.gateway, checked.stream, checked.size) != (name.gateway, name.stream, name.seq):
        return (f"cosigns {checked.gateway}/{checked.stream} size {checked.size}, not the "
                "checkpoint at this key")  # fmt: skip
    beside = signed_checkpoint(tx, checkpoint_key_of(name.key))
    if beside is None or beside.root != checked.root:
        return "cosigns a root that no signed checkpoint catalogued beside it has"
    add_witnessed(tx, gateway=name.gateway, stream=name.stream, size=name.seq,
                  root=checked.root, checkpoint_key=beside.object_key, object_key=name.key,
                  body=body, cosigned_at=0, witnessed_at=time.time(),
                  version_id=version.catalogued_as, adopted=True)  # fmt: skip
    return None


def settle_tokens(
    tx: Tx, bucket: Bucket, gateway: str, trust: CompanionTrust, limit: int
) -> list[Finding]:
    """Check each catalogued token whose checkpoint object has arrived; report refusals."""
    found = []
    for row in pending_tokens(tx, gateway):
        beside = [
            v
            for v in tx.object_versions_of(checkpoint_key_of(row.object_key))
            if not v.delete_marker
        ]
        if not beside:
            continue  # the checkpoint is still on its way: judged by a later sync
        data = bucket.read(beside[0].key, beside[0].version_id, limit)
        if data is None:
            set_token(tx, row.id, REFUSED, None, None, "its checkpoint object is oversized")
            continue
        verdict = check_token(row.token, data, row.size, trust.anchors)
        set_token(tx, row.id, verdict.status, verdict.time, verdict.tsa, verdict.detail)
        if verdict.status == REFUSED:
            found.append(Finding(TIMESTAMP_REFUSED, gateway, f"token refused: {verdict.detail}",
                                 row.stream, row.size, row.object_key))  # fmt: skip
    return found
