"""`evgw demo`: simulated cameras on loopback, recorded for real, then a table of the result."""

from __future__ import annotations

import logging
import time
import tomllib
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from cameras.simulator.launcher import RtspTestServer
from segments.ledger import read_records
from segments.records import Record
from segments.store import StreamStore

from .config import Config, load_config
from .daemon import Gateway
from .errors import EvgwError
from .keys import ARCHIVE_IDENTITY_NAME, make_archive_identity, make_device_key
from .verify_cmd import verify_path

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.toml"
MOUNT_SHAPES = {"cam1": "1280x720@25", "cam2": "640x360@25:audio"}


def run(config_path: Path, seconds: float) -> int:
    identity = prepare_keys(config_path)
    config = load_config(config_path)
    port, mounts = simulator_layout(config)
    with RtspTestServer(port, mounts) as server:
        log.info(
            "simulated cameras at rtsp://127.0.0.1:%d/{%s}", server.port, ",".join(MOUNT_SHAPES)
        )
        started = time.time()
        gateway = Gateway(config)
        gateway.start()
        try:
            gateway.wait(seconds)
        except KeyboardInterrupt:
            log.info("interrupted: sealing open segments")
        finally:
            gateway.stop()
    print(render_table(config, since=started))
    pubkey = config.keys.signing_key.with_name(config.keys.signing_key.name + ".pub")
    print(f"\n$ evgw verify {config.gateway.data_dir} --pubkey {pubkey} --identity {identity}")
    return verify_path(config.gateway.data_dir, pubkey=str(pubkey), identity=identity)


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


def simulator_layout(config: Config) -> tuple[int, list[str]]:
    """The simulator's port and mounts, read back from the demo cameras' URLs."""
    ports = set()
    mounts = []
    for camera in config.cameras:
        url = urlsplit(camera.rtsp)
        name = url.path.strip("/")
        if url.hostname != "127.0.0.1" or name not in MOUNT_SHAPES or url.port is None:
            raise EvgwError(
                f"{config.path}: cameras {camera.id}: the demo serves only "
                f"rtsp://127.0.0.1:PORT/{{{','.join(MOUNT_SHAPES)}}}, got {camera.rtsp}"
            )
        ports.add(url.port)
        mounts.append(f"{name}:{MOUNT_SHAPES[name]}")
    if len(ports) != 1:
        raise EvgwError(f"{config.path}: the demo cameras must share one port, got {sorted(ports)}")
    return ports.pop(), mounts


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


def _row(r: Record, tz: ZoneInfo) -> tuple[str, ...]:
    start = datetime.fromtimestamp(_wall(r.start), tz)
    duration = _wall(r.end) - _wall(r.start) if r.end else 0.0
    frames = str(r.media.frames) if r.media else "-"
    size = f"{r.size_cipher / 1e6:.2f} MB" if r.size_cipher else "-"
    return (
        r.camera,
        str(r.seq),
        r.kind,
        start.strftime("%H:%M:%S.%f")[:-3],
        f"{duration:.2f} s",
        frames,
        size,
        r.file or (r.reason or ""),
    )


def _wall(iso: str | None) -> float:
    return datetime.fromisoformat(iso).timestamp() if iso else 0.0
