"""Recording benchmark: CPU per minute of video, evgw's recorder against the ffmpeg CLI.

    python3 -m tests.bench.bench_recording [--seconds 60] [--sizes 720p,1080p]
        [--cases burn_in:ultrafast,burn_in:veryfast,passthrough:copy] [--together] [--json]

For each size a camera-like H.264 file is generated once; then, back to back in the same run
(or at once with `--together`), evgw's StreamRecorder (in a child process) and the ffmpeg
command line doing the same work (burn-in overlay + x264 at the same CRF/GOP, or a plain
remux) cut it into 60 s fragmented MP4 segments. Both children are measured identically:
user+sys CPU and peak RSS from each child's own rusage (wait4), and wall time. Both outputs are
probed for the expected duration, so a fast but broken run is reported as a failure.
A script, not a pytest test: it takes minutes and needs an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import av

from cameras.errors import StreamError
from cameras.freeze import FreezeDetector
from cameras.health import HealthCounter
from cameras.picture import PictureSampler
from cameras.rtsp import RtspStream, StreamSettings
from gateway.camera_plan import picture_interval_s
from segments.age_reader import decrypt_stream
from segments.agekeys import generate_identity, parse_identities, parse_recipient
from segments.clock import StepDetector, kernel_clock_status
from segments.ledger import Ledger
from segments.overlay import DEBIAN_FONT, Overlay, OverlaySpec, font_size_for
from segments.plan import EncodeSettings, RecordingPlan
from segments.recorder import BURN_IN, PASSTHROUGH, StreamRecorder
from segments.records import StreamIdentity
from segments.runs import open_run
from segments.signing import generate_signing_key
from segments.store import StreamStore
from segments.stream_log import LocalLog
from segments.timeline import pts_seconds
from segments.writer import MP4_OPTIONS

REPO_ROOT = Path(__file__).resolve().parents[2]
SIZES = {  # width, height, bitrate, frame rate
    "360p15": (640, 360, "2M", 15),
    "720p": (1280, 720, "2M", 25),
    "1080p": (1920, 1080, "4M", 25),
}
CASES = ((BURN_IN, "ultrafast"), (BURN_IN, "veryfast"), (PASSTHROUGH, "copy"))
SEGMENT_S = 60
ANCHOR = 1_800_000_000.0  # a multiple of SEGMENT_S: boundaries fall every 60 s of PTS time
TZ_NAME = "Asia/Shanghai"
OVERLAY = OverlaySpec(location="某某检查站 一号卡口", camera="一号卡口")
DURATION_TOLERANCE_S = 0.25
OVERLAY_SAMPLE_FRAMES = 250
FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


@dataclass(frozen=True)
class Usage:
    cpu_s: float
    wall_s: float
    rss_mb: float
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Running:
    proc: subprocess.Popen[bytes]
    out: IO[bytes]
    err: IO[bytes]
    start: float


@dataclass(frozen=True)
class Side:
    """One measured run of one side, with what its output really contains."""

    cpu_s: float
    wall_s: float
    rss_mb: float
    media_s: float
    frames: int
    files: int
    error: str | None


@dataclass(frozen=True)
class CaseResult:
    size: str
    mode: str
    preset: str
    video_s: float
    evgw: Side
    ffmpeg: Side
    evgw_startup_cpu_s: float | None

    @property
    def evgw_cpu_per_min(self) -> float:
        return self.evgw.cpu_s * 60 / self.video_s

    @property
    def ffmpeg_cpu_per_min(self) -> float:
        return self.ffmpeg.cpu_s * 60 / self.video_s

    @property
    def ratio(self) -> float:
        return self.evgw.cpu_s / self.ffmpeg.cpu_s if self.ffmpeg.cpu_s else float("inf")

    @property
    def steady_ratio(self) -> float:
        """Ours without the one-time interpreter start, against ffmpeg's whole run.

        A daemon starts once; each benchmark child starts anew, which dominates short remuxes.
        """
        steady = self.evgw.cpu_s - (self.evgw_startup_cpu_s or 0.0)
        return steady / self.ffmpeg.cpu_s if self.ffmpeg.cpu_s else float("inf")

    @property
    def cameras_per_core(self) -> float:
        steady = self.evgw.cpu_s - (self.evgw_startup_cpu_s or 0.0)
        per_min = steady * 60 / self.video_s
        return 60 / per_min if per_min else float("inf")

    def to_json(self) -> dict[str, object]:
        return asdict(self) | {
            "evgw_cpu_s_per_min": round(self.evgw_cpu_per_min, 3),
            "ffmpeg_cpu_s_per_min": round(self.ffmpeg_cpu_per_min, 3),
            "ratio": round(self.ratio, 3),
            "steady_ratio": round(self.steady_ratio, 3),
            "cameras_per_core": round(self.cameras_per_core, 2),
        }


@dataclass(frozen=True)
class OverlayCost:
    size: str
    frames: int
    mean_us: float
    median_us: float
    blend_median_us: float
    pct_of_burn_in: dict[str, float]


def record_file(source: Path, out_dir: Path, mode: str, preset: str) -> float:
    """Record and seal `source` as a camera worker would; the CPU seconds spent after imports.

    Each packet takes the camera worker's path: health counter, clock-step check, recorder,
    and the frozen-picture check at the camera process's interval (`CameraPlan`). The archive
    identity is written beside `out_dir` so the parent can decrypt and probe.
    """
    identity_text, recipient = generate_identity()
    (out_dir.parent / f"{out_dir.name}.agekey").write_text(identity_text)
    signer = generate_signing_key(out_dir.parent / f"{out_dir.name}.ed25519")
    before = resource.getrusage(resource.RUSAGE_SELF)
    plan = RecordingPlan(
        segment_seconds=SEGMENT_S,
        mode=mode,
        encode=EncodeSettings(preset=preset if mode == BURN_IN else "veryfast"),
        overlay=OVERLAY,
        tz=ZoneInfo(TZ_NAME),
        recipients=(parse_recipient(recipient),),
    )
    identity = StreamIdentity("bench", "site", "loc", "cam", "cam", "boot")
    store = StreamStore(out_dir, "cam")
    ledger = Ledger.open(store.root, "cam", "bench", signer)
    draft = partial(identity.draft, clock=kernel_clock_status())
    run = open_run(ledger, store, draft, signer.public_key_text())
    detector, sample = FreezeDetector(frozen_after_s=10.0), PictureSampler()
    recorder = StreamRecorder(
        plan,
        identity,
        store,
        LocalLog(ledger, store),
        on_picture=lambda wall, frame: detector.update(wall, sample(frame)).moved,
        picture_interval_s=picture_interval_s(mode, detector.frozen_after_s),
    )
    recorder.begin(run.began)
    health, steps = HealthCounter("cam"), StepDetector()
    with RtspStream(StreamSettings(str(source))) as stream:
        assert stream.video is not None and stream.video.time_base is not None
        recorder.connect(stream.video, stream.audio)
        time_base = stream.video.time_base  # the input has video only
        try:
            for packet in stream.packets():
                if packet.stream is stream.video:
                    health.frame(packet.size)
                steps.check()
                # arriving as a live camera would: at its PTS (else its clock looks ahead)
                at = ANCHOR + pts_seconds(packet.pts or 0, time_base)
                recorder.feed(packet, at, at)
        except StreamError:
            pass  # end of file
        recorder.close(time.time())
    after = resource.getrusage(resource.RUSAGE_SELF)
    return _cpu(after) - _cpu(before)


def start_measured(cmd: list[str], env: dict[str, str] | None = None) -> Running:
    """Start `cmd` with its output captured; `finish_measured` waits for it."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 (closed by finish_measured)
    err = tempfile.TemporaryFile()  # noqa: SIM115
    proc = subprocess.Popen(
        cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
    )
    return Running(proc, out, err, time.perf_counter())


