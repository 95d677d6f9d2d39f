"""The index's legal holds and command nonces: `Index` methods kept apart from the segment
and upload queries, on the same connection, lock and transactions."""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import AbstractContextManager


class HoldsAndNonces:
    """Mixed into `Index`, which provides the connection, its lock and `_tx`."""

    _lock: threading.Lock
    _db: sqlite3.Connection | None

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def reserve_hold_id(self) -> int:
        """A hold id no hold has had or will get: taken before its ledger record is written."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT 'holds', 0"
                " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'holds')"
            )
            row = db.execute(
                "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'holds' RETURNING seq"
            ).fetchone()
            return int(row[0])

    def add_hold(
        self, stream: str, start_ts: float, end_ts: float, case_id: str, hold_id: int | None = None
    ) -> int:
        """Activate a hold (under `hold_id` when reserved); returns its id."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO holds (id, stream, start_ts, end_ts, case_id, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (hold_id, stream, start_ts, end_ts, case_id, time.time()),
            )
            return int(cur.lastrowid or 0)

    def hold(self, hold_id: int) -> tuple[str, float, float, str] | None:
        """(stream, start, end, case) of an active hold."""
        with self._lock:
            assert self._db is not None
            row = self._db.execute(
                "SELECT stream, start_ts, end_ts, case_id FROM holds"
                " WHERE id = ? AND released IS NULL",
                (hold_id,),
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def release_hold(self, hold_id: int) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE holds SET released = ? WHERE id = ? AND released IS NULL",
                (time.time(), hold_id),
            )
            return cur.rowcount == 1

    # -- nonces of signed commands ------------------------------------------------------------

    def nonce_seen(self, key_id: str, nonce: str) -> bool:
        with self._lock:
            assert self._db is not None
            row = self._db.execute(
                "SELECT 1 FROM command_nonces WHERE key_id = ? AND nonce = ?", (key_id, nonce)
            ).fetchone()
        return row is not None

    def claim_nonce(self, key_id: str, nonce: str, issued_ts: float, forget_before: float) -> bool:
        """Remember a command's nonce; False if it was already there (a replay).

        Nonces of commands issued before `forget_before` are dropped in the same commit: those
        commands are refused as stale anyway, so the table stays as small as the skew window.
        """
        with self._tx() as db:
            db.execute("DELETE FROM command_nonces WHERE issued_ts < ?", (forget_before,))
            cur = db.execute(
                "INSERT INTO command_nonces (key_id, nonce, issued_ts) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (key_id, nonce, issued_ts),
            )
            return cur.rowcount == 1
