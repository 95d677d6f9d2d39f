"""The desk's change counter: one number that grows with every batch ingest commits.

The web app may run in another process (or on another host) than ingest, so it cannot be
told; it polls `fleet_version` (one primary-key read) and refreshes pages when it changed.
The bump runs inside the batch's own transaction, so a reader that sees the new number also
sees the batch.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import desk_changes

ROW = 1


def fleet_version(catalogue: Catalogue) -> int:
    """The counter now; 0 before ingest committed anything."""
    with catalogue.transaction() as tx:
        version = tx.c.scalar(select(desk_changes.c.version).where(desk_changes.c.id == ROW))
    return int(version or 0)


def note_change(connection: Connection) -> None:
    """Bump the counter in the caller's transaction (the web app may call it after an ack)."""
    bumped = connection.execute(
        update(desk_changes)
        .where(desk_changes.c.id == ROW)
        .values(version=desk_changes.c.version + 1)
    )
    if bumped.rowcount == 0:
        connection.execute(desk_changes.insert().values(id=ROW, version=1))
