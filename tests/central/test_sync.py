"""`archive sync` against a real SeaweedFS bucket filled by the real uploader: the attacks
first, then the clean and incremental runs. Every finding is read back from the catalogue."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL

from central.catalogue.db import Catalogue
from central.catalogue.schema import checkpoints
from central.config import load_central_config
from central.findings import (
    BAD_SIGNATURE,
    CHAIN_BREAK,
    DELETED,
    DUPLICATE_SEQ,
    FORK,
    MISSING_RECORD,
    MISSING_SEGMENT,
    ORPHAN_OBJECT,
    OVERSIZED,
    OVERWRITE,
    ROLLBACK,
    ROOT_MISMATCH,
    UNKNOWN_OBJECT,
    UNPARSABLE,
    UNTRUSTED_GATEWAY,
    VANISHED,
)
from central.sync.bucket import Bucket
from central.sync.checkpoints import ConsistentCheckpoint
from central.sync.service import ArchiveSync, SyncResult
from segments.checkpoint import Checkpoint
from segments.ledger import line_hash, sign
from segments.merkle import leaf_hash, root_from_leaf_hashes
from segments.records import Record
from segments.signing import Ed25519Signer, generate_signing_key
from segments.timeline import iso_utc
from testbeds.seaweedfs import SeaweedServer
from tests.central.boxes import SITE, T0, Box, central_toml
from tests.support.seaweed import raw_client, settings_for, unique_bucket
from uplink.object_keys import checkpoint_key, media_key, record_key
from uplink.objectstore import ObjectStore

pytestmark = pytest.mark.integration


class Archive:
    """The archive side of a test: its config, catalogue and a sync to run again and again."""

    def __init__(self, path: Path) -> None:
        self.config = load_central_config(path)
        self.catalogue = Catalogue.open(self.config.database)
        self.handed: list[ConsistentCheckpoint] = []

    def sync(self, gateway: str | None = None, *, audit: bool = False) -> SyncResult:
        bucket = Bucket(self.config.store)
        run = ArchiveSync(self.config, self.catalogue, bucket, on_consistent=self._hand_over)
        return run.run(None if gateway is None else [gateway], audit=audit)

    def _hand_over(self, found: Sequence[ConsistentCheckpoint]) -> None:
        self.handed += found

    def checkpoint_rows(self) -> list[Any]:
        with self.catalogue.transaction() as tx:
            return list(tx.c.execute(select(checkpoints).order_by(checkpoints.c.size)))


def kinds(result: SyncResult) -> list[tuple[str, str, int]]:
    return sorted((f.kind, f.stream, f.seq) for f, _ in result.findings)


@pytest.fixture
def rig(tmp_path: Path, seaweed: SeaweedServer, catalogue_url: URL) -> Iterator[Any]:
    """``rig(object_lock=True, boxes=("gw-1",), trusted=None (all), settle_s=0)``.

    Returns (boxes, archive, store): gateways with their own keys, the archive trusting the
    gateways named in `trusted`, and the bucket they upload to.
    """
    opened: list[Box] = []
    archives: list[Archive] = []

    def make(
        object_lock: bool = True,
        boxes: Sequence[str] = ("gw-1",),
        trusted: Sequence[str] | None = None,
        settle_s: float = 0.0,
        extra: str = "",
    ) -> tuple[list[Box], Archive, ObjectStore]:
        store = ObjectStore(settings_for(seaweed, unique_bucket()))
        store.ensure_bucket(object_lock=object_lock)
        made = [Box(tmp_path, gw) for gw in boxes]
        opened.extend(made)
        keys = {b.gateway: b.public_key for b in made if trusted is None or b.gateway in trusted}
        url = catalogue_url.render_as_string(hide_password=False)
        path = central_toml(
            tmp_path, seaweed.endpoint_url, store.settings.bucket, url, keys, settle_s, extra
        )
        archives.append(Archive(path))
        return made, archives[-1], store

    yield make
    for box in opened:
        box.close()
    for archive in archives:
        archive.catalogue.close()


def put(server: SeaweedServer, store: ObjectStore, key: str, body: bytes) -> None:
    raw_client(server).put_object(Bucket=store.settings.bucket, Key=key, Body=body)


def forged(box: Box, signer: Ed25519Signer, *, seq: int, prev: str | None = None) -> Record:
    """A record at `seq` chained after the box's last one (or to `prev`), signed by `signer`."""
    last = box.records[-1]
    draft = replace(last, seq=seq, start=iso_utc(T0 + 2 * seq), end=iso_utc(T0 + 2 * seq + 2),
                    file=None, kind="gap", reason="camera_offline", size_plain=None,
                    sha256_plain=None, size_cipher=None, sha256_cipher=None)  # fmt: skip
    chained = draft.with_chain(seq, prev or line_hash(last.to_json()), signer.alg, signer.key_id)
    return sign(chained, signer)


