"""The whole-daemon rig: RTSP cameras, mosquitto, SeaweedFS, a real `evgw run` of any checkout,
and the ffmpeg command lines that do the same job on the same cameras.

The cameras are file mounts by default: one H.264 file (moving `testsrc2`, x264 veryfast at
the given bitrate, 1 s GOP, no B-frames, as a camera sends) generated once and served in a
loop, bytes unchanged, so the simulator costs little (about 1.5 % of a core per mount here).
`--source gst` makes the simulator encode every mount live instead (x264enc ultrafast at its
default 2048 kbit/s): a live 720p x264 encode per camera, which on a 2-core box competes with
what is measured.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from segments.overlay import DEBIAN_FONT, font_size_for
from segments.plan import EncodeSettings
from segments.writer import MP4_OPTIONS
from testbeds.mosquitto import MosquittoServer
from testbeds.process import find_free_port
from testbeds.rtsp import RtspTestServer
from testbeds.seaweedfs import SeaweedServer
from tests.support.recording import make_keys
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, raw_client, start_seaweed
from uplink.objectstore import ObjectStore
from uplink.settings import ObjectStoreSettings

FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
SITE = "基准测试站"
LOCATION = "基准测试站 一号卡口"
TZ_NAME = "Asia/Shanghai"
BUCKET = "bench-evidence"
LOOP_S = 20  # length of the served file: whole GOPs, so the loop seam is a keyframe
STREAM_CACHE = Path(tempfile.gettempdir()) / "evgw-bench-streams"


@dataclass(frozen=True)
class Stream:
    """What every simulated camera sends."""

    width: int = 1280
    height: int = 720
    fps: int = 25
    bitrate: str = "2M"
    source: str = "file"  # or "gst"

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}@{self.fps}"


@dataclass(frozen=True)
class Camera:
    id: str
    mount: str
    mode: str  # burn_in or passthrough


def stream_file(stream: Stream) -> Path:
    """Annex B H.264 with an access unit delimiter before every frame (what the mount needs),
    generated once per machine into STREAM_CACHE (no media file is committed)."""
    name = f"camera_{stream.width}x{stream.height}_{stream.fps}fps_{stream.bitrate}.h264"
    path = STREAM_CACHE / name
    if path.exists():
        return path
    STREAM_CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    subprocess.run(
        [*FFMPEG, "-f", "lavfi", "-i", f"testsrc2=size={stream.width}x{stream.height}:"
         f"rate={stream.fps}", "-t", str(LOOP_S), "-c:v", "libx264", "-preset", "veryfast",
         "-b:v", stream.bitrate, "-maxrate", stream.bitrate, "-bufsize", stream.bitrate,
         "-g", str(stream.fps), "-bf", "0", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
         "-bsf:v", "h264_metadata=aud=insert", "-f", "h264", str(partial)],
        check=True,
    )  # fmt: skip
    partial.rename(path)
    return path


def rtsp_server(stream: Stream, mounts: Sequence[str]) -> RtspTestServer:
    if stream.source == "gst":
        return RtspTestServer(find_free_port(), [f"{m}:{stream.size}" for m in mounts])
    source = stream_file(stream)
    files = [f"{m}:{source}@{stream.fps}" for m in mounts]
    return RtspTestServer(find_free_port(), [], file_mounts=files, ready_timeout=60)


@dataclass
class Services:
    """The servers a gateway talks to, started together and stopped together."""

    cameras: RtspTestServer
    broker: MosquittoServer
    store: SeaweedServer

    @classmethod
    def start(cls, root: Path, stream: Stream, mounts: Sequence[str]) -> Services:
        cameras = rtsp_server(stream, mounts).start()
        broker = MosquittoServer(root / "mosquitto").start()
        store = start_seaweed(root / "seaweed")
        return cls(cameras, broker, store)

    def stop(self) -> None:
        self.store.stop()
        self.broker.stop()
        self.cameras.stop()

    def store_client(self) -> Any:
        return raw_client(self.store)

    def store_settings(self) -> ObjectStoreSettings:
        return ObjectStoreSettings(
            endpoint_url=self.store.endpoint_url,
            bucket=BUCKET,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            credentials_source="tests/support/seaweed.py",
        )


def write_config(root: Path, services: Services, cameras: Sequence[Camera],
                 segment_seconds: int, preset: str, *, enabled: bool = True) -> Path:  # fmt: skip
    """evgw.toml with sealing, upload and MQTT on; returns its path. With `enabled` false
    (evgw-drain.toml) every camera is listed but disabled: a gateway that only uploads."""
    device_key, recipient = make_keys(root)
    blocks = "".join(
        f'[[cameras]]\nid = "{c.id}"\nrtsp = "{services.cameras.url(c.mount)}"\n'
        f'overlay = "{c.mode}"\nenabled = {str(enabled).lower()}\n'
        for c in cameras
    )
    text = f"""
