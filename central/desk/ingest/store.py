"""Checked reports → the desk tables, one transaction per batch; and the retention.

A batch is what arrived in the last moment (the service collects ~0.5 s). Within it the
current values are folded (a gateway or camera heard twice is written once, with the newest
values) and written as one multi-row upsert per table; alarm changes and events go in arrival
order; the change counter is bumped last. So a fleet of thousands of cameras costs a few
statements per batch, not several per message.

`last_seen` only grows, and comes from each report's own ``ts`` (never later than its
arrival): a desk that starts late receives every retained value at once, however old, and
must not show a gateway that went quiet last week as just seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, case, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from central.catalogue.db import Catalogue, CatalogueError
from central.catalogue.desk_schema import (
    desk_alarms,
    desk_camera_samples,
    desk_cameras,
    desk_events,
    desk_gateway_samples,
    desk_gateways,
)

from . import alarms
from .changes import note_change
from .reports import AlarmSet, CameraHealth, Event, GatewayHealth
from .topics import Topic

DAY_S = 86_400.0
Report = bool | GatewayHealth | CameraHealth | AlarmSet | Event  # bool: state online


@dataclass(frozen=True)
class Item:
    """One accepted message: what its topic names, its checked report, when it came."""

    topic: Topic
    report: Report
    retained: bool  # replayed from the broker's store, not sent just now
    received_at: float


@dataclass
class _Folded:
    """The current-value rows of one batch, newest values winning."""

    gateways: dict[str, dict[str, Any]]
    cameras: dict[tuple[str, str], dict[str, Any]]


class Writer:
    """Writes batches; remembers the newest sample time per gateway and camera (`sample_s`)."""

    def __init__(self, catalogue: Catalogue, sample_s: float) -> None:
        self.catalogue = catalogue
        self.sample_s = sample_s
        self._marks: dict[tuple[str, str], float] = {}  # (gateway, camera or '') -> sample ts

    def write(self, items: Sequence[Item]) -> None:
        """All of `items` in one transaction (CatalogueError: none of them)."""
        folded = _Folded({}, {})
        marks: dict[tuple[str, str], float] = {}
        with self.catalogue.transaction() as tx:
            c = tx.c
            for item in items:
                _fold(folded, item)
            _upsert(c, desk_gateways, ("gateway",), list(folded.gateways.values()))
            _upsert(c, desk_cameras, ("gateway", "camera"), list(folded.cameras.values()))
            rows: dict[Table, list[dict[str, Any]]] = {
                desk_events: [],
                desk_gateway_samples: [],
                desk_camera_samples: [],
            }
            for item in items:
                _alarm_changes(c, item)
                if isinstance(item.report, Event):
                    rows[desk_events].append(_event_row(item, item.report))
                self._sample(c, item, marks, rows)
            for table, values in rows.items():
                if values:
                    c.execute(table.insert(), values)
            note_change(c)
        self._marks.update(marks)

    def answers(self) -> bool:
        """Whether the database answers at all (a refused batch may be one bad row)."""
        try:
            with self.catalogue.transaction() as tx:
                tx.c.execute(select(1))
        except CatalogueError:
            return False
        return True

    def _sample(
        self,
        c: Connection,
        item: Item,
        marks: dict[tuple[str, str], float],
        rows: dict[Table, list[dict[str, Any]]],
    ) -> None:
        """Add a sample row when the last of its gateway or camera is `sample_s` older."""
        report, topic = item.report, item.topic
        if not isinstance(report, GatewayHealth | CameraHealth):
            return
        key = (topic.gateway, topic.camera)
        ts = min(report.ts, item.received_at)
        last = marks.get(key, self._marks.get(key))
        if last is None:
            last = self._stored_mark(c, key)
        if last is not None and (ts <= last or ts - last < self.sample_s):
            return
        marks[key] = ts
        values: dict[str, Any] = {"gateway": topic.gateway, "ts": ts, **report.sample}
        if isinstance(report, GatewayHealth):
            rows[desk_gateway_samples].append(values)
        else:
            rows[desk_camera_samples].append(values | {"camera": topic.camera})

    def _stored_mark(self, c: Connection, key: tuple[str, str]) -> float | None:
        """The newest stored sample of `key` (once per key and process: an index lookup)."""
        gateway, camera = key
        if camera:
            s = desk_camera_samples.c
            query = select(func.max(s.ts)).where(s.gateway == gateway, s.camera == camera)
        else:
            g = desk_gateway_samples.c
            query = select(func.max(g.ts)).where(g.gateway == gateway)
        found = c.scalar(query)
        return None if found is None else float(found)


def _fold(folded: _Folded, item: Item) -> None:
    report, topic, at = item.report, item.topic, item.received_at
    if isinstance(report, CameraHealth):
        seen = min(report.ts, at)
        row = {"gateway": topic.gateway, "camera": topic.camera, "health": report.body}
        folded.cameras[(topic.gateway, topic.camera)] = row | {"last_seen": seen}
        _gateway(folded, topic.gateway, seen, {})
    elif isinstance(report, GatewayHealth):
        seen = min(report.ts, at)
        _gateway(folded, topic.gateway, seen, {"health": report.body, "health_at": seen})
    elif isinstance(report, AlarmSet):
        _gateway(folded, topic.gateway, min(report.ts, at), {"alarms": report.body})
    elif isinstance(report, bool):
        # a state carries no time: only a live `online` says the gateway is there now
        seen = at if report and not item.retained else 0.0
        state = "online" if report else "offline"
        _gateway(folded, topic.gateway, seen, {"state": state, "state_at": at})


def _gateway(folded: _Folded, gateway: str, seen: float, values: dict[str, Any]) -> None:
    row = folded.gateways.setdefault(gateway, {"gateway": gateway, "last_seen": seen})
    row.update(values)
    row["last_seen"] = max(row["last_seen"], seen)


def _upsert(c: Connection, table: Table, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """Insert or update `rows`, grouped by the columns they set (one statement per group).

    A new gateway row gets state '' until one is heard; `last_seen` keeps the larger value;
    `state_at` changes only when the state does (a replayed ``offline`` keeps since when).
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    make = sqlite_insert if c.dialect.name == "sqlite" else pg_insert
    for columns, group in groups.items():
        stmt = make(table)
        new, col = stmt.excluded, table.c
        set_: dict[str, Any] = {name: new[name] for name in columns if name not in keys}
        set_["last_seen"] = case(
            (col.last_seen > new.last_seen, col.last_seen), else_=new.last_seen
        )
        if "state_at" in set_:
            set_["state_at"] = case((col.state == new.state, col.state_at), else_=new.state_at)
        if table is desk_gateways and "state" not in columns:
            group = [{"state": ""} | row for row in group]
        c.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=set_), group)


