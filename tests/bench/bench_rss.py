"""Memory and start-up of a recording daemon: the parent and each of its processes.

    python3 -m tests.bench.bench_rss [--cameras 2] [--mode burn_in] [--seconds 20] [--json]
                                     [--picture 640x360@25] [--uplink] [--repo DIR]

`--repo DIR` runs the daemon of another checkout (before/after in one sitting); `--uplink`
uploads to a local SeaweedFS and reports to a local mosquitto, as a deployed gateway does. Starts
simulated cameras and `evgw run` as a real process, waits until every camera has sealed a
segment, lets it record `--seconds` more, then reads /proc for the parent and each process
under it: RSS, PSS and private memory (Private_Clean + Private_Dirty, what the process alone
holds) from smaps_rollup, peak RSS, threads, and whether the video stack (libav*) is mapped.
Start-up of a camera process is from its creation (/proc stat) to its "confined" log line,
when it has built its recorder and is about to open the camera; "all ready" is from the
daemon's launch to the last camera's line. The tree total is every process under the daemon.
A script, not a pytest test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from testbeds.mosquitto import MosquittoServer
from testbeds.process import find_free_port
from testbeds.rtsp import RtspTestServer
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config, records
from tests.support.seaweed import start_seaweed, unique_bucket, upload_section
from tests.support.waiting import wait_until
from uplink.objectstore import ObjectStore

VIDEO_LIBS = ("libavcodec", "libavformat", "libx264")
READY = re.compile(r"^(\S+ \S+) level=\S+ logger=\S+ (\S+): camera process (?:not )?confined")


@dataclass(frozen=True)
class Memory:
    role: str
    pid: int
    rss_mb: float
    pss_mb: float
    private_mb: float
    peak_mb: float
    threads: int
    video_stack: bool
    startup_s: float | None


@dataclass(frozen=True)
class Run:
    processes: list[Memory]
    all_ready_s: float

    def total(self, field: str, role: str | None = None) -> float:
        return sum(getattr(m, field) for m in self.processes if role in (None, m.role))


class ReadyLines:
    """Reads the daemon's log and notes when each camera process said it is ready."""

    def __init__(self, stream: IO[str], copy: Path | None) -> None:
        self.at: dict[str, float] = {}
        self._copy = copy
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        with open(self._copy or os.devnull, "w", encoding="utf-8") as copy:
            for line in stream:
                copy.write(line)
                self._note(line)

    def _note(self, line: str) -> None:
        found = READY.match(line)
        if found:
            stamp = datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            self.at.setdefault(found[2], stamp)


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *descendants(int(child))]
    return found


def role_of(pid: int) -> str:
    comm = Path(f"/proc/{pid}/comm").read_text().strip()
    if comm.startswith("cam-"):
        return "camera"
    line = Path(f"/proc/{pid}/cmdline").read_bytes()
    for helper in (b"resource_tracker", b"forkserver"):
        if helper in line:
            return helper.decode()
    return comm


def started_at(pid: int) -> float:
    """Wall-clock time the process was created (clock-tick precision)."""
    ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")


def memory(role: str, pid: int, ready: dict[str, float]) -> Memory:
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    rollup = {
        line.split(":")[0]: int(line.split()[1])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    }
    maps = Path(f"/proc/{pid}/maps").read_text()
    camera = Path(f"/proc/{pid}/comm").read_text().strip().removeprefix("cam-")
    ready_at = ready.get(camera) if role == "camera" else None
    return Memory(
        role=role,
        pid=pid,
        rss_mb=rollup["Rss"] / 1024,
        pss_mb=rollup["Pss"] / 1024,
        private_mb=(rollup["Private_Clean"] + rollup["Private_Dirty"]) / 1024,
        peak_mb=int(status["VmHWM"].split()[0]) / 1024,
        threads=int(status["Threads"]),
        video_stack=any(lib in maps for lib in VIDEO_LIBS),
        startup_s=None if ready_at is None else ready_at - started_at(pid),
    )


