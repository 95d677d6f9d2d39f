"""age v1 X25519 keys: bech32 text forms, and wrapping a file key into a recipient stanza.

The gateway holds only recipients (public keys); identities (secret keys) live with the
central archive and the investigators. Text forms match `age-keygen` exactly, so keys move
freely between evgw and the stock `age` tool.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from segments.errors import CryptoFormatError, KeyFileError

RECIPIENT_HRP = "age"
IDENTITY_HRP = "AGE-SECRET-KEY-"
FILE_KEY_SIZE = 16
X25519_STANZA = "X25519"
_X25519_INFO = b"age-encryption.org/v1/X25519"
_ZERO_NONCE = bytes(12)
_MAX_KEY_TEXT = 1000  # bech32 strings far longer than any key are rejected before decoding
_B64_RE = re.compile(r"[A-Za-z0-9+/]*")

# --- bech32 (BIP 173 checksum; age does not apply the 90-character limit) ---

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: Sequence[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate(_GENERATORS):
            if (top >> i) & 1:
                chk ^= g
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or (acc << (tobits - bits)) & maxv:
        raise CryptoFormatError("bech32 data has invalid padding")
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    """Encode `data` under `hrp`; the output has the case of `hrp` (age uses both)."""
    low = hrp.lower()
    values = _convert_bits(data, 8, 5, pad=True)
    poly = _polymod([*_hrp_expand(low), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(poly >> 5 * (5 - i)) & 31 for i in range(6)]
    text = low + "1" + "".join(_CHARSET[v] for v in values + checksum)
    return text.upper() if hrp.isupper() else text


def bech32_decode(text: str) -> tuple[str, bytes]:
    """Return (hrp in the text's case, data); raises CryptoFormatError on any defect."""
    if len(text) > _MAX_KEY_TEXT:
        raise CryptoFormatError(f"bech32 string is too long ({len(text)} characters)")
    if text.lower() != text and text.upper() != text:
        raise CryptoFormatError("bech32 string mixes upper and lower case")
    if any(not 33 <= ord(c) <= 126 for c in text):
        raise CryptoFormatError("bech32 string contains a non-printable or non-ASCII character")
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text):
        raise CryptoFormatError("bech32 string has no separator '1' or a too short checksum")
    hrp, low_data = text[:pos], text[pos + 1 :].lower()
    try:
        values = [_CHARSET.index(c) for c in low_data]
    except ValueError as e:
        raise CryptoFormatError("bech32 string contains a character outside its alphabet") from e
    if _polymod([*_hrp_expand(hrp.lower()), *values]) != 1:
        raise CryptoFormatError("bech32 checksum does not match: the key was mistyped or cut")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, pad=False))


# --- stanzas and keys ---


def _is_vchar_string(s: str) -> bool:
    return bool(s) and all(33 <= ord(c) <= 126 for c in s)


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza of an age header: `-> type args...` and a binary body."""

    type: str
    args: tuple[str, ...]
    body: bytes

    def __post_init__(self) -> None:
        if not all(_is_vchar_string(a) for a in (self.type, *self.args)):
            raise CryptoFormatError(
                f"stanza type and arguments must be non-empty printable ASCII: {self.type!r}"
            )


def _wrap_key(shared: bytes, salt: bytes) -> ChaCha20Poly1305:
    kdf = HKDF(algorithm=SHA256(), length=32, salt=salt, info=_X25519_INFO)
    return ChaCha20Poly1305(kdf.derive(shared))


def b64encode_raw(data: bytes) -> str:
    """Standard base64 without padding, as age writes it."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def b64decode_strict(text: str) -> bytes:
    """Decode canonical unpadded base64; anything else (padding, stray bits, CR) is an error."""
    if not _B64_RE.fullmatch(text) or len(text) % 4 == 1:
        raise CryptoFormatError(f"invalid unpadded base64 {text[:80]!r}")
    data = base64.b64decode(text + "=" * (-len(text) % 4))
    if b64encode_raw(data) != text:
        raise CryptoFormatError(f"non-canonical base64 {text[:80]!r} (trailing bits set)")
    return data


@dataclass(frozen=True)
class X25519Recipient:
    """A public key that files are encrypted to (`age1…`)."""

    public_key: bytes

    def __post_init__(self) -> None:
        if len(self.public_key) != 32:
            raise CryptoFormatError(
                f"X25519 recipient must be 32 bytes, got {len(self.public_key)}"
            )

    def __str__(self) -> str:
        return bech32_encode(RECIPIENT_HRP, self.public_key)

    def wrap(self, file_key: bytes) -> Stanza:
        """Encrypt `file_key` to this recipient with a fresh ephemeral key (age spec, X25519)."""
        ephemeral = X25519PrivateKey.generate()
        share = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        try:
            shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(self.public_key))
        except ValueError as e:
            raise CryptoFormatError(
                "recipient is a low-order X25519 point; use a key made by age-keygen"
            ) from e
        body = _wrap_key(shared, share + self.public_key).encrypt(_ZERO_NONCE, file_key, None)
        return Stanza(X25519_STANZA, (b64encode_raw(share),), body)


