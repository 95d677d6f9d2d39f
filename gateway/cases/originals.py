"""Originals for a case package: each sealed file copied byte for byte and checked against its
signed record (local store first, central storage when evicted), then decrypted beside it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from segments.agekeys import X25519Identity, recipient_of
from segments.errors import CryptoFormatError
from segments.hashing import hash_file
from segments.index_readonly import open_readonly
from segments.package import ORIGINAL, decrypt_original, original_name
from segments.package_report import Fetched
from segments.records import Record
from uplink.errors import UplinkError

from .errors import ExportError
from .lookup import CENTRAL
from .sources import CaseSources


def confirmed_versions(sources: CaseSources, camera: str) -> dict[int, str | None]:
    """seq -> the central object version its upload confirmed (None when not known)."""
    index = open_readonly(sources.index_path)
    if index is None:
        return {}
    try:
        return {seq: version for seq, (_, version) in index.segment_states(camera).items()}
    finally:
        index.close()


def fetch(
    sources: CaseSources,
    stream_root: Path,
    record: Record,
    staging: Path,
    source: str,
    advance: Callable[[int], None],
    version_id: str | None = None,
) -> Fetched:
    """Copy the sealed file (local first unless `source` is central) and check its signed hash.

    A central copy is read at `version_id`, the version the upload confirmed, when known.
    """
    assert record.file is not None
    target = staging / ORIGINAL / original_name(record)
    local = stream_root / record.file
    looked: list[str] = []
    if source != CENTRAL:
        looked.append(str(local))
        if local.is_file():
            shutil.copyfile(local, target)
            if hash_file(target) == (record.size_cipher, record.sha256_cipher):
                advance(record.size_cipher or 0)
                return Fetched(record, str(local))
            looked[-1] += " (differs from its signed SHA-256)"
    if sources.central is not None:
        key = sources.central_key(record)
        looked.append(f"central {sources.central_bucket}/{key}")
        try:
            if sources.central.head(key, version_id) is not None:
                digest = sources.central.get_to_file(key, target, version_id)
                if digest == record.sha256_cipher:
                    advance(record.size_cipher or 0)
                    return Fetched(record, key)
                looked[-1] += " (differs from its signed SHA-256)"
            else:
                looked[-1] += " (absent)"
        except UplinkError as e:
            looked[-1] += f" ({e})"
    elif source == CENTRAL:
        raise ExportError(f"--source central, but {sources.config_path} has no [upload] section")
    raise ExportError(
        f"segment #{record.seq} ({record.file}) is missing: looked in {'; '.join(looked)}; "
        "nothing written"
    )


def decrypt(
    sources: CaseSources, record: Record, staging: Path, identities: Sequence[X25519Identity]
) -> None:
    """The plaintext beside the original; a truncated segment yields its authenticated prefix."""
    try:
        decrypt_original(staging, record, identities)
    except CryptoFormatError as e:
        ours = ", ".join(recipient_of(i) for i in identities)
        sealed_for = ", ".join(sources.sealed_for) or "unknown recipients"
        raise ExportError(
            f"this identity cannot decrypt segment #{record.seq}: it was sealed for "
            f"recipients {sealed_for} (per {sources.config_path}); the identity is for "
            f"{ours} ({e}); use the archive or escrow identity; nothing written"
        ) from e
