"""Test RTSP camera: serves live H.264 (and optional AAC) test streams on several mount points.

Run with Debian's /usr/bin/python3 (the only interpreter with `gi`); it imports nothing from
evgw so it works outside the project's virtualenv. Factories are shared, so every client of a
mount receives the same encoded bytes, which lets tests compare what a camera sent with what
the gateway recorded. Prints ``READY rtsp://ADDRESS:PORT`` once it accepts connections.

Example::

    /usr/bin/python3 rtsp_server.py --port 8554 --mount cam1:640x360@25 \\
        --mount cam2:1280x720@25:audio --user admin --password secret [--auth basic]

`--file-mount NAME:PATH@FPS` serves an H.264 Annex B file instead, access unit by access unit
in a loop at FPS, bytes unchanged (no parser in between): a camera whose stream carries
Media Signing SEIs (`testbeds.signed_stream` writes such a file).
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
from dataclasses import dataclass

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

AAC_ENCODERS = ("voaacenc", "avenc_aac", "fdkaacenc")
MOUNT_RE = re.compile(
    r"^(?P<name>[A-Za-z0-9_.-]+):(?P<w>\d+)x(?P<h>\d+)@(?P<fps>\d+)(?P<audio>:audio)?$"
)
ROLE = "camera-user"


@dataclass(frozen=True)
class Mount:
    name: str
    width: int
    height: int
    fps: int
    audio: bool


def parse_mount(text: str) -> Mount:
    m = MOUNT_RE.match(text)
    if m is None:
        raise argparse.ArgumentTypeError(f"bad mount {text!r}: use NAME:WIDTHxHEIGHT@FPS[:audio]")
    mount = Mount(m["name"], int(m["w"]), int(m["h"]), int(m["fps"]), m["audio"] is not None)
    if min(mount.width, mount.height, mount.fps) <= 0:
        raise argparse.ArgumentTypeError(f"bad mount {text!r}: size and fps must be positive")
    return mount


def aac_encoder() -> str:
    for name in AAC_ENCODERS:
        if Gst.ElementFactory.find(name) is not None:
            return name
    tried = ", ".join(AAC_ENCODERS)
    raise SystemExit(f"no AAC encoder found (tried {tried}): install gstreamer1.0-libav")


def launch_line(mount: Mount, pattern: str, speed: int, noise: float = 0.0) -> str:
    """gst-launch description; one-second GOP and SPS/PPS on every IDR so late joiners decode."""
    video = (
        f"{picture_source(mount, pattern, speed, noise)} "
        f"! video/x-raw,format=I420,width={mount.width},height={mount.height},"
        f"framerate={mount.fps}/1 "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={mount.fps} threads=1 "
        f"! video/x-h264,profile=constrained-baseline "
        f"! rtph264pay name=pay0 pt=96 config-interval=-1"
    )
    if not mount.audio:
        return f"( {video} )"
    audio = (
        "audiotestsrc is-live=true wave=sine samplesperbuffer=1024 "
        "! audio/x-raw,rate=16000,channels=1 ! audioconvert "
        f"! {aac_encoder()} ! rtpmp4gpay name=pay1 pt=97"
    )
    return f"( {video} {audio} )"


def picture_source(mount: Mount, pattern: str, speed: int, noise: float) -> str:
    """The test pattern; with `noise` > 0, snow blended over it at that opacity: a still scene
    as a live sensor sees it (0.03 gives about 1.5 grey levels of temporal noise)."""
    source = f"videotestsrc is-live=true pattern={pattern} horizontal-speed={speed}"
    if noise <= 0:
        return source
    raw = f"video/x-raw,width={mount.width},height={mount.height},framerate={mount.fps}/1"
    return (
        f"{source} ! {raw} ! compositor name=sensor sink_1::alpha={noise:.4f} "
        f"videotestsrc is-live=true pattern=snow ! {raw} ! sensor.sink_1 sensor."
    )


def make_auth(user: str, password: str, method: str = "digest") -> GstRtspServer.RTSPAuth:
    """Digest (the default) or Basic, as a camera configured either way would ask."""
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
    if method == "basic":
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    else:
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        auth.add_digest(user, password, token)
    return auth


def allow_role(factory: GstRtspServer.RTSPMediaFactory) -> None:
    perms = Gst.Structure.new_from_string(
        f"{ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
    )
    factory.add_role_from_structure(perms)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument(
        "--mount",
        type=parse_mount,
        action="append",
        default=[],
        help="NAME:WIDTHxHEIGHT@FPS[:audio], repeatable",
    )
    p.add_argument("--pattern", default="smpte", help="videotestsrc pattern (default smpte)")
    p.add_argument(
        "--speed",
        type=int,
        default=4,
        help="horizontal scroll in pixels per frame; 0 with a noise-free pattern (colors) "
        "gives a frozen picture (smpte has a noise patch)",
    )
    p.add_argument(
        "--noise",
        type=float,
        default=0.0,
        help="opacity (0..1) of snow blended over the pattern: temporal sensor noise "
        "(default 0: a noise-free pattern with --speed 0 is a stuck camera)",
    )
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument(
        "--auth",
        choices=("digest", "basic"),
        default="digest",
        help="authentication the server asks for with --user (default digest)",
    )
    p.add_argument(
        "--file-mount",
        type=parse_file_mount,
        action="append",
        default=[],
        help="NAME:PATH@FPS: an H.264 Annex B file served in a loop, repeatable",
    )
    p.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="quit when stdin closes, so the server dies with its parent",
    )
    args = p.parse_args(argv)
    if (args.user is None) != (args.password is None):
        p.error("--user and --password go together")
    if not args.mount and not args.file_mount:
        p.error("at least one --mount or --file-mount")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    if args.user is not None:
        server.set_auth(make_auth(args.user, args.password, args.auth))
    mounts = server.get_mount_points()
    for mount in args.mount:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(mount, args.pattern, args.speed, args.noise))
        factory.set_shared(True)
        if args.user is not None:
            allow_role(factory)
        mounts.add_factory(f"/{mount.name}", factory)
    for file_mount in args.file_mount:
        factory = file_factory(file_mount)
        if args.user is not None:
            allow_role(factory)
        mounts.add_factory(f"/{file_mount.name}", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on {args.address}:{args.port}: port in use?", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, lambda: loop.quit() or False)
    if args.exit_on_stdin_eof:
        GLib.io_add_watch(
            sys.stdin.fileno(),
            GLib.PRIORITY_DEFAULT,
            GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR,
            lambda *_: loop.quit() or False,
        )
    print(f"READY rtsp://{args.address}:{args.port}", flush=True)
    loop.run()
    return 0


FILE_MOUNT_RE = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+):(?P<path>[^@]+)@(?P<fps>\d+)$")
AUD = b"\x00\x00\x00\x01\x09"  # 4-byte start code + access unit delimiter: a new unit


@dataclass(frozen=True)
class FileMount:
    name: str
    path: str
    fps: int


def parse_file_mount(text: str) -> FileMount:
    m = FILE_MOUNT_RE.match(text)
    if m is None or int(m["fps"]) <= 0:
        raise argparse.ArgumentTypeError(f"bad file mount {text!r}: use NAME:PATH@FPS")
    return FileMount(m["name"], m["path"], int(m["fps"]))


def access_units(data: bytes) -> list[bytes]:
    """The file split before each access unit delimiter (4-byte start code, NAL type 9)."""
    cuts = [m.start() for m in re.finditer(re.escape(AUD), data)]
    if not cuts or cuts[0] != 0:
        raise SystemExit("a --file-mount file must open every access unit with a delimiter")
    return [data[a:b] for a, b in zip(cuts, [*cuts[1:], len(data)], strict=True)]


class UnitFeeder:
    """Pushes one access unit per frame period into an appsrc, looping, from the main loop."""

    def __init__(self, src: Gst.Element, units: list[bytes], fps: int) -> None:
        self.src, self.units, self.fps = src, units, fps
        self.next = 0
        self.started = False
        src.connect("need-data", self._need)

    def _need(self, src: Gst.Element, length: int) -> None:
        if not self.started:  # streaming began: the clock runs, timestamps mean something
            self.started = True
            GLib.timeout_add(max(1, round(1000 / self.fps)), self._push)

    def _push(self) -> bool:
        unit = self.units[self.next % len(self.units)]
        self.next += 1
        buffer = Gst.Buffer.new_wrapped(unit)
        buffer.duration = Gst.SECOND // self.fps
        return self.src.emit("push-buffer", buffer) == Gst.FlowReturn.OK


def file_factory(mount: FileMount) -> GstRtspServer.RTSPMediaFactory:
    """A shared mount whose appsrc is fed the file's access units, untouched."""
    with open(mount.path, "rb") as f:
        units = access_units(f.read())
    caps = f"video/x-h264,stream-format=byte-stream,alignment=au,framerate={mount.fps}/1"
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( appsrc name=src is-live=true format=time do-timestamp=true caps={caps} "
        "! rtph264pay name=pay0 pt=96 config-interval=0 )"  # the file has SPS/PPS in-band
    )
    factory.set_shared(True)
    feeders: list[UnitFeeder] = []

    def configure(factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
        src = media.get_element().get_by_name("src")
        feeders[:] = [UnitFeeder(src, units, mount.fps)]  # one media at a time (shared)

    factory.connect("media-configure", configure)
    return factory


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
