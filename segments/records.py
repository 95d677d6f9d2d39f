"""Ledger records: one frozen value per event in a camera stream, serialised as canonical JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .errors import CryptoFormatError

RECORD_VERSION = 1
KINDS = frozenset(
    {"segment", "truncated", "gap", "boot", "clock", "key", "purge", "hold", "export"}
)


@dataclass(frozen=True)
class MediaFacts:
    codec: str
    width: int
    height: int
    frames: int
    duration_s: float
    audio_codec: str | None = None
    audio_packets: int = 0


@dataclass(frozen=True)
class Record:
    """One ledger entry; `seq` is never reused within a stream."""

    stream: str
    seq: int
    kind: str
    start: str
    end: str | None
    gateway: str
    site: str
    location: str
    camera: str
    camera_name: str
    boot_id: str
    v: int = RECORD_VERSION
    reason: str | None = None
    file: str | None = None
    media: MediaFacts | None = None
    size_plain: int | None = None
    sha256_plain: str | None = None
    overlay: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise CryptoFormatError(f"record kind {self.kind!r} is not one of {sorted(KINDS)}")
        if self.seq < 0:
            raise CryptoFormatError(f"record seq must be >= 0, got {self.seq}")

    def to_json(self) -> bytes:
        return canonical_json(asdict(self))

    @classmethod
    def from_json(cls, data: bytes) -> Record:
        try:
            obj = json.loads(data)
            if not isinstance(obj, dict):
                raise TypeError("a record is a JSON object")
            known = {f.name for f in fields(cls)}
            unknown = set(obj) - known
            if unknown:
                raise TypeError(f"unknown fields {sorted(unknown)}")
            media = obj.get("media")
            if media is not None:
                obj["media"] = MediaFacts(**media)
            return cls(**obj)
        except (ValueError, TypeError) as e:
            raise CryptoFormatError(f"not a valid ledger record: {e}") from e


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, UTF-8, no insignificant whitespace: the bytes that get hashed and signed."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
