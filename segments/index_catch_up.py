"""Bring the index up to a stream's ledger when the daemon opens it.

A record is durable in the ledger before the index queues it (`Ledger.append` calls its
`on_append` after the fsync), and a checkpoint likewise. A kill between the two leaves a sealed
segment that nothing would ever upload. So every record and checkpoint past the last one the
index has queued is queued now; queuing is idempotent. The items queued here count one attempt,
so the uploader asks the store before sending (an index rebuilt from nothing may queue
objects an earlier index already had stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .index import Index
from .index_rows import CHECKPOINT, RECORD
from .ledger import LEDGER_NAME, read_checkpoints, read_lines
from .records import Record


@dataclass(frozen=True)
class CaughtUp:
    records: int
    checkpoints: int


def catch_up(index: Index, stream_dir: Path, stream: str, *, timestamp: bool) -> CaughtUp:
    """Queue what the ledger of `stream` holds beyond the index; `timestamp` as in
    `Index.add_checkpoint`."""
    last_record, last_checkpoint = _last_queued(index, stream)
    records = [
        Record.from_json(line)
        for n, line in enumerate(read_lines(stream_dir / LEDGER_NAME))
        if n > last_record
    ]
    for record in records:
        index.add_record(record)
    checkpoints = [c for c in read_checkpoints(stream_dir) if c.size > last_checkpoint]
    for checkpoint in checkpoints:
        index.add_checkpoint(checkpoint, timestamp=timestamp)
    if records or checkpoints:
        with index.transaction() as db:
            db.execute(
                "UPDATE uploads SET attempts = MAX(attempts, 1) WHERE stream = ? AND state ="
                " 'pending' AND ((what = ? AND seq > ?) OR (what != ? AND seq > ?))",
                (stream, CHECKPOINT, last_checkpoint, CHECKPOINT, last_record),
            )
    return CaughtUp(len(records), len(checkpoints))


def _last_queued(index: Index, stream: str) -> tuple[int, int]:
    """The highest record seq and checkpoint size queued for `stream`; -1 for none."""
    with index.transaction() as db:
        rows = dict(
            db.execute(
                "SELECT what, MAX(seq) FROM uploads WHERE stream = ? AND what IN (?, ?)"
                " GROUP BY what",
                (stream, RECORD, CHECKPOINT),
            ).fetchall()
        )
    return rows.get(RECORD, -1), rows.get(CHECKPOINT, -1)
