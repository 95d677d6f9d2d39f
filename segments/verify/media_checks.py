"""Steps V9 and V10 of the stream verifier: the media files the signed records name.

V9 hashes each sealed file as stored; V10, given age identities, decrypts it and compares
the plaintext with what the record signed. Plaintext is hashed on the fly and discarded.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, cast

from ..age_reader import DecryptStatus, decrypt_stream
from ..agekeys import X25519Identity
from ..errors import CryptoFormatError
from ..records import Record
from .ledger_checks import LedgerResult
from .report import SeqVerdict, Verdict
from .source import MediaSource


def media_bytes(result: LedgerResult, *, decrypt: bool) -> int:
    """The bytes V9 (and V10) will read, for progress reports."""
    size = sum(_declared_size(r) for r in result.media)
    return size * 2 if decrypt else size


def check_media(
    result: LedgerResult,
    source: MediaSource,
    identities: Sequence[X25519Identity],
    advance: Callable[[int], None],
) -> None:
    """Run V9 (and V10 with identities) over every media record V6 accepted."""
    for record in result.media:
        ok = _ciphertext(result, source, record)
        advance(_declared_size(record))
        if identities:
            if ok:
                _plaintext(result, source, record, identities)
            advance(_declared_size(record))


def _ciphertext(result: LedgerResult, source: MediaSource, record: Record) -> bool:
    """V9: presence, size and SHA-256 of the sealed file."""
    found, seq, file = result.findings, record.seq, cast(str, record.file)
    try:
        stat = source.stat_hash(file)
    except OSError as e:
        found.add("V9", seq, SeqVerdict.MISSING, f"media file {file} unreadable: {e}")
        return False
    if stat is None:
        removal = result.evicted.get(seq)
        if removal is not None:
            found.add("V9", seq, SeqVerdict.GAP, removal.detail, removal.reason)
        else:
            found.add("V9", seq, SeqVerdict.MISSING, f"media file {file} is absent")
        return False
    size, sha256 = stat
    if size != record.size_cipher:
        found.add(
            "V9",
            seq,
            SeqVerdict.HASH_MISMATCH,
            f"media file has {size} bytes, the record signed {record.size_cipher}",
        )
        return False
    if sha256 != record.sha256_cipher:
        found.add(
            "V9",
            seq,
            SeqVerdict.HASH_MISMATCH,
            "media file's SHA-256 differs from the signed record (altered or replaced)",
        )
        return False
    return True


def _plaintext(
    result: LedgerResult,
    source: MediaSource,
    record: Record,
    identities: Sequence[X25519Identity],
) -> None:
    """V10: decrypt, and compare the plaintext with the signed size and SHA-256."""
    found, seq = result.findings, record.seq
    try:
        with source.open(cast(str, record.file)) as src:
            out = decrypt_stream(src, cast(BinaryIO, _Discard()), identities, allow_truncated=True)
    except (CryptoFormatError, OSError) as e:
        found.issue("V10", Verdict.INCOMPLETE, f"seq {seq}: plaintext not checked: {e}")
        return
    if record.kind == "truncated":
        note = f"{out.plaintext_size} bytes of plaintext authenticated"
        if out.reason is not DecryptStatus.COMPLETE:
            note += f" ({out.detail})"
        found.add("V10", seq, SeqVerdict.TRUNCATED, note)
    elif not out.complete:
        found.add("V10", seq, SeqVerdict.HASH_MISMATCH, f"does not decrypt: {out.detail}")
    elif (out.plaintext_size, out.plaintext_sha256) != (record.size_plain, record.sha256_plain):
        found.add(
            "V10",
            seq,
            SeqVerdict.HASH_MISMATCH,
            "decrypted plaintext differs from the signed size/SHA-256",
        )


def _declared_size(record: Record) -> int:
    size = record.size_cipher
    return size if isinstance(size, int) and size > 0 else 0


class _Discard(io.RawIOBase):
    """Sink for decrypted bytes: only their hash (kept by decrypt_stream) matters."""

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        return len(b)
