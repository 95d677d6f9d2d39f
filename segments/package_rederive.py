"""Step P8 of the package check, given an age identity: re-derive the copy from the originals.

The sealed originals are decrypted afresh (the package's own `decrypted/` copies are not
used), each plaintext is compared with the SHA-256 its signed record holds, and the remux the
exporter used (`package_derive`, deterministic) is run on them with the signed range and
note. The result must be the signed derived copy, byte for byte; when only the container
bytes differ (another FFmpeg build) and every video and audio packet is the same, that is
reported as a note. Loads PyAV: `package_check` imports this module only when an identity is given.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import av

from .age_reader import decrypt_stream
from .agekeys import X25519Identity
from .errors import CryptoFormatError
from .package import ORIGINAL, decrypted_name, original_name
from .package_derive import DeriveError, derive_mp4, same_packets
from .package_signature import PackageSignature
from .records import MEDIA_KINDS, Record
from .timeline import parse_iso
from .verify.report import Findings, Verdict


def rederive(
    found: Findings,
    root: Path,
    records: Sequence[Record],
    signature: PackageSignature,
    identities: Sequence[X25519Identity],
) -> None:
    """P8: decrypt the originals, check their plaintext, re-derive and compare the copy."""
    media = [r for r in records if r.kind in MEDIA_KINDS and r.file]
    derived = signature.statement.derived
    with tempfile.TemporaryDirectory(prefix="evgw-rederive-") as tmp:
        inputs: list[tuple[Path, float]] = []
        for record in media:
            plain = _decrypt(found, root, record, Path(tmp), identities)
            if plain is None:
                return
            inputs.append((plain, record.start_ts or 0.0))
        labels = signature.statement.labels
        try:
            start, end = parse_iso(labels["from"]), parse_iso(labels["to"])
        except CryptoFormatError:
            start = end = None
        if start is None or end is None:
            return  # P6 reports the invalid range
        out = Path(tmp) / "rederived.mp4"
        try:
            again = derive_mp4(inputs, start.timestamp(), end.timestamp(), out, derived.note)
        except (DeriveError, av.FFmpegError) as e:
            found.issue("P8", Verdict.INCOMPLETE, f"cannot re-derive the copy: {e}")
            return
        if again.sha256 == derived.sha256:
            return
        packaged = root.joinpath(*PurePosixPath(derived.file).parts)
        if packaged.is_file() and same_packets(out, packaged):
            found.issue(
                "P8",
                Verdict.AUTHENTIC,
                "re-derived copy has other container bytes (another FFmpeg build) but the "
                "same video and audio packets and times as the signed copy",
            )
        else:
            found.issue(
                "P8",
                Verdict.NOT_AUTHENTIC,
                f"the derived copy is not a remux of the originals: re-derived SHA-256 "
                f"{again.sha256[:16]}…, signed {derived.sha256[:16]}…",
            )


def _decrypt(
    found: Findings,
    root: Path,
    record: Record,
    tmp: Path,
    identities: Sequence[X25519Identity],
) -> Path | None:
    """The original's plaintext in `tmp`, checked against its signed record; None stops P8."""
    target = tmp / decrypted_name(record)
    truncated = record.kind == "truncated"
    try:
        with open(root / ORIGINAL / original_name(record), "rb") as src, open(target, "wb") as dst:
            out = decrypt_stream(src, dst, identities, allow_truncated=truncated)
    except (CryptoFormatError, OSError) as e:
        found.issue("P8", Verdict.INCOMPLETE, f"seq {record.seq}: original not decrypted: {e}")
        return None
    if truncated:
        return target
    if not out.complete or (out.plaintext_size, out.plaintext_sha256) != (
        record.size_plain,
        record.sha256_plain,
    ):
        found.issue(
            "P8",
            Verdict.NOT_AUTHENTIC,
            f"seq {record.seq}: the decrypted original differs from the signed size/SHA-256 "
            "of its plaintext",
        )
        return None
    return target
