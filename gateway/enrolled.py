"""Auto-enrolled cameras: what is remembered of each, and the camera entry it records as.

Enrolments are kept in data_dir (`enrolled.json`, versioned), so a restart records the same
cameras under the same ids, and `evgw status`, `find` and `export` know them like configured
ones. The daemon rewrites the file whole on each enrolment (`EnrolledStore`): written to a
temporary file, fsynced and renamed, so a power cut leaves the old list or the new one. An
unreadable file is reported and set aside, never fatal: ids come from serials, so devices
enrolled again get the same ids unless two serials slug alike. Readers (`read_enrolled`)
change nothing.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .config import CameraConfig, Config

if TYPE_CHECKING:  # the CLI reads enrolments without loading the ONVIF stack
    from cameras.onvif_client import DeviceInfo

log = logging.getLogger(__name__)

FILE_NAME = "enrolled.json"
READABLE_BY_GROUP = 0o640  # no secret in it; `evgw status` run by the evgw group lists these
VERSION = 1
MAX_FILE = 1024 * 1024
MAX_FIELD = 2048  # an ONVIF address may be as long as WS-Discovery allows (wsd.MAX_URI)
MAX_LABEL = 128  # names shown in the overlay and in records
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def camera_id_for(serial: str, taken: Iterable[str]) -> str:
    """A configuration id from a serial number: slugified, unique among `taken`."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", serial).strip("-.")[:56] or "camera"
    used = set(taken)
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


@dataclass(frozen=True)
class Enrolled:
    """One auto-enrolled camera as remembered across restarts."""

    id: str
    serial: str
    endpoint: str
    xaddr: str
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    cert_sha256: str = ""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, str) or len(value) > MAX_FIELD:
                raise ValueError(f"{name} must be text of at most {MAX_FIELD} characters")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", self.id):
            raise ValueError(f"id {self.id[:80]!r} is not a camera id")
        if not self.serial or not self.xaddr.startswith(("http://", "https://")):
            raise ValueError("an enrolled camera has a serial and an http(s) ONVIF address")

    @classmethod
    def of(cls, device: DeviceInfo, taken: Iterable[str]) -> Enrolled:
        """What the device said of itself, cut to size and without control characters (its
        name is burnt into the picture and its words go into signed records)."""
        return cls(
            id=camera_id_for(device.serial, taken),
            serial=device.serial,  # as the camera says it: checked on every connect
            endpoint=device.endpoint[:MAX_FIELD],
            xaddr=device.xaddr[:MAX_FIELD],
            name=_label(device.name or f"{device.model} {device.serial}"),
            manufacturer=_label(device.manufacturer),
            model=_label(device.model),
            cert_sha256=device.cert_sha256[:MAX_FIELD],
        )

    def facts(self) -> dict[str, object]:
        """What a `camera` found/lost/refound record and its event say about the device."""
        return {
            "serial": self.serial,
            "endpoint": self.endpoint or None,
            "address": self.xaddr,
            "manufacturer": self.manufacturer or None,
            "model": self.model or None,
        }


def printable_serial(serial: str) -> bool:
    return 0 < len(serial) <= MAX_LABEL and not _CONTROL.search(serial)


def _label(text: str) -> str:
    return _CONTROL.sub(" ", text)[:MAX_LABEL].strip()


def camera_config(config: Config, entry: Enrolled) -> CameraConfig:
    """The camera entry an enrolled device records as: the defaults, its identity pinned."""
    d, rec = config.discovery, config.recording
    return CameraConfig(
        id=entry.id,
        name=entry.name or entry.id,
        rtsp=None,
        username=d.username,
        password=d.password,
        location=config.location.name,
        overlay=rec.overlay,
        segment_seconds=rec.segment_seconds,
        enabled=True,
        onvif=entry.xaddr,
        serial=entry.serial,
        onvif_username=d.username,
        onvif_password=d.password,
        onvif_cert_sha256=entry.cert_sha256 or None,
        onvif_endpoint=entry.endpoint or None,
    )


class EnrolledStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self._lock = threading.Lock()
        self._entries: list[Enrolled] = []

    def load(self) -> list[Enrolled]:
        """The cameras enrolled before; [] when none (or the file was unreadable)."""
        with self._lock:
            try:
                self._entries = parse(self.path.read_bytes()[: MAX_FILE + 1])
            except FileNotFoundError:
                self._entries = []
            except (OSError, ValueError) as e:
                aside = self.path.with_suffix(".unreadable")
                log.error("%s is unreadable (%s); set aside as %s, cameras are enrolled anew",
                          self.path, e, aside.name)  # fmt: skip
                os.replace(self.path, aside)
                self._entries = []
            return list(self._entries)

    def add(self, entry: Enrolled) -> None:
        """Remember `entry` durably before its camera records."""
        with self._lock:
            entries = [e for e in self._entries if e.id != entry.id] + [entry]
            data = json.dumps(
                {"v": VERSION, "cameras": [asdict(e) for e in entries]},
                ensure_ascii=False,
                indent=1,
            ).encode()
            part = self.path.with_suffix(".part")
            with open(part, "wb") as f:
                os.fchmod(f.fileno(), READABLE_BY_GROUP)
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(part, self.path)
            self._entries = entries


def parse(data: bytes) -> list[Enrolled]:
    """The file's entries; ValueError for anything else (a file we did not write)."""
    if len(data) > MAX_FILE:
        raise ValueError(f"larger than {MAX_FILE} bytes")
    obj = json.loads(data)
    if not isinstance(obj, dict) or obj.get("v") != VERSION:
        raise ValueError(f"not an enrolment list of version {VERSION}")
    cameras = obj.get("cameras")
    if not isinstance(cameras, list):
        raise ValueError("cameras must be a list")
    entries = []
    for item in cameras:
        if not isinstance(item, dict) or set(item) != set(Enrolled.__dataclass_fields__):
            raise ValueError("each camera must have exactly the fields of an enrolment")
        entries.append(Enrolled(**item))
    if len({e.id for e in entries}) != len(entries):
        raise ValueError("camera ids repeat")
    return entries


def enrolled_cameras(config: Config) -> tuple[CameraConfig, ...]:
    """The cameras auto-enrolment recorded (none without auto_enroll), as camera entries;
    those a [[cameras]] table now names (same id or serial) are left out."""
    if not config.discovery.auto_enroll:
        return ()
    ids = {c.id for c in config.cameras}
    serials = {c.serial for c in config.cameras if c.serial}
    return tuple(
        camera_config(config, e)
        for e in read_enrolled(config.gateway.data_dir)
        if e.id not in ids and e.serial not in serials
    )


def read_enrolled(data_dir: Path) -> list[Enrolled]:
    """The enrolments in `data_dir`, changing nothing; [] when none or unreadable."""
    path = Path(data_dir) / FILE_NAME
    try:
        return parse(path.read_bytes()[: MAX_FILE + 1])
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        log.warning("%s is unreadable (%s): enrolled cameras are not listed", path, e)
        return []
