"""ONVIF Media Signing SEIs in a camera's coded video: found cheaply, read just enough.

A camera that signs its video (ONVIF Media Signing) adds SEI NAL units (H.264 type 6, H.265
prefix/suffix types 39/40) holding one `user_data_unregistered` message (payload type 5)
whose UUID is `MEDIA_SIGNING_UUID`. After the UUID come one reserved byte (bit 7: this is a
"certificate SEI", sent at stream start; bit 6: emulation prevention was applied) and TLVs:
a 1-byte tag, a 2-byte big-endian length, the value. Tag 6 (`CERTIFICATES_TAG`) carries
version (1 byte), a "user provisioned" flag (1 byte), then the camera's certificate chain
(PEM text, leaf first, in the ONVIF reference implementation).

evgw never checks the camera's signature: it keeps these SEIs byte for byte (passthrough
remuxes packets untouched) and records the camera's claim. Per packet, `h264_sei_prefix` walks
only the NAL headers before the first slice (where H.264 puts every SEI of an access unit), and
`scan` does one substring search; only bytes that hold the UUID are split into NAL units and
parsed, and that parse is bounded (`MAX_NALS`, `MAX_SEI_BYTES`, `MAX_SEIS`) and never raises on
hostile bytes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

MEDIA_SIGNING_UUID = bytes.fromhex("005bc93f2d715e95ada4796f90877a6f")
USER_DATA_UNREGISTERED = 5
CERTIFICATES_TAG = 6
CERTIFICATE_SEI_FLAG = 0x80
MAX_SEI_BYTES = 256 * 1024  # a SEI NAL unit larger than this is not parsed
MAX_SEIS = 16  # Media Signing SEIs read per packet at most
MAX_NALS = 1024  # NAL units looked at per packet at most
H264_SEI = 6
H265_SEIS = (39, 40)
_START = b"\x00\x00\x01"
_EPB = b"\x00\x00\x03"
_START_RE = re.compile(re.escape(_START))


@dataclass(frozen=True)
class SigningSei:
    """One Media Signing SEI: whether it is the certificate SEI, and its certificate's hash.

    `certificate_sha256` is the hex SHA-256 of the certificate chain exactly as the camera
    sent it (the `CERTIFICATES_TAG` value after its version and flag bytes): not the leaf
    certificate's usual DER fingerprint, but reproducible from the recorded bytes alone.
    """

    certificate_sei: bool
    certificate_sha256: str | None


def scan(data: bytes, codec: str, length_prefixed: bool = False) -> tuple[SigningSei, ...]:
    """The Media Signing SEIs in one packet (`codec` "h264" or "hevc"), in stream order.

    `data` is Annex B (start codes, as RTSP delivers) or 4-byte length-prefixed (MP4).
    """
    if data.find(MEDIA_SIGNING_UUID) < 0:
        return ()
    found: list[SigningSei] = []
    for count, (start, end) in enumerate(nal_units(data, length_prefixed)):
        if len(found) >= MAX_SEIS or count >= MAX_NALS:
            break
        if end - start > MAX_SEI_BYTES or data.find(MEDIA_SIGNING_UUID, start, end) < 0:
            continue
        header = _sei_header_size(data[start], codec)
        if header:
            found += _signing_messages(data[start + header : end])
    return tuple(found[:MAX_SEIS])


def h264_sei_prefix(view: memoryview) -> int:
    """How many leading bytes of an H.264 access unit (Annex B) can hold its SEIs: up to its
    first slice when an SEI precedes it (H.264 7.4.1.2.3), else 0; all when it has no slice
    or more than `MAX_NALS` NAL units before one. Reads the buffer in place (no copy)."""
    pos, seen, size = 0, False, len(view)
    for _ in range(MAX_NALS):
        found = _START_RE.search(view, pos)
        if found is None or found.end() >= size:
            return size if seen else 0
        kind = view[found.end()] & 0x1F
        if 1 <= kind <= 5:  # a slice: the picture data, never searched
            return found.start() if seen else 0
        seen = seen or kind == H264_SEI
        pos = found.end()
    return size


def nal_units(data: bytes, length_prefixed: bool = False) -> Iterator[tuple[int, int]]:
    """(start, end) of each NAL unit's bytes (header included, start code or length not)."""
    return _length_prefixed(data) if length_prefixed else _annex_b(data)


def is_sei(nal: bytes, codec: str) -> bool:
    """Whether `nal` (header first) is an SEI NAL unit of `codec`."""
    return bool(nal) and _sei_header_size(nal[0], codec) > 0


def _annex_b(data: bytes) -> Iterator[tuple[int, int]]:
    pos = data.find(_START)
    while pos >= 0:
        start = pos + 3
        nxt = data.find(_START, start)
        end = len(data) if nxt < 0 else nxt
        trimmed = end
        while trimmed > start and data[trimmed - 1] == 0:  # trailing zeros, 4-byte start codes
            trimmed -= 1
        if trimmed > start:
            yield start, trimmed
        pos = nxt


def _length_prefixed(data: bytes) -> Iterator[tuple[int, int]]:
    pos = 0
    while pos + 4 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        start = pos + 4
        if size == 0 or start + size > len(data):
            return  # truncated or not length-prefixed after all
        yield start, start + size
        pos = start + size


def _sei_header_size(first: int, codec: str) -> int:
    """The NAL header's length when `first` starts an SEI NAL unit of `codec`, else 0."""
    if codec == "h264":
        return 1 if first & 0x1F == H264_SEI else 0
    if codec == "hevc":
        return 2 if (first >> 1) & 0x3F in H265_SEIS else 0
    return 0


def _signing_messages(payload: bytes) -> list[SigningSei]:
    """The Media Signing messages among an SEI's `sei_message()`s (RBSP, unescaped here)."""
    rbsp = payload.replace(_EPB, b"\x00\x00")
    found = []
    pos = 0
    while pos < len(rbsp) and rbsp[pos] != 0x80:  # 0x80: rbsp_trailing_bits
        kind, pos = _ff_coded(rbsp, pos)
        size, pos = _ff_coded(rbsp, pos)
        if kind < 0 or size < 0 or pos + size > len(rbsp):
            break  # truncated: what was read stays
        body = rbsp[pos : pos + size]
        pos += size
        if kind == USER_DATA_UNREGISTERED and body[:16] == MEDIA_SIGNING_UUID:
            found.append(_signing_sei(body))
    return found


def _ff_coded(data: bytes, pos: int) -> tuple[int, int]:
    """An SEI payload type or size: 0xFF bytes each add 255, the last byte ends it."""
    value = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value += byte
        if byte != 0xFF:
            return value, pos
    return -1, pos


def _signing_sei(body: bytes) -> SigningSei:
    reserved = body[16] if len(body) > 16 else 0
    return SigningSei(bool(reserved & CERTIFICATE_SEI_FLAG), _certificate_sha256(body[17:]))


def _certificate_sha256(tlvs: bytes) -> str | None:
    pos = 0
    while pos + 3 <= len(tlvs):
        tag, length = tlvs[pos], int.from_bytes(tlvs[pos + 1 : pos + 3], "big")
        value = tlvs[pos + 3 : pos + 3 + length]
        if len(value) < length:
            return None  # truncated TLV
        if tag == CERTIFICATES_TAG and length > 2:
            return hashlib.sha256(value[2:]).hexdigest()
        pos += 3 + length
    return None
