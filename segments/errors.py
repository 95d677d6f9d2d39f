"""Error root for the segments package: recording, sealing and verification."""

from evgw.errors import EvgwError


class SegmentError(EvgwError):
    """Base of every error raised by `segments`; the message says what to do next."""


class CryptoFormatError(SegmentError):
    """Bytes that claim to be an age file, key or signed record do not parse."""


class WriteError(SegmentError):
    """A segment or record could not be written durably (disk full, permissions)."""


class UnsupportedFormatError(SegmentError):
    """A file was written by a newer evgw (index schema, export package): update evgw.

    Refusing is the only safe reading: guessing at a newer layout could misreport evidence.
    """

    exit_code = 2


class KeyFileError(SegmentError):
    """A key or identity file the user named cannot be read or holds no usable key."""

    exit_code = 2
