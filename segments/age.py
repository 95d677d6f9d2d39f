"""The age v1 file format (age-encryption.org/v1) with X25519 recipients.

Two things the stock tools do not give evgw: a streaming writer that a muxer writes into
(the plaintext never touches disk), and a reader that recovers the authenticated prefix of a
file cut off by a crash, while telling a cut-off tail apart from altered bytes.

Layout: the text header (`age_header`: intro line, recipient stanzas, `--- MAC`), a 16-byte
nonce, then ChaCha20-Poly1305 chunks of 64 KiB plaintext; the last chunk carries a flag in
its nonce.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from segments.age_header import (
    MAX_STANZAS,
    Header,
    HeaderTruncatedError,
    header_mac,
    hkdf,
    parse_header,
    unwrap_file_key,
)
from segments.agekeys import (
    FILE_KEY_SIZE,
    X25519Identity,
    X25519Recipient,
    generate_identity,
    parse_identities,
    parse_identity,
    parse_recipient,
    parse_recipients,
    recipient_of,
)
from segments.errors import CryptoFormatError, WriteError

__all__ = [
    "AgeWriter",
    "DecryptResult",
    "DecryptStatus",
    "EncryptStats",
    "X25519Identity",
    "X25519Recipient",
    "decrypt_file",
    "decrypt_stream",
    "encrypt_file",
    "generate_identity",
    "parse_identities",
    "parse_identity",
    "parse_recipient",
    "parse_recipients",
    "recipient_of",
]

CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
ENC_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
STREAM_NONCE_SIZE = 16


def _chunk_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


# --- writer ---


@dataclass(frozen=True)
class EncryptStats:
    """What an AgeWriter wrote: sizes and SHA-256 (hex) of plaintext and ciphertext."""

    plaintext_size: int
    plaintext_sha256: str
    ciphertext_size: int
    ciphertext_sha256: str
    chunks: int


class AgeWriter(io.RawIOBase):
    """Write-only, non-seekable stream that encrypts into `out` chunk by chunk.

    The header goes out on the first write (or on close for an empty file). At most one
    64 KiB chunk is held in memory: a full chunk waits for the next byte, because only
    close() knows which chunk is last. close() writes that last chunk; abort(), an
    exception inside `with`, or garbage collection stop without it, so the file reads as
    truncated rather than as a complete recording.
    """

    def __init__(
        self,
        out: BinaryIO,
        recipients: Sequence[X25519Recipient],
        *,
        close_out: bool = False,
    ) -> None:
        super().__init__()
        if not recipients:
            raise ValueError("age encryption needs at least one recipient")
        if len(recipients) > MAX_STANZAS:
            raise ValueError(f"at most {MAX_STANZAS} recipients (the age tool's limit)")
        self._out = out
        self._recipients = tuple(recipients)
        self._close_out = close_out
        self._aead: ChaCha20Poly1305 | None = None
        self._buf = bytearray()
        self._counter = 0
        self._plain = hashlib.sha256()
        self._cipher = hashlib.sha256()
        self._plain_size = 0
        self._cipher_size = 0
        self._finished = False

    def writable(self) -> bool:
        return True

    def _emit(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                n = self._out.write(view)
                if not n:
                    raise WriteError("encrypted output accepted no bytes (non-blocking sink?)")
                view = view[n:]
        except OSError as e:
            raise WriteError(f"cannot write encrypted output: {e}; check disk space") from e
        self._cipher.update(data)
        self._cipher_size += len(data)

    def _start(self) -> ChaCha20Poly1305:
        if self._aead is None:
            file_key = os.urandom(FILE_KEY_SIZE)
            stanzas = tuple(r.wrap(file_key) for r in self._recipients)
            unsigned = Header(stanzas, b"").mac_input()
            header = Header(stanzas, header_mac(file_key, unsigned))
            nonce = os.urandom(STREAM_NONCE_SIZE)
            self._aead = ChaCha20Poly1305(hkdf(file_key, nonce, b"payload"))
            self._emit(header.to_bytes() + nonce)
        return self._aead

    def _seal(self, last: bool) -> None:
        aead = self._start()
        self._emit(aead.encrypt(_chunk_nonce(self._counter, last), bytes(self._buf), None))
        self._counter += 1
        self._buf.clear()

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed AgeWriter")
        data = memoryview(b).cast("B")
        self._start()
        self._plain.update(data)
        self._plain_size += len(data)
        pos = 0
        while pos < len(data):
            if len(self._buf) == CHUNK_SIZE:
                self._seal(last=False)
            take = min(CHUNK_SIZE - len(self._buf), len(data) - pos)
            self._buf += data[pos : pos + take]
            pos += take
        return len(data)

    def flush(self) -> None:
        """Flush `out`; bytes of the unfinished chunk stay buffered (they are not sealed yet)."""
        if not self.closed and hasattr(self._out, "flush"):
            self._out.flush()

    def close(self) -> None:
        """Seal the last chunk and flush `out` (closing it only if `close_out`)."""
        if self.closed:
            return
        try:
            if not self._finished:
                self._seal(last=True)
                self._finished = True
            self.flush()
        finally:
            super().close()
            if self._close_out:
                self._out.close()

    def abort(self) -> None:
        """Stop without the last chunk: readers will see this file as truncated."""
        if self.closed:
            return
        self._finished = True
        self._buf.clear()
        try:
            self.flush()
        finally:
            super().close()
            if self._close_out:
                self._out.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # IOBase would close() here and seal a possibly incomplete recording as complete.
        with contextlib.suppress(Exception):
            io.RawIOBase.close(self)

    @property
    def plaintext_size(self) -> int:
        return self._plain_size

    @property
    def plaintext_sha256(self) -> str:
        return self._plain.hexdigest()

    @property
    def stats(self) -> EncryptStats:
        """Counts so far; final once the writer is closed."""
        return EncryptStats(
            plaintext_size=self._plain_size,
            plaintext_sha256=self._plain.hexdigest(),
            ciphertext_size=self._cipher_size,
            ciphertext_sha256=self._cipher.hexdigest(),
            chunks=self._counter,
        )


def encrypt_file(
    src_path: str | os.PathLike[str],
    dst_path: str | os.PathLike[str],
    recipients: Sequence[X25519Recipient],
) -> EncryptStats:
    """Encrypt a file to `recipients`; the output is fsynced before this returns."""
    with open(src_path, "rb") as src, open(dst_path, "wb") as dst:
        writer = AgeWriter(dst, recipients)
        with writer:
            while block := src.read(CHUNK_SIZE):
                writer.write(block)
        try:
            os.fsync(dst.fileno())
        except OSError as e:
            raise WriteError(f"cannot fsync {os.fspath(dst_path)!r}: {e}") from e
    return writer.stats


# --- reader ---


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
        return aead.decrypt(_chunk_nonce(counter, last), sealed, None)
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
