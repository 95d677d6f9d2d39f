"""Build a gateway configuration for tests and read back what it recorded."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import av

from gateway.config import Config, parse_config
from gateway.daemon.lifecycle import Gateway
from gateway.keys import (
    ARCHIVE_IDENTITY_NAME,
    ARCHIVE_RECIPIENT_NAME,
    DEVICE_KEY_NAME,
    make_archive_identity,
    make_device_key,
)
from segments.age_reader import decrypt_stream
from segments.agekeys import parse_identities
from segments.ledger import read_records
from segments.records import Record
from segments.store import StreamStore


@dataclass(frozen=True)
class Cam:
    id: str
    url: str
    overlay: str = "burn_in"
    username: str | None = None
    password: str | None = None

    def toml(self) -> str:
        text = (
            f'[[cameras]]\nid = "{self.id}"\nname = "{self.id}号"\n'
            f'rtsp = "{self.url}"\noverlay = "{self.overlay}"\n'
        )
        if self.username is not None:
            text += f'username = "{self.username}"\npassword = "{self.password}"\n'
        return text


def make_config(
    tmp_path: Path,
    cams: Sequence[Cam],
    segment_seconds: int = 2,
    read_timeout_s: float = 2.0,
    checkpoint_every: int = 10,
    extra: str = "",
    gateway_id: str = "gw-test",
    recording: str = "",
) -> Config:
    """A config for `cams`; `extra` is TOML appended as it is (e.g. [upload], [storage]),
    `recording` more keys of [recording] (e.g. encoder)."""
    cameras = "\n".join(c.toml() for c in cams)
    device_key, recipient = make_keys(tmp_path)
    text = f"""
[keys]
signing_key = "{device_key}"
recipients = ["{recipient}"]
[ledger]
checkpoint_every = {checkpoint_every}
[gateway]
id = "{gateway_id}"
site = "测试检查站"
data_dir = "{tmp_path / "data"}"
timezone = "Asia/Shanghai"
[location]
name = "测试检查站 一号卡口"
[recording]
segment_seconds = {segment_seconds}
preset = "ultrafast"
open_timeout_s = 5.0
read_timeout_s = {read_timeout_s}
{recording}
{cameras}
{extra}
"""
    path = tmp_path / "evgw.toml"
    path.write_text(text, encoding="utf-8")
    return parse_config(text, path)


def make_keys(tmp_path: Path) -> tuple[Path, str]:
    """A device key for the gateway, and an archive identity kept apart under archive/."""
    device = tmp_path / "keys" / DEVICE_KEY_NAME
    if not device.exists():
        make_device_key(device.parent)
    archive = tmp_path / "archive"
    if not (archive / ARCHIVE_IDENTITY_NAME).exists():
        make_archive_identity(archive)
    return device, (archive / ARCHIVE_RECIPIENT_NAME).read_text().strip()


def archive_identity(config: Config) -> Path:
    return config.path.parent / "archive" / ARCHIVE_IDENTITY_NAME


def decrypted(config: Config, record: Record) -> Path:
    """The plaintext MP4 of a sealed segment, decrypted next to the archive identity."""
    identities = parse_identities(archive_identity(config).read_text())
    source = media_path(config, record)
    out = config.path.parent / "plain" / source.name.replace(".age", "")
    out.parent.mkdir(exist_ok=True)
    with open(source, "rb") as src, open(out, "wb") as dst:
        result = decrypt_stream(src, dst, identities)
    assert result.complete
    return out


def record_until(config: Config, camera: str, segments: int, timeout: float = 60.0) -> Gateway:
    """Record until `camera` has sealed `segments` segments (a condition, not a duration)."""
    gateway = Gateway(config)
    gateway.start()
    try:
        deadline = time.monotonic() + timeout
        while len(records(config, camera, "segment")) < segments:
            assert time.monotonic() < deadline, f"{camera}: fewer than {segments} segments sealed"
            time.sleep(0.2)
    finally:
        gateway.stop()
    return gateway


def records(config: Config, camera: str, kind: str | None = None) -> list[Record]:
    found = read_records(StreamStore(config.gateway.data_dir, camera).root)
    return [r for r in found if kind is None or r.kind == kind]


def media_path(config: Config, record: Record) -> Path:
    assert record.file is not None
    return StreamStore(config.gateway.data_dir, record.stream).root / record.file


def wall(iso: str | None) -> float:
    assert iso is not None
    return datetime.fromisoformat(iso).timestamp()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def decoded_frames(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as c:
        return list(c.decode(video=0))
