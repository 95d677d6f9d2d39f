"""Segments: overlay, fMP4 writing, records and the on-disk store (sealing comes next)."""

from .errors import CryptoFormatError, SegmentError, WriteError
from .recorder import RecordingPlan, StreamIdentity, StreamRecorder
from .records import MediaFacts, Record
from .store import StreamStore

__all__ = [
    "CryptoFormatError",
    "MediaFacts",
    "Record",
    "RecordingPlan",
    "SegmentError",
    "StreamIdentity",
    "StreamRecorder",
    "StreamStore",
    "WriteError",
]
