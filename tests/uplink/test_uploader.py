"""Uploader against a real SeaweedFS: keys, byte-identical objects, outages, restarts,
credentials, tamper and the priority lane. Segments are real sealed age files with signed
ledger records and checkpoints, queued through the store index."""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evgw.backoff import backoff_delay
from segments.agekeys import generate_identity, parse_recipient
from segments.index import Index
from segments.ledger import Ledger
from segments.records import Record
from segments.signing import generate_signing_key
from segments.store import StreamStore
from segments.timeline import compact_utc, iso_utc
from testbeds.seaweedfs import SeaweedServer
from tests.support.recording import wall
from tests.support.seaweed import SECRET_KEY, raw_client, settings_for, unique_bucket
from tests.support.seaweed_fixtures import SeaweedFactory
from tests.support.waiting import wait_until
from uplink.object_keys import ObjectKeyError
from uplink.objectstore import ObjectStore
from uplink.uploader import (
    AUTH_FAILED,
    CONNECTED,
    SEGMENT_CONFIRMED,
    STORE_UNAVAILABLE,
    TAMPER,
    RetryPolicy,
    Uploader,
    UploadEvent,
)

SITE = "测试检查站"
GATEWAY = "gw-test"
T0 = 1_800_000_000.0
FAST = RetryPolicy(
    item_initial_s=0.2, item_cap_s=1.0, store_initial_s=0.3, store_cap_s=1.0, idle_s=0.05
)


@dataclass
class Rig:
    """One camera stream sealing into data_dir and queuing into the index."""

    data_dir: Path
    index: Index
    stream: str = "cam1"
    seg_bytes: int = 32 * 1024
    records: list[Record] = field(default_factory=list)
    _ledger: Ledger | None = None

    def open(self) -> Rig:
        signer = generate_signing_key(self.data_dir.parent / f"{self.stream}.ed25519")
        self.recipients = (parse_recipient(generate_identity()[1]),)
        self.files = StreamStore(self.data_dir, self.stream)
        self._ledger = Ledger.open(
            self.files.root, self.stream, GATEWAY, signer, every_records=4,
            on_checkpoint=self.index.add_checkpoint,
        )  # fmt: skip
        return self

    def segment(self, start: float, seconds: float = 2.0) -> Record:
        assert self._ledger is not None
        seg = self.files.open_segment(start, self.recipients)
        seg.sink.write(os.urandom(self.seg_bytes))

        def make(seq: int) -> Record:
            sealed = seg.seal(self.files.final_path(seq, start))
            return replace(
                self._draft("segment", start, seconds),
                file=self.files.relative(sealed.path),
                size_plain=sealed.size_plain,
                sha256_plain=sealed.sha256_plain,
                size_cipher=sealed.size_cipher,
                sha256_cipher=sealed.sha256_cipher,
            )

        return self._queued(self._ledger.append_numbered(make))

    def gap(self, start: float, seconds: float) -> Record:
        assert self._ledger is not None
        draft = replace(self._draft("gap", start, seconds), reason="camera_offline")
        return self._queued(self._ledger.append(draft))

    def close(self) -> None:
        """A final checkpoint over everything, as a clean stop signs."""
        assert self._ledger is not None
        self._ledger.checkpoint()

    def segments(self, n: int, start: float = T0) -> list[Record]:
        return [self.segment(start + 2 * i) for i in range(n)]

    def media(self, record: Record) -> Path:
        assert record.file is not None
        return self.files.root / record.file

    def _queued(self, record: Record) -> Record:
        self.index.add_record(record)
        self.records.append(record)
        return record

    def _draft(self, kind: str, start: float, seconds: float) -> Record:
        return Record(
            stream=self.stream, seq=0, kind=kind, start=iso_utc(start),
            end=iso_utc(start + seconds), duration_s=seconds, gateway=GATEWAY, site=SITE,
            location="测试检查站 一号卡口", camera=self.stream, camera_name="一号", boot_id="b1",
        )  # fmt: skip


