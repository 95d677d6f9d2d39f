"""A kill between a ledger append and the index commit: the next start queues what was missed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from segments.index import Index
from segments.index_catch_up import catch_up
from segments.index_rows import CHECKPOINT, MEDIA, RECORD
from segments.ledger import Ledger
from segments.records import Record
from segments.signing import Ed25519Signer
from segments.store import DataDir
from tests.segments.test_index import RECORD as INDEXED

SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
DRAFT = replace(INDEXED, seq=0, kind="gap", end="2026-11-27T06:03:02.000000+00:00", file=None,
                size_cipher=None, sha256_cipher=None)  # fmt: skip


def segment(n: int) -> Record:
    start = f"2026-11-27T06:0{3 + n}:00.000000+00:00"
    return replace(
        DRAFT, kind="segment", start=start, end=start, file=f"2026/11/27/{n:08d}.mp4.age",
        size_cipher=100 + n, sha256_cipher=f"{n:x}" * 64,
    )  # fmt: skip


def queued(index: Index) -> list[tuple[int, str, int]]:
    with index.transaction() as db:
        rows = db.execute("SELECT seq, what, attempts FROM uploads ORDER BY seq, what").fetchall()
    return [tuple(row) for row in rows]


def test_records_and_checkpoints_the_index_missed_are_queued_once(tmp_path: Path) -> None:
    index = Index.open(DataDir(tmp_path).index)
    stream_dir = tmp_path / "gate-1"
    ledger = Ledger.open(stream_dir, "gate-1", "gw", SIGNER, every_records=3,
                         on_append=index.add_record,
                         on_checkpoint=index.add_checkpoint)  # fmt: skip
    ledger.append(DRAFT)
    ledger.append(segment(1))
    # The daemon is killed after the next appends were fsynced, before the index took them.
    cut_off = Ledger.open(stream_dir, "gate-1", "gw", SIGNER, every_records=3)
    cut_off.append(segment(2))  # seq 2, and checkpoint 3
    cut_off.append(DRAFT)
    before = queued(index)
    assert (2, MEDIA, 0) not in before and (3, CHECKPOINT, 0) not in before

    done = catch_up(index, stream_dir, "gate-1", timestamp=False)

    assert (done.records, done.checkpoints) == (2, 1)
    after = queued(index)
    assert [row for row in after if row not in before] == [
        (2, MEDIA, 1), (2, RECORD, 1), (3, CHECKPOINT, 1), (3, RECORD, 1),
    ]  # fmt: skip
    assert [row.seq for row in index.local_segments()] == [1, 2]
    again = catch_up(index, stream_dir, "gate-1", timestamp=False)
    assert (again.records, again.checkpoints) == (0, 0)
    assert queued(index) == after
    index.close()


def test_a_stream_the_index_never_saw_is_queued_from_its_first_record(tmp_path: Path) -> None:
    stream_dir = tmp_path / "gate-1"
    ledger = Ledger.open(stream_dir, "gate-1", "gw", SIGNER, every_records=100)
    ledger.append(DRAFT)
    ledger.append(segment(1))
    index = Index.open(DataDir(tmp_path).index)

    done = catch_up(index, stream_dir, "gate-1", timestamp=True)

    assert (done.records, done.checkpoints) == (2, 0)
    assert queued(index) == [(0, RECORD, 1), (1, MEDIA, 1), (1, RECORD, 1)]
    index.close()
