"""The passthrough camera loop alone: CPU and Python calls per packet, live RTSP, in one process.

    python -m tests.bench.bench_camera_loop [--seconds 60] [--warmup 10] [--size 640x360@15]
        [--frozen-after 30] [--profile] [--top 25] [--json]

One `CameraWorker` (the camera process's recording thread: health, clock-step check, recorder,
remux, age encryption, ledger, and the frozen-picture check at the camera process's cadence)
records one file mount of the bench's RTSP simulator. Without `--profile` the figure is the
process's CPU over the window after the warm-up, divided by the packets recorded in it; with
`--profile` the loop runs under cProfile in this thread and the figure is Python function
calls per packet over the whole run (start-up included, so a longer run shows less of it).
Under `valgrind --tool=callgrind ` with `--callgrind`, the counts are
zeroed when the window opens and dumped when it closes: instructions per packet, whatever
the load (divide the dump's total by `packets`).
Call counts do not depend on the machine's load; CPU does, so compare runs made side by side.
A script, not a pytest test.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import av

from cameras.freeze import FreezeDetector
from cameras.health import HealthCounter
from cameras.picture import PictureSampler
from cameras.rtsp import StreamSettings
from gateway.camera_plan import picture_interval_s
from gateway.daemon.camera_identity import CameraChange
from gateway.daemon.camera_worker import CameraWorker
from segments.agekeys import generate_identity, parse_recipient
from segments.clock import kernel_clock_status
from segments.ledger import Ledger
from segments.overlay import OverlaySpec
from segments.plan import EncodeSettings, RecordingPlan
from segments.recorder import PASSTHROUGH, StreamRecorder
from segments.records import StreamIdentity
from segments.runs import open_run
from segments.signing import generate_signing_key
from segments.store import StreamStore
from segments.stream_log import LocalLog

from .bench_daemon import parse_size
from .daemon_rig import Stream, rtsp_server

SEGMENT_S = 10


class FixedAddress:
    """The resolver of an `rtsp` camera: one URL, no ONVIF identity."""

    identity = None

    def __init__(self, url: str) -> None:
        self._settings = StreamSettings(url, read_timeout_s=5.0)

    def resolve(self, declare: Callable[[CameraChange], None]) -> StreamSettings:
        return self._settings


def camera_worker(url: str, folder: Path, frozen_after_s: float) -> CameraWorker:
    """A camera process's worker for `url`, sealing into `folder` through a local ledger."""
    _, recipient = generate_identity()
    signer = generate_signing_key(folder / "bench.ed25519")
    plan = RecordingPlan(
        segment_seconds=SEGMENT_S,
        mode=PASSTHROUGH,
        encode=EncodeSettings(),
        overlay=OverlaySpec(location="loc", camera="cam"),
        tz=ZoneInfo("UTC"),
        recipients=(parse_recipient(recipient),),
    )
    identity = StreamIdentity("bench", "site", "loc", "cam", "cam", "boot")
    store = StreamStore(folder / "cam", "cam")
    ledger = Ledger.open(store.root, "cam", "bench", signer)
    run = open_run(ledger, store, partial(identity.draft, clock=kernel_clock_status()),
                   signer.public_key_text())  # fmt: skip
    detector, sample = FreezeDetector(frozen_after_s), PictureSampler()
    recorder = StreamRecorder(
        plan,
        identity,
        store,
        LocalLog(ledger, store),
        on_picture=lambda wall, frame: detector.update(wall, sample(frame)).moved,
        picture_interval_s=picture_interval_s("passthrough", frozen_after_s),
    )
    recorder.begin(run.began)
    health = HealthCounter("cam")
    return CameraWorker(FixedAddress(url), recorder, health, threading.Event())  # type: ignore[arg-type]


def _wait_for_frames(health: HealthCounter, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while health.snapshot().frames == 0:
        if time.monotonic() > deadline:
            raise SystemExit("no packet recorded: is the RTSP simulator serving?")
        time.sleep(0.1)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _callgrind(command: str) -> None:
    """Zero (`-z`) or dump (`-d`) the counts of this process when it runs under callgrind."""
    subprocess.run(["callgrind_control", command, str(os.getpid())], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def measure_cpu(
    worker: CameraWorker, warmup_s: float, seconds: float, callgrind: bool = False
) -> dict[str, float]:
    halt = worker._halt
    assert isinstance(halt, threading.Event)
    worker.start()
    _wait_for_frames(worker.health, 120)
    time.sleep(warmup_s)  # a duration by definition
    if callgrind:
        _callgrind("-z")
    frames0, cpu0, t0 = worker.health.snapshot().frames, _cpu(), time.monotonic()
    time.sleep(seconds)  # the measured window
    frames1, cpu1, t1 = worker.health.snapshot().frames, _cpu(), time.monotonic()
    if callgrind:
        _callgrind("-d")
    halt.set()
    worker.join(30)
    packets = frames1 - frames0
    cpu = cpu1 - cpu0
    return {
        "window_s": t1 - t0,
        "packets": packets,
        "cpu_s": cpu,
        "cpu_us_per_packet": 1e6 * cpu / packets if packets else float("nan"),
        "cpu_s_per_minute": 60 * cpu / (t1 - t0),
    }


def measure_calls(worker: CameraWorker, seconds: float, top: int) -> dict[str, float]:
    halt = worker._halt
    assert isinstance(halt, threading.Event)
    stopper = threading.Timer(seconds, halt.set)
    stopper.start()
    profile = cProfile.Profile()
    profile.runcall(worker.run)
    stopper.cancel()
    packets = worker.health.snapshot().frames
    stats = pstats.Stats(profile)
    calls = sum(cc for cc, _, _, _, _ in stats.stats.values())  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(top)
    return {"packets": packets, "calls": calls, "calls_per_packet": calls / max(packets, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--size", default="640x360@15", help="WIDTHxHEIGHT@FPS of the camera")
    parser.add_argument("--frozen-after", type=float, default=30.0, help="frozen_after_s")
    parser.add_argument("--profile", action="store_true", help="count calls under cProfile")
    parser.add_argument("--top", type=int, default=25, help="functions listed with --profile")
    parser.add_argument("--callgrind", action="store_true",
                        help="under valgrind --tool=callgrind: count the window only")  # fmt: skip
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    width, height, fps = parse_size(args.size)
    av.logging.set_level(av.logging.ERROR)
    server = rtsp_server(Stream(width, height, fps), ["cam0"])
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="evgw-camloop-") as tmp:
            worker = camera_worker(server.url("cam0"), Path(tmp), args.frozen_after)
            if args.profile:
                result = measure_calls(worker, args.warmup + args.seconds, args.top)
            else:
                result = measure_cpu(worker, args.warmup, args.seconds, args.callgrind)
    finally:
        server.stop()
    print(json.dumps(result) if args.json else
          "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in result.items()))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
