"""The append-only audit log at headquarters: who did what, when, from where.

One table (`desk_audit`) for the desk's logins, acknowledgements and commands and for every
case export, from the desk or from `evgw archive export`: an investigator's export leaves the
same trace whichever way it was made. Rows are only ever inserted; nothing in evgw updates or
deletes them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select

from .db import Catalogue, Tx
from .desk_schema import desk_audit

CLI = "cli"  # the address of an action taken on this host's command line


@dataclass(frozen=True)
class AuditEntry:
    at: float
    user: str
    action: str
    target: str
    detail: Mapping[str, object]
    address: str


def append(tx: Tx, entry: AuditEntry) -> None:
    tx.c.execute(
        desk_audit.insert().values(
            at=entry.at,
            user=entry.user,
            action=entry.action,
            target=entry.target,
            detail=json.dumps(dict(entry.detail), ensure_ascii=False, sort_keys=True),
            address=entry.address,
        )
    )


def record(catalogue: Catalogue, user: str, action: str, target: str,
           detail: Mapping[str, object], address: str = CLI) -> None:  # fmt: skip
    """Append one entry now, in its own transaction."""
    with catalogue.transaction() as tx:
        append(tx, AuditEntry(time.time(), user, action, target, detail, address))


def entries(catalogue: Catalogue, limit: int = 500) -> list[AuditEntry]:
    """The newest `limit` entries, newest first."""
    query = select(desk_audit).order_by(desk_audit.c.id.desc()).limit(limit)
    with catalogue.transaction() as tx:
        rows = tx.c.execute(query).all()
    return [
        AuditEntry(r.at, r.user, r.action, r.target, json.loads(r.detail), r.address) for r in rows
    ]
