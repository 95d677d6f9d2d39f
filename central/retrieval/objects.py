"""Segment objects: which version of a segment's key is the signed segment, its state, its
bytes downloaded and checked, its plaintext decrypted with the archive identity.

The uploader writes a key once. A second version (an overwrite) is never taken on trust:
the evidence is the version whose bytes have the size and SHA-256 the signed record names;
every other version is named when none does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evgw.i18n import _
from segments.agekeys import X25519Identity, recipient_of
from segments.case_found import whole_sha256
from segments.errors import CryptoFormatError
from segments.package import ORIGINAL, decrypt_original, original_name
from segments.records import Record
from uplink.errors import UplinkError

from . import catalogued
from .source import ArchiveSource, RetrievalError, store_version
from .stream import ArchiveStream


@dataclass(frozen=True)
class SegmentObject:
    record: Record
    key: str | None  # None: the catalogue names no object key for it
    versions: tuple[tuple[str, int], ...]  # (version id, size), oldest first

    @property
    def candidates(self) -> list[str]:
        """Versions of the signed size, oldest first: only these can be the segment."""
        return [v for v, size in self.versions if size == self.record.size_cipher]


def segment_objects(
    source: ArchiveSource, stream: ArchiveStream, media: Sequence[Record]
) -> dict[int, SegmentObject]:
    keys = {r.seq: stream.rows[r.seq].media_key for r in media}
    with source.catalogue.transaction() as tx:
        versions = catalogued.object_versions_of(tx, [k for k in keys.values() if k])
    return {
        r.seq: SegmentObject(r, keys[r.seq], tuple(versions.get(keys[r.seq] or "", ())))
        for r in media
    }


def stored_hash(source: ArchiveSource, obj: SegmentObject) -> tuple[int, str | None] | None:
    """(size, SHA-256) the store keeps for the segment's matching version, without a download;
    SHA-256 None when the store keeps none (present, not hash-checked); None when absent."""
    if obj.key is None or not obj.versions:
        return None
    first: tuple[int, str | None] | None = None
    for version, size in obj.versions:
        info = source.store.head(obj.key, store_version(version))
        if info is None:
            continue
        sha = whole_sha256(info.checksum_sha256)
        if (size, sha) == (obj.record.size_cipher, obj.record.sha256_cipher):
            return size, sha
        first = first or (size, sha)
    return first


def download(
    source: ArchiveSource, obj: SegmentObject, staging: Path, advance: Callable[[int], None]
) -> str:
    """Copy the signed segment into `original/`; returns where it came from. Raises
    RetrievalError naming every version tried when none is the signed segment."""
    r = obj.record
    target = staging / ORIGINAL / original_name(r)
    where = f"{source.store.settings.bucket}/{obj.key}"
    tried: list[str] = [
        _("version {version}: {size} bytes, signed {signed}").format(
            version=v, size=n, signed=r.size_cipher
        )
        for v, n in obj.versions
        if n != r.size_cipher
    ]
    for version in obj.candidates:
        assert obj.key is not None
        try:
            digest = source.store.get_to_file(obj.key, target, store_version(version))
        except UplinkError as e:
            tried.append(_("version {version}: {error}").format(version=version, error=e))
            continue
        if digest == r.sha256_cipher:
            advance(r.size_cipher or 0)
            return f"{where} version {version}"
        signed = str(r.sha256_cipher)[:16]
        tried.append(
            _("version {version}: SHA-256 {digest}…, signed {signed}…").format(
                version=version, digest=digest[:16], signed=signed
            )
        )
    target.unlink(missing_ok=True)
    found = "; ".join(tried) if tried else _("no object in the bucket")
    raise RetrievalError(
        _(
            "segment #{seq} ({start}): {where} holds no copy with the signed size and SHA-256 "
            "({found}); nothing written"
        ).format(
            seq=r.seq, start=r.start, where=where if obj.key else _("no object key"), found=found
        ),
        hint=_(
            "`evgw archive find` shows each segment's state; export a range without it, or "
            "restore the object from a replica"
        ),
    )


def decrypt(
    source: ArchiveSource, record: Record, staging: Path, identities: Sequence[X25519Identity]
) -> None:
    """The plaintext beside the original; a truncated segment yields its authenticated prefix."""
    try:
        decrypt_original(staging, record, identities)
    except CryptoFormatError as e:
        ours = ", ".join(recipient_of(i) for i in identities)
        raise RetrievalError(
            _(
                "the archive identity ({ours}) cannot decrypt segment #{seq}: {error}; "
                "nothing written"
            ).format(ours=ours, seq=record.seq, error=e),
            hint=_(
                "check [archive] identity_file in {path}: it must be the identity whose "
                "recipient the gateways seal to"
            ).format(path=source.config_path),
        ) from e