@dataclass(frozen=True, repr=False)
class X25519Identity:
    """A secret key (`AGE-SECRET-KEY-1…`); repr never shows the secret."""

    secret_key: bytes
    _private: X25519PrivateKey = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.secret_key) != 32:
            raise CryptoFormatError(f"X25519 identity must be 32 bytes, got {len(self.secret_key)}")
        object.__setattr__(self, "_private", X25519PrivateKey.from_private_bytes(self.secret_key))

    def __repr__(self) -> str:
        return f"X25519Identity(recipient={self.recipient()})"

    def __str__(self) -> str:
        return bech32_encode(IDENTITY_HRP, self.secret_key)

    def recipient(self) -> X25519Recipient:
        pub = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return X25519Recipient(pub)

    def unwrap(self, stanza: Stanza) -> bytes | None:
        """Return the file key if this X25519 `stanza` is addressed to us, else None."""
        if len(stanza.args) != 1:
            raise CryptoFormatError("X25519 stanza must have exactly one argument")
        share = b64decode_strict(stanza.args[0])
        if len(share) != 32:
            raise CryptoFormatError("X25519 stanza share must be 32 bytes")
        if len(stanza.body) != FILE_KEY_SIZE + 16:
            raise CryptoFormatError("X25519 stanza body must be 32 bytes")
        try:
            shared = self._private.exchange(X25519PublicKey.from_public_bytes(share))
        except ValueError as e:
            raise CryptoFormatError(
                "X25519 stanza carries a low-order ephemeral share; the file is malformed"
            ) from e
        ours = self.recipient().public_key
        try:
            return _wrap_key(shared, share + ours).decrypt(_ZERO_NONCE, stanza.body, None)
        except InvalidTag:
            return None


def generate_identity() -> tuple[str, str]:
    """Return a new (identity, recipient) pair as text, like `age-keygen`."""
    identity = X25519Identity(os.urandom(32))
    return str(identity), str(identity.recipient())


def parse_recipient(text: str) -> X25519Recipient:
    """Parse one `age1…` recipient; surrounding whitespace is ignored."""
    text = text.strip()
    if text.startswith(("ssh-", "ecdsa-")):
        raise CryptoFormatError("SSH recipients are not supported: use an age1… X25519 key")
    hrp, data = bech32_decode(text)
    if hrp != RECIPIENT_HRP:
        raise CryptoFormatError(
            f"not an X25519 age recipient (prefix {hrp!r}); expected 'age1…' from age-keygen -y"
        )
    return X25519Recipient(data)


def parse_recipients(text: str) -> list[X25519Recipient]:
    """Parse a recipients file: one `age1…` a line, `#` comments and blank lines allowed."""
    out = [parse_recipient(line) for line in _content_lines(text, "recipient")]
    if not out:
        raise CryptoFormatError("no recipient found: expected lines starting with 'age1'")
    return out


def _parse_identity_line(line: str) -> X25519Identity:
    hrp, data = bech32_decode(line)
    if hrp != IDENTITY_HRP:
        raise CryptoFormatError(
            f"not an X25519 age identity (prefix {hrp!r}); expected 'AGE-SECRET-KEY-1…'"
        )
    return X25519Identity(data)


def _content_lines(text: str, what: str) -> list[str]:
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        lines.append(line)
        if len(line) > _MAX_KEY_TEXT:
            raise CryptoFormatError(f"{what} file line {number} is too long to be a key")
    return lines


def parse_identities(text: str) -> list[X25519Identity]:
    """Parse an identity file (as written by age-keygen): every non-comment line is a key."""
    out = []
    for line in _content_lines(text, "identity"):
        try:
            out.append(_parse_identity_line(line))
        except CryptoFormatError as e:
            raise CryptoFormatError(f"identity file has a malformed key: {e}") from e
    if not out:
        raise CryptoFormatError("no identity found: expected a line 'AGE-SECRET-KEY-1…'")
    return out


def load_identities(path: Path) -> list[X25519Identity]:
    """The identities of an age identity file (`age-keygen` output), or KeyFileError.

    The error names the file and the next step, so a command can print it as it is.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise KeyFileError(
            f"cannot read the identity file {path}: {reason}; pass the age identity file "
            "(AGE-SECRET-KEY-1…) that age-keygen or `evgw keygen --archive` wrote"
        ) from e
    try:
        return parse_identities(text)
    except CryptoFormatError as e:
        raise KeyFileError(
            f"{path} is not a usable age identity file: {e}; pass the file that age-keygen "
            "or `evgw keygen --archive` wrote"
        ) from e


def parse_identity(text: str) -> X25519Identity:
    """Parse a single identity (a bare key or an identity file holding exactly one key)."""
    identities = parse_identities(text)
    if len(identities) != 1:
        raise CryptoFormatError(
            f"expected exactly one identity, found {len(identities)}; use parse_identities"
        )
    return identities[0]


def recipient_of(identity: X25519Identity | str) -> str:
    """The `age1…` recipient that encrypts to `identity` (a key object or its text)."""
    if isinstance(identity, str):
        identity = parse_identity(identity)
    return str(identity.recipient())
