"""Which key proves origin: the caller's trusted keys, never a key the evidence names itself.

A ledger's first record (`key`, seq 0) names the key that signs the rest, and a package
carries `keys/device.pub`. That proves the records belong together, never who wrote them:
only a key the caller brings proves origin, either one key (`--pubkey`) or a trust file.

Trust file, format 1 (UTF-8 text, at most 1 MiB, read strictly: any other line is an error
naming the file and line):

    evgw-trust 1                    optional first line: the format version
    # a comment: '#' first on its line; blank lines are ignored
    gw-post-01 ed25519:<base64>     the device key of gateway gw-post-01 (as `evgw keygen`
                                    printed it when the gateway was enrolled)
    gw-post-01 ed25519:<base64>     another line for the same gateway: a rotated key
    archive:hq ed25519:<base64>     the export key of central archive `hq` (packages it signs)

A gateway id is 1-64 characters of A-Z a-z 0-9 . _ - (as in `[gateway] id`). A key belongs
to one subject: the same key listed for two is refused, as is a repeated line.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from evgw.i18n import N_

from .errors import CryptoFormatError, SegmentError, UnsupportedFormatError
from .records import Record
from .signing import Verifier, fingerprint, parse_public_key

KEY_RECORD = "key"
TRUST_VERSION = 1
MAX_TRUST_FILE = 1 << 20
HEADER = "evgw-trust"
ARCHIVE_PREFIX = "archive:"
_SLUG = re.compile(r"[A-Za-z0-9._-]{1,64}")
_FIELD_SEP = re.compile(r"[ \t]+")  # only these: other (Unicode) spaces are not separators

ORIGIN_HINT = N_(
    "to establish origin, pass --pubkey with the gateway's device public key as recorded at "
    "its enrolment (`evgw keygen` printed it; the gateway keeps it as <signing_key>.pub), or "
    "--trust FILE with lines '<gateway-id> ed25519:<base64>'"
)


class TrustFileError(SegmentError):
    """A trust file cannot be used as it is: the message names the file, line and fix."""

    exit_code = 2


def declared_key(first: Record | None) -> Verifier | None:
    """The key the ledger's `key` record declares; None when the ledger starts otherwise.

    Raises CryptoFormatError when the key record holds no usable public key.
    """
    if first is None or first.kind != KEY_RECORD or first.seq != 0:
        return None
    text = first.extra.get("public_key")
    if not isinstance(text, str | bytes):
        raise CryptoFormatError("the key record names no public key")
    return parse_public_key(text)


def archive_subject(archive_id: str) -> str:
    """The trust file name of a central archive's export key."""
    return ARCHIVE_PREFIX + archive_id


@dataclass(frozen=True)
class TrustedKeys:
    """The keys the caller trusts, by the subject they speak for (gateway id, `archive:<id>`).

    `any_gateway` is a single key given with --pubkey: trusted for whichever gateway the
    records name, never for an archive. `any_archive` is a single key given with
    --archive-pubkey: trusted as the export key of whichever archive signed a package, never
    for a gateway's records.
    """

    origin: str  # where the keys came from, for messages: "--pubkey" or the file's path
    subjects: Mapping[str, tuple[Verifier, ...]] = field(default_factory=dict)
    any_gateway: Verifier | None = None
    any_archive: Verifier | None = None

    @classmethod
    def single(cls, key: Verifier) -> TrustedKeys:
        return cls(origin="--pubkey", any_gateway=key)

    def for_subject(self, subject: str | None, key_id: str | None = None) -> Verifier | None:
        """The trusted key of `subject`, preferring the one with `key_id`; None if unlisted.

        A gateway with several keys (rotation) gets the one whose id the evidence names;
        when none has it, the first, so every signature check reports the mismatch.
        """
        if subject is None:
            return None
        archive = subject.startswith(ARCHIVE_PREFIX)
        if self.any_gateway is not None and not archive:
            return self.any_gateway
        if self.any_archive is not None and archive:
            return self.any_archive
        keys = self.subjects.get(subject, ())
        return next((k for k in keys if k.key_id == key_id), keys[0] if keys else None)

    def unlisted(self, subject: str | None) -> str:
        """Why no trusted key applies to `subject`, for a report."""
        if subject is None:
            return "the evidence names no gateway to look up a trusted key for"
        return f"{self.origin} lists no key for {subject!r}"


