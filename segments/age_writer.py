"""Streaming age encryption: the muxer writes plaintext in, sealed chunks come out.

Plaintext never touches the disk, and a writer that is not closed properly leaves a file that
reads as truncated, never as a complete recording.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from .age import CHUNK_SIZE, MAX_STANZAS, STREAM_NONCE_SIZE, Header, chunk_nonce, header_mac, hkdf
from .agekeys import FILE_KEY_SIZE, X25519Recipient
from .errors import WriteError


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

    def _seal(self, last: bool, chunk: memoryview | None = None) -> None:
        """Encrypt `chunk`, or else the buffered chunk, as the next one."""
        aead = self._start()
        data = self._buf if chunk is None else chunk
        self._emit(aead.encrypt(chunk_nonce(self._counter, last), data, None))
        self._counter += 1
        if chunk is None:
            self._buf.clear()

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        """Chunks that more bytes follow are sealed straight from `b`, not copied to the
        buffer first (the muxer hands over whole fragments, hundreds of kB at a time)."""
        if self.closed:
            raise ValueError("write to a closed AgeWriter")
        data = memoryview(b).cast("B")
        self._start()
        self._plain.update(data)
        size = len(data)
        self._plain_size += size
        buf, pos = self._buf, 0
        while pos < size:
            if len(buf) == CHUNK_SIZE:
                self._seal(last=False)
            if not buf and size - pos > CHUNK_SIZE:
                self._seal(last=False, chunk=data[pos : pos + CHUNK_SIZE])
                pos += CHUNK_SIZE
                continue
            take = min(CHUNK_SIZE - len(buf), size - pos)
            buf += data[pos : pos + take]
            pos += take
        return size

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
