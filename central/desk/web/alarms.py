"""Alarms: the active ones and the history, and acknowledging one with a comment.

An acknowledgement is kept on the alarm's row (who, when, comment) for as long as the alarm is
kept, and in the audit log for good. An alarm is acknowledged once: a second officer sees who
did it and when, and cannot overwrite it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlalchemy import select, update

from central.catalogue.audit import AuditEntry, append
from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import desk_alarms

ACTIVE_LIMIT = 1000
HISTORY_LIMIT = 200
MAX_COMMENT_CHARS = 2000


@dataclass(frozen=True)
class AlarmRow:
    id: int
    gateway: str
    camera: str
    alarm: str
    since: float
    detail: str
    raised_at: float
    cleared_at: float | None
    acked_at: float | None
    acked_by: str | None
    ack_comment: str | None


class AckResult(Enum):
    DONE = "done"
    UNKNOWN = "unknown"
    ALREADY = "already"


def read_alarms(catalogue: Catalogue) -> tuple[list[AlarmRow], list[AlarmRow]]:
    """(active, newest first by raise; history, newest first by clear)."""
    a = desk_alarms.c
    active = select(desk_alarms).where(a.cleared_at.is_(None))
    active = active.order_by(a.raised_at.desc(), a.id.desc()).limit(ACTIVE_LIMIT)
    history = select(desk_alarms).where(a.cleared_at.is_not(None))
    history = history.order_by(a.cleared_at.desc(), a.id.desc()).limit(HISTORY_LIMIT)
    with catalogue.transaction() as tx:
        return (
            [alarm_row(r) for r in tx.c.execute(active).all()],
            [alarm_row(r) for r in tx.c.execute(history).all()],
        )


def acknowledge(catalogue: Catalogue, alarm_id: int, comment: str, entry: AuditEntry) -> AckResult:
    """Acknowledge the alarm as `entry.user` at `entry.at`, and audit it (`entry.target` and
    `entry.detail` are filled in here: the alarm, and the comment)."""
    a = desk_alarms.c
    with catalogue.transaction() as tx:
        row = tx.c.execute(select(desk_alarms).where(a.id == alarm_id)).first()
        if row is None:
            return AckResult.UNKNOWN
        done = tx.c.execute(
            update(desk_alarms)
            .where(a.id == alarm_id, a.acked_at.is_(None))
            .values(acked_at=entry.at, acked_by=entry.user, ack_comment=comment)
        )
        if done.rowcount != 1:
            return AckResult.ALREADY
        target = f"alarm {alarm_id}: {row.alarm} {row.gateway}/{row.camera}"
        detail = {
            "comment": comment,
            "alarm": row.alarm,
            "gateway": row.gateway,
            "camera": row.camera,
        }
        append(tx, AuditEntry(entry.at, entry.user, "ack", target, detail, entry.address))
    return AckResult.DONE


def alarm_row(r: object) -> AlarmRow:
    m = r._mapping  # type: ignore[attr-defined]
    return AlarmRow(**{name: m[name] for name in AlarmRow.__dataclass_fields__})