def parse_trust_text(text: str, origin: str) -> TrustedKeys:
    """Parse trust file text (format 1); `origin` names the file in every message."""
    subjects: dict[str, list[Verifier]] = {}
    owners: dict[str, str] = {}  # key text -> subject
    seen_entry = False
    for n, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        where = f"{origin} line {n}"
        bad = next((c for c in line if c != "\t" and unicodedata.category(c) in ("Cc", "Cf")), None)
        if bad is not None:
            raise TrustFileError(f"{where}: control character {bad!r}; remove it")
        body = line.strip(" \t")
        if not body or body.startswith("#"):
            continue
        fields_ = _FIELD_SEP.split(body)
        if fields_[0] == HEADER:
            _header(fields_, where, seen_entry)
            seen_entry = True
            continue
        seen_entry = True
        if len(fields_) != 2:
            raise TrustFileError(
                f"{where}: expected '<gateway-id> ed25519:<base64>', got {len(fields_)} fields"
            )
        subject, key_text = fields_
        _check_subject(subject, where)
        try:
            key = parse_public_key(key_text)
        except CryptoFormatError as e:
            raise TrustFileError(f"{where}: {e}") from e
        canonical = key.public_key_text()
        if canonical in owners:
            other = owners[canonical]
            what = (
                "repeats this key" if other == subject else f"already lists this key for {other!r}"
            )
            raise TrustFileError(
                f"{where}: {origin} {what} ({fingerprint(key)}); a device key belongs to one "
                "gateway: remove the line"
            )
        owners[canonical] = subject
        subjects.setdefault(subject, []).append(key)
    if not subjects:
        raise TrustFileError(f"{origin}: lists no key; add lines '<gateway-id> ed25519:<base64>'")
    return TrustedKeys(origin, {s: tuple(keys) for s, keys in subjects.items()})


def load_trust_file(path: Path) -> TrustedKeys:
    """Read and parse a trust file; every problem is a TrustFileError (exit code 2)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_TRUST_FILE + 1)
    except OSError as e:
        raise TrustFileError(f"cannot read trust file {path}: {e.strerror or e}") from e
    if len(data) > MAX_TRUST_FILE:
        raise TrustFileError(f"{path}: larger than {MAX_TRUST_FILE} bytes; not a trust file")
    if data.startswith(b"\xef\xbb\xbf"):
        raise TrustFileError(f"{path}: starts with a byte order mark; save it as plain UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TrustFileError(f"{path}: not UTF-8 text ({e})") from e
    return parse_trust_text(text, str(path))


def _header(fields_: list[str], where: str, seen_entry: bool) -> None:
    if seen_entry:
        raise TrustFileError(f"{where}: '{HEADER}' may only be the first line")
    if len(fields_) != 2 or not fields_[1].isascii() or not fields_[1].isdecimal():
        raise TrustFileError(f"{where}: expected '{HEADER} {TRUST_VERSION}'")
    version = int(fields_[1])
    if version > TRUST_VERSION:
        raise UnsupportedFormatError(
            f"{where}: trust file format {version}, this evgw reads up to {TRUST_VERSION}: "
            "please update evgw"
        )
    if version != TRUST_VERSION:
        raise TrustFileError(f"{where}: unknown trust file format {version}")


def _check_subject(subject: str, where: str) -> None:
    name = subject.removeprefix(ARCHIVE_PREFIX)
    if not _SLUG.fullmatch(name) or name in (".", ".."):
        raise TrustFileError(
            f"{where}: {subject[:80]!r} is not a gateway id (1-64 characters of A-Z a-z 0-9 "
            f". _ -) nor '{ARCHIVE_PREFIX}<id>'"
        )