def record_object(box: Box, record: Record) -> str:
    assert record.start_ts is not None
    return record_key(SITE, box.gateway, box.stream, record.seq, record.start_ts)


# -- attacks ------------------------------------------------------------------------------


def test_an_overwritten_record_object_is_flagged(rig: Any, seaweed: SeaweedServer) -> None:
    (box,), archive, store = rig()
    box.record(4)
    box.upload(store)
    assert archive.sync().findings == []
    # A stolen box re-signs seq 2 with another location and writes it over the uploaded one.
    target = box.records[2]
    rewritten = sign(replace(target, location="别处", sig=""), box.signer)
    put(seaweed, store, record_object(box, target), rewritten.to_json())
    # Seq 2 is settled (records 3 and a checkpoint came after it): only an audit lists it.
    assert archive.sync().counts.new_versions == 0
    again = archive.sync(audit=True)
    assert kinds(again) == [(DUPLICATE_SEQ, "cam1", 2), (OVERWRITE, "cam1", -1)]
    overwrite = next(f for f, _ in again.findings if f.kind == OVERWRITE)
    assert overwrite.key == record_object(box, target) and "2 versions" in overwrite.detail
    assert (again.counts.new_versions, again.counts.fetched) == (1, 1)


def test_a_deleted_segment_object_is_missing(rig: Any, seaweed: SeaweedServer) -> None:
    (box,), archive, store = rig(object_lock=False)
    box.record(3)
    box.upload(store)
    record = box.records[1]
    assert record.start_ts is not None
    key = media_key(SITE, box.gateway, box.stream, record.seq, record.start_ts)
    raw_client(seaweed).delete_object(Bucket=store.settings.bucket, Key=key)
    result = archive.sync()
    assert kinds(result) == [(MISSING_SEGMENT, "cam1", 1)]
    assert result.findings[0][0].key == key


def test_evidence_deleted_for_good_after_cataloguing_has_vanished(
    rig: Any, seaweed: SeaweedServer
) -> None:
    (box,), archive, store = rig(object_lock=False)
    box.record(4)
    box.upload(store)
    assert archive.sync().findings == []
    record = box.records[2]
    assert record.start_ts is not None
    gone = [
        record_object(box, record),
        media_key(SITE, box.gateway, box.stream, record.seq, record.start_ts),
    ]
    for key in gone:
        raw_client(seaweed).delete_object(Bucket=store.settings.bucket, Key=key)
    result = archive.sync(audit=True)
    assert sorted((f.kind, f.key) for f, _ in result.findings) == [
        (VANISHED, k) for k in sorted(gone)
    ]
    assert archive.sync(audit=True).counts.new_findings == 0  # reported once, not again


def test_a_deleted_record_object_is_missing_from_its_checkpoint(
    rig: Any, seaweed: SeaweedServer
) -> None:
    (box,), archive, store = rig(object_lock=False)
    box.record(4)
    box.upload(store)
    key = record_object(box, box.records[1])
    raw_client(seaweed).delete_object(Bucket=store.settings.bucket, Key=key)
    result = archive.sync()
    assert kinds(result) == [(MISSING_RECORD, "cam1", 1), (ORPHAN_OBJECT, "", -1)]
    assert result.counts.pending_checkpoints == 1


def test_a_segment_purged_before_upload_is_declared_not_missing(rig: Any) -> None:
    (box,), archive, store = rig()
    first, second, _ = box.record(3)
    box.purge_before_upload(first)
    box.purge_before_upload(second, sha256_cipher="ab" * 32)
    box.upload(store)
    result = archive.sync()
    assert kinds(result) == [(MISSING_SEGMENT, "cam1", 1)]
    assert "purge record 4 names it with another SHA-256/size" in result.findings[0][0].detail
    assert result.counts.purged_segments == 1


