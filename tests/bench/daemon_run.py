"""One measured run: start the services, `evgw run` and (optionally) the ffmpeg side together,
watch start-up and sample both trees every second; at the end stop, drain and check.

Shared by bench_daemon (evgw against ffmpeg) and small_box (the 18-camera box).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gateway.keys import DEVICE_KEY_NAME

from .daemon_rig import (
    SITE,
    Camera,
    Services,
    Stream,
    drain,
    evgw_json,
    ffmpeg_command,
    overlay_textfile,
    start_daemon,
    start_ffmpeg,
    stop_daemon,
    write_config,
)
from .nothing_lost import (
    FfmpegOutcome,
    Outcome,
    bucket_sizes,
    camera_outcome,
    ffmpeg_outcome,
)
from .proc_meter import Sampler, started_at
from .startup_watch import StartupWatch, connected_pids

EVGW, FFMPEG, SERVER = "evgw", "ffmpeg", "rtsp server"


@dataclass
class Run:
    root: Path
    repo: Path
    cameras: Sequence[Camera]
    services: Services
    config: Path
    drain_config: Path
    daemon: subprocess.Popen[bytes]
    ffmpegs: list[subprocess.Popen[bytes]]
    sampler: Sampler
    watch: StartupWatch
    logs: list[IO[bytes]] = field(default_factory=list)

    @classmethod
    def start(cls, root: Path, repo: Path, stream: Stream, cameras: Sequence[Camera],
              segment_seconds: int, preset: str, with_ffmpeg: bool) -> Run:  # fmt: skip
        services = Services.start(root, stream, [c.mount for c in cameras])
        logs: list[IO[bytes]] = []
        started: list[subprocess.Popen[bytes]] = []
        try:
            config = write_config(root, services, cameras, segment_seconds, preset)
            drain_config = write_config(
                root, services, cameras, segment_seconds, preset, enabled=False
            )
            logs.append((root / "daemon.log").open("wb"))
            logs.append((root / "ffmpeg.log").open("wb"))
            commands = [
                ffmpeg_command(services.cameras.url(c.mount), root / "ffmpeg" / c.id, c.mode,
                               segment_seconds, stream, preset, overlay_textfile(root, c.id))
                for c in cameras
            ] if with_ffmpeg else []  # fmt: skip
            daemon = start_daemon(config, repo, logs[0])
            started.append(daemon)
            ffmpegs = []
            for command in commands:
                ffmpegs.append(start_ffmpeg(command, logs[1]))
                started.append(ffmpegs[-1])
        except BaseException:
            for p in started:
                p.kill()
                p.wait()
            for log in logs:
                log.close()
            services.stop()
            raise
        sides = {EVGW: lambda: [daemon.pid]}
        if ffmpegs:
            sides[FFMPEG] = lambda: [p.pid for p in ffmpegs]
        watch = StartupWatch(services.cameras.port, dict(sides), len(cameras)).start()
        server_pid = services.cameras.pid
        sampler = Sampler(sides | {SERVER: lambda: [server_pid] if server_pid else []}).start()
        return cls(root, repo, cameras, services, config, drain_config, daemon, ffmpegs, sampler,
                   watch, logs)  # fmt: skip

    def camera_pids(self, side: str) -> set[int]:
        """The processes of `side` connected to a camera now."""
        return connected_pids(self.watch.sides[side](), self.watch.port)

    def startup_s(self, side: str) -> list[float]:
        return [c.startup_s for c in self.watch.first_per_process(side)]

    def daemon_to_connected_s(self) -> list[float]:
        """From `evgw run`'s start to each camera process's first RTSP connection."""
        start = started_at(self.daemon.pid) or 0.0
        return [c.connected - start for c in self.watch.first_per_process(EVGW)]

    def wait_connected(self, timeout_s: float) -> None:
        """Until every camera process on every side has connected (or `timeout_s`)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            seen = (self.watch.first_per_process(s) for s in self.watch.sides)
            if all(len(pids) >= len(self.cameras) for pids in seen):
                return
            time.sleep(0.2)

    def alive(self) -> list[str]:
        """What ended early: the daemon or an ffmpeg (an empty list is good)."""
        dead = ["evgw run"] if self.daemon.poll() is not None else []
        pairs = zip(self.cameras, self.ffmpegs, strict=False)
        return dead + [c.id for c, p in pairs if p.poll() is not None]

    def finish(self) -> tuple[Outcome, list[FfmpegOutcome]]:
        """Stop both sides, seal, drain uploads, check what is on disk and in the bucket."""
        self.sampler.stop()
        self.watch.stop()
        ffmpeg_exits = [p.poll() for p in self.ffmpegs]
        for p in self.ffmpegs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)  # ffmpeg closes its last segment properly
        for p in self.ffmpegs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        exit_code = stop_daemon(self.daemon)
        problems = []
        try:
            drain(self.drain_config, self.repo, self.logs[0])
        except subprocess.CalledProcessError as e:
            problems.append(f"drain run failed ({e.returncode}); see {self.root}/daemon.log")
        _, report = evgw_json(
            self.repo, "verify", str(self.root / "data"), "--pubkey",
            f"{self.root / 'keys' / DEVICE_KEY_NAME}.pub",
        )  # fmt: skip
        verdict = report.get("verdict", "?") if isinstance(report, dict) else f"error: {report}"
        stored = bucket_sizes(self.services.store_client(), self.services.store_settings().bucket)
        outcome = Outcome(
            [
                camera_outcome(self.root / "data", SITE, "gw-bench", c.id, stored)
                for c in self.cameras
            ],
            str(verdict),
            exit_code,
            problems,
        )
        ffmpeg = [
            ffmpeg_outcome(c.id, self.root / "ffmpeg" / c.id, code)
            for c, code in zip(self.cameras, ffmpeg_exits, strict=False)
        ]
        return outcome, ffmpeg

    def close(self) -> None:
        """Kill whatever is still running (after a failure) and stop the services."""
        self.sampler.stop()
        self.watch.stop()
        for p in [self.daemon, *self.ffmpegs]:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.services.stop()
        for log in self.logs:
            with contextlib.suppress(OSError):
                log.close()
