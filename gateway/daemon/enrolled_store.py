"""Auto-enrolled cameras remembered in data_dir, so a restart records them under the same ids.

One small JSON file (`enrolled.json`, versioned), rewritten whole on each enrolment: written to
a temporary file, fsynced and renamed, so a power cut leaves the old list or the new one. An
unreadable file is reported and set aside, never fatal: ids come from serials, so devices
enrolled again get the same ids unless two serials slug alike.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict
from pathlib import Path

from .enrollment import Enrolled

log = logging.getLogger(__name__)

FILE_NAME = "enrolled.json"
VERSION = 1
MAX_FILE = 1024 * 1024


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
