"""Gateways for archive tests: real sealed segments, signed records and checkpoints, uploaded
by the real uploader into a real SeaweedFS bucket, and the archive config that reads it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from segments.agekeys import generate_identity, parse_recipient
from segments.index import Index
from segments.index_rows import PURGED
from segments.ledger import Ledger
from segments.records import Record
from segments.signing import Ed25519Signer, generate_signing_key
from segments.store import StreamStore
from segments.timeline import iso_utc
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY
from tests.support.waiting import wait_until
from uplink.objectstore import ObjectStore
from uplink.uploader import RetryPolicy, Uploader

SITE = "测试检查站"
T0 = 1_800_000_000.0
FAST = RetryPolicy(item_initial_s=0.2, item_cap_s=1.0, store_initial_s=0.3, idle_s=0.05)


@dataclass
class Box:
    """One gateway recording one camera: seals, signs and chains, checkpoints every 4 records."""

    root: Path
    gateway: str = "gw-1"
    stream: str = "cam1"
    records: list[Record] = field(default_factory=list)

    def __post_init__(self) -> None:
        home = self.root / self.gateway
        self.data_dir = home / "data"
        self.index = Index.open(self.data_dir / "index.sqlite")
        self.signer: Ed25519Signer = generate_signing_key(home / "device.ed25519")
        self.recipients = (parse_recipient(generate_identity()[1]),)
        self.files = StreamStore(self.data_dir, self.stream)
        self.ledger = Ledger.open(
            self.files.root, self.stream, self.gateway, self.signer, every_records=4,
            on_checkpoint=self.index.add_checkpoint,
        )  # fmt: skip

    @property
    def public_key(self) -> str:
        return self.signer.public_key_text()

    def record(self, n: int) -> list[Record]:
        """`n` more 2-second segments, each sealed with a few KiB of random payload."""
        return [self._segment(T0 + 2 * len(self.records)) for _ in range(n)]

    def purge_before_upload(self, record: Record, sha256_cipher: str | None = None) -> Record:
        """Evict `record`'s segment before it was uploaded, as a full ring buffer does: the
        upload is dropped, the file deleted, a signed `purge` record names it (by its own
        hash, or by `sha256_cipher` to forge the declaration)."""
        (row,) = [r for r in self.index.local_segments() if r.seq == record.seq]
        self.index.mark_removed(row, PURGED)
        assert record.file is not None
        (self.files.root / record.file).unlink()
        extra = {
            "seq": record.seq,
            "file": record.file,
            "sha256_cipher": sha256_cipher or record.sha256_cipher,
            "size_cipher": record.size_cipher,
        }
        start = T0 + 2 * len(self.records)
        draft = replace(self._draft(start), kind="purge", reason="evicted_unuploaded", extra=extra)
        purge = self.ledger.append(draft)
        self.index.add_record(purge)
        self.records.append(purge)
        return purge

    def upload(self, store: ObjectStore) -> None:
        """Upload everything queued with the real uploader, until the store confirmed it all."""
        up = Uploader(self.index, store, self.data_dir, SITE, self.gateway, 1, policy=FAST)
        up.start()
        try:
            wait_until("uploads confirmed", lambda: self.index.backlog().count == 0)
        finally:
            up.stop()

    def close(self) -> None:
        self.index.close()

    def _segment(self, start: float) -> Record:
        seg = self.files.open_segment(start, self.recipients)
        seg.sink.write(os.urandom(4096))

        def make(seq: int) -> Record:
            sealed = seg.seal(self.files.final_path(seq, start))
            return replace(
                self._draft(start),
                file=self.files.relative(sealed.path),
                size_plain=sealed.size_plain,
                sha256_plain=sealed.sha256_plain,
                size_cipher=sealed.size_cipher,
                sha256_cipher=sealed.sha256_cipher,
            )

        record = self.ledger.append_numbered(make)
        self.index.add_record(record)
        self.records.append(record)
        return record

    def _draft(self, start: float) -> Record:
        return Record(
            stream=self.stream, seq=0, kind="segment", start=iso_utc(start),
            end=iso_utc(start + 2), duration_s=2.0, gateway=self.gateway, site=SITE,
            location="测试检查站 一号卡口", camera=self.stream, camera_name="一号", boot_id="b1",
        )  # fmt: skip


def central_toml(
    folder: Path,
    endpoint_url: str,
    bucket: str,
    database: str,
    keys: dict[str, str],
    settle_s: float = 0.0,
    extra: str = "",
    keys_dir: Path | None = None,
    workers: int | None = None,
) -> Path:
    """An archive configuration for the test bucket (the test credentials), trusting `keys`
    (gateway -> key text) and the `<gateway>.pub` files in `keys_dir`, reading with `workers`
    parallel requests (the default when None)."""
    (folder / "s3.key").write_text(ACCESS_KEY + "\n")
    (folder / "s3.secret").write_text(SECRET_KEY + "\n")
    trusted = ", ".join(f'"{gw}" = "{key}"' for gw, key in keys.items())
    text = f"""
[store]
endpoint_url = "{endpoint_url}"
bucket = "{bucket}"
access_key_file = "s3.key"
secret_key_file = "s3.secret"
{f"workers = {workers}" if workers else ""}
[archive]
id = "hq"
identity_file = "archive.agekey"
settle_s = {settle_s}
[trust]
keys = {{ {trusted} }}
{f'keys_dir = "{keys_dir}"' if keys_dir else ""}
[database]
url = "{database}"
{extra}"""
    path = folder / "central.toml"
    path.write_text(text, encoding="utf-8")
    return path
