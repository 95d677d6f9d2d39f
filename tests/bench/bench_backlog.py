"""Upload queue benchmark: `python3 -m tests.bench.bench_backlog` from the repo root.

(1) Memory: a child process opens an index holding a backlog of 10, then of 10,000 queued
segments (each a media file and its record), uploads the same number of them and reports its
RSS; target flat within ±10%. The backlog is built by another child, so the measured one
holds only what the uploader holds. (2) Throughput: the Uploader draining N files through
the index against a plain boto3 `put_object` of the same files to the same local SeaweedFS;
target >= 80% of plain. Best of `--rounds`; a script, not a pytest test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from segments.index import Index
from segments.records import Record
from segments.store import StreamStore
from segments.timeline import iso_utc
from testbeds.seaweedfs import SeaweedServer
from tests.support.seaweed import (
    ACCESS_KEY,
    SECRET_KEY,
    random_file,
    raw_client,
    settings_for,
    start_seaweed,
)
from uplink.objectstore import ObjectStore
from uplink.settings import MiB, ObjectStoreSettings
from uplink.uploader import RetryPolicy, Uploader

T0 = 1_800_000_000.0
STREAM = "cam1"
REPO_ROOT = Path(__file__).resolve().parents[2]


def queue_segments(data_dir: Path, count: int, size: int, *, files: int | None = None) -> None:
    """Queue `count` segments; only the first `files` get real files (the rest stay queued)."""
    index = Index.open(data_dir / "index.sqlite")
    store = StreamStore(data_dir, STREAM)
    blob = os.urandom(size)
    digest = hashlib.sha256(blob).hexdigest()
    for seq in range(count):
        start = T0 + 2 * seq
        path = store.final_path(seq, start)
        if files is None or seq < files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(blob)
        index.add_record(
            Record(
                stream=STREAM, seq=seq, kind="segment", start=iso_utc(start),
                end=iso_utc(start + 2), gateway="bench", site="bench", location="bench",
                camera=STREAM, camera_name=STREAM, boot_id="b", file=store.relative(path),
                size_cipher=size, sha256_cipher=digest,
            )
        )  # fmt: skip
    index.close()


def rss_kib() -> tuple[int, int]:
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def child_upload(data_dir: Path, endpoint: str, bucket: str, uploads: int) -> None:
    """In a fresh process: upload `uploads` items of the queued backlog, print RSS as JSON."""
    store = ObjectStore(
        ObjectStoreSettings(endpoint, bucket, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    )
    index = Index.open(data_dir / "index.sqlite")
    before = index.backlog().count
    up = Uploader(index, store, data_dir, "bench", "bench", 1, policy=RetryPolicy(idle_s=0.05))
    up.start()
    while before - index.backlog().count < uploads:
        time.sleep(0.05)
    up.stop()
    rss, hwm = rss_kib()
    print(json.dumps({"backlog": before, "rss_kib": rss, "hwm_kib": hwm}))


def run_child(*args: str) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_backlog", *args],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def memory(root: Path, server: SeaweedServer, sizes: list[int], uploads: int) -> None:
    store = ObjectStore(settings_for(server, "backlog"))
    store.ensure_bucket(object_lock=True)
    results = []
    for n in sizes:
        data_dir = root / f"backlog-{n}"
        run_child("--queue", str(data_dir), str(n), str(uploads))
        results.append(
            run_child("--child", str(data_dir), server.endpoint_url, "backlog", str(uploads))
        )
    base = results[0]["hwm_kib"]
    for n, r in zip(sizes, results, strict=True):
        print(
            f"  backlog {r['backlog']:6d} items: RSS {r['rss_kib'] / 1024:6.1f} MiB, "
            f"peak {r['hwm_kib'] / 1024:6.1f} MiB ({r['hwm_kib'] / base - 1:+.1%}) "
            f"after {uploads} uploads (queued {n} segments)"
        )


def throughput(root: Path, server: SeaweedServer, files: int, mib: float, rounds: int) -> None:
    size = int(mib * MiB)
    plain = raw_client(server)
    sources = [root / "plain" / f"seg{i}.age" for i in range(files)]
    sources[0].parent.mkdir(parents=True, exist_ok=True)
    for p in sources:
        random_file(p, size)
    best: dict[str, float] = {"plain": float("inf"), "uploader x1": float("inf")}
    best["uploader x2"] = float("inf")
    for r in range(rounds):
        bucket = f"tp-{r}"
        store = ObjectStore(settings_for(server, bucket))
        store.ensure_bucket(object_lock=True)
        start = time.perf_counter()
        for i, p in enumerate(sources):
            with p.open("rb") as f:
                plain.put_object(Bucket=bucket, Key=f"plain/{i}", Body=f)
        best["plain"] = min(best["plain"], time.perf_counter() - start)
        for workers in (1, 2):
            data_dir = root / f"tp-{r}-{workers}"
            queue_segments(data_dir, files, size)
            index = Index.open(data_dir / "index.sqlite")
            up = Uploader(
                index, store, data_dir, "bench", f"w{workers}", 1, workers=workers,
                policy=RetryPolicy(idle_s=0.01),
            )  # fmt: skip
            start = time.perf_counter()
            up.start()
            while index.backlog().count:
                time.sleep(0.005)
            best[f"uploader x{workers}"] = min(
                best[f"uploader x{workers}"], time.perf_counter() - start
            )
            up.stop()
            index.close()
    total = files * size
    print(f"  {files} segments x {mib} MiB (+ their records), best of {rounds} rounds")
    for name, seconds in best.items():
        print(
            f"  {name:12s} {total / seconds / MiB:8.1f} MiB/s  {best['plain'] / seconds:6.1%} "
            "of plain"
        )


def main() -> None:
    if sys.argv[1:2] == ["--queue"]:
        data_dir, n, files = Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        queue_segments(data_dir, n, 64 * 1024, files=files)
        print("{}")
        return
    if sys.argv[1:2] == ["--child"]:
        child_upload(Path(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,10000", help="backlog sizes (segments)")
    parser.add_argument("--uploads", type=int, default=10, help="items uploaded per size")
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--mib", type=float, default=4.0, help="size of each file")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evgw-bench-") as tmp:
        root = Path(tmp)
        with start_seaweed(root / "seaweed") as server:
            print("memory (one row at a time):")
            memory(root, server, [int(s) for s in args.sizes.split(",")], args.uploads)
            print("throughput:")
            throughput(root, server, args.files, args.mib, args.rounds)


if __name__ == "__main__":
    main()
