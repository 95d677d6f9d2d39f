"""The signed statement of a case package: `SIGNATURE.json`, format version 1.

    {"version": 1, "statement": {...}, "sig": "<base64 signature>"}

The signature covers the canonical JSON (sorted keys, UTF-8, no spaces) of `statement`:

    type             "evgw/package-statement": keeps these apart from record signatures
    signer           {"kind": "gateway", "id": <gateway id>} for a box export (device key),
                     {"kind": "archive", "id": <archive id>} for the central archive's
    alg, key_id      the signing key
    package_version  the package format the statement is about
    manifest_sha256  SHA-256 of MANIFEST.sha256, which lists every other file's SHA-256
    labels           gateway, camera, case, from, to, operator, created (as in report.json)
    derived          the derived MP4: file, sha256, source_seqs, method, note

Signing the manifest signs every file of the package. The labels and the derived copy's
statement are repeated so an expert reads what was signed without trusting `report.json`,
and can re-derive the copy (same seqs, same method, same note) and compare hashes.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CryptoFormatError, UnsupportedFormatError
from .records import canonical_json
from .signing import Signer, Verifier, verify_b64

SIGNATURE_NAME = "SIGNATURE.json"
SIGNATURE_VERSION = 1
STATEMENT_TYPE = "evgw/package-statement"
SIGNER_GATEWAY, SIGNER_ARCHIVE = "gateway", "archive"
REMUX_METHOD = "remux, no re-encoding"
MAX_SIGNATURE_BYTES = 1 << 20
LABELS = ("gateway", "camera", "case", "from", "to", "operator", "created")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_TEXT = 1024


@dataclass(frozen=True)
class SignerId:
    """Who signed: a gateway with its device key, or the central archive with its export key."""

    kind: str
    id: str

    def __post_init__(self) -> None:
        if self.kind not in (SIGNER_GATEWAY, SIGNER_ARCHIVE):
            raise CryptoFormatError(f"signer kind {_short(self.kind)} is not gateway or archive")
        _text(self.id, "signer id")


@dataclass(frozen=True)
class DerivedCopy:
    """How the derived MP4 was made: from which sealed segments, by which method."""

    file: str
    sha256: str
    source_seqs: tuple[int, ...]
    method: str
    note: str  # the comment written into the MP4, so a re-derivation writes the same

    def __post_init__(self) -> None:
        for name in ("file", "method", "note"):
            _text(getattr(self, name), f"derived {name}")
        _hex(self.sha256, "derived sha256")
        if not self.source_seqs or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in self.source_seqs
        ):
            raise CryptoFormatError("derived source_seqs must be a list of seqs (integers >= 0)")


@dataclass(frozen=True)
class PackageStatement:
    """What the signer vouches for; `labels` maps each name of LABELS to its text."""

    signer: SignerId
    alg: str
    key_id: str
    package_version: int
    manifest_sha256: str
    labels: Mapping[str, str]
    derived: DerivedCopy

    def __post_init__(self) -> None:
        _text(self.alg, "alg")
        _text(self.key_id, "key_id")
        if not isinstance(self.package_version, int) or isinstance(self.package_version, bool):
            raise CryptoFormatError("package_version must be an integer")
        _hex(self.manifest_sha256, "manifest_sha256")
        if not isinstance(self.labels, Mapping) or set(self.labels) != set(LABELS):
            raise CryptoFormatError(f"labels must be exactly {', '.join(LABELS)}")
        for name in LABELS:
            _text(self.labels[name], f"label {name}")

    def to_dict(self) -> dict[str, Any]:
        d = self.derived
        return {
            "type": STATEMENT_TYPE,
            "signer": {"kind": self.signer.kind, "id": self.signer.id},
            "alg": self.alg,
            "key_id": self.key_id,
            "package_version": self.package_version,
            "manifest_sha256": self.manifest_sha256,
            "labels": {name: self.labels[name] for name in LABELS},
            "derived": {
                "file": d.file,
                "sha256": d.sha256,
                "source_seqs": list(d.source_seqs),
                "method": d.method,
                "note": d.note,
            },
        }

    def signed_bytes(self) -> bytes:
        return canonical_json(self.to_dict())

    @classmethod
    def from_dict(cls, obj: object) -> PackageStatement:
        body = _exact(obj, "statement", {"type", "signer", "alg", "key_id", "package_version",
                                         "manifest_sha256", "labels", "derived"})  # fmt: skip
        if body["type"] != STATEMENT_TYPE:
            raise CryptoFormatError(
                f"statement type {_short(body['type'])} is not {STATEMENT_TYPE}"
            )
        signer = _exact(body["signer"], "signer", {"kind", "id"})
        derived = _exact(
            body["derived"], "derived", {"file", "sha256", "source_seqs", "method", "note"}
        )
        seqs = derived["source_seqs"]
        if not isinstance(seqs, list):
            raise CryptoFormatError("derived source_seqs must be a list")
        return cls(
            signer=SignerId(signer["kind"], signer["id"]),
            alg=body["alg"],
            key_id=body["key_id"],
            package_version=body["package_version"],
            manifest_sha256=body["manifest_sha256"],
            labels=_exact(body["labels"], "labels", set(LABELS)),
            derived=DerivedCopy(
                derived["file"], derived["sha256"], tuple(seqs), derived["method"], derived["note"]
            ),
        )


@dataclass(frozen=True)
class PackageSignature:
    """A statement and its signature, as `SIGNATURE.json` holds them."""

    statement: PackageStatement
    sig: str

    @classmethod
    def sign(cls, statement: PackageStatement, signer: Signer) -> PackageSignature:
        if (statement.alg, statement.key_id) != (signer.alg, signer.key_id):
            raise ValueError("the statement names another key than the signer's")
        sig = signer.sign(statement.signed_bytes())
        return cls(statement, base64.b64encode(sig).decode("ascii"))

    def verify(self, verifier: Verifier) -> bool:
        st = self.statement
        return verify_b64(verifier, st.alg, st.key_id, st.signed_bytes(), self.sig)

    def to_json(self) -> bytes:
        doc = {"version": SIGNATURE_VERSION, "statement": self.statement.to_dict(), "sig": self.sig}
        return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True).encode() + b"\n"

    @classmethod
    def parse(cls, data: bytes) -> PackageSignature:
        """Raises UnsupportedFormatError for a newer version, CryptoFormatError for any other
        defect."""
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError) as e:
            raise CryptoFormatError(f"{SIGNATURE_NAME} is not JSON: {e}") from e
        if not isinstance(obj, dict):
            raise CryptoFormatError(f"{SIGNATURE_NAME} is not a JSON object")
        version = obj.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise CryptoFormatError(f"{SIGNATURE_NAME} names no valid version ({_short(version)})")
        if version > SIGNATURE_VERSION:
            raise UnsupportedFormatError(
                f"{SIGNATURE_NAME} has version {version}, this evgw reads up to "
                f"{SIGNATURE_VERSION}: it was written by a newer evgw; please update evgw"
            )
        body = _exact(obj, SIGNATURE_NAME, {"version", "statement", "sig"})
        try:
            statement = PackageStatement.from_dict(body["statement"])
        except (TypeError, ValueError, KeyError) as e:
            raise CryptoFormatError(f"{SIGNATURE_NAME}: not a valid statement: {e}") from e
        _text(body["sig"], "sig")
        return cls(statement, body["sig"])


def read_signature(root: Path) -> PackageSignature:
    """`root/SIGNATURE.json`, parsed; CryptoFormatError when absent or unreadable."""
    try:
        with open(root / SIGNATURE_NAME, "rb") as f:
            data = f.read(MAX_SIGNATURE_BYTES + 1)
    except OSError as e:
        raise CryptoFormatError(f"{SIGNATURE_NAME} is absent or unreadable ({e.strerror})") from e
    if len(data) > MAX_SIGNATURE_BYTES:
        raise CryptoFormatError(f"{SIGNATURE_NAME} is larger than {MAX_SIGNATURE_BYTES} bytes")
    return PackageSignature.parse(data)


def _exact(obj: object, what: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise CryptoFormatError(f"{what} must be a JSON object")
    if set(obj) != keys:
        extra, missing = sorted(set(obj) - keys), sorted(keys - set(obj))
        raise CryptoFormatError(
            f"{what}: unknown fields {[_short(k) for k in extra]}, missing {missing}"
        )
    return obj


def _text(value: object, what: str) -> None:
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
        raise CryptoFormatError(f"{what} must be a non-empty string of at most {_MAX_TEXT}")


def _hex(value: object, what: str) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise CryptoFormatError(f"{what} must be 64 lowercase hex digits")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
