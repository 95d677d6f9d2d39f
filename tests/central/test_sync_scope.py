"""Sync lists each stream only from its oldest unsettled object; the audit lists the rest.

What the resume points are (from catalogue rows), which ranges they make, and, against the
real store, that what arrives out of order above them is still caught without an audit and
that the audit falls due by itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import URL

from central.catalogue.companions import add_token as add_token_row
from central.catalogue.db import Catalogue, Tx
from central.catalogue.resume import ResumePoint, resume_points, stem
from central.catalogue.schema import checkpoints, records
from central.sync import bucket as bucket_module
from central.sync.bucket import Bucket
from central.sync.scope import Range, resumed
from central.sync.service import ArchiveSync
from testbeds.seaweedfs import SeaweedServer
from tests.central.boxes import SITE
from tests.central.test_sync import record_object, rig  # noqa: F401  (the rig fixture)
from tests.support.seaweed import raw_client, settings_for, unique_bucket
from uplink.object_keys import media_key
from uplink.objectstore import ObjectStore

NOW = 2_000_000_000.0
RECENT = NOW - 3600
CAM = "s/gw-1/cam1/"


def key(seq: int, day: str = "2027/01/15") -> str:
    return f"{CAM}{day}/{seq:08d}_20270115T080000Z.json"


def add_record(tx: Tx, seq: int, uploaded_at: float, media: str = "ok", day: str = "") -> None:
    tx.c.execute(records.insert().values(
        gateway="gw-1", stream="cam1", seq=seq, kind="segment", leaf_hash="00" * 32,
        record_hash="11" * 32, prev="22" * 32, object_key=key(seq, day or "2027/01/15"),
        version_id="v", uploaded_at=uploaded_at, media_state=media,
    ))  # fmt: skip


def add_checkpoint(tx: Tx, size: int, uploaded_at: float, state: str = "consistent") -> None:
    tx.c.execute(checkpoints.insert().values(
        gateway="gw-1", stream="cam1", size=size, root="33" * 32, time="t", time_ts=0.0,
        object_key=f"{CAM}checkpoints/{size:08d}.json", version_id="v",
        uploaded_at=uploaded_at, signature_ok=True, state=state,
    ))  # fmt: skip


def add_token(tx: Tx, size: int) -> None:
    add_token_row(tx, gateway="gw-1", stream="cam1", size=size, version_id="v", token=b"t",
        object_key=f"{CAM}checkpoints/{size:08d}.tsr")  # fmt: skip


@pytest.fixture
def catalogue(catalogue_url: URL) -> Any:
    opened = Catalogue.open(catalogue_url)
    yield opened
    opened.close()


def points_after(catalogue: Catalogue, fill: Callable[[Tx], None]) -> ResumePoint:
    with catalogue.transaction() as tx:
        fill(tx)
        return resume_points(tx, "gw-1", RECENT)["cam1"]


# -- resume points --------------------------------------------------------------------------


def test_a_settled_stream_resumes_at_its_newest_record_and_checkpoint(catalogue: Any) -> None:
    def fill(tx: Tx) -> None:
        for seq in range(12):
            add_record(
                tx, seq, RECENT - 10 if seq < 6 else NOW, day="2027/01/14" if seq < 6 else ""
            )
        add_checkpoint(tx, 5, RECENT - 10)
        add_checkpoint(tx, 10, NOW)

    assert points_after(catalogue, fill) == ResumePoint(stem(key(11)), 10)
    assert stem(key(11)) == f"{CAM}2027/01/15/00000011"


def test_a_recent_hole_a_waiting_segment_and_a_pending_checkpoint_hold_the_point_back(
    catalogue: Any,
) -> None:
    def fill(tx: Tx) -> None:
        for seq in (0, 1, 2, 3, 5, 6):  # 4 not arrived yet; 0-3 uploaded long ago
            add_record(
                tx, seq, RECENT - 10 if seq < 4 else NOW, day="2027/01/14" if seq < 3 else ""
            )
        add_checkpoint(tx, 4, RECENT - 10)
        add_checkpoint(tx, 6, NOW, state="pending")
        add_checkpoint(tx, 8, NOW, state="pending")

    # the hole: listed again from the record below it, wherever its day folder is
    assert points_after(catalogue, fill) == ResumePoint(stem(key(3)), 6)

    def waiting(tx: Tx) -> None:
        for seq in range(4):  # 1 still waits for its segment object
            media = "pending" if seq == 1 else "ok"
            add_record(tx, seq, RECENT - 999, media=media, day="2027/01/14")
        add_record(tx, 4, NOW)

    with catalogue.transaction() as tx:
        tx.c.execute(records.delete())
        tx.c.execute(checkpoints.delete())
    assert points_after(catalogue, waiting).records_from == stem(key(1, "2027/01/14"))


def test_an_old_hole_is_left_to_the_audit(catalogue: Any) -> None:
    def fill(tx: Tx) -> None:
        for seq in (0, 1, 3, 4):  # 2 never came, and 3 was uploaded before the recent window
            add_record(tx, seq, RECENT - 10 if seq < 4 else NOW)

    assert points_after(catalogue, fill).records_from == stem(key(4))


def test_tokens_hold_the_checkpoint_point_back_only_where_the_gateway_sends_them(
    catalogue: Any,
) -> None:
    def untokened(tx: Tx) -> None:
        for size in (10, 20, 30):
            add_checkpoint(tx, size, NOW)

    assert points_after(catalogue, untokened).checkpoints_from == 30

    def tokened(tx: Tx) -> None:
        add_token(tx, 10)  # 20's token is late (the TSA was away): list from 20
        add_token(tx, 30)

    assert points_after(catalogue, tokened).checkpoints_from == 20


# -- ranges ---------------------------------------------------------------------------------


def test_known_streams_get_two_ranges_and_new_ones_their_whole_folder() -> None:
    folders = ["s/gw-1/cam1/", "s/gw-1/cam2/", "s/gw-1/new/"]
    points = {
        "cam1": ResumePoint(f"{CAM}2027/01/15/00000011", 10),
        "cam2": ResumePoint(None, None),
    }
    assert resumed("s/gw-1/", folders, points) == [
        Range(CAM, f"{CAM}2027/01/15/00000011", f"{CAM}checkpoints/"),
        Range(f"{CAM}checkpoints/", f"{CAM}checkpoints/00000010"),
        Range("s/gw-1/cam2/", None, "s/gw-1/cam2/checkpoints/"),
        Range("s/gw-1/cam2/checkpoints/", None),
        Range("s/gw-1/new/"),
    ]


# -- against the store ----------------------------------------------------------------------


def test_a_record_arriving_late_into_a_hole_is_caught_without_an_audit(
    rig: Any,  # noqa: F811
    seaweed: SeaweedServer,
) -> None:
    (box,), archive, store = rig(object_lock=False, settle_s=3600.0)
    box.record(9)  # checkpoints at 4 and 8
    box.upload(store)
    s3, bucket = raw_client(seaweed), store.settings.bucket
    late = record_object(box, box.records[6])
    body = s3.get_object(Bucket=bucket, Key=late)["Body"].read()
    s3.delete_object(Bucket=bucket, Key=late)
    first = archive.sync()
    assert first.counts.audited == 1 and first.counts.pending_checkpoints == 1
    s3.put_object(Bucket=bucket, Key=late, Body=body)
    second = archive.sync()
    c = second.counts
    assert (c.audited, c.records, c.pending_checkpoints) == (0, 1, 0)
    assert [cp.size for cp in second.consistent] == [8] and second.findings == []
    assert c.listed < first.counts.listed


def test_a_segment_arriving_after_newer_records_is_paired_without_an_audit(
    rig: Any,  # noqa: F811
    seaweed: SeaweedServer,
) -> None:
    (box,), archive, store = rig(object_lock=False, settle_s=3600.0)
    box.record(3)
    box.upload(store)
    s3, bucket = raw_client(seaweed), store.settings.bucket
    first = box.records[1]
    segment = media_key(SITE, box.gateway, box.stream, first.seq, first.start_ts or 0)
    body = s3.get_object(Bucket=bucket, Key=segment)["Body"].read()
    s3.delete_object(Bucket=bucket, Key=segment)
    assert archive.sync().counts.waiting_segments == 1
    box.record(6)
    box.upload(store)
    assert archive.sync().counts.waiting_segments == 1
    s3.put_object(Bucket=bucket, Key=segment, Body=body, ChecksumAlgorithm="SHA256")
    third = archive.sync()
    assert (third.counts.audited, third.counts.waiting_segments) == (0, 0)
    assert third.findings == []


def test_the_audit_falls_due_after_audit_interval_h(rig: Any) -> None:  # noqa: F811
    (box,), archive, store = rig()
    box.record(2)
    box.upload(store)
    assert archive.sync().counts.audited == 1

    def sync_at(later_h: float) -> int:
        run = ArchiveSync(archive.config, archive.catalogue, Bucket(archive.config.store),
                          clock=lambda: time.time() + later_h * 3600)  # fmt: skip
        return run.run().counts.audited

    assert sync_at(23) == 0
    assert sync_at(24.1) == 1
    assert sync_at(24.2) == 0  # the last audit is now "24.1 h from now"


def test_listing_pages_through_versions_and_stops_at_the_bound(
    seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small pages, a key with two versions split across pages: every version once, in
    order; a bounded listing starts after its marker and ends before its bound."""
    monkeypatch.setattr(bucket_module, "PAGE", 3)
    monkeypatch.setattr(bucket_module, "BOUNDED_FIRST_PAGE", 2)
    store = ObjectStore(settings_for(seaweed, unique_bucket()))
    store.ensure_bucket(object_lock=True)
    s3 = raw_client(seaweed)
    keys = [f"{CAM}2027/01/15/{seq:08d}_x.json" for seq in range(6)]
    keys += [f"{CAM}checkpoints/{size:08d}.json" for size in (2, 4)]
    for key in keys:
        s3.put_object(Bucket=store.settings.bucket, Key=key, Body=b"1")
    s3.put_object(Bucket=store.settings.bucket, Key=keys[2], Body=b"2")
    bucket = Bucket(store.settings)
    listed = [v.key for page in bucket.versions(CAM) for v in page]
    assert sorted(listed) == sorted([*keys, keys[2]]) and len(listed) == 9
    bounded = bucket.versions(CAM, stem(keys[3]), f"{CAM}checkpoints/")
    assert [v.key for page in bounded for v in page] == keys[3:6]
    tail = bucket.versions(f"{CAM}checkpoints/", f"{CAM}checkpoints/00000004")
    assert [v.key for page in tail for v in page] == [keys[7]]
