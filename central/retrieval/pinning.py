"""The checkpoint an archive export is proven against: the newest witnessed one covering it.

Steps, numbered as in the code:
 (1) the consistent checkpoints (sync checked each against the records and the one before)
     that cover the slice's last seq, largest first;
 (2) of those, the largest whose `.witnessed` object beside it holds: the archive's witness
     key cosigned exactly this checkpoint and the trusted device key signed it
     (`segments.witness.open_witnessed`). The version the archive's witness step wrote is
     read (another version at that key is sync's `foreign_witness` finding); without one,
     the key's first version; a witnessed file that does not hold is named in the report
     (`witness.ignored`) and never used;
 (3) when none is witnessed, the largest covering consistent checkpoint, marked NOT
     witnessed with the reason (the report says so; the package still verifies offline);
 (4) the catalogued leaf hashes of seqs 0..size-1 give the checkpoint's root, and the
     inclusion proofs of the slice are built from them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from evgw.i18n import _
from segments.checkpoint import Checkpoint
from segments.errors import CryptoFormatError, SegmentError
from segments.merkle import root_from_leaf_hashes
from segments.package import InclusionProof, proofs_from_leaves
from segments.signing import fingerprint
from segments.store import SIDECAR_SUFFIX
from segments.timeline import iso_utc
from segments.witness import WITNESSED_SUFFIX, open_witnessed

from ..catalogue import companions
from . import catalogued
from .catalogued import CheckpointRow
from .source import ArchiveSource, RetrievalError
from .stream import ArchiveStream


@dataclass(frozen=True)
class Pinned:
    checkpoint: Checkpoint
    checkpoint_bytes: bytes  # the checkpoint object as the gateway uploaded it
    witnessed: bytes | None  # the `.witnessed` file, when it holds
    witness: dict[str, Any]  # report.json's `witness` section
    proofs: tuple[InclusionProof, ...]


def witnessed_key(row: CheckpointRow) -> str:
    return row.object_key.removesuffix(SIDECAR_SUFFIX) + WITNESSED_SUFFIX


def pin(source: ArchiveSource, stream: ArchiveStream, seqs: range) -> Pinned | None:
    """Steps (1)-(4) for the slice `seqs`; None when no consistent checkpoint covers it."""
    covering = [row for row in stream.checkpoints if row.size > seqs[-1]]  # (1)
    if not covering:
        return None
    problems: list[str] = []
    chosen = _witnessed(source, stream, covering, seqs, problems)  # (2)
    if chosen is None:  # (3)
        row = covering[0]
        data = source.read(row.object_key, row.version_id)
        checkpoint = _checkpoint(stream, row, data)
        newest = f"checkpoint size {row.size}"
        why = _unwitnessed_reason(source, newest, seqs[-1])
        section = {"witnessed": False, "why": why, "checkpoint_size": row.size}
        return _pinned(
            source, stream, seqs, checkpoint, data, None, {**section, "ignored": problems}
        )
    return replace(chosen, witness={**chosen.witness, "ignored": problems})


def _witnessed(
    source: ArchiveSource,
    stream: ArchiveStream,
    covering: list[CheckpointRow],
    seqs: range,
    problems: list[str],
) -> Pinned | None:
    if source.witness is None:
        return None
    keys = [witnessed_key(row) for row in covering]
    with source.catalogue.transaction() as tx:
        held = catalogued.present(tx, keys)
        for key in keys:  # the archive's own cosignature first, even before sync lists it
            own = companions.witnessed_at_key(tx, key)
            if own is not None and own.version_id:
                held[key] = own.version_id
    for row, key in zip(covering, keys, strict=True):
        if key not in held:
            continue
        try:
            data = source.read(key, held[key])
            opened = open_witnessed(data, stream.key, source.witness.key, source.witness.name)
        except (RetrievalError, SegmentError) as e:
            problems.append(f"{key} does not hold: {e}")
            continue
        cp = opened.checkpoint
        if (cp.size, cp.root) != (row.size, row.root):
            problems.append(f"{key} vouches for size {cp.size}, root {cp.root[:16]}…, not the "
                            "catalogued checkpoint beside it")  # fmt: skip
            continue
        section = {
            "witnessed": True,
            "name": opened.cosignature.name,
            "fingerprint": fingerprint(source.witness.key),
            "time": iso_utc(opened.cosignature.timestamp),
            "file": f"ledger/{row.size:08d}{WITNESSED_SUFFIX}",
            "checkpoint_size": row.size,
        }
        return _pinned(source, stream, seqs, cp, cp.to_json(), data, section)
    return None


def _pinned(
    source: ArchiveSource,
    stream: ArchiveStream,
    seqs: range,
    checkpoint: Checkpoint,
    data: bytes,
    witnessed: bytes | None,
    section: dict[str, Any],
) -> Pinned:
    """(4): the proofs from the catalogued leaves, which must give the checkpoint's root."""
    with source.catalogue.transaction() as tx:
        leaves = catalogued.leaves(tx, stream.gateway, stream.camera, checkpoint.size)
    if len(leaves) < checkpoint.size or root_from_leaf_hashes(leaves).hex() != checkpoint.root:
        raise RetrievalError(
            _(
                "the catalogued records of {gateway}/{camera} do not give the root of "
                "checkpoint size {size}: the catalogue is damaged"
            ).format(gateway=stream.gateway, camera=stream.camera, size=checkpoint.size),
            hint=_("run `evgw archive sync` and read its findings"),
        )
    return Pinned(checkpoint, data, witnessed, section, tuple(proofs_from_leaves(leaves, seqs)))


def _checkpoint(stream: ArchiveStream, row: CheckpointRow, data: bytes) -> Checkpoint:
    try:
        cp = Checkpoint.from_json(data)
    except CryptoFormatError as e:
        raise RetrievalError(
            _("{key}: not a checkpoint: {error}").format(key=row.object_key, error=e)
        ) from e
    if (cp.size, cp.root) != (row.size, row.root) or not cp.verify(stream.key):
        raise RetrievalError(
            _(
                "{key} (version {version}) is not the signed checkpoint the catalogue judged "
                "consistent"
            ).format(key=row.object_key, version=row.version_id),
            hint=_("run `evgw archive sync` and read its findings"),
        )
    return cp


def _unwitnessed_reason(source: ArchiveSource, newest: str, last_seq: int) -> str:
    if source.witness is None:
        return (
            f"the archive witnesses nothing ([witness] is not set in {source.config_path}); "
            f"proven against the newest consistent {newest}"
        )
    return (
        f"no witnessed checkpoint covers seq {last_seq} yet (the witness cosigns after sync); "
        f"proven against the newest consistent {newest}"
    )
