"""Device signing keys and digests behind one small interface.

The ledger only sees `Signer`/`Verifier` (an algorithm name, a key id, sign/verify) and
`digest(alg, data)`, so national algorithms (SM2/SM3) can be registered here later without
changing the ledger's record shape. Today: Ed25519 signatures and SHA-256 digests.

Formats (stable, versioned by the algorithm prefix):
- private key file: unencrypted PKCS#8 PEM, mode 0600 (readable by `openssl pkey`);
- public key text: one line `ed25519:<base64 of the 32 raw bytes>`;
- key id: first 16 hex digits of SHA-256 of the raw public key (in every record);
- fingerprint: `SHA256:` and all 64 hex digits of that SHA-256 (what people compare), e.g.
  `openssl pkey -in device.ed25519 -pubout -outform DER | tail -c 32 | sha256sum`; it starts
  with the key id.
"""

import base64
import binascii
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evgw.i18n import N_, _
from segments.errors import CryptoFormatError, SegmentError

ED25519 = "ed25519"
SHA256 = "sha256"

CANNOT_WRITE = N_("cannot write signing key ({error})")


class KeyFileError(SegmentError):
    """A key file cannot be created or used safely (missing, exists, too permissive)."""

    exit_code = 2  # evgw.exit_codes.USAGE: name another file or fix its mode


