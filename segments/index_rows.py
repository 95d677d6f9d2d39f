"""The rows the index answers with, and the states they name: plain values, no SQL."""

from __future__ import annotations

from dataclasses import dataclass

MEDIA, RECORD, CHECKPOINT = "media", "record", "checkpoint"
TIMESTAMP = "timestamp"  # a checkpoint's RFC 3161 token; its seq is the checkpoint's size
LOCAL, EVICTED, PURGED, MISSING = "local", "evicted", "purged", "missing"
"""Segment states: on disk; removed by a signed purge after (EVICTED) or before (PURGED) its
upload was confirmed; gone from disk without a purge record, not by us (MISSING)."""
PENDING, DONE, REFUSED, DROPPED = "pending", "done", "refused", "dropped"
"""Upload states: to send; confirmed; REFUSED, never sent because the local file no longer
matches its sealed hash or vanished (tampering); DROPPED, never sent because the ring buffer
purged the segment first, as its signed `purge` record declares (no tampering)."""
PURGED_BEFORE_UPLOAD = "purged before upload"
MISSING_BEFORE_UPLOAD = "the local file is missing without a purge record"


@dataclass(frozen=True)
class UploadItem:
    """One object to send: a sealed segment file, or a record/checkpoint held in the row."""

    id: int
    stream: str
    seq: int
    what: str
    start_ts: float
    name: str
    path: str | None
    data: bytes | None
    size: int
    sha256: str
    attempts: int


@dataclass(frozen=True)
class SegmentRow:
    stream: str
    seq: int
    start_ts: float
    end_ts: float
    file: str
    size: int
    state: str
    confirmed: bool
    held: bool


@dataclass(frozen=True)
class StreamStats:
    """What `evgw status` shows for one camera."""

    stream: str
    local_count: int
    local_bytes: int
    confirmed_count: int
    recent_bytes: int
    recent_seconds: float
    evicted_count: int = 0  # removed by a signed purge after central storage confirmed it
    purged_count: int = 0  # removed by a signed purge before any upload was confirmed
    missing_count: int = 0  # gone without a purge record: not by us


@dataclass(frozen=True)
class Backlog:
    count: int
    bytes: int
    oldest_start_ts: float | None