def test_a_delete_marker_on_evidence_is_reported(rig: Any, seaweed: SeaweedServer) -> None:
    (box,), archive, store = rig()
    box.record(2)
    box.upload(store)
    key = record_object(box, box.records[0])
    raw_client(seaweed).delete_object(Bucket=store.settings.bucket, Key=key)
    result = archive.sync()
    assert kinds(result) == [(DELETED, "cam1", -1)]
    assert result.counts.records == 2  # the version under the marker is still evidence


def test_records_signed_by_another_key_or_off_the_chain(
    rig: Any, seaweed: SeaweedServer, tmp_path: Path
) -> None:
    (box,), archive, store = rig()
    box.record(4)
    box.upload(store)
    thief = generate_signing_key(tmp_path / "thief.ed25519")
    alien = forged(box, thief, seq=4)
    put(seaweed, store, record_object(box, alien), alien.to_json())
    broken = forged(box, box.signer, seq=5, prev="ab" * 32)
    put(seaweed, store, record_object(box, broken), broken.to_json())
    result = archive.sync()
    assert kinds(result) == [(BAD_SIGNATURE, "cam1", 4)]
    # seq 5 is validly signed but its neighbour 4 was refused: no chain to judge yet.
    assert result.counts.records == 5
    honest = forged(box, box.signer, seq=4)
    broken_next = forged(box, box.signer, seq=6, prev="cd" * 32)
    put(seaweed, store, record_object(box, broken_next), broken_next.to_json())
    put(seaweed, store, record_object(box, honest), honest.to_json())
    later = archive.sync()
    assert (CHAIN_BREAK, "cam1", 5) in kinds(later) and (CHAIN_BREAK, "cam1", 6) in kinds(later)


def test_an_untrusted_gateway_is_reported_and_nothing_of_it_read(rig: Any) -> None:
    (ours, stranger), archive, store = rig(boxes=("gw-1", "gw-2"), trusted=("gw-1",))
    for box in (ours, stranger):
        box.record(2)
        box.upload(store)
    result = archive.sync()
    assert [(f.kind, f.gateway) for f, _ in result.findings] == [(UNTRUSTED_GATEWAY, "gw-2")]
    assert result.counts.records == 2 and result.counts.fetched == 2


def test_a_fork_and_a_rollback_signed_with_the_device_key(rig: Any, seaweed: SeaweedServer) -> None:
    (box,), archive, store = rig()
    box.record(8)
    box.upload(store)
    assert archive.sync().findings == []
    # Whoever holds the device key signs another tree of size 4, and later a size-2 head.
    other_root = "11" * 32
    fork = Checkpoint(box.stream, box.gateway, 4, other_root, iso_utc(T0 + 100)).signed_by(
        box.signer
    )
    put(seaweed, store, checkpoint_key(SITE, box.gateway, box.stream, 4), fork.to_json())
    cut = Checkpoint(box.stream, box.gateway, 2, box_root(box, 2), iso_utc(T0 + 10**6))
    put(
        seaweed,
        store,
        checkpoint_key(SITE, box.gateway, box.stream, 2),
        cut.signed_by(box.signer).to_json(),
    )
    result = archive.sync(audit=True)  # both below the newest checkpoint: the audit's
    found = kinds(result)
    assert (FORK, "cam1", 4) in found and (ROOT_MISMATCH, "cam1", 4) in found
    assert (ROLLBACK, "cam1", 2) in found and (OVERWRITE, "cam1", -1) in found


def box_root(box: Box, size: int) -> str:
    return root_from_leaf_hashes([leaf_hash(r.to_json()) for r in box.records[:size]]).hex()


