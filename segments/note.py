"""C2SP signed notes and Ed25519 `cosignature/v1` witness signatures, as pure functions.

A witness (the central archive) states "as of time T, the largest consistent tree I have
seen for this log has this root" by cosigning the log's checkpoint note. The formats are
the published ones so that any C2SP tool can check our witnesses and we can check theirs:

- signed note (c2sp.org/signed-note): UTF-8 text ending in a newline, a blank line, then
  signature lines `— <key name> base64(key id[4] || signature)`; no control character but
  newline; key names non-empty, without spaces or `+`.
- cosignature/v1 (c2sp.org/tlog-cosignature): key id = SHA-256(name || 0x0A || 0x04 ||
  32-byte Ed25519 public key)[:4]; signature = timestamp u64 big-endian || Ed25519 over
  `cosignature/v1\\ntime <timestamp>\\n` followed by the whole note text.

Ed25519 cosignatures do not commit to the witness name, so trust is in the key: a signature
line counts only when its key id matches the trusted key under the name it carries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from .errors import CryptoFormatError
from .signing import ED25519, Signer, Verifier, fingerprint

MAX_NOTE_BYTES = 16 * 1024  # a checkpoint and dozens of cosignatures fit; a flood does not
MAX_SIGNATURES = 64  # the spec asks verifiers to accept at least 16
MAX_NAME_CHARS = 255
MAX_TIMESTAMP = (1 << 63) - 1
COSIGNATURE_V1 = 0x04  # signed-note signature type of timestamped Ed25519 cosignatures
DASH = "\u2014"
_COSIG_LEN = 4 + 8 + 64


class CosignatureError(CryptoFormatError):
    """A note carries no valid cosignature by the trusted witness key; the message says why."""


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name, its 4-byte id, and the signature bytes after it."""

    name: str
    key_id: bytes
    sig: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.key_id) != 4 or not self.sig:
            raise CryptoFormatError("a note signature is a 4-byte key id and a signature")

    def line(self) -> str:
        return f"{DASH} {self.name} {base64.b64encode(self.key_id + self.sig).decode('ascii')}\n"


@dataclass(frozen=True)
class SignedNote:
    """A note's text (with its final newline) and its signature lines, in order."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        check_text(self.text)
        if not self.signatures:
            raise CryptoFormatError("a signed note needs at least one signature line")
        if len(self.signatures) > MAX_SIGNATURES:
            raise CryptoFormatError(f"a note with over {MAX_SIGNATURES} signatures is refused")

    def to_text(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: who (name, key fingerprint) vouched for the note, and when."""

    name: str
    fingerprint: str
    timestamp: int


