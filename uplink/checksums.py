"""The checksums an S3 store answers with, computed the same way on our side."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from .settings import MiB

HASH_CHUNK = 1 * MiB


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def composite_checksum(part_digests: list[bytes]) -> str:
    """AWS COMPOSITE SHA-256 of a multipart object: b64(sha256(d1 || d2 ...)) + "-N"."""
    return f"{b64(hashlib.sha256(b''.join(part_digests)).digest())}-{len(part_digests)}"


def same_checksum(answer: str, expected: str) -> bool:
    """Compare the store's checksum with ours; a store may omit the ``-N`` part count."""
    if answer == expected:
        return True
    base, _, count = expected.partition("-")
    return bool(count) and answer == base


def hash_parts(path: Path, part_size: int) -> tuple[str, list[bytes]]:
    """One pass over the file: its SHA-256 hex and the SHA-256 digest of every part."""
    whole = hashlib.sha256()
    digests: list[bytes] = []
    with path.open("rb") as f:
        while True:
            part = hashlib.sha256()
            left = part_size
            while left > 0 and (chunk := f.read(min(HASH_CHUNK, left))):
                part.update(chunk)
                whole.update(chunk)
                left -= len(chunk)
            if left == part_size:
                break
            digests.append(part.digest())
    return whole.hexdigest(), digests


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()
