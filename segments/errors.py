"""Error root for the segments package: recording, sealing and verification."""

from evgw.errors import EvgwError


class SegmentError(EvgwError):
    """Base of every error raised by `segments`; the message says what to do next."""


class CryptoFormatError(SegmentError):
    """Bytes that claim to be an age file, key or signed record do not parse."""


class WriteError(SegmentError):
    """A segment or record could not be written durably (disk full, permissions)."""
