"""A full small box: 16 passthrough + 2 burn_in 720p cameras on this machine for 10 minutes.

    python -m tests.bench.small_box [--minutes 10] [--passthrough 16] [--burn-in 2]
        [--segment-seconds 10] [--preset ultrafast] [--repo DIR] [--json]
    python -m tests.bench.small_box --max-per-core passthrough|burn_in
        [--start 4] [--step-seconds 60] [--limit 64] [--repo DIR]

The real `evgw run` of `--repo` with sealing, upload (local SeaweedFS) and MQTT (local
mosquitto) on, cameras from the RTSP simulator (daemon_rig: looped 720p 2 Mbit/s files).
Reports CPU and PSS of the daemon's tree, the parent's PSS and private memory of the camera
processes by mode (the burn_in ones are told apart as the processes with the most CPU), and
the tree's PSS every 30 s to show whether memory is flat. At the end: every segment sealed,
found in the bucket with its sealed size, no gap but the start-up one, `evgw verify` passes.

`--max-per-core MODE` steps the camera count up (x1.5 each step) and reports the largest
that holds: nothing lost (no gap but start-up, all sealed, uploaded, verified), every
camera's newest sealed segment no older than two segment lengths + 5 s at the end of the
step (sealing keeps up), and the daemon's tree under 90 % of all cores. The machine's busy
share and load are printed with each step: on a shared box they include everyone's work.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from segments.ledger import read_records
from segments.store import StreamStore
from tests.support.paths import REPO
from tests.support.recording import wall

from .daemon_rig import Camera, Stream
from .daemon_run import EVGW, Run
from .figures import spread
from .nothing_lost import Outcome, summary
from .proc_meter import MIB, TreeSample, machine_cpu

SERIES_EVERY_S = 30.0
CORES = os.cpu_count() or 1


@dataclass(frozen=True)
class BoxFigures:
    passthrough: int
    burn_in: int
    window_s: float
    cpu_s: float
    machine_busy_pct: float
    load_average_1min: float
    tree_pss_mib: list[float]  # every 30 s from the window's start
    parent_pss_mib: float
    passthrough_private_mib: list[float]
    burn_in_private_mib: list[float]
    startup_s: list[float]
    connected_at_start: int  # camera processes connected to their camera when the window opened
    lag_s: float  # the oldest "newest sealed segment" at the window's end
    ok: bool
    outcome: Outcome

    @property
    def cameras(self) -> int:
        return self.passthrough + self.burn_in

    @property
    def cores_used(self) -> float:
        return self.cpu_s / self.window_s


def newest_end_lag(data_dir: Path, cameras: list[Camera]) -> float:
    """Seconds since the newest sealed segment ended, for the camera furthest behind."""
    now, lags = time.time(), []
    for c in cameras:
        ends = [wall(r.end) for r in read_records(StreamStore(data_dir, c.id).root) if r.file]
        lags.append(now - max(ends) if ends else math.inf)
    return max(lags)


def series(window: list[TreeSample]) -> list[float]:
    """Tree PSS at the first sample of each 30 s slice of the window."""
    if not window:
        return []
    out, next_at = [], window[0].at
    for s in window:
        if s.at >= next_at:
            out.append(s.pss / MIB)
            next_at += SERIES_EVERY_S
    return out


def private_by_mode(first: TreeSample, last: TreeSample, camera_pids: set[int],
                    burn_in: int) -> tuple[list[float], list[float]]:  # fmt: skip
    """(passthrough, burn_in) private MiB; burn_in = the `burn_in` camera processes that used
    the most CPU over the window (encoding costs far more than remuxing)."""
    before = {m.pid: m.cpu_s for m in first.memory}
    cams = [m for m in last.memory if m.pid in camera_pids]
    cams.sort(key=lambda m: m.cpu_s - before.get(m.pid, 0.0), reverse=True)
    return [m.private / MIB for m in cams[burn_in:]], [m.private / MIB for m in cams[:burn_in]]


def record_box(repo: Path, root: Path, passthrough: int, burn_in: int, seconds: float,
               segment_seconds: int, preset: str, warmup: float = 20.0) -> BoxFigures:  # fmt: skip
    cameras = [Camera(f"bi-{i}", f"bi{i}", "burn_in") for i in range(burn_in)]
    cameras += [Camera(f"pt-{i}", f"pt{i}", "passthrough") for i in range(passthrough)]
    run = Run.start(root, repo, Stream(), cameras, segment_seconds, preset, with_ffmpeg=False)
    run.sampler.every_s = 5.0
    try:
        time.sleep(warmup)  # a warm-up is a duration by definition, not a readiness wait
        run.wait_connected(60)
        run.watch.stop()
        connected = len(run.camera_pids(EVGW))
        busy0, total0 = machine_cpu()
        first = run.sampler.take()[EVGW]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not run.alive():
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
        last = run.sampler.take()[EVGW]
        busy1, total1 = machine_cpu()
        lag = newest_end_lag(root / "data", cameras)
        ended = run.alive()
        window = run.sampler.between(EVGW, first.at, last.at)
        pids = run.camera_pids(EVGW)
        pt_private, bi_private = private_by_mode(first, last, pids, burn_in)
        parent = {m.pid: m for m in last.memory}.get(run.daemon.pid)
        startup = run.startup_s(EVGW)
        outcome, _ = run.finish()
    finally:
        run.close()
    busy = 100 * (busy1 - busy0) / (total1 - total0)
    return BoxFigures(
        passthrough=passthrough,
        burn_in=burn_in,
        window_s=last.at - first.at,
        cpu_s=last.cpu_s - first.cpu_s,
        machine_busy_pct=busy,
        load_average_1min=os.getloadavg()[0],
        tree_pss_mib=series(window),
        parent_pss_mib=parent.pss / MIB if parent else 0.0,
        passthrough_private_mib=pt_private,
        burn_in_private_mib=bi_private,
        startup_s=startup,
        connected_at_start=connected,
        lag_s=lag,
        ok=outcome.ok and not ended,
        outcome=outcome,
    )


def box_lines(f: BoxFigures) -> list[str]:
    flat = f.tree_pss_mib
    drift = f"{flat[-1] - flat[0]:+.0f} MiB first to last" if len(flat) > 1 else "one sample"
    return [
        f"{f.passthrough} passthrough + {f.burn_in} burn_in cameras, window {f.window_s:.0f} s; "
        f"machine busy {f.machine_busy_pct:.0f} % of {CORES} cores, load {f.load_average_1min:.1f} "
        "(everyone's)",
        f"tree CPU: {f.cpu_s:.1f} s = {100 * f.cores_used:.0f} % of a core "
        f"({100 * f.cores_used / f.cameras:.2f} % per camera)",
        f"tree PSS every {SERIES_EVERY_S:.0f} s (MiB): {', '.join(f'{v:.0f}' for v in flat)}  "
        f"[{drift}]",
        f"parent PSS {f.parent_pss_mib:.0f} MiB; camera process private MiB: passthrough "
        f"{spread(f.passthrough_private_mib)}, burn_in {spread(f.burn_in_private_mib)}",
        f"start-up (camera process start to RTSP connected): {spread(f.startup_s, ' s', 2)}; "
        f"{f.connected_at_start} of {f.cameras} connected when the window opened",
        f"newest sealed segment at the end: at most {f.lag_s:.0f} s old",
        *summary(f.outcome, []),
    ]


def why_not(f: BoxFigures, segment_seconds: int) -> list[str]:
    """Why this camera count does not hold (empty: it holds)."""
    reasons = [] if f.ok else ["something lost"]
    if f.lag_s > 2 * segment_seconds + 5:
        reasons.append(f"sealing {f.lag_s:.0f} s behind")
    if f.cores_used > 0.9 * CORES:
        reasons.append("the daemon uses over 90 % of every core")
    return reasons


def max_per_core(args: argparse.Namespace) -> list[tuple[BoxFigures, bool]]:
    steps: list[tuple[BoxFigures, bool]] = []
    n = args.start
    while n <= args.limit:
        with tempfile.TemporaryDirectory(prefix="evgw-box-") as tmp:
            pt, bi = (n, 0) if args.max_per_core == "passthrough" else (0, n)
            f = record_box(args.repo, Path(tmp), pt, bi, args.step_seconds,
                           args.segment_seconds, args.preset)  # fmt: skip
        reasons = why_not(f, args.segment_seconds)
        held = not reasons
        steps.append((f, held))
        verdict = "holds" if held else "does not hold: " + ", ".join(reasons)
        print(f"{n:4d} cameras: tree {100 * f.cores_used:5.0f} % of a core, machine busy "
              f"{f.machine_busy_pct:3.0f} % (load {f.load_average_1min:.1f}), newest segment "
              f"{f.lag_s:4.0f} s old, nothing lost {f.outcome.ok}: "
              f"{verdict}", flush=True)  # fmt: skip
        if not held:
            break
        n = max(n + 1, round(n * 1.5))
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--passthrough", type=int, default=16)
    parser.add_argument("--burn-in", type=int, default=2)
    parser.add_argument("--segment-seconds", type=int, default=10)
    parser.add_argument("--preset", default="ultrafast")
    parser.add_argument("--max-per-core", choices=("passthrough", "burn_in"))
    parser.add_argument("--start", type=int, default=4, help="first camera count (max-per-core)")
    parser.add_argument("--limit", type=int, default=64, help="last camera count (max-per-core)")
    parser.add_argument("--step-seconds", type=float, default=60.0)
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose evgw runs")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (logs, data)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    args.repo = args.repo.resolve()
    if args.max_per_core:
        steps = max_per_core(args)
        held = [f for f, ok in steps if ok]
        if not held:
            print(f"no camera count held, not even {args.start}")
            return 1
        best = held[-1]
        print(f"largest that held: {best.cameras} {args.max_per_core} cameras on {CORES} cores "
              f"({best.cameras / CORES:.1f} per core of this box); the daemon used "
              f"{100 * best.cores_used:.0f} % of a core for them = "
              f"{best.cameras / best.cores_used:.0f} cameras per core of its own CPU")  # fmt: skip
        return 0
    with tempfile.TemporaryDirectory(prefix="evgw-box-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        f = record_box(args.repo, root, args.passthrough, args.burn_in, args.minutes * 60,
                       args.segment_seconds, args.preset)  # fmt: skip
    if args.json:
        print(json.dumps(asdict(f), indent=2, ensure_ascii=False))
    else:
        print("\n".join(box_lines(f)))
        print(
            f"(daemon from {args.repo}; mean tree PSS {statistics.fmean(f.tree_pss_mib):.0f} MiB)"
        )
    return 0 if f.ok else 1


if __name__ == "__main__":
    sys.exit(main())
