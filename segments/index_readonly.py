"""The index for commands that only read (`evgw status`, `find`): no file created or changed.

Whoever runs them (often root) must leave no file behind: a root-owned index or -shm file
locks the service out ("attempt to write a readonly database"). SQLite opens a WAL database
read-only only through its -wal and -shm files, and creates them when absent; so with both
present (the daemon running) it reads through them, and without them (the daemon stopped,
everything checkpointed into the file) it reads the file as immutable.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .errors import UnsupportedFormatError, WriteError
from .index import Index
from .index_schema import check_schema


def open_readonly(path: Path) -> Index | None:
    """The index at `path`, read-only; None when there is none yet."""
    if not path.is_file():
        return None
    beside = [path.with_name(path.name + end) for end in ("-wal", "-shm")]
    mode = "ro" if all(p.exists() for p in beside) else "ro&immutable=1"
    uri = f"{path.absolute().as_uri()}?mode={mode}"
    db: sqlite3.Connection | None = None
    try:
        db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        found = check_schema(db, path)
    except (sqlite3.Error, UnsupportedFormatError) as e:
        if db is not None:
            db.close()
        if isinstance(e, UnsupportedFormatError):
            raise
        raise WriteError(f"cannot read the index {path}: {e}; check the data dir") from e
    if found == 0:
        db.close()
        return None
    return Index.over(path, db)
