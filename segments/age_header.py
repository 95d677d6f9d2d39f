"""The age v1 header: recipient stanzas and the MAC that binds them to the file key.

    age-encryption.org/v1
    -> X25519 <ephemeral share>
    <wrapped file key, base64 wrapped at 64 columns; the last line is short>
    --- <HMAC-SHA256 of everything above, keyed from the file key>

The parser reads untrusted bytes strictly (canonical base64, exact wrapping, no CR, bounded
size and stanza count) and tells a header cut off by a crash from a malformed one.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .agekeys import (
    FILE_KEY_SIZE,
    X25519_STANZA,
    Stanza,
    X25519Identity,
    b64decode_strict,
    b64encode_raw,
)
from .errors import CryptoFormatError

MAX_HEADER_SIZE = 64 * 1024  # X25519 stanzas are ~100 bytes; anything near this is hostile
MAX_STANZAS = 20  # the stock age tool refuses more
INTRO = b"age-encryption.org/v1\n"
COLUMNS = 64
_BYTES_PER_LINE = COLUMNS // 4 * 3
_ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=salt, info=info).derive(ikm)


def encode_stanza(stanza: Stanza) -> bytes:
    """`-> type args` then the body in base64 wrapped at 64 columns; the last line is short."""
    text = b64encode_raw(stanza.body)
    lines = [text[i : i + COLUMNS] for i in range(0, len(text), COLUMNS)]
    if not lines or len(lines[-1]) == COLUMNS:
        lines.append("")
    opening = " ".join(["->", stanza.type, *stanza.args])
    return "\n".join([opening, *lines]).encode("ascii") + b"\n"


@dataclass(frozen=True)
class Header:
    """A parsed age header; `mac` covers `mac_input()`, keyed by the file key."""

    stanzas: tuple[Stanza, ...]
    mac: bytes

    def mac_input(self) -> bytes:
        return INTRO + b"".join(encode_stanza(s) for s in self.stanzas) + b"---"

    def to_bytes(self) -> bytes:
        return self.mac_input() + b" " + b64encode_raw(self.mac).encode("ascii") + b"\n"


def header_mac(file_key: bytes, header_without_mac: bytes) -> bytes:
    return hmac.digest(hkdf(file_key, b"", b"header"), header_without_mac, "sha256")


class HeaderTruncatedError(CryptoFormatError):
    """The bytes end inside an otherwise well-formed header (a file cut while being written)."""


class _Lines:
    """Cursor over LF-terminated lines of untrusted header bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def next(self) -> bytes:
        end = self.data.find(b"\n", self.pos, MAX_HEADER_SIZE)
        if end < 0:
            if len(self.data) >= MAX_HEADER_SIZE:
                raise CryptoFormatError(f"age header is larger than {MAX_HEADER_SIZE} bytes")
            raise HeaderTruncatedError("age header is cut off: the file ends inside it")
        line = self.data[self.pos : end]
        self.pos = end + 1
        return line


def _ascii(line: bytes, what: str) -> str:
    if any(not 32 <= b <= 126 for b in line):
        raise CryptoFormatError(f"{what} contains a non-printable byte: {line[:80]!r}")
    return line.decode("ascii")


def _parse_intro(lines: _Lines) -> None:
    head = lines.data[: len(INTRO)]
    if head.startswith(_ARMOR_BEGIN[:10]):
        raise CryptoFormatError("file is ASCII-armored age; run `age -d` on it or dearmor first")
    if not INTRO.startswith(head) or (len(head) == len(INTRO) and head != INTRO):
        if head.startswith(b"age-encryption.org/"):
            raise CryptoFormatError(f"unsupported age version line {head!r}; only v1 is known")
        raise CryptoFormatError("not an age file: it does not start with 'age-encryption.org/v1'")
    lines.next()


def _parse_body(lines: _Lines) -> bytes:
    body = bytearray()
    while True:
        raw = lines.next()
        if raw.startswith((b"->", b"---")):
            raise CryptoFormatError("stanza body ended without a short final line")
        if len(raw) > COLUMNS:
            raise CryptoFormatError(f"stanza body line is longer than {COLUMNS} columns")
        chunk = b64decode_strict(_ascii(raw, "stanza body line"))
        body += chunk
        if len(chunk) < _BYTES_PER_LINE:
            return bytes(body)


def parse_header(data: bytes) -> tuple[Header, int]:
    """Parse the header at the start of `data`; return it and its length in bytes.

    Raises HeaderTruncatedError if `data` ends before the MAC line, CryptoFormatError for
    anything malformed (strict: canonical base64, exact wrapping, no CR, bounded size).
    """
    lines = _Lines(data)
    _parse_intro(lines)
    stanzas: list[Stanza] = []
    while True:
        line = lines.next()
        if line.startswith(b"---"):
            parts = _ascii(line, "MAC line").split(" ")
            if parts[0] != "---" or len(parts) != 2:
                raise CryptoFormatError(f"malformed header MAC line {line[:80]!r}")
            mac = b64decode_strict(parts[1])
            if len(mac) != 32:
                raise CryptoFormatError("header MAC must be 32 bytes")
            break
        if not line.startswith(b"-> "):
            raise CryptoFormatError(f"expected a '-> ' stanza or '--- ' line, got {line[:80]!r}")
        parts = _ascii(line, "stanza line").split(" ")[1:]
        if not all(parts):
            raise CryptoFormatError(f"malformed stanza line {line[:80]!r} (empty argument)")
        if len(stanzas) == MAX_STANZAS:
            raise CryptoFormatError(f"age header has more than {MAX_STANZAS} recipient stanzas")
        stanzas.append(Stanza(parts[0], tuple(parts[1:]), _parse_body(lines)))
    if not stanzas:
        raise CryptoFormatError("age header has no recipient stanza")
    return Header(tuple(stanzas), mac), lines.pos


def unwrap_file_key(header: Header, identities: Sequence[X25519Identity]) -> bytes:
    for stanza in header.stanzas:
        if stanza.type != X25519_STANZA:
            continue  # other recipient types (scrypt, plugins) are not ours to open
        for identity in identities:
            key = identity.unwrap(stanza)
            if key is not None:
                if len(key) != FILE_KEY_SIZE:
                    raise CryptoFormatError("wrapped file key has the wrong size")
                return key
    kinds = ", ".join(sorted({s.type for s in header.stanzas}))
    raise CryptoFormatError(
        f"no identity matches this file (its stanzas: {kinds}); "
        "it was encrypted to other recipients: use the matching archive or escrow key"
    )
