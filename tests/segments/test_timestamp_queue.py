"""The timestamp queue in the index: queued with the checkpoint's upload, claimed oldest first,
backed off, and on success turned into an upload of the token, in one commit each."""

from __future__ import annotations

from pathlib import Path

from segments.checkpoint import Checkpoint
from segments.index import Index
from segments.index_rows import CHECKPOINT, TIMESTAMP
from segments.timestamp_queue import TimestampQueue

NOW = 1_800_000_000.0


def checkpoint(size: int, stream: str = "cam1") -> Checkpoint:
    return Checkpoint(
        stream=stream,
        gateway="gw1",
        size=size,
        root="ab" * 32,
        time=f"2026-12-01T00:00:{size:02d}Z",
    )


def test_only_checkpoints_asked_for_are_queued_beside_their_upload(tmp_path: Path) -> None:
    index = Index.open(tmp_path / "index.sqlite3")
    try:
        queue = TimestampQueue(index)
        index.add_checkpoint(checkpoint(2))
        assert queue.next_due(NOW) is None and index.backlog().count == 1
        index.add_checkpoint(checkpoint(4), timestamp=True)
        index.add_checkpoint(checkpoint(4), timestamp=True)  # queued once
        assert queue.backlog().count == 1 and index.backlog().count == 2
    finally:
        index.close()


def test_a_refused_request_waits_and_a_done_one_becomes_an_upload(tmp_path: Path) -> None:
    index = Index.open(tmp_path / "index.sqlite3")
    try:
        queue = TimestampQueue(index)
        for size in (6, 2):
            index.add_checkpoint(checkpoint(size), timestamp=True)
        first = queue.next_due(NOW)
        assert first is not None and first.size == 2 and first.attempts == 1
        assert first.data == checkpoint(2).to_json()
        queue.retry(first, "TSA offline", NOW + 60)
        second = queue.next_due(NOW)
        assert second is not None and second.size == 6
        queue.done(second, b"token bytes")
        assert queue.backlog().count == 1 and queue.backlog().last_error == "TSA offline"
        again = queue.next_due(NOW + 61)
        assert again is not None and again.size == 2 and again.attempts == 2
        uploads = []
        while (item := index.next_upload(NOW)) is not None:
            uploads.append((item.what, item.seq, item.data))
            index.upload_done(item, None)
        assert (TIMESTAMP, 6, b"token bytes") in uploads
        assert {(w, s) for w, s, _ in uploads} == {(CHECKPOINT, 2), (CHECKPOINT, 6), (TIMESTAMP, 6)}
    finally:
        index.close()
