"""Upload throughput: `python3 -m tests.bench.bench_upload` from the repo root.

Compares `ObjectStore.put_file` (SHA-256 checksum, confirmation, COMPLIANCE retention with
its read-back) with a plain boto3 `put_object` of the same files to the same local
SeaweedFS, sequentially. Target: ours >= 80% of plain. Rounds alternate and each figure is
the best round, since the build box's cores are shared.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.seaweed import random_file, raw_client, settings_for, start_seaweed
from uplink.objectstore import ObjectStore
from uplink.settings import MiB


def timed(files: list[Path], upload: Callable[[int, Path], object]) -> float:
    start = time.perf_counter()
    for i, path in enumerate(files):
        upload(i, path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--mib", type=float, default=4.0, help="size of each file")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evgw-bench-") as tmp:
        root = Path(tmp)
        files = [root / f"seg{i}.age" for i in range(args.files)]
        hashes = [random_file(p, int(args.mib * MiB)) for p in files]
        total = sum(p.stat().st_size for p in files)
        with start_seaweed(root / "seaweed") as server:
            store = ObjectStore(settings_for(server, "bench"))
            store.ensure_bucket(object_lock=True)
            plain = raw_client(server)
            until = datetime.now(UTC) + timedelta(days=1)
            best = {"plain": float("inf"), "ours": float("inf"), "ours+lock": float("inf")}
            for r in range(args.rounds):

                def put_plain(i: int, p: Path, r: int = r) -> object:
                    with p.open("rb") as f:
                        return plain.put_object(Bucket="bench", Key=f"plain/{r}/{i}", Body=f)

                best["plain"] = min(best["plain"], timed(files, put_plain))
                best["ours"] = min(
                    best["ours"],
                    timed(files, lambda i, p, r=r: store.put_file(f"ours/{r}/{i}", p, hashes[i])),
                )
                best["ours+lock"] = min(
                    best["ours+lock"],
                    timed(
                        files,
                        lambda i, p, r=r: store.put_file(f"lock/{r}/{i}", p, hashes[i], until),
                    ),
                )
    print(f"{args.files} files x {args.mib} MiB, best of {args.rounds} rounds")
    for name, seconds in best.items():
        ratio = best["plain"] / seconds
        print(f"  {name:10s} {total / seconds / MiB:8.1f} MiB/s  {ratio:6.1%} of plain")


if __name__ == "__main__":
    main()
