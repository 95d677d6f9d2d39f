"""Sealing cost: hash + encrypt + sign per minute of a 4 Mbit/s camera, as a share of one core.

    python3 -m tests.bench.bench_sealing [--minutes 10] [--mbps 4]

The bytes go through the same path as a recorded segment (AgeWriter into a file, fsync,
a signed ledger record); the input is random, so nothing compresses or caches.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from segments.agekeys import generate_identity, parse_recipient
from segments.ledger import Ledger
from segments.records import Record
from segments.signing import generate_signing_key
from segments.store import OpenSegment, StreamStore

WRITE_SIZE = 32 * 1024  # what PyAV's muxer hands down at a time
DRAFT = Record(
    stream="cam",
    seq=0,
    kind="segment",
    start=None,
    end=None,
    gateway="gw",
    site="s",
    location="l",
    camera="cam",
    camera_name="cam",
    boot_id="b",
)


def cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def seal_minutes(root: Path, minutes: int, mbps: float) -> tuple[float, float, int]:
    """CPU and wall seconds to seal `minutes` one-minute segments; bytes sealed."""
    _, recipient = generate_identity()
    recipients = (parse_recipient(recipient),)
    signer = generate_signing_key(root / "device.ed25519")
    store = StreamStore(root / "data", "cam")
    ledger = Ledger.open(store.root, "cam", "gw", signer)
    per_minute = int(mbps * 1e6 / 8 * 60)
    block = os.urandom(WRITE_SIZE)
    start_cpu, start_wall, total = cpu(), time.perf_counter(), 0
    for minute in range(minutes):
        start = 1_800_000_000.0 + 60 * minute
        segment = store.open_segment(start, recipients)
        for _ in range(per_minute // WRITE_SIZE):
            segment.sink.write(block)

        def make(seq: int, segment: OpenSegment = segment, start: float = start) -> Record:
            sealed = segment.seal(store.final_path(seq, start))
            return replace(
                DRAFT, size_cipher=sealed.size_cipher, sha256_cipher=sealed.sha256_cipher
            )

        record = ledger.append_numbered(make)
        total += record.size_cipher or 0
    return cpu() - start_cpu, time.perf_counter() - start_wall, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--mbps", type=float, default=4.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cpu_s, wall_s, total = seal_minutes(Path(tmp), args.minutes, args.mbps)
    per_minute = cpu_s / args.minutes
    print(
        f"sealed {args.minutes} x 1 min at {args.mbps:g} Mbit/s = {total / 1e6:.0f} MB "
        f"in {wall_s:.2f} s wall"
    )
    print(
        f"CPU {per_minute:.3f} s per minute of video = {per_minute / 60 * 100:.2f}% of one core "
        f"({total / cpu_s / 1e6:.0f} MB/s per core)"
    )


if __name__ == "__main__":
    main()
