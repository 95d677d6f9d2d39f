"""Age decryption that recovers what can be proven: the authenticated prefix of a cut file.

A crash while writing leaves a file without its last chunk; an attacker's edit makes a chunk
fail authentication. The reader tells these apart and never writes unauthenticated bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from .age import (
    CHUNK_SIZE,
    ENC_CHUNK_SIZE,
    STREAM_NONCE_SIZE,
    Header,
    HeaderTruncatedError,
    chunk_nonce,
    header_mac,
    hkdf,
    parse_header,
    unwrap_file_key,
)
from .agekeys import X25519Identity
from .errors import CryptoFormatError, WriteError


class DecryptStatus(StrEnum):
    """How a decryption ended."""

    COMPLETE = "complete"  # every chunk authenticated, last chunk present, nothing after it
    HEADER_TRUNCATED = "header_truncated"  # file ends inside the header: nothing recoverable
    TRUNCATED = "truncated"  # file ends before its last chunk: a cut (crash while writing)
    CORRUPT = "corrupt"  # a full-length chunk fails authentication: bytes were altered
    TRAILING_DATA = "trailing_data"  # bytes follow the last chunk: something was appended


@dataclass(frozen=True)
class DecryptResult:
    """Outcome of decrypt_stream; plaintext_* describe exactly the bytes written to dst."""

    complete: bool
    reason: DecryptStatus
    plaintext_size: int
    plaintext_sha256: str
    chunks: int
    detail: str


class _Source:
    """Reads exact amounts from `src`, keeping what the header read took too much."""

    def __init__(self, src: BinaryIO) -> None:
        self._src = src
        self.pending = bytearray()
        self.eof = False

    def fill(self, n: int) -> None:
        while len(self.pending) < n and not self.eof:
            block = self._src.read(max(n - len(self.pending), CHUNK_SIZE))
            if not block:
                self.eof = True
            else:
                self.pending += block

    def read(self, n: int) -> bytes:
        self.fill(n)
        out = bytes(self.pending[:n])
        del self.pending[:n]
        return out


def _read_header(source: _Source) -> Header:
    while True:
        try:
            header, used = parse_header(bytes(source.pending))
        except HeaderTruncatedError:
            if source.eof:
                raise
            source.fill(len(source.pending) + 1)
            continue
        del source.pending[:used]
        return header


def decrypt_stream(
    src: BinaryIO,
    dst: BinaryIO,
    identities: Sequence[X25519Identity],
    *,
    allow_truncated: bool = False,
) -> DecryptResult:
    """Decrypt `src` into `dst`; only authenticated plaintext is ever written.

    Without `allow_truncated`, any defect raises CryptoFormatError (dst may then hold an
    authenticated prefix: discard it). With it, a file that stops early or whose chunk fails
    authentication returns the prefix with complete=False and a `reason`. A full-length
    chunk that fails is CORRUPT (a cut cannot produce it); a short final piece that fails is
    TRUNCATED, since a cut mid-chunk, an altered final chunk and bytes appended to a short
    final chunk look the same and cost the same tail; none is ever reported complete.
    Header defects, a wrong identity and a bad header MAC always raise.
    """
    if not identities:
        raise ValueError("decrypt_stream needs at least one identity")
    source = _Source(src)
    plain = hashlib.sha256()
    size = 0
    counter = 0

    def end(reason: DecryptStatus, detail: str) -> DecryptResult:
        if reason is not DecryptStatus.COMPLETE and not allow_truncated:
            raise CryptoFormatError(detail)
        return DecryptResult(
            reason is DecryptStatus.COMPLETE, reason, size, plain.hexdigest(), counter, detail
        )

    # (1) Parse the header; a file cut inside it has no recoverable plaintext.
    try:
        header = _read_header(source)
    except HeaderTruncatedError as e:
        return end(DecryptStatus.HEADER_TRUNCATED, f"{e}; no plaintext is recoverable")
    # (2) Unwrap the file key with one of our identities.
    file_key = unwrap_file_key(header, identities)
    # (3) Authenticate the header.
    if not hmac.compare_digest(header_mac(file_key, header.mac_input()), header.mac):
        raise CryptoFormatError("age header MAC does not verify: the header was altered")
    # (4) Derive the payload key from the stream nonce.
    nonce = source.read(STREAM_NONCE_SIZE)
    if len(nonce) < STREAM_NONCE_SIZE:
        return end(DecryptStatus.TRUNCATED, "file ends inside the payload nonce")
    aead = ChaCha20Poly1305(hkdf(file_key, nonce, b"payload"))
    # (5) Open chunks in order; stop at the last-flagged one or the first that fails.
    while True:
        sealed = source.read(ENC_CHUNK_SIZE)
        if not sealed:
            return end(
                DecryptStatus.TRUNCATED, f"file ends after chunk {counter} without a last chunk"
            )
        last = len(sealed) < ENC_CHUNK_SIZE
        chunk = _open(aead, counter, sealed, last)
        if chunk is None and not last:
            last = True
            chunk = _open(aead, counter, sealed, last)
        if chunk is None:
            if len(sealed) == ENC_CHUNK_SIZE:
                return end(DecryptStatus.CORRUPT, f"chunk {counter} fails authentication: altered")
            return end(DecryptStatus.TRUNCATED, f"file is cut inside chunk {counter}")
        if last and not chunk and counter > 0:
            return end(DecryptStatus.CORRUPT, "empty last chunk after data (non-canonical file)")
        try:
            dst.write(chunk)
        except OSError as e:
            raise WriteError(f"cannot write decrypted output: {e}") from e
        plain.update(chunk)
        size += len(chunk)
        counter += 1
        if last:
            if source.read(1):
                return end(DecryptStatus.TRAILING_DATA, "data follows the last chunk")
            return end(DecryptStatus.COMPLETE, "complete")


def _open(aead: ChaCha20Poly1305, counter: int, sealed: bytes, last: bool) -> bytes | None:
    try:
        return aead.decrypt(chunk_nonce(counter, last), sealed, None)
    except InvalidTag:
        return None


def decrypt_file(
    src_path: str | os.PathLike[str],
    dst_path: str | os.PathLike[str],
    identities: Sequence[X25519Identity],
    *,
    allow_truncated: bool = False,
) -> DecryptResult:
    """decrypt_stream between two paths."""
    with open(src_path, "rb") as src, open(dst_path, "wb") as dst:
        return decrypt_stream(src, dst, identities, allow_truncated=allow_truncated)