@dataclass
class Uploads:
    """Rows of the upload queue, read straight from the index file."""

    path: Path

    def rows(self, where: str = "1") -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.path) as db:
            return db.execute(
                "SELECT id, stream, seq, what, state, done_at, attempts, last_error"
                f" FROM uploads WHERE {where} ORDER BY id"
            ).fetchall()

    def count(self, state: str) -> int:
        return len(self.rows(f"state = '{state}'"))


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    idx = Index.open(tmp_path / "data" / "index.sqlite")
    yield idx
    idx.close()


@pytest.fixture
def rig(tmp_path: Path, index: Index) -> Rig:
    return Rig(tmp_path / "data", index).open()


@pytest.fixture
def uploaders() -> Iterator[Callable[..., Uploader]]:
    started: list[Uploader] = []

    def make(rig: Rig, store: ObjectStore, **kwargs: Any) -> Uploader:
        kwargs.setdefault("policy", FAST)
        up = Uploader(rig.index, store, rig.data_dir, SITE, GATEWAY, 1, **kwargs)
        started.append(up)
        up.start()
        return up

    yield make
    for up in started:
        up.stop()


def drained(rig: Rig) -> Callable[[], bool]:
    return lambda: rig.index.backlog().count == 0


def read(server: SeaweedServer, bucket: str, key: str) -> bytes:
    return bytes(raw_client(server).get_object(Bucket=bucket, Key=key)["Body"].read())


def expected_objects(rig: Rig) -> dict[str, bytes]:
    """Every key the stream must have in the store, with its exact bytes."""
    base = f"{SITE}/{GATEWAY}/{rig.stream}"
    want: dict[str, bytes] = {}
    for r in rig.records:
        start = wall(r.start)
        folder = rig.files.relative(rig.files.day_folder(start))
        want[f"{base}/{folder}/{r.seq:08d}_{compact_utc(start)}.json"] = r.to_json()
        if r.file is not None:
            want[f"{base}/{r.file}"] = rig.media(r).read_bytes()
    for line in (rig.files.root / "checkpoints.jsonl").read_bytes().splitlines():
        size = int(line.split(b'"size":')[1].split(b",")[0])
        want[f"{base}/checkpoints/{size:08d}.json"] = line
    return want


