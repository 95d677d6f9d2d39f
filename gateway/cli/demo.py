"""`evgw demo`: simulated ONVIF cameras, a local object store, recorded and sealed for real.

Everything binds 127.0.0.1: an RTSP test server with two cameras, two ONVIF device emulators
that announce them over WS-Discovery, SeaweedFS as central storage and mosquitto as the
monitoring broker. The gateway finds the cameras by their serials, records, seals and uploads,
and the demo shows what the monitoring desk sees and `evgw verify`. Then the box's evidence is
deleted and headquarters retrieves a minute from the bucket alone (`demo_archive`).
Runs from a source checkout (`./dev demo`): the simulators in `testbeds/` are not installed.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import time
import tomllib
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from evgw.config.toml_file import parse_toml, read_config_text
from evgw.errors import UsageError
from evgw.i18n import _
from segments.index import Index
from segments.ledger import read_records
from segments.records import Record
from segments.signing import load_verifier
from segments.store import DataDir
from segments.trust import TrustedKeys
from segments.verify import exit_code
from uplink.object_keys import object_key
from uplink.objectstore import ObjectStore
from uplink.settings import MqttSettings, ObjectStoreSettings

try:
    from testbeds.mosquitto import MosquittoServer
    from testbeds.onvif_config import DeviceConfig, SimProfile
    from testbeds.onvif_device import OnvifDevice
    from testbeds.rtsp import RtspTestServer
    from testbeds.seaweedfs import SeaweedServer
except ImportError as e:  # an installed evgw: the simulators live only in the checkout
    raise UsageError(
        "the demo runs from a source checkout (the simulators in testbeds/ are not installed)",
        hint="clone the repository and run ./dev demo",
    ) from e

from segments.agekeys import load_identities

from ..config import Config, config_from_mapping
from ..config.load import refuse_age_identity
from ..daemon.lifecycle import Gateway
from ..keys import ARCHIVE_IDENTITY_NAME, make_archive_identity, make_device_key
from ..wiring import index_path
from . import monitor, verify
from .args import display_zone
from .demo_archive import run_headquarters
from .demo_desk import DemoDesk
from .table import columns

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo.toml"
DEMO_FOLDERS = ("demo-data", "demo-archive", "demo-objectstore", "demo-broker")
RTSP_PORT = 8554
ARCHIVE_CAMERA = "store-1"  # the passthrough camera with sound: retrieved at headquarters
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


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=40.0, help=_("how long to record (default 40)"))
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=_("demo configuration file"))
    p.add_argument(
        "--desk",
        action="store_true",
        help=_("also serve the monitoring desk on http://127.0.0.1:8080/ and record until Ctrl-C"),
    )
    p.add_argument(
        "--no-archive",
        dest="archive",
        action="store_false",
        help=_("stop after the box's own verify (skip the headquarters part)"),
    )


def run(args: argparse.Namespace) -> int:
    if args.config == DEFAULT_CONFIG:
        start_afresh()
    identity = prepare_keys(args.config)
    config = load_demo_config(args.config)
    with ExitStack() as stack:
        start_cameras(config, stack)
        if config.upload is not None:
            start_object_store(config.upload.store, args.config, stack)
        if config.mqtt is not None:
            start_broker(config.mqtt.link, args.config, stack)
        if args.desk:
            stack.enter_context(DemoDesk(config))
        started = time.time()
        gateway = Gateway(config)
        try:
            gateway.start()
            gateway.wait(None if args.desk else args.seconds)
            if config.mqtt is not None:
                show_monitor(config.mqtt.link)
        except KeyboardInterrupt:
            log.info("interrupted: sealing open segments")
        finally:
            gateway.stop(drain_s=DRAIN_S)
        print(render_table(config, since=started))
        print(render_uploads(config))
        code = verify_box(config, identity)
        if config.upload is not None and args.archive:
            code = max(code, run_headquarters(config, ARCHIVE_CAMERA, started))
    return code


def verify_box(config: Config, identity: Path) -> int:
    """`evgw verify` of the box's own data dir, with its public key and the archive identity."""
    pubkey = config.keys.signing_key.with_name(config.keys.signing_key.name + ".pub")
    data_dir = config.gateway.data_dir
    print(f"\n$ evgw verify {data_dir} --pubkey {pubkey} --identity {identity}")
    trusted, identities = TrustedKeys.single(load_verifier(pubkey)), load_identities(identity)
    report = verify.verify_path(data_dir, None, trusted, identities)
    print(verify.render(report, display_zone(config)))
    return exit_code(report.verdict)


