"""Signed checkpoints: the RFC 6962 tree head over a stream's ledger lines.

A checkpoint uploaded or handed over elsewhere pins the ledger's first `size` records: a
rewritten history changes the root, a cut-off tail leaves fewer records than `size`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, fields, replace

from .errors import CryptoFormatError
from .records import canonical_json
from .signing import Signer, Verifier, verify_b64

CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    stream: str
    gateway: str
    size: int
    root: str
    time: str
    alg: str = ""
    key_id: str = ""
    sig: str = ""
    v: int = CHECKPOINT_VERSION

    def __post_init__(self) -> None:
        if self.v != CHECKPOINT_VERSION:
            raise CryptoFormatError(f"checkpoint version {self.v} is not supported")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 0:
            raise CryptoFormatError(f"checkpoint size must be >= 0, got {self.size!r}")
        if not all(
            isinstance(x, str)
            for x in (
                self.stream,
                self.gateway,
                self.root,
                self.time,
                self.alg,
                self.key_id,
                self.sig,
            )
        ):
            raise CryptoFormatError("checkpoint text fields must be strings")
        if len(self.root) != 64 or not all(c in "0123456789abcdef" for c in self.root):
            raise CryptoFormatError("checkpoint root must be 64 hex digits")

    def signed_part(self) -> bytes:
        body = asdict(self)
        del body["sig"]
        return canonical_json(body)

    def to_json(self) -> bytes:
        return canonical_json(asdict(self))

    def signed_by(self, signer: Signer) -> Checkpoint:
        unsigned = replace(self, alg=signer.alg, key_id=signer.key_id, sig="")
        sig = base64.b64encode(signer.sign(unsigned.signed_part())).decode()
        return replace(unsigned, sig=sig)

    def verify(self, verifier: Verifier) -> bool:
        return verify_b64(verifier, self.alg, self.key_id, self.signed_part(), self.sig)

    @classmethod
    def from_json(cls, data: bytes) -> Checkpoint:
        try:
            obj = json.loads(data)
            if not isinstance(obj, dict):
                raise TypeError("a checkpoint is a JSON object")
            unknown = set(obj) - {f.name for f in fields(cls)}
            if unknown:
                raise TypeError(f"unknown fields {sorted(unknown)}")
            return cls(**obj)
        except (ValueError, TypeError, RecursionError) as e:
            raise CryptoFormatError(f"not a valid checkpoint: {e}") from e
