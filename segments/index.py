"""The store's SQLite index: sealed segments, the upload queue, legal holds, command nonces.

The ledger stays the evidence; the index is a rebuildable working view of it for queries,
the upload queue and the ring buffer. WAL mode, one connection shared under a lock, every
change committed before the call returns.

The schema's version is checked on open (`index_schema`): a file written by a newer evgw is
refused rather than misread.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .checkpoint import Checkpoint
from .errors import UnsupportedFormatError, WriteError
from .index_holds import HoldsAndNonces
from .index_rows import (
    CHECKPOINT,
    DROPPED,
    EVICTED,
    LOCAL,
    MEDIA,
    MISSING,
    MISSING_BEFORE_UPLOAD,
    PURGED,
    PURGED_BEFORE_UPLOAD,
    RECORD,
    REFUSED,
    Backlog,
    SegmentRow,
    StreamStats,
    UploadItem,
)
from .index_schema import prepare_schema
from .records import Record
from .store import DataDir
from .timeline import parse_iso


class Index(HoldsAndNonces):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    @classmethod
    def open(cls, path: Path) -> Index:
        index = cls(path)
        index._connect()
        return index

    @classmethod
    def over(cls, path: Path, db: sqlite3.Connection) -> Index:
        """An index on a connection opened elsewhere (`index_readonly`)."""
        index = cls(path)
        index._db = db
        return index

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            prepare_schema(db, self.path)
        except (sqlite3.Error, UnsupportedFormatError) as e:
            if db is not None:
                db.close()
            if isinstance(e, UnsupportedFormatError):
                raise
            raise WriteError(f"cannot open the index {self.path}: {e}; check the data dir") from e
        self._db = db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            assert self._db is not None, "index is closed"
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                self._db.execute("ROLLBACK")
                raise WriteError(f"index {self.path}: {e}; check free space") from e
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- recording side ---------------------------------------------------------------------

    def add_record(self, record: Record) -> None:
        """Index a new ledger record and queue it (and its media) for upload, in one commit."""
        start = record.start_ts
        if start is None:
            start = time.time()
        end = record.end_ts
        if end is None:
            end = start
        name = DataDir.stem(record.seq, start)
        with self._tx() as db:
            if record.file and record.sha256_cipher and record.size_cipher is not None:
                db.execute(
                    "INSERT INTO segments (stream, seq, kind, start_ts, end_ts, file, size, sha256)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stream, seq) DO NOTHING",
                    (record.stream, record.seq, record.kind, start, end, record.file,
                     record.size_cipher, record.sha256_cipher),
                )  # fmt: skip
                queue_upload(db, record.stream, record.seq, MEDIA, start, end, name,
                             path=record.file, size=record.size_cipher,
                             sha256=record.sha256_cipher)  # fmt: skip
            data = record.to_json()
            queue_upload(db, record.stream, record.seq, RECORD, start, end, name, data=data)

    def add_checkpoint(self, checkpoint: Checkpoint, *, timestamp: bool = False) -> None:
        """Queue a checkpoint for upload and, with `timestamp`, for a TSA token (one commit)."""
        signed = parse_iso(checkpoint.time)
        when = time.time() if signed is None else signed.timestamp()
        name = f"checkpoint-{checkpoint.size:08d}"
        data = checkpoint.to_json()
        with self._tx() as db:
            queue_upload(db, checkpoint.stream, checkpoint.size, CHECKPOINT, when, when, name,
                         data=data)  # fmt: skip
            if timestamp:
                db.execute(
                    "INSERT INTO timestamps (stream, size, time_ts, data, created)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (stream, size) DO NOTHING",
                    (checkpoint.stream, checkpoint.size, when, data, time.time()),
                )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction, for the queues kept beside this one (`timestamp_queue`)."""
        with self._tx() as db:
            yield db

    # -- upload queue -----------------------------------------------------------------------

    def next_upload(self, now: float, exclude: frozenset[int] = frozenset()) -> UploadItem | None:
        """Claim the oldest pending item that is due, priority first; one row, whatever the backlog.

        The claim counts as an attempt before anything is sent, so an upload cut off by a crash
        is known to have maybe reached the store (the uploader then asks before sending again).
        """
        with self._tx() as db:
            skip = f" AND id NOT IN ({','.join('?' * len(exclude))})" if exclude else ""
            row = db.execute(
                "SELECT id, stream, seq, what, start_ts, name, path, data, size, sha256, attempts"
                f" FROM uploads WHERE state = 'pending' AND next_try <= ?{skip}"
                " ORDER BY priority DESC, id LIMIT 1",
                (now, *exclude),
            ).fetchone()
            if row is not None:
                db.execute("UPDATE uploads SET attempts = attempts + 1 WHERE id = ?", (row[0],))
        return None if row is None else UploadItem(*row)

    def next_try_at(self, exclude: frozenset[int] = frozenset()) -> float | None:
        """When the earliest pending item not in `exclude` falls due; None when none is pending."""
        with self._lock:
            assert self._db is not None
            skip = f" AND id NOT IN ({','.join('?' * len(exclude))})" if exclude else ""
            (due,) = self._db.execute(
                f"SELECT MIN(next_try) FROM uploads WHERE state = 'pending'{skip}", tuple(exclude)
            ).fetchone()
        return due

    def upload_done(self, item: UploadItem, version_id: str | None) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute(
                "UPDATE uploads SET state = 'done', done_at = ?, version_id = ?, data = NULL,"
                " last_error = NULL WHERE id = ?",
                (now, version_id, item.id),
            )
            if item.what == MEDIA:
                db.execute(
                    "UPDATE segments SET confirmed_at = ?, version_id = ?"
                    " WHERE stream = ? AND seq = ?",
                    (now, version_id, item.stream, item.seq),
                )

    def upload_retry(self, item: UploadItem, error: str, next_try: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE uploads SET next_try = ?, last_error = ? WHERE id = ?",
                (next_try, error, item.id),
            )

    def upload_refused(self, item: UploadItem, error: str) -> None:
        """Never to be sent as it is (the local file no longer matches its sealed hash)."""
        with self._tx() as db:
            db.execute(
                "UPDATE uploads SET state = 'refused', last_error = ? WHERE id = ?",
                (error, item.id),
            )

    def prioritise(self, stream: str, start_ts: float, end_ts: float) -> int:
        """Move a time range's pending uploads ahead of the backlog; returns how many."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE uploads SET priority = 1, next_try = 0 WHERE state = 'pending'"
                " AND stream = ? AND start_ts < ? AND end_ts >= ?",
                (stream, end_ts, start_ts),
            )
            return cur.rowcount

    def backlog(self, stream: str | None = None) -> Backlog:
        with self._lock:
            assert self._db is not None
            where = "state = 'pending'" + (" AND stream = ?" if stream else "")
            args = (stream,) if stream else ()
            query = "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(start_ts) FROM uploads"
            count, size, oldest = self._db.execute(f"{query} WHERE {where}", args).fetchone()
        return Backlog(count, size, oldest)

    def stream_stats(self, since_ts: float) -> list[StreamStats]:
        """Per stream: on disk, confirmed, and the recording rate since `since_ts`."""
        with self._lock:
            assert self._db is not None
            rows = self._db.execute(
                "SELECT stream,"
                " SUM(state = 'local'), COALESCE(SUM(CASE WHEN state = 'local' THEN size END), 0),"
                " SUM(confirmed_at IS NOT NULL),"
                " COALESCE(SUM(CASE WHEN start_ts >= ? THEN size END), 0),"
                " COALESCE(MAX(end_ts) - MAX(MIN(start_ts), ?), 0),"
                " SUM(state = 'evicted'), SUM(state = 'purged'), SUM(state = 'missing')"
                " FROM segments GROUP BY stream ORDER BY stream",
                (since_ts, since_ts),
            ).fetchall()
        return [
            StreamStats(st, lc or 0, lb, cc or 0, rb, max(0.0, rs), ev or 0, pu or 0, va or 0)
            for st, lc, lb, cc, rb, rs, ev, pu, va in rows
        ]

    def confirmed_uploads(self, limit: int = 1000) -> list[UploadItem]:
        """The most recently confirmed uploads, oldest first (for reports, not for the queue)."""
        with self._lock:
            assert self._db is not None
            rows = self._db.execute(
                "SELECT id, stream, seq, what, start_ts, name, path, data, size, sha256, attempts"
                " FROM uploads WHERE state = 'done' ORDER BY done_at DESC, id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [UploadItem(*row) for row in reversed(rows)]

    def refused(self) -> list[tuple[str, int, str]]:
        """(stream, seq, why) of uploads refused as tampered; dropped purges are not listed."""
        with self._lock:
            assert self._db is not None
            rows = self._db.execute(
                "SELECT stream, seq, last_error FROM uploads WHERE state = 'refused' ORDER BY id"
            ).fetchall()
        return [(s, q, e) for s, q, e in rows]

    # -- ring buffer ------------------------------------------------------------------------

    def local_segments(self) -> list[SegmentRow]:
        """Segments still on disk, oldest first, with their upload and hold state."""
        with self._lock:
            assert self._db is not None
            rows = self._db.execute(
                "SELECT s.stream, s.seq, s.start_ts, s.end_ts, s.file, s.size, s.state,"
                " s.confirmed_at IS NOT NULL,"
                " EXISTS (SELECT 1 FROM holds h WHERE h.stream = s.stream AND h.released IS NULL"
                "         AND h.start_ts < s.end_ts AND h.end_ts > s.start_ts)"
                " FROM segments s WHERE s.state = 'local' ORDER BY s.start_ts, s.stream, s.seq"
            ).fetchall()
        return [
            SegmentRow(st, seq, start, end, file, size, state, bool(confirmed), bool(held))
            for st, seq, start, end, file, size, state, confirmed, held in rows
        ]

    def local_bytes(self) -> int:
        """Bytes of every segment still on disk: what counts towards the quota."""
        with self._lock:
            assert self._db is not None
            (total,) = self._db.execute(
                "SELECT COALESCE(SUM(size), 0) FROM segments WHERE state = 'local'"
            ).fetchone()
        return int(total)

    def local_bytes_by_stream(self) -> dict[str, int]:
        """`local_bytes` per stream (about three times dearer: the grouping sorts)."""
        with self._lock:
            assert self._db is not None
            rows = self._db.execute(
                "SELECT stream, SUM(size) FROM segments WHERE state = 'local' GROUP BY stream"
            ).fetchall()
        return {stream: int(size) for stream, size in rows}

    def recent_rates(self, since_ts: float) -> dict[str, tuple[int, float]]:
        """Per stream, `stream_stats`' recent_bytes and recent_seconds, for streams that
        recorded since `since_ts`: read through the (state, start_ts) index, so the cost
        follows the last hour's segments, not every segment the box ever recorded."""
        with self._lock:
            assert self._db is not None
            rows = self._db.execute(
                "SELECT s.stream, SUM(s.size), MAX(s.end_ts) - CASE WHEN EXISTS (SELECT 1"
                " FROM segments o WHERE o.stream = s.stream AND o.start_ts < ?)"
                " THEN ? ELSE MIN(s.start_ts) END"
                " FROM segments s WHERE s.state IN (?, ?, ?, ?) AND s.start_ts >= ?"
                " GROUP BY s.stream",
                (since_ts, since_ts, LOCAL, EVICTED, PURGED, MISSING, since_ts),
            ).fetchall()
        return {stream: (int(size), max(0.0, span)) for stream, size, span in rows}

    def oldest_unheld(self, *, confirmed: bool, page: int = 256) -> Iterator[SegmentRow]:
        """Segments still on disk and under no hold, confirmed or not, oldest first.

        Read a page at a time (the lock is not held in between), so a caller that stops
        after the first few reads little of a store that keeps tens of thousands.
        """
        after: tuple[float, str, int] = (float("-inf"), "", -1)
        while True:
            with self._lock:
                assert self._db is not None
                rows = self._db.execute(
                    "SELECT s.stream, s.seq, s.start_ts, s.end_ts, s.file, s.size FROM segments s"
                    " WHERE s.state = 'local' AND (s.confirmed_at IS NOT NULL) = ?"
                    " AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.stream = s.stream"
                    "   AND h.released IS NULL AND h.start_ts < s.end_ts AND h.end_ts > s.start_ts)"
                    " AND (s.start_ts, s.stream, s.seq) > (?, ?, ?)"
                    " ORDER BY s.start_ts, s.stream, s.seq LIMIT ?",
                    (int(confirmed), *after, page),
                ).fetchall()
            for st, seq, start, end, file, size in rows:
                yield SegmentRow(st, seq, start, end, file, size, "local", confirmed, False)
            if len(rows) < page:
                return
            after = rows[-1][2], rows[-1][0], rows[-1][1]

    def mark_removed(self, row: SegmentRow, state: str) -> None:
        """The segment's file is gone (EVICTED, PURGED or MISSING); a pending upload of it
        is dropped (declared purge) or refused (vanished)."""
        upload = {
            PURGED: (DROPPED, PURGED_BEFORE_UPLOAD),
            MISSING: (REFUSED, MISSING_BEFORE_UPLOAD),
        }
        with self._tx() as db:
            db.execute(
                "UPDATE segments SET state = ? WHERE stream = ? AND seq = ?",
                (state, row.stream, row.seq),
            )
            if state in upload:
                db.execute(
                    "UPDATE uploads SET state = ?, last_error = ?"
                    " WHERE stream = ? AND seq = ? AND what = ? AND state = 'pending'",
                    (*upload[state], row.stream, row.seq, MEDIA),
                )

    def segment_states(self, stream: str) -> dict[int, tuple[str, str | None]]:
        """seq -> (state, the object version central storage confirmed, if any)."""
        with self._lock:
            assert self._db is not None
            rows = self._db.execute(
                "SELECT seq, state, version_id FROM segments WHERE stream = ?", (stream,)
            ).fetchall()
        return {seq: (state, version) for seq, state, version in rows}


def queue_upload(
    db: sqlite3.Connection,
    stream: str,
    seq: int,
    what: str,
    start_ts: float,
    end_ts: float,
    name: str,
    *,
    path: str | None = None,
    data: bytes | None = None,
    size: int | None = None,
    sha256: str | None = None,
) -> None:
    """Queue one object; queuing the same (stream, seq, what) twice keeps the first."""
    if data is not None:
        size, sha256 = len(data), _sha256(data)
    db.execute(
        "INSERT INTO uploads (stream, seq, what, start_ts, end_ts, name, path, data, size, sha256,"
        " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (stream, seq, what) DO NOTHING",
        (stream, seq, what, start_ts, end_ts, name, path, data, size, sha256, time.time()),
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
