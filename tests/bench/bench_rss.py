"""Memory of a recording daemon: resident set of the parent and of each camera process.

    python3 -m tests.bench.bench_rss [--cameras 2] [--mode burn_in] [--seconds 20] [--json]
                                     [--repo DIR]   (the daemon of another checkout: before/after)

Starts simulated cameras and `evgw run` as a real process, waits until every camera has sealed
a segment, lets it record `--seconds` more, then reads VmRSS and VmHWM from /proc for the
parent and its camera processes, and whether the parent has mapped the video stack (libav*).
A script, not a pytest test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from testbeds.process import find_free_port
from testbeds.rtsp import RtspTestServer
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config, records
from tests.support.waiting import wait_until

VIDEO_LIBS = ("libavcodec", "libavformat", "libx264")


@dataclass(frozen=True)
class Memory:
    role: str
    pid: int
    rss_mb: float
    peak_mb: float
    video_stack: bool


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def camera_processes(pid: int) -> list[int]:
    """The daemon's children that record (not multiprocessing's resource tracker)."""
    return [c for c in children(pid) if b"resource_tracker" not in cmdline(c)]


def cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def memory(role: str, pid: int) -> Memory:
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    maps = Path(f"/proc/{pid}/maps").read_text()
    return Memory(
        role=role,
        pid=pid,
        rss_mb=int(status["VmRSS"].split()[0]) / 1024,
        peak_mb=int(status["VmHWM"].split()[0]) / 1024,
        video_stack=any(lib in maps for lib in VIDEO_LIBS),
    )


def measure(cameras: int, mode: str, seconds: float, repo: Path = REPO) -> list[Memory]:
    server = RtspTestServer(find_free_port(), [f"cam{i}:640x360@25" for i in range(cameras)])
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cams = [Cam(f"cam-{i}", server.url(f"cam{i}"), mode) for i in range(cameras)]
            config = make_config(Path(tmp), cams)
            daemon = subprocess.Popen(
                [sys.executable, "-m", "gateway", "run", "--config", str(config.path)],
                cwd=repo,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                wait_until(
                    "every camera seals a segment",
                    lambda: all(records(config, c.id, "segment") for c in cams),
                    120,
                )
                time.sleep(seconds)  # a measurement window, not a readiness wait
                found = [memory("parent", daemon.pid)]
                found += [memory("camera", pid) for pid in camera_processes(daemon.pid)]
                return found
            finally:
                daemon.terminate()
                daemon.wait(60)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--mode", choices=("burn_in", "passthrough"), default="burn_in")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repo", type=Path, default=REPO)
    args = parser.parse_args()
    found = measure(args.cameras, args.mode, args.seconds, args.repo)
    if args.json:
        print(json.dumps([asdict(m) for m in found], indent=2))
        return
    print(f"{'process':8} {'pid':>7} {'RSS MB':>8} {'peak MB':>8}  video stack mapped")
    for m in found:
        print(f"{m.role:8} {m.pid:7d} {m.rss_mb:8.1f} {m.peak_mb:8.1f}  {m.video_stack}")
    print(f"(daemon from {args.repo})")


if __name__ == "__main__":
    main()