def check_key_name(name: str) -> str:
    """`name` if it can name a key in a signed note (non-empty, no spaces, no `+`)."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS:
        raise CryptoFormatError(f"a key name is 1-{MAX_NAME_CHARS} characters")
    if any(c.isspace() or c == "+" or ord(c) < 0x20 for c in name):
        raise CryptoFormatError(f"key name {name[:40]!r} contains a space, '+' or control")
    return name


def check_text(text: str) -> str:
    """`text` if it can be a note's text: ends in a newline, no control character but it."""
    if not text.endswith("\n"):
        raise CryptoFormatError("note text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise CryptoFormatError("note text contains a control character")
    return text


def parse_note(data: bytes) -> SignedNote:
    """A signed note from its bytes; anything malformed raises CryptoFormatError."""
    if len(data) > MAX_NOTE_BYTES:
        raise CryptoFormatError(f"signed note is over {MAX_NOTE_BYTES} bytes")
    try:
        whole = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CryptoFormatError(f"signed note is not UTF-8: {e}") from e
    if any(ord(c) < 0x20 and c != "\n" for c in whole):
        raise CryptoFormatError("signed note contains a control character")
    split = whole.rfind("\n\n")
    if split < 0 or not whole.endswith("\n"):
        raise CryptoFormatError("signed note has no blank line before its signatures")
    text, block = whole[: split + 1], whole[split + 2 :]
    lines = block[:-1].split("\n") if block else []
    if len(lines) > MAX_SIGNATURES:
        raise CryptoFormatError(f"a note with over {MAX_SIGNATURES} signatures is refused")
    return SignedNote(text, tuple(_signature(i, line) for i, line in enumerate(lines, 1)))


def _signature(index: int, line: str) -> NoteSignature:
    prefix, sep, rest = line.partition(" ")
    name, sep2, b64 = rest.partition(" ")
    if prefix != DASH or not sep or not sep2 or " " in b64:
        raise CryptoFormatError(f"signature line {index} is not '{DASH} <name> <base64>'")
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise CryptoFormatError(f"signature line {index} is not valid base64") from e
    if len(raw) < 5:
        raise CryptoFormatError(f"signature line {index} is too short for a key id and sig")
    return NoteSignature(name, raw[:4], raw[4:])


def cosignature_key_id(name: str, raw_public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x04 || public key)[:4], the witness key id of tlog-cosignature."""
    check_key_name(name)
    return hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([COSIGNATURE_V1]) + raw_public_key
    ).digest()[:4]


def cosigned_message(text: str, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 signs: header, time line, then the whole note text."""
    return f"cosignature/v1\ntime {timestamp}\n".encode("ascii") + text.encode("utf-8")


def raw_ed25519(key: Signer | Verifier) -> bytes:
    """The 32 raw bytes of an Ed25519 key; other algorithms cannot make cosignature/v1."""
    alg, _, b64 = key.public_key_text().partition(":")
    if alg != ED25519:
        raise CryptoFormatError(f"a witness key must be Ed25519 for cosignature/v1, not {alg}")
    return base64.b64decode(b64)


def cosign_text(text: str, name: str, signer: Signer, timestamp: int) -> NoteSignature:
    """The witness's cosignature/v1 line over `text` at `timestamp` (POSIX seconds)."""
    check_text(text)
    if isinstance(timestamp, bool) or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CryptoFormatError(f"a cosignature timestamp is 0..2^63-1, got {timestamp!r}")
    key_id = cosignature_key_id(name, raw_ed25519(signer))
    sig = signer.sign(cosigned_message(text, timestamp))
    return NoteSignature(name, key_id, timestamp.to_bytes(8, "big") + sig)


def open_cosignature(note: SignedNote, verifier: Verifier, name: str | None) -> Cosignature:
    """The cosignature of the trusted witness key (under `name`, if given) on `note`.

    Lines by other keys are ignored, as the spec requires; a line whose name and key id
    match the trusted key but whose signature fails rejects the whole note.
    """
    raw = raw_ed25519(verifier)
    candidates = [s for s in note.signatures if name is None or s.name == name]
    if not candidates:
        seen = ", ".join(sorted({s.name for s in note.signatures}))
        raise CosignatureError(f"no cosignature under witness name {name!r} (signed by: {seen})")
    mine = [s for s in candidates if s.key_id == cosignature_key_id(s.name, raw)]
    if not mine:
        raise CosignatureError(
            f"no cosignature by the trusted witness key {fingerprint(verifier)}: the "
            f"{'lines' if len(candidates) > 1 else 'line'} of {candidates[0].name!r} carry "
            f"key id {candidates[0].key_id.hex()}, another key's"
        )
    for s in mine:
        if len(s.sig) != _COSIG_LEN - 4:
            raise CosignatureError(f"cosignature of {s.name!r} is not timestamp + Ed25519")
        timestamp = int.from_bytes(s.sig[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            raise CosignatureError(f"cosignature of {s.name!r} has a timestamp over 2^63-1")
        if not verifier.verify(cosigned_message(note.text, timestamp), s.sig[8:]):
            raise CosignatureError(
                f"cosignature of {s.name!r} does not verify: the note text was altered "
                "after the witness signed it"
            )
    first = mine[0]
    return Cosignature(first.name, fingerprint(verifier), int.from_bytes(first.sig[:8], "big"))
