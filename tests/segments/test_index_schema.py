"""Index schema versions: older files are migrated one step at a time, atomically."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest

from segments.checkpoint import Checkpoint
from segments.errors import UnsupportedFormatError
from segments.index import Index
from segments.index_schema import SCHEMA, Migration, Schema, prepare_schema
from segments.timestamp_queue import TimestampQueue
from tests.segments.test_index import user_version


def _add_note(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE holds ADD COLUMN note TEXT")


def _add_index(db: sqlite3.Connection) -> None:
    db.execute("CREATE INDEX holds_case ON holds (case_id)")


def test_an_older_index_is_migrated_one_version_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    Index.open(path).close()  # a file of the current version, as written today
    now = SCHEMA.version
    steps: list[int] = []

    def step(n: int, change: Migration) -> Migration:
        def run(db: sqlite3.Connection) -> None:
            steps.append(n)
            change(db)

        return run

    later = replace(
        SCHEMA,
        version=now + 2,
        migrations={
            **SCHEMA.migrations,
            now: step(now, _add_note),
            now + 1: step(now + 1, _add_index),
        },
    )
    db = sqlite3.connect(path, isolation_level=None)
    try:
        prepare_schema(db, path, later)
        columns = [row[1] for row in db.execute("PRAGMA table_info(holds)")]
        indexes = [row[1] for row in db.execute("PRAGMA index_list(holds)")]
    finally:
        db.close()
    assert steps == [now, now + 1]
    assert "note" in columns and "holds_case" in indexes
    assert user_version(path) == now + 2


def test_a_failed_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    Index.open(path).close()

    def broken(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE holds ADD COLUMN note TEXT")
        raise sqlite3.OperationalError("disk I/O error")

    db = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError):
            prepare_schema(
                db,
                path,
                Schema(SCHEMA.version + 1, SCHEMA.create, {SCHEMA.version: broken}),
            )
        columns = [row[1] for row in db.execute("PRAGMA table_info(holds)")]
    finally:
        db.close()
    assert "note" not in columns and user_version(path) == SCHEMA.version


def test_a_version_without_a_migration_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    Index.open(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(UnsupportedFormatError, match=f"version {SCHEMA.version}"):
            prepare_schema(db, path, Schema(SCHEMA.version + 1, SCHEMA.create, migrations={}))
    finally:
        db.close()
    assert user_version(path) == SCHEMA.version


V1_CREATE = SCHEMA.create.split("CREATE TABLE IF NOT EXISTS command_nonces")[0]


def test_a_v1_index_gains_the_command_nonces_table(tmp_path: Path) -> None:
    """The index every gateway wrote before signed commands opens and remembers nonces."""
    path = tmp_path / "index.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        prepare_schema(db, path, Schema(version=1, create=V1_CREATE, migrations={}))
    finally:
        db.close()
    assert user_version(path) == 1
    index = Index.open(path)
    try:
        assert user_version(path) == SCHEMA.version
        assert index.claim_nonce("k", "n", 100.0, 0.0) and index.nonce_seen("k", "n")
    finally:
        index.close()


def test_version_1_purges_stored_as_refused_become_dropped(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        prepare_schema(db, path, Schema(version=1, create=V1_CREATE, migrations={}))
        for seq, error in ((1, "purged before upload"), (2, "local file altered")):
            db.execute(
                "INSERT INTO uploads (stream, seq, what, start_ts, end_ts, name, size, sha256,"
                " created, state, last_error) VALUES ('c', ?, 'media', 0, 1, 'n', 1, 'x', 0,"
                " 'refused', ?)",
                (seq, error),
            )
    finally:
        db.close()
    index = Index.open(path)
    try:
        assert index.refused() == [("c", 2, "local file altered")]
    finally:
        index.close()
    assert user_version(path) == SCHEMA.version


V3_CREATE = SCHEMA.create.split("CREATE TABLE IF NOT EXISTS timestamps")[0]
CHECKPOINT = Checkpoint(
    stream="c", gateway="g", size=4, root="ab" * 32, time="2026-12-01T00:00:00Z"
)


def test_a_v3_index_gains_the_timestamp_queue_and_keeps_its_uploads(tmp_path: Path) -> None:
    """The index every gateway wrote before trusted time opens, keeps its queue, and queues
    timestamp requests that survive closing it."""
    path = tmp_path / "index.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        prepare_schema(db, path, Schema(version=3, create=V3_CREATE, migrations={}))
        db.execute(
            "INSERT INTO uploads (stream, seq, what, start_ts, end_ts, name, size, sha256,"
            " created) VALUES ('c', 1, 'record', 0, 1, 'n', 1, 'x', 0)"
        )
    finally:
        db.close()
    index = Index.open(path)
    try:
        assert user_version(path) == SCHEMA.version
        assert index.backlog().count == 1
        index.add_checkpoint(CHECKPOINT, timestamp=True)
    finally:
        index.close()
    index = Index.open(path)
    try:
        item = TimestampQueue(index).next_due(time.time())
        assert item is not None and item.data == CHECKPOINT.to_json() and item.attempts == 1
    finally:
        index.close()
