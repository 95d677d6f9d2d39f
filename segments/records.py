"""Ledger records: one frozen value per event in a camera stream, serialised as canonical JSON.

Format v1 (stable; evidence outlives software versions). The signature covers the canonical
JSON of the record without `sig`; `prev` is the SHA-256 of the previous record's full line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .errors import CryptoFormatError
from .timeline import iso_utc, parse_iso

RECORD_VERSION = 1
GENESIS_PREV = "0" * 64
KINDS = frozenset(
    {
        "segment",
        "truncated",
        "gap",
        "boot",
        "clock",
        "key",
        "purge",
        "hold",
        "export",
        "camera",
        "event",
    }
)
"""`camera`: the camera was found at a new address or answered as another device (new
WS-Discovery endpoint or certificate); `extra.event` is `moved` or `identity_changed`.
`event`: a notification from the camera's own event service (tamper, motion, digital input);
`start` is when it arrived, `extra` holds `topic`, `kind`, `state`, `source`, `camera_time`."""
MEDIA_KINDS = ("segment", "truncated")
"""The kinds whose record names a sealed media file (`truncated`: a crash leftover)."""


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
class ClockStatus:
    """What the gateway knew about its own clock when it wrote the record."""

    synced: bool | None
    est_error_s: float | None
    source: str


@dataclass(frozen=True)
class Record:
    """One ledger entry; `seq` is never reused within a stream.

    A draft (from the recorder) has empty `prev`, `key_id` and `sig`; the ledger fills them.
    """

    stream: str
    seq: int
    kind: str
    start: str | None
    end: str | None
    gateway: str
    site: str
    location: str
    camera: str
    camera_name: str
    boot_id: str
    v: int = RECORD_VERSION
    camera_serial: str | None = None
    reason: str | None = None
    duration_s: float | None = None
    file: str | None = None
    media: MediaFacts | None = None
    size_plain: int | None = None
    sha256_plain: str | None = None
    size_cipher: int | None = None
    sha256_cipher: str | None = None
    overlay: str | None = None
    clock: ClockStatus | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    prev: str = ""
    alg: str = ""
    key_id: str = ""
    sig: str = ""

    def __post_init__(self) -> None:
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise CryptoFormatError(f"record field {name} must be a string or null")
        for name in _CHAIN_FIELDS:
            if not isinstance(getattr(self, name), str):
                raise CryptoFormatError(f"record field {name} must be a string")
        for name in _NUMBER_FIELDS:
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise CryptoFormatError(f"record field {name} must be a number or null")
        if not isinstance(self.extra, dict):
            raise CryptoFormatError("record field extra must be an object")
        if self.v != RECORD_VERSION:
            raise CryptoFormatError(f"record version {self.v} is not supported (expected 1)")
        if self.kind not in KINDS:
            raise CryptoFormatError(f"record kind {self.kind!r} is not one of {sorted(KINDS)}")
        if not isinstance(self.seq, int) or isinstance(self.seq, bool) or self.seq < 0:
            raise CryptoFormatError(f"record seq must be an integer >= 0, got {self.seq!r}")

    @property
    def start_ts(self) -> float | None:
        """`start` in seconds since the epoch, None when absent.

        Raises CryptoFormatError when `start` is not an ISO 8601 time with offset, which only
        a ledger not written by evgw can hold (the verifier reports that as a finding).
        """
        return _seconds(self.start)

    @property
    def end_ts(self) -> float | None:
        """`end` in seconds since the epoch, None when absent; raises like `start_ts`."""
        return _seconds(self.end)

    def to_json(self) -> bytes:
        return canonical_json(asdict(self))

    def signed_part(self) -> bytes:
        """The bytes the signature covers: everything but `sig`."""
        body = asdict(self)
        del body["sig"]
        return canonical_json(body)

    def with_chain(self, seq: int, prev: str, alg: str, key_id: str) -> Record:
        return replace(self, seq=seq, prev=prev, alg=alg, key_id=key_id, sig="")

    @classmethod
    def from_json(cls, data: bytes) -> Record:
        try:
            obj = json.loads(data)
            if not isinstance(obj, dict):
                raise TypeError("a record is a JSON object")
            unknown = set(obj) - {f.name for f in fields(cls)}
            if unknown:
                raise TypeError(f"unknown fields {sorted(unknown)}")
            if obj.get("media") is not None:
                obj["media"] = MediaFacts(**obj["media"])
            if obj.get("clock") is not None:
                obj["clock"] = ClockStatus(**obj["clock"])
            record = cls(**obj)
            record.to_json()
            return record
        except (ValueError, TypeError, RecursionError) as e:
            raise CryptoFormatError(f"not a valid ledger record: {e}") from e


_TEXT_FIELDS = (
    "stream",
    "kind",
    "start",
    "end",
    "gateway",
    "site",
    "location",
    "camera",
    "camera_name",
    "boot_id",
    "camera_serial",
    "reason",
    "file",
    "sha256_plain",
    "sha256_cipher",
    "overlay",
)
_CHAIN_FIELDS = ("prev", "alg", "key_id", "sig")
_NUMBER_FIELDS = ("duration_s", "size_plain", "size_cipher")


@dataclass(frozen=True)
class StreamIdentity:
    """Who/where every record of this stream names."""

    gateway: str
    site: str
    location: str
    camera: str
    camera_name: str
    boot_id: str
    camera_serial: str | None = None

    def draft(
        self, *, kind: str, start: float, end: float | None, clock: ClockStatus, **fields: object
    ) -> Record:
        """An unsigned record of this stream; the ledger numbers, chains and signs it."""
        return Record(
            stream=self.camera,
            seq=0,
            kind=kind,
            start=iso_utc(start),
            end=None if end is None else iso_utc(end),
            duration_s=None if end is None else round(end - start, 6),
            gateway=self.gateway,
            site=self.site,
            location=self.location,
            camera=self.camera,
            camera_name=self.camera_name,
            camera_serial=self.camera_serial,
            boot_id=self.boot_id,
            clock=clock,
            **fields,  # type: ignore[arg-type]
        )


def _seconds(text: str | None) -> float | None:
    when = parse_iso(text)
    return None if when is None else when.timestamp()


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, UTF-8, no insignificant whitespace: the bytes that get hashed and signed."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