def finish_measured(running: Running) -> Usage:
    """Wait for the child; CPU and peak RSS from its own rusage (wait4), so two children
    measured at once do not mix."""
    _, status, own = os.wait4(running.proc.pid, 0)
    wall = time.perf_counter() - running.start
    running.proc.returncode = os.waitstatus_to_exitcode(status)
    with running.out as out, running.err as err:
        out.seek(0)
        err.seek(0)
        return Usage(
            cpu_s=_cpu(own),
            wall_s=wall,
            rss_mb=own.ru_maxrss / 1024,  # KiB on Linux
            returncode=running.proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def make_input(tmp: Path, size: str, seconds: int) -> Path:
    """A moving test pattern encoded like a camera would send it: video only, in MPEG-TS, so
    its packets are Annex B with start codes, as RTSP delivers them (MP4 would give
    length-prefixed NAL units, which the SEI check reads differently)."""
    width, height, bitrate, fps = SIZES[size]
    path = tmp / f"in_{size}.ts"
    source = f"testsrc2=size={width}x{height}:rate={fps}"
    subprocess.run(
        [*FFMPEG, "-f", "lavfi", "-i", source, "-t", str(seconds), "-c:v", "libx264",
         "-preset", "veryfast", "-g", str(fps), "-b:v", bitrate, "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


def ffmpeg_command(
    source: Path, out_dir: Path, mode: str, preset: str, size: str, textfile: Path
) -> list[str]:
    segment = [
        "-f", "segment", "-segment_time", str(SEGMENT_S), "-segment_format", "mp4",
        "-segment_format_options", f"movflags={MP4_OPTIONS['movflags']}",
        str(out_dir / "out%03d.mp4"),
    ]  # fmt: skip
    if mode == PASSTHROUGH:
        return [*FFMPEG, "-i", str(source), "-c", "copy", *segment]
    settings = EncodeSettings(preset=preset)
    _, height, _, fps = SIZES[size]
    font_px = font_size_for(height)
    margin = 2 * (max(2, height // 60) // 2)  # size, outline and spacing as segments.overlay
    drawtext = ":".join(
        [
            f"fontfile={DEBIAN_FONT}",
            f"textfile={textfile}",
            "expansion=normal",
            f"fontsize={font_px}",
            "fontcolor=white",
            f"borderw={max(1, round(font_px / 10))}",
            "bordercolor=black",
            f"line_spacing={max(2, round(font_px / 5))}",
            f"x={margin}",
            f"y={margin}",
        ]
    )
    return [
        *FFMPEG, "-i", str(source), "-vf", f"drawtext={drawtext}",
        "-c:v", settings.codec, "-preset", settings.preset, "-crf", str(settings.crf),
        "-g", str(round(fps * settings.gop_s)), "-an", *segment,
    ]  # fmt: skip


def write_textfile(tmp: Path) -> Path:
    """drawtext's version of the default template; `\\:` escapes strftime colons."""
    path = tmp / "overlay.txt"
    clock = r"%{localtime:%Y-%m-%d %H\:%M\:%S}"
    path.write_text(f"{clock} +08:00  {OVERLAY.camera}\n{OVERLAY.location}", encoding="utf-8")
    return path


def decrypt_sealed(out_dir: Path) -> None:
    """evgw's segments are sealed: decrypt them beside themselves so both sides probe alike."""
    key = out_dir.parent / f"{out_dir.name}.agekey"
    if not key.exists():
        return
    identities = parse_identities(key.read_text())
    for sealed in sorted(out_dir.rglob("*.mp4.age")):
        with open(sealed, "rb") as src, open(sealed.with_suffix(""), "wb") as dst:
            decrypt_stream(src, dst, identities)


def probe(files: list[Path]) -> tuple[float, int]:
    """Seconds of video (PTS span, summed over files) and frame count actually written."""
    seconds, frames = 0.0, 0
    for path in files:
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            assert video.time_base is not None
            low: int | None = None
            high: int | None = None
            for packet in container.demux(video):
                if packet.pts is None:
                    continue
                end = packet.pts + (packet.duration or 0)
                low = packet.pts if low is None else min(low, packet.pts)
                high = end if high is None else max(high, end)
                frames += 1
            if low is not None and high is not None:
                seconds += float((high - low) * video.time_base)
    return seconds, frames


def checked_side(usage: Usage, out_dir: Path, seconds: int) -> tuple[Side, str]:
    """One measured run, its output checked; also the child's stdout."""
    decrypt_sealed(out_dir)
    files = sorted(out_dir.rglob("*.mp4"))
    error = None
    media_s, frames = 0.0, 0
    if usage.returncode != 0:
        error = f"exit {usage.returncode}: {usage.stderr.strip()[-300:]}"
    else:
        try:
            media_s, frames = probe(files)
        except av.error.FFmpegError as e:
            error = f"output unreadable: {e}"
        if error is None and abs(media_s - seconds) > DURATION_TOLERANCE_S:
            error = f"wrote {media_s:.2f} s of video in {len(files)} files, expected {seconds} s"
    return Side(
        cpu_s=usage.cpu_s,
        wall_s=usage.wall_s,
        rss_mb=usage.rss_mb,
        media_s=media_s,
        frames=frames,
        files=len(files),
        error=error,
    ), usage.stdout


def run_case(
    tmp: Path, source: Path, size: str, mode: str, preset: str, seconds: int, together: bool
) -> CaseResult:
    """evgw and ffmpeg on the same input; `together` runs them at once, so both see the
    same machine load (a shared box drifts by 10 % between back-to-back runs)."""
    ours, theirs = tmp / f"evgw_{size}_{mode}_{preset}", tmp / f"ffmpeg_{size}_{mode}_{preset}"
    ours.mkdir()
    theirs.mkdir()
    child = [sys.executable, "-m", "tests.bench.bench_recording", "--child",
             mode, preset, str(source), str(ours)]  # fmt: skip
    cmd = ffmpeg_command(source, theirs, mode, preset, size, tmp / "overlay.txt")
    ffmpeg_env = os.environ | {"TZ": TZ_NAME}
    evgw_run = start_measured(child)
    if together:
        ffmpeg_usage = finish_measured(start_measured(cmd, ffmpeg_env))
        evgw_usage = finish_measured(evgw_run)
    else:
        evgw_usage = finish_measured(evgw_run)
        ffmpeg_usage = finish_measured(start_measured(cmd, ffmpeg_env))
    evgw, stdout = checked_side(evgw_usage, ours, seconds)
    startup = None if evgw.error is not None else evgw.cpu_s - float(stdout)
    ffmpeg, _ = checked_side(ffmpeg_usage, theirs, seconds)
    return CaseResult(size, mode, preset, seconds, evgw, ffmpeg, startup)


def time_overlay(source: Path, size: str, results: list[CaseResult]) -> OverlayCost:
    """The overlay as the recorder draws it, alone, on decoded frames, wall time advancing with
    PTS (one render/s): drawn into the decoder's frame (slice threads) and taken out again.

    The mean includes the once-a-second text render; `blend` repeats the draw on the same
    frame to show the blend alone.
    """
    samples: list[float] = []
    blends: list[float] = []
    overlay: Overlay | None = None
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "SLICE"
        for index, frame in enumerate(container.decode(stream)):
            if index >= OVERLAY_SAMPLE_FRAMES:
                break
            if overlay is None:
                overlay = Overlay.open(
                    OVERLAY,
                    ZoneInfo(TZ_NAME),
                    width=frame.width,
                    height=frame.height,
                    pix_fmt=frame.format.name,
                )
            wall = ANCHOR + index / SIZES[size][3]
            start = time.perf_counter_ns()
            overlay.apply_borrowed(frame, wall)()
            again = time.perf_counter_ns()
            overlay.apply_borrowed(frame, wall)()  # text cached: the blend alone
            samples.append((again - start) / 1000)
            blends.append((time.perf_counter_ns() - again) / 1000)
    mean = statistics.fmean(samples)
    pct = {}
    for case in results:
        if case.size == size and case.mode == BURN_IN and case.evgw.frames:
            per_frame_us = case.evgw.cpu_s / case.evgw.frames * 1e6
            pct[case.preset] = round(100 * mean / per_frame_us, 3)
    median, blend = statistics.median(samples), statistics.median(blends)
    return OverlayCost(size, len(samples), round(mean, 1), round(median, 1), round(blend, 1), pct)


def machine_info() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")]
    python = subprocess.run([sys.executable, "--version"], capture_output=True, text=True)
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True)
    return {
        "cpu": models[0] if models else "?",
        "cores": str(os.cpu_count()),
        "python": python.stdout.strip(),
        "pyav": f"{av.__version__} (bundled FFmpeg {av.ffmpeg_version_info})",
        "ffmpeg": ffmpeg.stdout.splitlines()[0] if ffmpeg.stdout else "?",
    }


def notes() -> list[str]:
    return [
        "CPU = user+sys seconds of each child (its own rusage from wait4), not wall time.",
        "Thread counts at defaults on both sides; the machine may be shared, so wall is noisy.",
        "Both x264 encoders use frame threads (evgw sets thread_type=FRAME, as the ffmpeg CLI"
        " does); evgw's decoder uses slice threads (it draws into the decoder's frames and"
        " takes the overlay out after encoding); PyAV bundles its own FFmpeg/x264 build.",
        "evgw CPU includes interpreter start and imports (startup column); ratio = evgw/ffmpeg;"
        " steady = (evgw - startup)/ffmpeg, what a long-running daemon pays;"
        " cams/core from the steady figure.",
        "cams/core = 60 / steady evgw CPU s per min of video.",
    ]


def print_table(machine: dict[str, str], cases: list[CaseResult], costs: list[OverlayCost]) -> None:
    for key, value in machine.items():
        print(f"{key:>7}: {value}")
    print()
    head = ("size", "mode", "preset", "evgw s/min", "ffmpeg s/min", "ratio", "steady",
            "evgw MB", "ffmpeg MB", "evgw wall", "ffm wall", "startup", "cams/core",
            "check")  # fmt: skip
    print(
        "{:<7}{:<12}{:<10}{:>11}{:>13}{:>7}{:>7}{:>9}{:>10}{:>10}{:>9}{:>8}{:>10}  {}".format(*head)
    )
    for c in cases:
        check = "ok" if c.evgw.error is None and c.ffmpeg.error is None else "FAIL"
        print(
            f"{c.size:<7}{c.mode:<12}{c.preset:<10}{c.evgw_cpu_per_min:>11.2f}"
            f"{c.ffmpeg_cpu_per_min:>13.2f}{c.ratio:>7.2f}{c.steady_ratio:>7.2f}{c.evgw.rss_mb:>9.0f}"
            f"{c.ffmpeg.rss_mb:>10.0f}{c.evgw.wall_s:>10.1f}{c.ffmpeg.wall_s:>9.1f}"
            f"{_num(c.evgw_startup_cpu_s):>8}{c.cameras_per_core:>10.2f}  {check}"
        )
        for side, result in (("evgw", c.evgw), ("ffmpeg", c.ffmpeg)):
            if result.error is not None:
                print(f"      {side}: {result.error}")
    print()
    cols = ("size", "frames", "apply µs mean", "median", "blend only", "% of burn_in CPU/frame")
    print("{:<7}{:>7}{:>15}{:>9}{:>12}  {}".format(*cols))
    for o in costs:
        pct = ", ".join(f"{preset} {value:.2f}%" for preset, value in o.pct_of_burn_in.items())
        print(
            f"{o.size:<7}{o.frames:>7}{o.mean_us:>15.1f}{o.median_us:>9.1f}"
            f"{o.blend_median_us:>12.1f}  {pct}"
        )
    print()
    for note in notes():
        print(f"note: {note}")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="video length per size")
    parser.add_argument("--sizes", default="720p,1080p", help=f"comma list of {sorted(SIZES)}")
    parser.add_argument(
        "--cases",
        default=",".join(f"{m}:{p}" for m, p in CASES),
        help="comma list of mode:preset (default: all)",
    )
    parser.add_argument(
        "--together",
        action="store_true",
        help="run evgw and ffmpeg at once (same machine load) instead of back to back",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = set(args.sizes.split(",")) - set(SIZES)
    if unknown:
        parser.error(f"unknown sizes {sorted(unknown)}; choose from {sorted(SIZES)}")
    args.cases = [tuple(c.split(":", 1)) for c in args.cases.split(",")]
    if not set(args.cases) <= set(CASES):
        parser.error(f"unknown cases; choose from {[f'{m}:{p}' for m, p in CASES]}")
    if args.seconds < 1:
        parser.error("--seconds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.child:
        mode, preset, source, out_dir = args.child
        print(record_file(Path(source), Path(out_dir), mode, preset))
        return 0
    machine = machine_info()
    cases: list[CaseResult] = []
    costs: list[OverlayCost] = []
    with tempfile.TemporaryDirectory(prefix="evgw-bench-") as name:
        tmp = Path(name)
        write_textfile(tmp)
        for size in args.sizes.split(","):
            print(f"[{size}] generating {args.seconds} s of input", file=sys.stderr)
            source = make_input(tmp, size, args.seconds)
            for mode, preset in args.cases:
                order = "together" if args.together else "evgw, then ffmpeg"
                print(f"[{size}] {mode} {preset}: {order}", file=sys.stderr)
                cases.append(run_case(tmp, source, size, mode, preset, args.seconds, args.together))
            if any(mode == BURN_IN for mode, _ in args.cases):
                costs.append(time_overlay(source, size, cases))
    if args.json:
        report = {
            "machine": machine,
            "notes": notes(),
            "cases": [c.to_json() for c in cases],
            "overlay": [asdict(o) for o in costs],
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_table(machine, cases, costs)
    failed = any(c.evgw.error or c.ffmpeg.error for c in cases)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
