"""Alarm occurrences in `desk_alarms`, from raised to cleared, in the caller's transaction.

An occurrence is open while `cleared_at` is NULL; a gateway, camera and alarm name has at most
one open occurrence. Three sources open and close them, in the order they arrive:

- the retained ``alarms`` set: an alarm listed that has no open occurrence is raised (its
  ``since`` as the gateway reports it), an open one no longer listed is cleared;
- ``alarm_raised`` / ``alarm_cleared`` events (the same changes, sooner or while the retained
  value is not re-read);
- the gateway's ``state``: ``offline`` (its last will, or a clean stop) raises the desk's own
  ``gateway_offline`` (camera ''), ``online`` clears it. The gateway's set never lists it.

Occurrences are matched by name, not by ``since``: an event and the next retained set give
slightly different times for the same alarm. Acknowledgements are the web app's columns and
never touched here; a cleared occurrence keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, select, update

from central.catalogue.desk_schema import desk_alarms

from .reports import ActiveAlarm

GATEWAY_OFFLINE = "gateway_offline"
OFFLINE_DETAIL = "the gateway is offline: its connection to the broker ended (last will or stop)"

a = desk_alarms.c
# Built once: a fleet sends an alarm set per gateway and health interval, and building the
# statement cost more than running it.
_SAME = (a.gateway == bindparam("g"), a.camera == bindparam("c"), a.alarm == bindparam("n"))
_OPEN_OF_GATEWAY = select(a.id, a.camera, a.alarm).where(
    a.gateway == bindparam("g"), a.cleared_at.is_(None), a.alarm != GATEWAY_OFFLINE
)
_OPEN = select(a.id).where(*_SAME, a.cleared_at.is_(None))
_EARLIER = select(a.id).where(*_SAME, a.since == bindparam("since"))
_REOPEN = update(desk_alarms).where(a.id == bindparam("i")).values(cleared_at=None)
_CLEAR_IDS = update(desk_alarms).where(a.id.in_(bindparam("ids", expanding=True)))
_CLEAR = update(desk_alarms).where(*_SAME, a.cleared_at.is_(None))


def apply_set(c: Connection, gateway: str, active: Iterable[ActiveAlarm], now: float) -> None:
    """Make the gateway's open occurrences match its retained set."""
    listed = {(alarm.camera, alarm.alarm): alarm for alarm in active}
    open_ids = {
        (camera, name): id_ for id_, camera, name in c.execute(_OPEN_OF_GATEWAY, {"g": gateway})
    }
    for key, alarm in listed.items():
        if key not in open_ids:
            raise_alarm(c, gateway, alarm, now)
    gone = [id_ for key, id_ in open_ids.items() if key not in listed]
    if gone:
        c.execute(_CLEAR_IDS.values(cleared_at=now), {"ids": gone})


def raise_alarm(c: Connection, gateway: str, alarm: ActiveAlarm, now: float) -> None:
    """Open an occurrence unless one is open; the same one cleared by mistake is reopened."""
    same = {"g": gateway, "c": alarm.camera, "n": alarm.alarm}
    if c.execute(_OPEN, same).first() is not None:
        return
    earlier = c.execute(_EARLIER, same | {"since": alarm.since}).first()
    if earlier is not None:
        c.execute(_REOPEN, {"i": earlier.id})
        return
    c.execute(
        desk_alarms.insert().values(
            gateway=gateway,
            camera=alarm.camera,
            alarm=alarm.alarm,
            since=alarm.since,
            detail=alarm.detail,
            raised_at=now,
        )
    )


def clear_alarm(c: Connection, gateway: str, camera: str, alarm: str, now: float) -> None:
    c.execute(_CLEAR.values(cleared_at=now), {"g": gateway, "c": camera, "n": alarm})


def gateway_state(c: Connection, gateway: str, online: bool, now: float) -> None:
    """``offline`` raises the desk's `GATEWAY_OFFLINE`, ``online`` clears it."""
    if online:
        clear_alarm(c, gateway, "", GATEWAY_OFFLINE, now)
    else:
        raise_alarm(c, gateway, ActiveAlarm("", GATEWAY_OFFLINE, now, OFFLINE_DETAIL), now)
