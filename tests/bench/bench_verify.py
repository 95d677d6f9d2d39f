"""Verify throughput: `python3 -m tests.bench.bench_verify [--mb 1024] [--rounds 2]`.

Writes one stream of 32 MiB "ciphertext" files (random bytes; without decryption the
verifier only hashes them) with a signed ledger and checkpoints into a temporary folder,
then times `segments.verify.verify` over it and prints MB/s of ciphertext on one core.
The files were just written, so this measures the page-cache case: hashing and the
verifier's own overhead, not the disk. Best of a few rounds, since the build box is shared.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from segments.ledger import Ledger
from segments.records import Record
from segments.signing import Ed25519Signer
from segments.timeline import iso_utc
from segments.verify import DirMediaSource, Verdict, verify

FILE_MB = 32
T0 = 1_795_759_200.0


def _draft(kind: str, start: float, end: float | None, **fields: Any) -> Record:
    return Record(
        stream="cam1",
        seq=0,
        kind=kind,
        start=iso_utc(start),
        end=None if end is None else iso_utc(end),
        gateway="gw1",
        site="s",
        location="l",
        camera="cam1",
        camera_name="c",
        boot_id="b",
        **fields,
    )


def build(root: Path, total_mb: int) -> int:
    """A stream of `total_mb` MiB of media; returns the ciphertext bytes written."""
    signer = Ed25519Signer(Ed25519PrivateKey.generate())
    ledger = Ledger.open(root, "cam1", "gw1", signer)
    ledger.append(_draft("key", T0, None, extra={"public_key": signer.public_key_text()}))
    block = bytearray(os.urandom(FILE_MB << 20))
    written = 0
    for i in range(max(1, total_mb // FILE_MB)):
        block[:8] = i.to_bytes(8, "big")
        start, end = T0 + 60 * i, T0 + 60 * (i + 1)

        def make(seq: int, start: float = start, end: float = end) -> Record:
            rel = f"2026/11/27/{seq:08d}_x.mp4.age"
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(block)
            sha256 = hashlib.sha256(block).hexdigest()
            return _draft(
                "segment", start, end, file=rel, size_cipher=len(block), sha256_cipher=sha256
            )

        ledger.append_numbered(make)
        written += len(block)
    ledger.checkpoint()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="MiB of media to verify")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        root = Path(tmp) / "streams" / "cam1"
        size = build(root, args.mb)
        best = float("inf")
        for _ in range(args.rounds):
            cpu, wall = time.process_time(), time.perf_counter()
            report = verify([("cam1", DirMediaSource(root))])
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            assert report.integrity is Verdict.AUTHENTIC, report.integrity
            best = min(best, wall)
            print(f"{size / 1e6:.0f} MB in {wall:.2f} s wall, {cpu:.2f} s CPU")
        print(f"verify (no decryption): {size / 1e6 / best:.0f} MB/s of ciphertext")


if __name__ == "__main__":
    main()
