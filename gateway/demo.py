"""`evgw demo`: simulated ONVIF cameras, a local object store, recorded and sealed for real.

Everything binds 127.0.0.1: an RTSP test server with two cameras, two ONVIF device emulators
that announce them over WS-Discovery, and SeaweedFS as central storage. The gateway finds the
cameras by their serials, records, seals and uploads, and the demo ends with `evgw verify`.
"""

from __future__ import annotations

import logging
import time
import tomllib
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from segments.ledger import read_records
from segments.records import Record
from segments.store import StreamStore
from uplink.objectstore import ObjectStore

from . import monitor_cmd
from .config import Config, MqttConfig, UploadConfig, load_config
from .daemon import Gateway, object_store_settings
from .errors import EvgwError
from .keys import ARCHIVE_IDENTITY_NAME, make_archive_identity, make_device_key
from .verify_cmd import verify_path

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.toml"
RTSP_PORT = 8554
DRAIN_S = 60.0


@dataclass(frozen=True)
class DemoCamera:
    serial: str
    mount: str
    width: int
    height: int
    audio: bool
    name: str


DEMO_CAMERAS = (
    DemoCamera("EVGW-DEMO-0001", "cam1", 1280, 720, False, "gate camera"),
    DemoCamera("EVGW-DEMO-0002", "cam2", 640, 360, True, "storage room camera"),
)


def run(config_path: Path, seconds: float) -> int:
    identity = prepare_keys(config_path)
    config = load_config(config_path)
    with ExitStack() as stack:
        start_cameras(config, stack)
        if config.upload is not None:
            start_object_store(config.upload, config_path, stack)
        if config.mqtt is not None:
            start_broker(config.mqtt, config_path, stack)
        started = time.time()
        gateway = Gateway(config)
        gateway.start()
        try:
            gateway.wait(seconds)
            if config.mqtt is not None:
                show_monitor(config.mqtt)
        except KeyboardInterrupt:
            log.info("interrupted: sealing open segments")
        finally:
            gateway.stop(drain_s=DRAIN_S)
    print(render_table(config, since=started))
    print(render_uploads(gateway))
    pubkey = config.keys.signing_key.with_name(config.keys.signing_key.name + ".pub")
    print(f"\n$ evgw verify {config.gateway.data_dir} --pubkey {pubkey} --identity {identity}")
    return verify_path(config.gateway.data_dir, pubkey=str(pubkey), identity=identity)


def start_cameras(config: Config, stack: ExitStack) -> None:
    """The RTSP test server and one ONVIF emulator per demo camera, announced on loopback."""
    from testbeds.onvif_config import DeviceConfig, SimProfile
    from testbeds.onvif_device import OnvifDevice
    from testbeds.rtsp import RtspTestServer

    mounts = [
        f"{c.mount}:{c.width}x{c.height}@25" + (":audio" if c.audio else "") for c in DEMO_CAMERAS
    ]
    rtsp = stack.enter_context(RtspTestServer(RTSP_PORT, mounts))
    discovery = config.discovery
    for cam in DEMO_CAMERAS:
        profile = SimProfile("main", "MainStream", cam.width, cam.height, 25, rtsp.url(cam.mount))
        device = OnvifDevice(
            DeviceConfig(
                profiles=(profile,),
                serial=cam.serial,
                name=cam.name,
                username=discovery.username,
                password=discovery.password,
            )
        ).start()
        stack.callback(device.stop)
        log.info("ONVIF camera %s at %s", cam.serial, device.xaddr)


