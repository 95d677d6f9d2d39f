"""The timestamper: a real TSA, the real index and uploader, a real SeaweedFS.

The TSA goes offline for a while: checkpoints are signed and uploaded regardless, their
timestamp requests wait in the index, survive a restart of everything that owns the queue,
and the tokens arrive (on disk and in the bucket) once the TSA is back. A TSA that answers
with hostile bytes loses nothing: the request stays queued until an honest reply comes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.checkpoint import Checkpoint
from segments.index import Index
from segments.ledger import CHECKPOINTS_NAME, Ledger
from segments.records import Record
from segments.signing import generate_signing_key
from segments.store import DataDir
from segments.timeline import iso_utc
from segments.timestamp import TRUSTED, check_token, token_relpath
from segments.timestamp_queue import TimestampQueue
from testbeds.seaweedfs import SeaweedServer
from testbeds.tsa import TsaPki, TsaServer
from tests.support.seaweed import raw_client
from tests.support.tsa_fixtures import tsa_settings
from tests.support.waiting import wait_until
from uplink.object_keys import checkpoint_key, timestamp_key
from uplink.objectstore import ObjectStore
from uplink.timestamps import REFUSED, STAMPED, Timestamper, TimestampEvent, TimestampPolicy
from uplink.tsa_client import TsaClient
from uplink.uploader import RetryPolicy, Uploader

SITE, GATEWAY, STREAM = "测试检查站", "gw-test", "cam1"
T0 = 1_800_000_000.0
FAST = TimestampPolicy(
    item_initial_s=0.1, item_cap_s=0.3, tsa_initial_s=0.1, tsa_cap_s=0.3, idle_s=0.05
)
FAST_UPLOADS = RetryPolicy(item_initial_s=0.2, item_cap_s=1.0, store_cap_s=1.0, idle_s=0.05)


@dataclass
class Box:
    """What owns the queue on a gateway: the index, the uploader and the timestamper."""

    data_dir: Path
    store: ObjectStore
    tsa: TsaServer
    events: list[TimestampEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.index = Index.open(DataDir(self.data_dir).index)
        self.uploader = Uploader(
            self.index, self.store, self.data_dir, SITE, GATEWAY, 1, policy=FAST_UPLOADS
        )
        self.uploader.start()
        self.queue = TimestampQueue(self.index)
        self.stamper = Timestamper(
            self.queue,
            TsaClient(tsa_settings(self.tsa, timeout_s=5.0)),
            self.data_dir,
            on_event=self.events.append,
            policy=FAST,
        ).start()

    def ledger(self) -> Ledger:
        signer = generate_signing_key(self.data_dir.parent / "device.ed25519")

        def queued(cp: Checkpoint) -> None:
            self.index.add_checkpoint(cp, timestamp=True)
            self.stamper.wake()

        return Ledger.open(
            DataDir(self.data_dir).stream(STREAM), STREAM, GATEWAY, signer,
            every_records=2, on_checkpoint=queued,
        )  # fmt: skip

    def stop(self) -> None:
        self.stamper.stop()
        self.uploader.stop()
        self.index.close()


def gap(seq: int) -> Record:
    start = T0 + 10 * seq
    return Record(
        stream=STREAM, seq=0, kind="gap", start=iso_utc(start), end=iso_utc(start + 10),
        duration_s=10.0, gateway=GATEWAY, site=SITE, location="一号卡口", camera=STREAM,
        camera_name="一号", boot_id="b1", reason="camera_offline",
    )  # fmt: skip


def bucket_bytes(server: SeaweedServer, store: ObjectStore, key: str) -> bytes | None:
    if not store.exists(key):
        return None
    body = raw_client(server).get_object(Bucket=store.settings.bucket, Key=key)["Body"]
    return bytes(body.read())


def checkpoint_lines(data_dir: Path) -> dict[int, bytes]:
    path = DataDir(data_dir).stream(STREAM) / CHECKPOINTS_NAME
    return {json.loads(line)["size"]: line for line in path.read_bytes().splitlines()}


@pytest.fixture
def box_parts(
    tmp_path: Path, tsa_server: TsaServer, object_store: ObjectStore
) -> Iterator[tuple[Path, ObjectStore, TsaServer]]:
    yield tmp_path / "data", object_store, tsa_server


def test_tsa_offline_for_a_while_and_a_restart_lose_no_timestamp(
    box_parts: tuple[Path, ObjectStore, TsaServer], seaweed: SeaweedServer
) -> None:
    data_dir, store, tsa = box_parts
    tsa.stop()
    box = Box(data_dir, store, tsa)
    try:
        ledger = box.ledger()
        for seq in range(4):
            ledger.append(gap(seq))
        sizes = sorted(checkpoint_lines(data_dir))
        assert sizes == [2, 4]
        for size in sizes:  # the checkpoints go up while the TSA is away
            key = checkpoint_key(SITE, GATEWAY, STREAM, size)
            wait_until(f"checkpoint {size} uploaded", lambda k=key: store.exists(k))
        wait_until("two tries while offline", lambda: box.queue.backlog().count == 2
                   and "unreachable" in (box.queue.backlog().last_error or ""))  # fmt: skip
        assert box.stamper.status().online is False
    finally:
        box.stop()
    stream_dir = DataDir(data_dir).stream(STREAM)
    assert not any((stream_dir / token_relpath(s)).exists() for s in sizes)
    assert not store.exists(timestamp_key(SITE, GATEWAY, STREAM, 2))

    tsa.start()
    box = Box(data_dir, store, tsa)  # a restart: the queue is read back from the index
    try:
        for size in sizes:
            key = timestamp_key(SITE, GATEWAY, STREAM, size)
            wait_until(f"token {size} uploaded", lambda k=key: store.exists(k), 30)
        assert box.queue.backlog().count == 0
        assert [e.kind for e in box.events] == [STAMPED, STAMPED]
    finally:
        box.stop()
    lines = checkpoint_lines(data_dir)
    for size in sizes:
        token = bucket_bytes(seaweed, store, timestamp_key(SITE, GATEWAY, STREAM, size))
        assert token is not None and token == (stream_dir / token_relpath(size)).read_bytes()
        found = check_token(token, lines[size], size, tsa_settings(tsa).anchors)
        assert found.status == TRUSTED, found.detail


def test_hostile_replies_lose_nothing_and_an_honest_one_is_kept(
    box_parts: tuple[Path, ObjectStore, TsaServer],
) -> None:
    data_dir, store, tsa = box_parts
    hostile = iter([b"", b"\x30\x80" * 40, b"\xff" * 3000, tsa.reply_to(b"not a query")])

    def answer(query: bytes) -> bytes:
        bad = next(hostile, None)
        return tsa.reply_to(query) if bad is None else bad

    tsa.answer = answer
    box = Box(data_dir, store, tsa)
    try:
        ledger = box.ledger()
        ledger.append(gap(0))
        ledger.append(gap(1))
        key = timestamp_key(SITE, GATEWAY, STREAM, 2)
        wait_until("the honest reply's token uploaded", lambda: store.exists(key), 30)
        assert [e.kind for e in box.events] == [REFUSED] * 4 + [STAMPED]
        assert box.stamper.status().stamped == 1
    finally:
        box.stop()


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(reply=st.binary(max_size=1500))
def test_hostile_reply_bytes_never_crash_the_loop_nor_lose_the_request(
    parked: tuple[Timestamper, TsaServer, Path], reply: bytes
) -> None:
    stamper, tsa, data_dir = parked
    tsa.answer = lambda query: reply
    assert stamper.run_once() == 0.0
    backlog = stamper.queue.backlog()
    assert backlog.count == 1 and "reply refused" in (backlog.last_error or "")
    assert not (DataDir(data_dir).stream(STREAM) / token_relpath(2)).exists()


@pytest.fixture(scope="module")
def parked(
    tmp_path_factory: pytest.TempPathFactory, tsa_pki: TsaPki
) -> Iterator[tuple[Timestamper, TsaServer, Path]]:
    """One queued checkpoint, a TSA that the test makes lie, a loop driven step by step; at
    the end an honest reply must still be taken for the same request."""
    data_dir = tmp_path_factory.mktemp("parked") / "data"
    tsa = TsaServer(tsa_pki).start()
    index = Index.open(DataDir(data_dir).index)
    queue = TimestampQueue(index)
    retry_at_once = TimestampPolicy(item_initial_s=0.0, item_cap_s=0.0, idle_s=0.0)
    stamper = Timestamper(
        queue, TsaClient(tsa_settings(tsa, timeout_s=5.0)), data_dir, policy=retry_at_once
    )
    signer = generate_signing_key(data_dir.parent / "device.ed25519")
    ledger = Ledger.open(
        DataDir(data_dir).stream(STREAM), STREAM, GATEWAY, signer, every_records=2,
        on_checkpoint=lambda cp: index.add_checkpoint(cp, timestamp=True),
    )  # fmt: skip
    ledger.append(gap(0))
    ledger.append(gap(1))
    try:
        yield stamper, tsa, data_dir
        tsa.answer = None
        assert stamper.run_once() == 0.0 and queue.backlog().count == 0
        token = (DataDir(data_dir).stream(STREAM) / token_relpath(2)).read_bytes()
        found = check_token(token, checkpoint_lines(data_dir)[2], 2, tsa_settings(tsa).anchors)
        assert found.status == TRUSTED
    finally:
        index.close()
        tsa.stop()
