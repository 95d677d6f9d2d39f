"""Segments: from packets to sealed evidence.

Overlay, fMP4 writers and the recorder; age encryption (`age`, `agekeys`), signing, records,
the hash-chained `ledger` with RFC 6962 `checkpoint`s (`merkle`), the on-disk `store`, crash
`recovery`, the SQLite `index`, the ring-buffer policy, `verify` and `export` packages.
"""

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