def versions(server: SeaweedServer, bucket: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    pages = raw_client(server).get_paginator("list_object_versions").paginate(Bucket=bucket)
    for page in pages:
        for v in page.get("Versions", []):
            counts[v["Key"]] = counts.get(v["Key"], 0) + 1
    return counts


# -- tests ---------------------------------------------------------------------------------


def test_everything_arrives_byte_identical_under_its_key(
    rig: Rig, seaweed: SeaweedServer, object_store: ObjectStore, uploaders: Callable[..., Uploader]
) -> None:
    rig.segments(5)
    rig.gap(T0 + 10, 4.0)
    rig.segment(T0 + 14)
    rig.close()
    events: list[UploadEvent] = []
    up = uploaders(rig, object_store, workers=2, on_event=events.append)
    wait_until("backlog drained", drained(rig))
    uploads = Uploads(rig.index.path)
    assert uploads.count("pending") == 0 and uploads.count("refused") == 0
    bucket = object_store.settings.bucket
    want = expected_objects(rig)
    assert len(want) == 6 * 2 + 1 + 2  # media + records, the gap record, two checkpoints
    for key, data in want.items():
        assert read(seaweed, bucket, key) == data, key
    assert set(versions(seaweed, bucket)) == set(want)  # nothing stored under another key
    info = object_store.head(next(k for k in want if k.endswith(".mp4.age")))
    assert info is not None and info.lock_mode == "COMPLIANCE"
    confirmed = [e for e in events if e.kind == SEGMENT_CONFIRMED]
    assert sorted(e.seq for e in confirmed) == [r.seq for r in rig.records if r.file]
    assert all(e.key.startswith(f"{SITE}/{GATEWAY}/cam1/2027/01/15/") for e in confirmed)
    status = up.status()
    assert status.state == CONNECTED and status.in_flight == 0
    assert status.confirmed == len(want)


def test_store_outage_loses_nothing_and_keeps_order(
    rig: Rig, seaweed_factory: SeaweedFactory, uploaders: Callable[..., Uploader]
) -> None:
    server = seaweed_factory()
    store = ObjectStore(settings_for(server, "outage"))
    store.ensure_bucket(object_lock=True)
    rig.segments(4)
    # One worker, so that arrival order is queue order; with more, uploads overlap.
    up = uploaders(rig, store, workers=1)
    wait_until("first batch", drained(rig))
    server.kill()
    rig.segments(6, start=T0 + 100)
    wait_until("store_unavailable", lambda: up.status().state == STORE_UNAVAILABLE)
    time.sleep(2.0)
    assert rig.index.backlog().count == 12 + 1
    server.start()
    wait_until("backlog drained after the outage", drained(rig), timeout=30)
    assert up.status().state == CONNECTED
    rows = Uploads(rig.index.path).rows()
    assert {r[4] for r in rows} == {"done"}
    assert [r[0] for r in sorted(rows, key=lambda r: r[5])] == [r[0] for r in rows]
    # The pause is shared: a few probes during 2 s of outage, not a storm.
    assert sum(r[6] for r in rows) <= len(rows) + 20, "each claim counts; few retries"
    for key, data in expected_objects(rig).items():
        assert read(server, "outage", key) == data, key


def test_restart_mid_backlog_confirms_each_object_exactly_once(
    rig: Rig, seaweed: SeaweedServer, uploaders: Callable[..., Uploader]
) -> None:
    bucket = unique_bucket()
    store = ObjectStore(settings_for(seaweed, bucket, max_bytes_per_second=512 * 1024))
    store.ensure_bucket(object_lock=True)
    rig.segments(16)
    some = Uploads(rig.index.path)
    first = uploaders(rig, store, workers=2)
    wait_until("some uploads", lambda: some.count("done") >= 6)
    first.stop()
    left = rig.index.backlog().count
    assert 0 < left < 16 * 2 + 4
    assert first.status().in_flight == 0  # in-flight uploads finished before stop returned
    uploaders(rig, store, workers=2)
    wait_until("drained after restart", drained(rig))
    counts = versions(seaweed, bucket)
    assert set(counts) == set(expected_objects(rig))
    assert set(counts.values()) == {1}


def test_wrong_credentials_keep_the_backlog_then_right_ones_drain_it(
    rig: Rig,
    seaweed: SeaweedServer,
    object_store: ObjectStore,
    uploaders: Callable[..., Uploader],
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig.segments(3)
    queued = rig.index.backlog().count
    bad = ObjectStore(
        settings_for(seaweed, object_store.settings.bucket, secret_key="wrong-secret")
    )
    with caplog.at_level(logging.INFO, logger="uplink.uploader"):
        wrong = uploaders(rig, bad, workers=2)
        wait_until("auth_failed", lambda: wrong.status().state == AUTH_FAILED)
        time.sleep(1.5)  # several probes
        wrong.stop()
    status = wrong.status()
    assert status.last_error is not None and "check" in status.last_error
    assert rig.index.backlog().count == queued
    # Both workers wait out one shared pause: a few probes in 2 s, not a storm.
    assert sum(r[6] for r in Uploads(rig.index.path).rows()) <= 8
    paused = [r for r in caplog.records if "uploads paused" in r.getMessage()]
    assert len(paused) == 1  # one line per change, not one per probe
    assert SECRET_KEY not in caplog.text and "wrong-secret" not in caplog.text
    uploaders(rig, object_store, workers=2)
    wait_until("drained with the right credentials", drained(rig))
    assert Uploads(rig.index.path).count("done") == queued


def test_file_changed_after_sealing_is_refused_as_tamper(
    rig: Rig, seaweed: SeaweedServer, object_store: ObjectStore, uploaders: Callable[..., Uploader]
) -> None:
    records = rig.segments(4)
    victim = rig.media(records[1])
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    events: list[UploadEvent] = []
    uploaders(rig, object_store, on_event=events.append)
    wait_until("drained", drained(rig))
    assert [(s, q) for s, q, _ in rig.index.refused()] == [("cam1", records[1].seq)]
    tamper = [e for e in events if e.kind == TAMPER]
    assert len(tamper) == 1
    assert (tamper[0].stream, tamper[0].seq, tamper[0].what) == ("cam1", records[1].seq, "media")
    assert tamper[0].key.endswith(Path(records[1].file or "").name)
    assert "changed after sealing" in tamper[0].detail
    assert not object_store.exists(tamper[0].key)
    assert sum(e.kind == SEGMENT_CONFIRMED for e in events) == 3


def test_prioritised_range_goes_ahead_of_the_backlog(
    rig: Rig, object_store: ObjectStore, uploaders: Callable[..., Uploader]
) -> None:
    records = rig.segments(8)
    late = records[6]
    assert rig.index.prioritise("cam1", T0 + 12.5, T0 + 13.5) == 2  # its media and record
    events: list[UploadEvent] = []
    uploaders(rig, object_store, workers=1, on_event=events.append)
    wait_until("drained", drained(rig))
    assert next(e.seq for e in events if e.kind == SEGMENT_CONFIRMED) == late.seq


def test_site_with_a_slash_is_refused_at_construction(
    index: Index, object_store: ObjectStore, tmp_path: Path
) -> None:
    with pytest.raises(ObjectKeyError, match="site"):
        Uploader(index, object_store, tmp_path, "a/b", GATEWAY, 1)


def test_backoff_grows_to_its_cap_within_the_jitter() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, 0.5, 30.0, 0.3, rng) for n in range(1, 12)]
    bases = [min(30.0, 0.5 * 2 ** (n - 1)) for n in range(1, 12)]
    assert all(b * 0.7 <= d <= b * 1.3 for b, d in zip(bases, delays, strict=True))