def measure(
    cameras: int, mode: str, seconds: float, picture: str, repo: Path = REPO,
    log: Path | None = None, uplink: bool = False, timeout_s: float = 180.0,
) -> Run:  # fmt: skip
    server = RtspTestServer(find_free_port(), [f"cam{i}:{picture}" for i in range(cameras)])
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp, ExitStack() as servers:
            extra = ""
            if uplink:
                store = start_seaweed(Path(tmp) / "seaweed")
                servers.callback(store.stop)
                broker = MosquittoServer(Path(tmp) / "mosquitto").start()
                servers.callback(broker.stop)
                extra = upload_section(store, unique_bucket())
                extra += f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'
            cams = [Cam(f"cam-{i}", server.url(f"cam{i}"), mode) for i in range(cameras)]
            config = make_config(Path(tmp), cams, extra=extra)
            if config.upload is not None:
                ObjectStore(config.upload.store).ensure_bucket(object_lock=True)
            launched = time.time()
            daemon = subprocess.Popen(
                [sys.executable, "-m", "gateway", "run", "--config", str(config.path)],
                cwd=repo,
                env={**os.environ, "PYTHONPATH": str(repo)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert daemon.stderr is not None
            ready = ReadyLines(daemon.stderr, log)
            try:
                wait_until(
                    "every camera seals a segment",
                    lambda: all(records(config, c.id, "segment") for c in cams),
                    timeout_s,
                )
                time.sleep(seconds)  # a measurement window, not a readiness wait
                found = [memory("parent", daemon.pid, ready.at)]
                found += [memory(role_of(p), p, ready.at) for p in descendants(daemon.pid)]
                last = max(ready.at.values(), default=launched)
                return Run(found, last - launched)
            finally:
                daemon.terminate()
                daemon.wait(60)
    finally:
        server.stop()


def report(run: Run, repo: Path) -> None:
    print(
        f"{'process':16} {'pid':>7} {'RSS MB':>7} {'PSS MB':>7} {'priv MB':>7} {'peak MB':>7}"
        f" {'thr':>4} {'start s':>7}  video stack"
    )
    for m in run.processes:
        start = "" if m.startup_s is None else f"{m.startup_s:.2f}"
        print(
            f"{m.role:16} {m.pid:7d} {m.rss_mb:7.1f} {m.pss_mb:7.1f} {m.private_mb:7.1f}"
            f" {m.peak_mb:7.1f} {m.threads:4d} {start:>7}  {m.video_stack}"
        )
    cams = [m for m in run.processes if m.role == "camera"]
    n = max(1, len(cams))
    starts = [m.startup_s for m in cams if m.startup_s is not None]
    print(
        f"tree PSS {run.total('pss_mb'):.1f} MB;"
        f" per camera: PSS {run.total('pss_mb', 'camera') / n:.1f} MB,"
        f" private {run.total('private_mb', 'camera') / n:.1f} MB;"
        f" start-up {min(starts, default=0):.2f}-{max(starts, default=0):.2f} s;"
        f" all {len(cams)} ready {run.all_ready_s:.2f} s after launch"
        f" ({run.all_ready_s / n:.2f} s per camera)"
    )
    print(f"(daemon from {repo})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--mode", choices=("burn_in", "passthrough"), default="burn_in")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--picture", default="640x360@25", help="WxH@FPS of each camera")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repo", type=Path, default=REPO)
    parser.add_argument("--log", type=Path, help="keep the daemon's log in this file")
    parser.add_argument("--uplink", action="store_true", help="upload and report over MQTT")
    parser.add_argument("--timeout", type=float, default=180.0, help="for every camera to seal")
    args = parser.parse_args()
    run = measure(
        args.cameras, args.mode, args.seconds, args.picture, args.repo.resolve(), args.log,
        args.uplink, args.timeout,
    )  # fmt: skip
    if args.json:
        print(json.dumps({"processes": [asdict(m) for m in run.processes],
                          "all_ready_s": run.all_ready_s}, indent=2))  # fmt: skip
        return
    report(run, args.repo)


if __name__ == "__main__":
    main()
