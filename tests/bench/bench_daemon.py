"""Whole-daemon benchmark: `evgw run` against the ffmpeg CLI on the same RTSP cameras, at once.

    python -m tests.bench.bench_daemon --mode passthrough|burn_in --cameras N
        [--seconds 60] [--warmup 15] [--segment-seconds 60] [--preset ultrafast]
        [--size 1280x720@25] [--bitrate 2M] [--source file|gst] [--repo DIR] [--json]

N simulated cameras (daemon_rig: a looped 720p 2 Mbit/s H.264 file per mount by default);
the real `evgw run` of `--repo` (sealing on, upload to a local SeaweedFS, MQTT to a local
mosquitto) and N ffmpeg processes doing the same job (passthrough: `-c copy -f segment`;
burn_in: drawtext with the same text and font + libx264 with the same preset, CRF and GOP),
both started together and measured over the same window after the warm-up, so they share the
machine's load. CPU is utime+stime of each tree including reaped children; memory is PSS
(smaps_rollup) of the tree, the daemon parent's PSS and each camera process's private pages;
the parent's own CPU and wake-ups (voluntary context switches of its threads) are shown too.
Start-up is from a camera process's start to its first TCP connection to the RTSP server.
At the end the daemon is stopped (it seals), the backlog drained, every sealed segment
looked up in the bucket and `evgw verify` run. Run as root (the daemon is non-dumpable).
A script, not a pytest test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from tests.support.paths import REPO

from .daemon_rig import Camera, Stream
from .daemon_run import EVGW, FFMPEG, SERVER, Run
from .figures import SideFigures, side_figures, spread
from .nothing_lost import summary
from .proc_meter import machine_cpu, voluntary_switches


def parse_size(text: str) -> tuple[int, int, int]:
    size, _, fps = text.partition("@")
    width, _, height = size.partition("x")
    return int(width), int(height), int(fps or 25)


def stream_of(args: argparse.Namespace) -> Stream:
    width, height, fps = parse_size(args.size)
    return Stream(width, height, fps, args.bitrate, args.source)


def measure(args: argparse.Namespace, root: Path) -> dict[str, object]:
    cameras = [Camera(f"cam-{i}", f"cam{i}", args.mode) for i in range(args.cameras)]
    run = Run.start(root, args.repo, stream_of(args), cameras, args.segment_seconds,
                    args.preset, with_ffmpeg=True)  # fmt: skip
    try:
        time.sleep(args.warmup)  # the warm-up is a duration by definition, not a readiness wait
        run.wait_connected(60)
        run.watch.stop()
        connected = {side: len(run.camera_pids(side)) for side in (EVGW, FFMPEG)}
        busy0, total0 = machine_cpu()
        first = run.sampler.take()
        wakeups0 = voluntary_switches(run.daemon.pid)
        time.sleep(args.seconds)  # the measured window
        wakeups = voluntary_switches(run.daemon.pid) - wakeups0
        last = run.sampler.take()
        busy1, total1 = machine_cpu()
        ended = run.alive()
        sides = {}
        for side, parent in ((EVGW, run.daemon.pid), (FFMPEG, None)):
            window = run.sampler.between(side, first[side].at, last[side].at)
            pids = run.camera_pids(side)
            sides[side] = side_figures(side, len(cameras), window, parent, pids,
                                       run.startup_s(side))  # fmt: skip
        server_cpu = last[SERVER].cpu_s - first[SERVER].cpu_s
        daemon_start = run.daemon_to_connected_s()
        outcome, ffmpeg = run.finish()
    finally:
        run.close()
    return {
        "mode": args.mode,
        "cameras": args.cameras,
        "stream": f"{args.size} {args.bitrate} ({args.source})",
        "segment_seconds": args.segment_seconds,
        "preset": args.preset if args.mode == "burn_in" else None,
        "repo": str(args.repo),
        "window_s": sides[EVGW].window_s,
        "machine_busy_pct": 100 * (busy1 - busy0) / (total1 - total0),
        "load_average_1min": os.getloadavg()[0],
        "server_cpu_s": server_cpu,
        "ended_early": ended,
        "connected_at_window_start": connected,
        "daemon_start_to_connected_s": daemon_start,
        "parent_wakeups_per_s": wakeups / sides[EVGW].window_s if sides[EVGW].window_s else 0.0,
        "evgw": sides[EVGW],
        "ffmpeg": sides[FFMPEG],
        "outcome": outcome,
        "ffmpeg_outcome": ffmpeg,
        "ok": outcome.ok and not ended,
    }


def table(result: dict[str, object]) -> list[str]:
    evgw, ffmpeg = result["evgw"], result["ffmpeg"]
    assert isinstance(evgw, SideFigures) and isinstance(ffmpeg, SideFigures)
    ratio = evgw.cpu_s / ffmpeg.cpu_s if ffmpeg.cpu_s else float("inf")
    rows = [
        ("CPU s in window", f"{evgw.cpu_s:.1f}", f"{ffmpeg.cpu_s:.1f}"),
        ("CPU % of a core per camera", f"{evgw.cpu_pct_per_camera:.2f}",
         f"{ffmpeg.cpu_pct_per_camera:.2f}"),
        ("cameras per core", f"{evgw.cameras_per_core:.0f}", f"{ffmpeg.cameras_per_core:.0f}"),
        ("camera process CPU s per camera-minute", f"{evgw.camera_cpu_s_per_minute:.3f}",
         f"{ffmpeg.camera_cpu_s_per_minute:.3f}"),
        ("tree PSS MiB (mean, peak)", f"{evgw.tree_pss_mib:.0f}, {evgw.tree_pss_peak_mib:.0f}",
         f"{ffmpeg.tree_pss_mib:.0f}, {ffmpeg.tree_pss_peak_mib:.0f}"),
        ("parent PSS MiB", f"{evgw.parent_pss_mib or 0:.0f}", "-"),
        ("parent CPU % of a core", _parent_cpu_pct(evgw), "-"),
        ("parent wake-ups per second (all threads)", f"{result['parent_wakeups_per_s']:.1f}", "-"),
        ("camera process private MiB", spread(evgw.camera_private_mib),
         spread(ffmpeg.camera_private_mib)),
        ("camera process RSS MiB", spread(evgw.camera_rss_mib), spread(ffmpeg.camera_rss_mib)),
        ("start-up s (process start to RTSP connected)", spread(evgw.startup_s, digits=2),
         spread(ffmpeg.startup_s, digits=2)),
    ]  # fmt: skip
    head = (
        f"{result['mode']}, {result['cameras']} cameras, {result['stream']}, "
        f"{result['segment_seconds']} s segments"
        + (f", preset {result['preset']}" if result["preset"] else "")
        + f"; window {result['window_s']:.0f} s; machine busy {result['machine_busy_pct']:.0f} %"
        f" of {_cores()} cores, load {result['load_average_1min']:.1f}; RTSP server "
        f"{result['server_cpu_s']:.1f} CPU s"
    )
    width = max(len(r[0]) for r in rows)
    lines = [head, "", f"{'':{width}}  {'evgw':>22}  {'ffmpeg':>22}"]
    lines += [f"{name:{width}}  {a:>22}  {b:>22}" for name, a, b in rows]
    lines.append(f"{'CPU ratio evgw/ffmpeg':{width}}  {ratio:>22.2f}")
    start = result["daemon_start_to_connected_s"]
    assert isinstance(start, list)
    lines.append(f"evgw run start to each camera connected: {spread(start, ' s', 2)}")
    connected = result["connected_at_window_start"]
    assert isinstance(connected, dict)
    if any(n < evgw.cameras for n in connected.values()):
        lines.append(
            f"NOT EVERY CAMERA WAS CONNECTED when the window opened: {connected} of "
            f"{evgw.cameras}; the figures above do not compare the same work"
        )
    return lines


def _parent_cpu_pct(side: SideFigures) -> str:
    if side.parent_cpu_s is None or not side.window_s:
        return "-"
    return f"{100 * side.parent_cpu_s / side.window_s:.2f}"


def _cores() -> int:
    return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("passthrough", "burn_in"), required=True)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument("--segment-seconds", type=int, default=60,
                        help="the daemon's default; 10 shows what each segment costs")  # fmt: skip
    parser.add_argument("--preset", default="ultrafast", help="x264 preset of both (burn_in)")
    parser.add_argument("--size", default="1280x720@25", help="WIDTHxHEIGHT@FPS the cameras send")
    parser.add_argument("--bitrate", default="2M", help="what the cameras send (file source)")
    parser.add_argument("--source", choices=("file", "gst"), default="file")
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose evgw runs")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    args.repo = args.repo.resolve()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = measure(args, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="evgw-bench-") as tmp:
            result = measure(args, Path(tmp))
    if args.json:
        print(json.dumps({k: _jsonable(v) for k, v in result.items()}, indent=2,
                         ensure_ascii=False))  # fmt: skip
    else:
        print("\n".join(table(result)))
        print("\n".join(summary(result["outcome"], result["ffmpeg_outcome"])))  # type: ignore[arg-type]
        if result["ended_early"]:
            print(f"ENDED EARLY: {result['ended_early']}")
    return 0 if result["ok"] else 1


def _jsonable(value: object) -> object:
    if isinstance(value, SideFigures):
        return asdict(value) | {
            "cpu_pct_per_camera": value.cpu_pct_per_camera,
            "cameras_per_core": value.cameras_per_core,
        }
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[call-overload]
    return value


if __name__ == "__main__":
    sys.exit(main())
