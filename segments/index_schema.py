"""The index's schema, versioned in `PRAGMA user_version` and checked whenever it is opened.

A new file (version 0) gets the current schema; an older one is upgraded one version at a
time through `Schema.migrations`; a newer one was written by a newer evgw and is refused
rather than misread. Evidence outlives software: every layout change adds a version and a
migration, never an edit of an old one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import UnsupportedFormatError

_CREATE = """
CREATE TABLE IF NOT EXISTS segments (
    stream TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    start_ts REAL NOT NULL, end_ts REAL NOT NULL,
    file TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'local', confirmed_at REAL, version_id TEXT,
    PRIMARY KEY (stream, seq)
);
CREATE INDEX IF NOT EXISTS segments_age ON segments (state, start_ts);
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL, seq INTEGER NOT NULL, what TEXT NOT NULL,
    start_ts REAL NOT NULL, end_ts REAL NOT NULL, name TEXT NOT NULL,
    path TEXT, data BLOB, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0, last_error TEXT, done_at REAL, version_id TEXT,
    UNIQUE (stream, seq, what)
);
CREATE INDEX IF NOT EXISTS uploads_queue ON uploads (state, priority DESC, id);
CREATE TABLE IF NOT EXISTS holds (
    id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL,
    start_ts REAL NOT NULL, end_ts REAL NOT NULL, case_id TEXT NOT NULL,
    created REAL NOT NULL, released REAL
);
CREATE TABLE IF NOT EXISTS command_nonces (
    key_id TEXT NOT NULL, nonce TEXT NOT NULL, issued_ts REAL NOT NULL,
    PRIMARY KEY (key_id, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS command_nonces_age ON command_nonces (issued_ts);
CREATE TABLE IF NOT EXISTS timestamps (
    stream TEXT NOT NULL, size INTEGER NOT NULL, time_ts REAL NOT NULL, data BLOB,
    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0, last_error TEXT, created REAL NOT NULL, done_at REAL,
    PRIMARY KEY (stream, size)
);
CREATE INDEX IF NOT EXISTS timestamps_queue ON timestamps (state, next_try);
"""

Migration = Callable[[sqlite3.Connection], None]
"""One upgrade step; it runs inside the opening transaction, so `execute` only
(`executescript` would commit half-way)."""


@dataclass(frozen=True)
class Schema:
    """A schema version: how to create it from nothing, and how to reach it from older ones."""

    version: int
    create: str
    migrations: Mapping[int, Migration]  # version n -> the step from n to n + 1


def _add_command_nonces(db: sqlite3.Connection) -> None:
    """v1 -> v2: the nonces of signed commands, so a replay is refused after a restart too."""
    db.execute(
        "CREATE TABLE command_nonces (key_id TEXT NOT NULL, nonce TEXT NOT NULL,"
        " issued_ts REAL NOT NULL, PRIMARY KEY (key_id, nonce)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX command_nonces_age ON command_nonces (issued_ts)")


def _dropped_uploads(db: sqlite3.Connection) -> None:
    """v2 -> v3: uploads of segments purged before upload get their own state, `dropped`;
    version 1 stored them as `refused`, the state of a tampered local file."""
    db.execute(
        "UPDATE uploads SET state = 'dropped'"
        " WHERE state = 'refused' AND last_error = 'purged before upload'"
    )


def _add_timestamps(db: sqlite3.Connection) -> None:
    """v3 -> v4: checkpoints waiting for an RFC 3161 token from the TSA (`timestamp_queue`),
    so a TSA offline for days, or a restart, loses no request."""
    db.execute(
        "CREATE TABLE timestamps (stream TEXT NOT NULL, size INTEGER NOT NULL,"
        " time_ts REAL NOT NULL, data BLOB, state TEXT NOT NULL DEFAULT 'pending',"
        " attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0,"
        " last_error TEXT, created REAL NOT NULL, done_at REAL, PRIMARY KEY (stream, size))"
    )
    db.execute("CREATE INDEX timestamps_queue ON timestamps (state, next_try)")


SCHEMA = Schema(
    version=4,
    create=_CREATE,
    migrations={1: _add_command_nonces, 2: _dropped_uploads, 3: _add_timestamps},
)


def prepare_schema(db: sqlite3.Connection, path: Path, schema: Schema = SCHEMA) -> None:
    """Bring the open database `path` to `schema`, in one transaction.

    Version 0 (a new file) gets the schema; an older version is migrated one step at a
    time; a newer one raises UnsupportedFormatError, naming the file and both versions.
    """
    db.execute("BEGIN IMMEDIATE")  # one process upgrades; the others then see the result
    try:
        found = db.execute("PRAGMA user_version").fetchone()[0]
        if found > schema.version:
            raise UnsupportedFormatError(
                f"the index {path} has schema version {found}, this evgw reads up to "
                f"{schema.version}: it was written by a newer evgw; please update evgw"
            )
        if found == 0:
            for statement in schema.create.split(";"):
                if statement.strip():
                    db.execute(statement)
            found = schema.version
        while found < schema.version:
            step = schema.migrations.get(found)
            if step is None:
                raise UnsupportedFormatError(
                    f"the index {path} has schema version {found}, which this evgw cannot "
                    f"upgrade to {schema.version}; open it with the evgw release after it first"
                )
            step(db)
            found += 1
        db.execute(f"PRAGMA user_version={found}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def check_schema(db: sqlite3.Connection, path: Path, schema: Schema = SCHEMA) -> int:
    """The version of the read-only database `path` (0: empty); one this evgw cannot read
    as it is (older: not yet upgraded, newer: written by a newer evgw) raises
    UnsupportedFormatError."""
    found = int(db.execute("PRAGMA user_version").fetchone()[0])
    if found > schema.version:
        raise UnsupportedFormatError(
            f"the index {path} has schema version {found}, this evgw reads up to "
            f"{schema.version}: it was written by a newer evgw; please update evgw"
        )
    if 0 < found < schema.version:
        raise UnsupportedFormatError(
            f"the index {path} has schema version {found}, older than this evgw's "
            f"{schema.version}: start the gateway (evgw run) once to upgrade it, then ask again"
        )
    return found