class HashObject(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...
    def hexdigest(self) -> str: ...


class Signer(Protocol):
    @property
    def alg(self) -> str: ...
    @property
    def key_id(self) -> str: ...
    def sign(self, msg: bytes) -> bytes: ...
    def public_key_text(self) -> str: ...


class Verifier(Protocol):
    @property
    def alg(self) -> str: ...
    @property
    def key_id(self) -> str: ...
    def verify(self, msg: bytes, sig: bytes) -> bool: ...
    def public_key_text(self) -> str: ...


_HASHES: Mapping[str, Callable[[], HashObject]] = MappingProxyType({SHA256: hashlib.sha256})


def new_hash(alg: str) -> HashObject:
    """A streaming hash object, for segments hashed while they are written."""
    try:
        factory = _HASHES[alg]
    except KeyError:
        raise CryptoFormatError(
            f"unknown digest algorithm {alg!r}; supported: {', '.join(sorted(_HASHES))}"
        ) from None
    return factory()


def digest(alg: str, data: bytes) -> bytes:
    """One-shot digest of `data` under the named algorithm (e.g. "sha256")."""
    h = new_hash(alg)
    h.update(data)
    return h.digest()


def key_id_of(raw_public_key: bytes) -> str:
    """First 16 hex digits of SHA-256 over the raw public key bytes."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


def fingerprint(key: Signer | Verifier) -> str:
    """Human-facing key fingerprint, `SHA256:<64 hex digits>`: all of the hash, not the key id.

    16 hex digits (64 bits) identify a key among honest ones but are within reach of a
    forger's search; a person comparing fingerprints needs the whole hash.
    """
    _, _, text = key.public_key_text().partition(":")
    return f"SHA256:{hashlib.sha256(base64.b64decode(text)).hexdigest()}"


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Ed25519Verifier:
    """Checks Ed25519 signatures made by one device key."""

    __slots__ = ("_key", "_raw")

    alg = ED25519

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key
        self._raw = _raw_public(key)

    @classmethod
    def from_raw(cls, raw: bytes) -> "Ed25519Verifier":
        if len(raw) != 32:
            raise CryptoFormatError(f"ed25519 public key must be 32 bytes, got {len(raw)}")
        try:
            return cls(Ed25519PublicKey.from_public_bytes(raw))
        except ValueError as e:
            raise CryptoFormatError(f"invalid ed25519 public key: {e}") from e

    @property
    def key_id(self) -> str:
        return key_id_of(self._raw)

    def verify(self, msg: bytes, sig: bytes) -> bool:
        try:
            self._key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True

    def public_key_text(self) -> str:
        return f"{ED25519}:{base64.b64encode(self._raw).decode('ascii')}"

    def __repr__(self) -> str:
        return f"Ed25519Verifier(key_id={self.key_id!r})"


class Ed25519Signer:
    """Signs ledger records and checkpoints with the device's Ed25519 key."""

    __slots__ = ("_key", "_verifier")

    alg = ED25519

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self._verifier = Ed25519Verifier(key.public_key())

    @property
    def key_id(self) -> str:
        return self._verifier.key_id

    def sign(self, msg: bytes) -> bytes:
        return self._key.sign(msg)

    def verifier(self) -> Ed25519Verifier:
        return self._verifier

    def public_key_text(self) -> str:
        return self._verifier.public_key_text()

    def private_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def __repr__(self) -> str:
        return f"Ed25519Signer(key_id={self.key_id!r})"


_VERIFIERS: Mapping[str, Callable[[bytes], Verifier]] = MappingProxyType(
    {ED25519: Ed25519Verifier.from_raw}
)


def parse_public_key(text: str | bytes) -> Verifier:
    """Parse `<alg>:<base64>`; any malformed input raises CryptoFormatError."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError as e:
            raise CryptoFormatError("public key text must be ASCII (<alg>:<base64>)") from e
    alg, sep, b64 = text.strip().partition(":")
    if not sep:
        raise CryptoFormatError("public key text must look like 'ed25519:<base64>'")
    parse = _VERIFIERS.get(alg)
    if parse is None:
        raise CryptoFormatError(
            f"unknown public key algorithm {alg[:20]!r}; supported: {', '.join(sorted(_VERIFIERS))}"
        )
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise CryptoFormatError(f"{alg} public key is not valid base64: {e}") from e
    if base64.b64encode(raw).decode("ascii") != b64:
        raise CryptoFormatError(f"{alg} public key is not canonical base64; re-export the key")
    return parse(raw)


def load_verifier(source: str | Path) -> Verifier:
    """A verifier from public key text, or from a file holding that one line."""
    if isinstance(source, str) and source.strip().partition(":")[0] in _VERIFIERS:
        return parse_public_key(source)
    path = Path(source)
    try:
        data = path.read_bytes()
    except (OSError, ValueError) as e:
        why = _(
            "cannot read public key ({error}); pass 'ed25519:<base64>' or the path of a file "
            "containing it"
        ).format(error=e)
        raise KeyFileError(f"{path}: {why}") from e
    try:
        return parse_public_key(data)
    except CryptoFormatError as e:
        raise CryptoFormatError(f"{path}: {e}") from e


def generate_signing_key(path: Path) -> Ed25519Signer:
    """Create a new Ed25519 device key at `path` (0600), never replacing an existing key.

    The key is written to a private temporary file, fsynced, then hard-linked into place:
    the final name appears complete or not at all, and an existing key makes the link fail.
    """
    path = Path(path)
    signer = Ed25519Signer(Ed25519PrivateKey.generate())
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise KeyFileError(f"{path}: " + _(CANNOT_WRITE).format(error=e.strerror)) from e
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(signer.private_pem())
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except FileExistsError as e:
        why = _("a key already exists; refusing to overwrite it")
        raise KeyFileError(f"{path}: {why}") from e
    except OSError as e:
        raise KeyFileError(f"{path}: " + _(CANNOT_WRITE).format(error=e.strerror)) from e
    finally:
        tmp.unlink(missing_ok=True)
    return signer


def load_signer(path: Path) -> Ed25519Signer:
    """Load the device key, refusing a file that group or others could read."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                why = _(
                    "signing key is accessible by group/others (mode {mode}); run "
                    "`chmod 600 {path}`"
                ).format(mode=f"{stat.S_IMODE(mode):04o}", path=path)
                raise KeyFileError(f"{path}: {why}")
            data = f.read()
    except OSError as e:
        why = _("cannot read signing key ({error})").format(error=e.strerror)
        raise KeyFileError(f"{path}: {why}") from e
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        why = _("not an unencrypted PKCS#8 PEM private key ({error})").format(error=e)
        raise CryptoFormatError(f"{path}: {why}") from e
    if not isinstance(key, Ed25519PrivateKey):
        why = _("holds a {kind}, expected an Ed25519 key").format(kind=type(key).__name__)
        raise CryptoFormatError(f"{path}: {why}")
    return Ed25519Signer(key)


def verify_b64(verifier: Verifier, alg: str, key_id: str, msg: bytes, sig_b64: str) -> bool:
    """A signed object's check: the right algorithm and key, a well-formed base64 signature."""
    if alg != verifier.alg or key_id != verifier.key_id:
        return False
    try:
        sig = base64.b64decode(sig_b64, validate=True)
    except (ValueError, TypeError):
        return False
    return verifier.verify(msg, sig)