def start_object_store(upload: UploadConfig, config_path: Path, stack: ExitStack) -> None:
    from testbeds.seaweedfs import SeaweedServer

    port = urlsplit(upload.endpoint_url).port
    if urlsplit(upload.endpoint_url).hostname != "127.0.0.1" or port is None:
        raise EvgwError(
            f"{config_path}: [upload] endpoint_url: the demo runs its store on 127.0.0.1"
        )
    folder = config_path.resolve().parent.parent / "demo-objectstore"
    server = SeaweedServer(folder, upload.access_key, upload.secret_key, s3_port=port)
    stack.enter_context(server)
    ObjectStore(object_store_settings(upload)).ensure_bucket(object_lock=True)
    log.info(
        "central object store (SeaweedFS) at %s, bucket %s", server.endpoint_url, upload.bucket
    )


def start_broker(mqtt: MqttConfig, config_path: Path, stack: ExitStack) -> None:
    from testbeds.mosquitto import MosquittoServer

    if mqtt.host != "127.0.0.1":
        raise EvgwError(f"{config_path}: [mqtt] host: the demo's broker is on 127.0.0.1")
    folder = config_path.resolve().parent.parent / "demo-broker"
    stack.enter_context(MosquittoServer(folder, port=mqtt.port))
    log.info("MQTT broker (mosquitto) at 127.0.0.1:%d", mqtt.port)


def show_monitor(mqtt: MqttConfig) -> None:
    """What the central monitoring desk sees right now (`evgw monitor --once`)."""
    print(f"\n$ evgw monitor --broker 127.0.0.1:{mqtt.port} --once")
    args = monitor_cmd.build_args(["--broker", f"127.0.0.1:{mqtt.port}", "--once"])
    monitor_cmd.run(args)


def prepare_keys(config_path: Path) -> Path:
    """Create the demo's throw-away keys where its config says; returns the archive identity.

    The identity goes beside the recipients file, outside the gateway's data dir, as it would
    live at the central archive.
    """
    keys = tomllib.loads(config_path.read_text(encoding="utf-8")).get("keys", {})
    base = config_path.resolve().parent
    device = (base / keys["signing_key"]).resolve()
    archive = (base / keys["recipients_file"]).resolve().parent
    if not device.exists():
        path, fp = make_device_key(device.parent)
        log.info("demo device key %s (%s)", path, fp)
    if not (archive / ARCHIVE_IDENTITY_NAME).exists():
        path, recipient = make_archive_identity(archive)
        log.info("demo archive identity %s (recipient %s)", path, recipient)
    return archive / ARCHIVE_IDENTITY_NAME


def render_table(config: Config, since: float) -> str:
    tz = ZoneInfo(config.gateway.timezone)
    rows: list[tuple[str, ...]] = [
        ("camera", "seq", "kind", "start", "duration", "frames", "size", "file / reason")
    ]
    for camera in config.cameras:
        store = StreamStore(config.gateway.data_dir, camera.id)
        for r in read_records(store.root):
            if r.kind != "key" and _wall(r.end or r.start) >= since - 1:
                rows.append(_row(r, tz))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.append(f"\nsegments and ledgers are in {config.gateway.data_dir / 'streams'}")
    return "\n".join(lines)


def render_uploads(gateway: Gateway) -> str:
    keys = gateway.confirmed_keys()
    if not keys:
        return "\nno objects confirmed in central storage"
    lines = [f"\nconfirmed in central storage ({len(keys)} objects):"]
    lines += [f"  {key}" for key in keys]
    return "\n".join(lines)


def _row(r: Record, tz: ZoneInfo) -> tuple[str, ...]:
    start = datetime.fromtimestamp(_wall(r.start), tz)
    duration = _wall(r.end) - _wall(r.start) if r.end else 0.0
    frames = str(r.media.frames) if r.media else "-"
    size = f"{r.size_cipher / 1e6:.2f} MB" if r.size_cipher else "-"
    return (
        r.camera, str(r.seq), r.kind, start.strftime("%H:%M:%S.%f")[:-3], f"{duration:.2f} s",
        frames, size, r.file or (r.reason or ""),
    )  # fmt: skip


def _wall(iso: str | None) -> float:
    return datetime.fromisoformat(iso).timestamp() if iso else 0.0
