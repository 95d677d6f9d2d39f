"""The durable queue of checkpoints waiting for an RFC 3161 token, kept in the store's index.

`Index.add_checkpoint(cp, timestamp=True)` queues a checkpoint's exact bytes in the same
commit that queues its upload, so no checkpoint is signed without its request being on
disk. The TSA may be offline for days: a row stays pending, backed off, across restarts,
until a token is accepted; then `done` stores the token's upload in the upload queue and
forgets the bytes, in one commit. Nothing here blocks recording or the uploads of other
items: the upload queue and this one are separate tables, drained by separate threads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .index import Index, queue_upload
from .index_rows import TIMESTAMP
from .timestamp import token_name


@dataclass(frozen=True)
class TimestampItem:
    """One checkpoint to timestamp: its stream, tree size, signing time and exact bytes."""

    stream: str
    size: int
    time_ts: float
    data: bytes
    attempts: int


@dataclass(frozen=True)
class TimestampBacklog:
    count: int
    oldest_ts: float | None
    last_error: str | None


class TimestampQueue:
    """Claim, finish and back off timestamp requests; every change committed on return."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def next_due(self, now: float) -> TimestampItem | None:
        """The oldest pending request that is due; claiming it counts as an attempt."""
        with self.index.transaction() as db:
            row = db.execute(
                "SELECT stream, size, time_ts, data, attempts FROM timestamps"
                " WHERE state = 'pending' AND next_try <= ? ORDER BY time_ts, stream, size"
                " LIMIT 1",
                (now,),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE timestamps SET attempts = attempts + 1 WHERE stream = ? AND size = ?",
                row[:2],
            )
        stream, size, time_ts, data, attempts = row
        return TimestampItem(stream, size, time_ts, bytes(data), attempts + 1)

    def done(self, item: TimestampItem, token: bytes) -> None:
        """The token was accepted (and written beside the checkpoint): queue its upload."""
        with self.index.transaction() as db:
            db.execute(
                "UPDATE timestamps SET state = 'done', done_at = ?, data = NULL, last_error = NULL"
                " WHERE stream = ? AND size = ?",
                (time.time(), item.stream, item.size),
            )
            name = token_name(item.size)
            queue_upload(db, item.stream, item.size, TIMESTAMP, item.time_ts, item.time_ts,
                         name, data=token)  # fmt: skip

    def retry(self, item: TimestampItem, error: str, next_try: float) -> None:
        with self.index.transaction() as db:
            db.execute(
                "UPDATE timestamps SET next_try = ?, last_error = ? WHERE stream = ? AND size = ?",
                (next_try, error[:500], item.stream, item.size),
            )

    def backlog(self) -> TimestampBacklog:
        """How many checkpoints wait for a token, since when, and the last error seen."""
        with self.index.transaction() as db:
            count, oldest = db.execute(
                "SELECT COUNT(*), MIN(time_ts) FROM timestamps WHERE state = 'pending'"
            ).fetchone()
            row = db.execute(
                "SELECT last_error FROM timestamps WHERE state = 'pending'"
                " AND last_error IS NOT NULL ORDER BY next_try DESC LIMIT 1"
            ).fetchone()
        return TimestampBacklog(count, oldest, None if row is None else row[0])