def start_afresh() -> None:
    """Every run is a new box and a new bucket: the last run deleted its box's evidence, and a
    box restarting its ledger under the same key is exactly the fork the archive must report."""
    for name in DEMO_FOLDERS:
        shutil.rmtree(DEFAULT_CONFIG.parents[1] / name, ignore_errors=True)


def start_cameras(config: Config, stack: ExitStack) -> None:
    """The RTSP test server and one ONVIF emulator per demo camera, announced on loopback."""
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


def start_object_store(upload: ObjectStoreSettings, config_path: Path, stack: ExitStack) -> None:
    port = urlsplit(upload.endpoint_url).port
    if urlsplit(upload.endpoint_url).hostname != "127.0.0.1" or port is None:
        raise UsageError(
            f"{config_path}: [upload] endpoint_url: the demo runs its store on 127.0.0.1"
        )
    folder = config_path.resolve().parent.parent / "demo-objectstore"
    server = SeaweedServer(folder, upload.access_key, upload.secret_key, s3_port=port)
    stack.enter_context(server)
    ObjectStore(upload).ensure_bucket(object_lock=True)
    log.info(
        "central object store (SeaweedFS) at %s, bucket %s", server.endpoint_url, upload.bucket
    )


def start_broker(mqtt: MqttSettings, config_path: Path, stack: ExitStack) -> None:
    if mqtt.host != "127.0.0.1":
        raise UsageError(f"{config_path}: [mqtt] host: the demo's broker is on 127.0.0.1")
    folder = config_path.resolve().parent.parent / "demo-broker"
    stack.enter_context(MosquittoServer(folder, port=mqtt.port))
    log.info("MQTT broker (mosquitto) at 127.0.0.1:%d", mqtt.port)


def show_monitor(mqtt: MqttSettings) -> None:
    """What the central monitoring desk sees right now (`evgw monitor --once`)."""
    argv = ["--broker", f"127.0.0.1:{mqtt.port}", "--once"]
    print(f"\n$ evgw monitor {' '.join(argv)}")
    parser = argparse.ArgumentParser(prog="evgw monitor")
    monitor.add_arguments(parser)
    monitor.run(parser.parse_args(argv))


def load_demo_config(path: Path) -> Config:
    """The demo's configuration, its data dir beside the checkout wherever that is.

    A gateway's file must name an absolute data dir (`load_config` refuses a relative one);
    the demo's says ``../demo-data``, anchored here to the file's folder.
    """
    text = read_config_text(path)
    refuse_age_identity(text, path)
    data = parse_toml(text, path)
    gateway = data.get("gateway")
    if isinstance(gateway, dict) and isinstance(gateway.get("data_dir"), str):
        gateway["data_dir"] = os.path.normpath(path.parent.absolute() / gateway["data_dir"])
    return config_from_mapping(data, path)


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
        (
            "camera",
            "seq",
            "kind",
            f"start ({_offset(tz)})",
            "duration",
            "frames",
            "size",
            "file / reason",
        )
    ]
    for camera in config.cameras:
        for r in read_records(DataDir(config.gateway.data_dir).stream(camera.id)):
            if r.kind != "key" and (r.end_ts or r.start_ts or 0.0) >= since - 1:
                rows.append(_row(r, tz))
    lines = columns(rows)
    lines.append(f"\nsegments and ledgers are in {DataDir(config.gateway.data_dir).streams}")
    return "\n".join(lines)


def render_uploads(config: Config) -> str:
    """The object keys the store has confirmed (read from the index after the stop)."""
    index = Index.open(index_path(config))
    try:
        items = index.confirmed_uploads()
    finally:
        index.close()
    if not items:
        return "\nno objects confirmed in central storage"
    site, gateway = config.gateway.site, config.gateway.id
    lines = [f"\nconfirmed in central storage ({len(items)} objects):"]
    lines += [f"  {object_key(item, site, gateway)}" for item in items]
    return "\n".join(lines)


def _offset(tz: ZoneInfo) -> str:
    """The zone's offset now, `+08:00`, so a reader knows what the clock times mean."""
    offset = datetime.now(tz).strftime("%z")
    return f"{offset[:3]}:{offset[3:]}"


def _row(r: Record, tz: ZoneInfo) -> tuple[str, ...]:
    start = r.start_ts or 0.0
    duration = 0.0 if r.end_ts is None else r.end_ts - start
    frames = str(r.media.frames) if r.media else "-"
    size = f"{r.size_cipher / 1e6:.2f} MB" if r.size_cipher else "-"
    shown = datetime.fromtimestamp(start, tz).strftime("%H:%M:%S.%f")[:-3]
    return (
        r.camera, str(r.seq), r.kind, shown, f"{duration:.2f} s", frames, size,
        r.file or (r.reason or ""),
    )  # fmt: skip