def test_object_stored_whose_answer_was_lost_is_confirmed_not_sent_again(
    rig: Rig, seaweed: SeaweedServer, object_store: ObjectStore, uploaders: Callable[..., Uploader]
) -> None:
    (record,) = rig.segments(1)
    item = rig.index.next_upload(time.time())
    assert item is not None and item.what == "media"
    key = f"{SITE}/{GATEWAY}/cam1/{record.file}"
    until = datetime.now(UTC) + timedelta(days=1)
    object_store.put_file(key, rig.media(record), item.sha256, until)
    rig.index.upload_retry(item, "connection reset before the answer", 0)
    events: list[UploadEvent] = []
    uploaders(rig, object_store, on_event=events.append)
    wait_until("drained", drained(rig))
    assert versions(seaweed, object_store.settings.bucket)[key] == 1
    assert [e.detail for e in events if e.kind == SEGMENT_CONFIRMED] == [f"{item.size} bytes, head"]


def test_idle_workers_wake_for_new_items_and_due_retries_without_polling(
    rig: Rig, seaweed: SeaweedServer, object_store: ObjectStore, uploaders: Callable[..., Uploader]
) -> None:
    rig.segments(1)
    item = rig.index.next_upload(time.time())
    assert item is not None
    rig.index.upload_retry(item, "failed once", time.time() + 1.0)  # due in a second
    never = 600.0  # an idle worker that polled, or slept without looking, would wait this long
    up = uploaders(rig, object_store, workers=2, policy=replace(FAST, idle_s=never))
    wait_until("the retry sent when due", drained(rig), timeout=never / 10)
    rig.segments(2, start=T0 + 100)
    rig.close()
    up.wake()  # what the daemon does for every record and checkpoint it indexes
    wait_until("new items sent when woken", drained(rig), timeout=never / 10)
    assert set(versions(seaweed, object_store.settings.bucket)) == set(expected_objects(rig))