def test_hostile_objects_are_findings_not_crashes(rig: Any, seaweed: SeaweedServer) -> None:
    (box,), archive, store = rig()
    box.record(1)
    box.upload(store)
    base = f"{SITE}/{box.gateway}/{box.stream}"
    hostile = {
        f"{base}/2027/01/15/00000007_20270115T080000Z.json": b'{"v": 1, "seq": ',
        f"{base}/2027/01/15/00000008_20270115T080002Z.json": b"\xff\xfe" * 50,
        f"{base}/2027/01/15/00000009_20270115T080004Z.json": b"[" * 5000 + b"]" * 5000,
        f"{base}/checkpoints/00000009.json": b" " * (200 * 1024),
        f"{base}/notes.txt": b"hello",
        f"{base}/2027/01/15/00000010_20270115T080006Z.mp4.age": b"age?",
    }
    for key, body in hostile.items():
        put(seaweed, store, key, body)
    result = archive.sync()
    assert kinds(result) == [
        (ORPHAN_OBJECT, "", -1),
        (OVERSIZED, "cam1", 9),
        (UNKNOWN_OBJECT, "", -1),
        (UNPARSABLE, "cam1", 7),
        (UNPARSABLE, "cam1", 8),
        (UNPARSABLE, "cam1", 9),
    ]
    assert result.counts.fetched == 1 + 3  # the box's record and 3 garbage: the huge one unread


# -- the normal runs ----------------------------------------------------------------------


def test_clean_sync_then_nothing_then_only_the_new_minute(rig: Any) -> None:
    (box,), archive, store = rig()
    box.record(6)
    box.ledger.checkpoint()
    box.upload(store)
    first = archive.sync()
    assert first.findings == []
    c = first.counts
    assert (c.records, c.checkpoints, c.consistent, c.fetched) == (6, 2, 2, 8)
    assert (c.new_versions, c.pending_checkpoints, c.waiting_segments) == (14, 0, 0)
    assert [(h.size, h.stream) for h in archive.handed] == [(4, "cam1"), (6, "cam1")]
    rows = archive.checkpoint_rows()
    assert [(r.size, r.state, r.consistent_with, r.signature_ok) for r in rows] == [
        (4, "consistent", 0, True),
        (6, "consistent", 4, True),
    ]
    second = archive.sync()
    c = second.counts  # listed from the newest record (2 objects) and checkpoint (1)
    assert (c.listed, c.new_versions, c.fetched, c.records, c.checkpoints) == (3, 0, 0, 0, 0)
    assert (first.counts.audited, c.audited) == (1, 0)
    assert second.findings == [] and second.consistent == []
    box.record(2)
    box.ledger.checkpoint()
    box.upload(store)
    third = archive.sync()
    c = third.counts
    assert (c.new_versions, c.fetched, c.records, c.checkpoints) == (5, 3, 2, 1)
    assert [(h.size) for h in third.consistent] == [8]
    assert archive.checkpoint_rows()[-1].consistent_with == 6


def test_a_record_waits_for_its_segment_until_settle_s(rig: Any, seaweed: SeaweedServer) -> None:
    (box,), archive, store = rig(object_lock=False, settle_s=3600)
    box.record(2)
    box.upload(store)
    record = box.records[1]
    assert record.start_ts is not None
    key = media_key(SITE, box.gateway, box.stream, record.seq, record.start_ts)
    segment = raw_client(seaweed).get_object(Bucket=store.settings.bucket, Key=key)["Body"].read()
    raw_client(seaweed).delete_object(Bucket=store.settings.bucket, Key=key)
    waiting = archive.sync()
    assert waiting.findings == [] and waiting.counts.waiting_segments == 1
    put(seaweed, store, key, segment)
    arrived = archive.sync()
    assert arrived.findings == [] and arrived.counts.waiting_segments == 0


def test_a_tampered_segment_object_differs_from_its_record(
    rig: Any, seaweed: SeaweedServer
) -> None:
    (box,), archive, store = rig(object_lock=False)
    box.record(1)
    box.upload(store)
    record = box.records[0]
    assert record.start_ts is not None and record.size_cipher is not None
    key = media_key(SITE, box.gateway, box.stream, record.seq, record.start_ts)
    body = bytes(record.size_cipher)
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    raw_client(seaweed).put_object(
        Bucket=store.settings.bucket, Key=key, Body=body, ChecksumSHA256=digest
    )
    result = archive.sync()
    assert [(f.kind, f.seq) for f, _ in result.findings] == [("segment_mismatch", 0)]
    assert "SHA-256" in result.findings[0][0].detail
