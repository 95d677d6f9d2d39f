"""A small sealed stream written like the recorder writes one, with fake media payloads.

Shared by the verifier's, the package check's and the light-import tests.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from segments.age_writer import AgeWriter
from segments.agekeys import X25519Identity
from segments.hashing import hash_file
from segments.ledger import LEDGER_NAME, Ledger
from segments.records import Record
from segments.signing import Ed25519Signer
from segments.store import DataDir
from segments.timeline import iso_utc

T0 = 1_795_759_200.0  # 2026-11-27T06:00:00Z
SEG_S = 10.0
IDENTITY = X25519Identity(bytes(range(1, 33)))
SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())


class Stream:
    """Writes a small sealed stream like the recorder does, with fake media payloads."""

    def __init__(self, data_dir: Path, signer: Ed25519Signer = SIGNER, every: int = 4) -> None:
        self.root = DataDir(data_dir).stream("cam1")
        self.ledger = Ledger.open(self.root, "cam1", "gw1", signer, every_records=every)
        self.t = T0

    def draft(self, kind: str, start: float, end: float | None, **fields: object) -> Record:
        return Record(
            stream="cam1",
            seq=0,
            kind=kind,
            start=iso_utc(start),
            end=None if end is None else iso_utc(end),
            duration_s=None if end is None else round(end - start, 6),
            gateway="gw1",
            site="s1",
            location="gate 1",
            camera="cam1",
            camera_name="Gate camera",
            boot_id="b1",
            **fields,  # type: ignore[arg-type]
        )

    def start(self, signer: Ed25519Signer = SIGNER) -> None:
        self.ledger.append(
            replace(self.draft("key", self.t, None), extra={"public_key": signer.public_key_text()})
        )
        self.ledger.append(self.draft("boot", self.t, self.t, reason="operator_stop"))

    def segment(
        self,
        payload: bytes | None = None,
        *,
        sha256_plain: str | None = None,
        extra: dict[str, object] | None = None,
    ) -> Record:
        start, self.t = self.t, self.t + SEG_S
        data = payload if payload is not None else os.urandom(3000) + start.hex().encode()

        def make(seq: int) -> Record:
            path = self.root / "2026" / "11" / "27" / f"{seq:08d}_x.mp4.age"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as f, AgeWriter(f, [IDENTITY.recipient()]) as w:
                w.write(data)
            stats = w.stats
            return self.draft(
                "segment",
                start,
                self.t,
                file=path.relative_to(self.root).as_posix(),
                size_plain=stats.plaintext_size,
                sha256_plain=sha256_plain or stats.plaintext_sha256,
                size_cipher=stats.ciphertext_size,
                sha256_cipher=stats.ciphertext_sha256,
                extra=extra or {},
            )

        return self.ledger.append_numbered(make)

    def truncated(self) -> Record:
        start, self.t = self.t, self.t + 3

        def make(seq: int) -> Record:
            path = self.root / "2026" / "11" / "27" / f"{seq:08d}_x.mp4.age"
            with open(path, "wb") as f:
                w = AgeWriter(f, [IDENTITY.recipient()])
                w.write(os.urandom(200_000))
                w.abort()
            size, sha = hash_file(path)
            return self.draft(
                "truncated",
                start,
                self.t,
                reason="power_loss",
                file=path.relative_to(self.root).as_posix(),
                size_cipher=size,
                sha256_cipher=sha,
            )

        return self.ledger.append_numbered(make)

    def gap(self, seconds: float, reason: str = "camera_offline") -> Record:
        start, self.t = self.t, self.t + seconds
        return self.ledger.append(self.draft("gap", start, self.t, reason=reason))

    def lines(self) -> list[bytes]:
        return (self.root / LEDGER_NAME).read_bytes().splitlines()

    def write_lines(self, lines: list[bytes]) -> None:
        (self.root / LEDGER_NAME).write_bytes(b"".join(line + b"\n" for line in lines))

    def file(self, record: Record) -> Path:
        assert record.file is not None
        return self.root / record.file
