"""Where a case's evidence lives: the gateway's data dir, its index, and central storage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from segments.records import Record
from uplink.object_keys import media_key
from uplink.objectstore import ObjectStore


@dataclass(frozen=True)
class CameraLabel:
    """What a configured camera is called where (its records say the same)."""

    id: str
    name: str
    location: str


@dataclass(frozen=True)
class CaseSources:
    """One gateway's evidence as the case services see it (built by `gateway.wiring`)."""

    config_path: Path  # named in messages, so an investigator knows which gateway was asked
    data_dir: Path
    index_path: Path
    site: str
    gateway: str
    cameras: Mapping[str, CameraLabel]
    sealed_for: tuple[str, ...]  # the age recipients segments are encrypted to
    central: ObjectStore | None = None
    central_bucket: str = ""
    timezone: str = "UTC"  # [gateway] timezone: the zone people read times in

    def central_key(self, record: Record) -> str:
        start = record.start_ts
        assert start is not None
        return media_key(self.site, self.gateway, record.stream, record.seq, start)