def _alarm_changes(c: Connection, item: Item) -> None:
    report, gateway, now = item.report, item.topic.gateway, item.received_at
    if isinstance(report, AlarmSet):
        alarms.apply_set(c, gateway, report.active, now)
    elif isinstance(report, bool):
        alarms.gateway_state(c, gateway, report, now)
    elif isinstance(report, Event) and report.alarm is not None:
        if report.kind == "alarm_raised":
            active = alarms.ActiveAlarm(report.camera, report.alarm, report.ts, report.detail)
            alarms.raise_alarm(c, gateway, active, now)
        else:
            alarms.clear_alarm(c, gateway, report.camera, report.alarm, now)


def _event_row(item: Item, event: Event) -> dict[str, Any]:
    return {
        "gateway": item.topic.gateway,
        "camera": event.camera,
        "kind": event.kind,
        "ts": event.ts,
        "received_at": item.received_at,
        "body": event.body,
    }


@dataclass(frozen=True)
class Removed:
    gateway_samples: int
    camera_samples: int
    alarms: int
    events: int


def apply_retention(catalogue: Catalogue, history_days: int, now: float) -> Removed:
    """Delete samples, cleared alarms and events older than `history_days` (never the audit
    log, never an open alarm, never the current values)."""
    cutoff = now - history_days * DAY_S
    g, s = desk_gateway_samples.c, desk_camera_samples.c
    with catalogue.transaction() as tx:
        counts = [
            tx.c.execute(delete(table).where(condition)).rowcount
            for table, condition in (
                (desk_gateway_samples, g.ts < cutoff),
                (desk_camera_samples, s.ts < cutoff),
                (desk_alarms, desk_alarms.c.cleared_at < cutoff),
                (desk_events, desk_events.c.received_at < cutoff),
            )
        ]
    return Removed(*counts)