[gateway]
id = "gw-bench"
site = "{SITE}"
data_dir = "{root / "data"}"
timezone = "{TZ_NAME}"
[location]
name = "{LOCATION}"
[keys]
signing_key = "{device_key}"
recipients = ["{recipient}"]
[recording]
segment_seconds = {segment_seconds}
preset = "{preset}"
read_timeout_s = 5.0
[mqtt]
host = "127.0.0.1"
port = {services.broker.port}
health_interval_s = 5.0
[upload]
endpoint_url = "{services.store.endpoint_url}"
bucket = "{BUCKET}"
access_key = "{ACCESS_KEY}"
secret_key = "{SECRET_KEY}"
retention_days = 1
{blocks}"""
    path = root / ("evgw.toml" if enabled else "evgw-drain.toml")
    path.write_text(text, encoding="utf-8")
    ObjectStore(services.store_settings()).ensure_bucket(object_lock=True)
    return path


def repo_env(repo: Path) -> dict[str, str]:
    """The environment for a process that must import `repo`'s packages, and only those."""
    return os.environ | {"PYTHONPATH": str(repo)}


def start_daemon(config: Path, repo: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        cwd=repo, env=repo_env(repo), stdout=log, stderr=log,
    )  # fmt: skip


def stop_daemon(daemon: subprocess.Popen[bytes], timeout_s: float = 90.0) -> int:
    """SIGTERM: the daemon seals every open segment before it exits."""
    daemon.send_signal(signal.SIGTERM)
    try:
        return daemon.wait(timeout_s)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
        return -9


DRAIN = """
import sys
from pathlib import Path
from gateway.config import load_config
from gateway.daemon.lifecycle import Gateway
gateway = Gateway(load_config(Path(sys.argv[1])))
gateway.start()
gateway.stop(drain_s=float(sys.argv[2]))
"""


def drain(config: Path, repo: Path, log: IO[bytes], seconds: float = 300.0) -> None:
    """A run of `repo`'s gateway with every camera disabled (`config` is evgw-drain.toml) that
    waits for the upload backlog to empty: `evgw run` stops without waiting for uploads."""
    subprocess.run(
        [sys.executable, "-c", DRAIN, str(config), str(seconds)],
        cwd=repo, env=repo_env(repo), stdout=log, stderr=log, timeout=seconds + 120, check=True,
    )  # fmt: skip


def evgw_json(repo: Path, *args: str, timeout_s: float = 900.0) -> tuple[int, object]:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--json"],
        cwd=repo, env=repo_env(repo), capture_output=True, timeout=timeout_s,
    )  # fmt: skip
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        return done.returncode, done.stdout.decode(errors="replace") + done.stderr.decode(
            errors="replace"
        )


def overlay_textfile(folder: Path, camera: str) -> Path:
    """drawtext's version of evgw's default overlay template (time, camera, location) for one
    camera, named by its id as evgw does without `name`; `\\:` escapes strftime's colons."""
    path = folder / f"overlay_{camera}.txt"
    clock = r"%{localtime:%Y-%m-%d %H\:%M\:%S}"
    path.write_text(f"{clock} +08:00  {camera}\n{LOCATION}  ", encoding="utf-8")
    return path


def ffmpeg_command(url: str, out_dir: Path, mode: str, segment_seconds: int, stream: Stream,
                   preset: str, overlay_text: Path) -> list[str]:  # fmt: skip
    """The ffmpeg CLI doing the camera's job: segments on the same wall-clock boundaries."""
    out_dir.mkdir(parents=True, exist_ok=True)
    segment = [
        "-f", "segment", "-segment_time", str(segment_seconds), "-segment_atclocktime", "1",
        "-reset_timestamps", "1", "-segment_format", "mp4",
        "-segment_format_options", f"movflags={MP4_OPTIONS['movflags']}",
        str(out_dir / "seg%05d.mp4"),
    ]  # fmt: skip
    source = ["-rtsp_transport", "tcp", "-i", url]
    if mode == "passthrough":
        return [*FFMPEG, *source, "-c", "copy", "-an", *segment]
    settings = EncodeSettings(preset=preset)
    font_px = font_size_for(stream.height)
    margin = 2 * (max(2, stream.height // 60) // 2)  # size, outline and spacing as evgw's
    drawtext = ":".join(
        [
            f"fontfile={DEBIAN_FONT}",
            f"textfile={overlay_text}",
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
        *FFMPEG, *source, "-vf", f"drawtext={drawtext}",
        "-c:v", settings.codec, "-preset", preset, "-crf", str(settings.crf),
        "-g", str(round(stream.fps * settings.gop_s)), "-an", *segment,
    ]  # fmt: skip


def start_ffmpeg(command: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdout=log, stderr=log, env=os.environ | {"TZ": TZ_NAME})
