"""What the camera page reads: the camera's catalogued records in a time window (as timeline
entries), its fps and bitrate samples, its alarms and its events.

A segment's state is the archive's (as `central.retrieval.find` names them), from what sync
stored: `ok` media is confirmed, or evicted when a purge record says the box removed its copy
after the upload, or held when a hold record (not released) covers it; `pending` is waiting
(on the box only); `purged`, `missing` and `mismatch` as sync judged them. Sync accepted only
records signed by the gateway's trusted key, so these rows are the ledger's own word. A hold
is matched to its release by their span (the catalogue does not keep a hold's id): a page
may show a released hold as held, never the other way round.

The window is compared as ISO 8601 text, widened by a day as `central.retrieval.catalogued`
does, then exactly; a record whose times do not parse is left out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, or_, select

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import (
    desk_alarms,
    desk_camera_samples,
    desk_cameras,
    desk_events,
)
from central.catalogue.schema import records
from segments.errors import CryptoFormatError
from segments.records import MEDIA_KINDS
from segments.timeline import iso_utc, parse_iso
from segments.verify.time_order import TIME_TOLERANCE_S

from .alarms import AlarmRow, alarm_row
from .timeline import Entry

DECLARING = ("gap", "boot")
ALARMS_LIMIT = 50
EVENTS_LIMIT = 100
SLACK_S = timedelta(days=1).total_seconds()
DETAIL_CHARS = 300
SHOWN = ("camera", "kind", "ts", "gateway")
MEDIA_STATES = {"ok": "confirmed", "pending": "waiting"}  # else as sync named it
_r = records.c
COLUMNS = (_r.seq, _r.kind, _r.start, _r.end, _r.media_state, _r.reason, _r.purge_seq)


@dataclass(frozen=True)
class CameraSamples:
    ts: list[float]
    fps: list[float | None]
    bitrate_kbps: list[float | None]


@dataclass(frozen=True)
class EventRow:
    ts: float
    kind: str
    body: str

    @property
    def detail(self) -> str:
        """The event's own fields (not the camera, kind and time the row shows), `k: v`."""
        try:
            fields = json.loads(self.body)
        except (ValueError, RecursionError):
            return self.body[:DETAIL_CHARS]
        if not isinstance(fields, dict):
            return self.body[:DETAIL_CHARS]
        shown = (f"{k}: {v}" for k, v in fields.items() if k not in SHOWN and v is not None)
        return " · ".join(shown)[:DETAIL_CHARS]


@dataclass(frozen=True)
class CameraData:
    entries: list[Entry]
    samples: CameraSamples
    alarms: list[AlarmRow]  # active first, then the most recently cleared
    events: list[EventRow]  # newest first
    known: bool  # the desk heard of the camera, or the archive holds records of it


def read_camera(
    catalogue: Catalogue, gateway: str, camera: str, start: float, end: float, timeline: bool
) -> CameraData:
    """The camera's data in [start, end]; its records only with `timeline` (the page's live
    refresh leaves them out: they change when sync runs, not with each report)."""
    rows: list[Any] = []
    with catalogue.transaction() as tx:
        if timeline:
            rows = list(tx.c.execute(_records_query(gateway, camera, start, end)).all())
        if rows:
            first, last = rows[0].seq, rows[-1].seq
            rows += tx.c.execute(_purges_query(gateway, camera, first, last)).all()
        samples = tx.c.execute(_samples_query(gateway, camera, start, end)).all()
        alarms = tx.c.execute(_alarms_query(gateway, camera)).all()
        events = tx.c.execute(_events_query(gateway, camera, start, end)).all()
        c, r = desk_cameras.c, records.c
        heard = tx.c.scalar(select(c.last_seen).where(c.gateway == gateway, c.camera == camera))
        archived = tx.c.scalar(
            select(r.id).where(r.gateway == gateway, r.stream == camera).limit(1)
        )
    return CameraData(
        entries=timeline_entries(rows),
        samples=CameraSamples(
            ts=[r.ts for r in samples],
            fps=[r.fps for r in samples],
            bitrate_kbps=[None if r.bitrate_bps is None else r.bitrate_bps / 1000 for r in samples],
        ),
        alarms=[alarm_row(r) for r in alarms],
        events=[EventRow(r.ts, r.kind, r.body) for r in events],
        known=heard is not None or archived is not None or bool(samples or alarms or events),
    )


def _records_query(gateway: str, camera: str, start: float, end: float) -> Select[Any]:
    c = records.c
    since, until = iso_utc(start - SLACK_S), iso_utc(end + SLACK_S)
    return (
        select(*COLUMNS)
        .where(
            c.gateway == gateway,
            c.stream == camera,
            c.kind.in_([*MEDIA_KINDS, *DECLARING, "hold"]),
            c.start <= until,
            or_(c.end >= since, c.end.is_(None)),
        )
        .order_by(c.seq)
    )


def _purges_query(gateway: str, camera: str, first: int, last: int) -> Select[Any]:
    """The purge records naming a segment of seqs first..last: one per evicted segment."""
    c = records.c
    return select(*COLUMNS).where(
        c.gateway == gateway,
        c.stream == camera,
        c.kind == "purge",
        c.purge_seq >= first,
        c.purge_seq <= last,
    )


def timeline_entries(rows: Sequence[Sequence[Any]]) -> list[Entry]:
    """Catalogue rows (COLUMNS) as timeline entries: segments with their state, declared holes
    with their reason (or kind when they give none). A day of 2 s segments is 43 200 rows:
    they are unpacked as tuples, once."""
    evicted: set[int] = set()
    holds: dict[tuple[float, float], bool] = {}
    spans: list[tuple[int, str, float, float, str, str | None]] = []
    for seq, kind, start, end, media, reason, purge_seq in rows:
        if kind == "purge":
            evicted.add(purge_seq)
            continue
        times = _span(start, end)
        if times is None:
            continue
        if kind == "hold":
            holds[times] = reason != "release"
        elif kind != "boot" or times[1] - times[0] > TIME_TOLERANCE_S:
            spans.append((seq, kind, *times, media, reason))  # a quick boot leaves no hole
    held = [span for span, on in holds.items() if on]
    entries = []
    for seq, kind, s, e, media, reason in spans:
        if kind in DECLARING:
            entries.append(Entry(s, e, reason=reason or kind))
        elif media != "ok":
            entries.append(Entry(s, e, state=MEDIA_STATES.get(media, media)))
        elif held and any(a < e and b > s for a, b in held):
            entries.append(Entry(s, e, state="held"))
        else:
            entries.append(Entry(s, e, state="evicted" if seq in evicted else "confirmed"))
    return entries


def _span(start: str | None, end: str | None) -> tuple[float, float] | None:
    try:
        s, e = parse_iso(start), parse_iso(end if end is not None else start)
    except CryptoFormatError:
        return None
    if s is None or e is None:
        return None
    return s.timestamp(), max(s.timestamp(), e.timestamp())


def _samples_query(gateway: str, camera: str, start: float, end: float) -> Select[Any]:
    s = desk_camera_samples.c
    return (
        select(s.ts, s.fps, s.bitrate_bps)
        .where(s.gateway == gateway, s.camera == camera, s.ts >= start, s.ts <= end)
        .order_by(s.ts)
    )


def _alarms_query(gateway: str, camera: str) -> Select[Any]:
    a = desk_alarms.c
    active_first = a.cleared_at.is_not(None)  # False (active) sorts first
    return (
        select(desk_alarms)
        .where(a.gateway == gateway, a.camera == camera)
        .order_by(active_first, a.raised_at.desc(), a.id.desc())
        .limit(ALARMS_LIMIT)
    )


def _events_query(gateway: str, camera: str, start: float, end: float) -> Select[Any]:
    e = desk_events.c
    return (
        select(e.ts, e.kind, e.body)
        .where(e.gateway == gateway, e.camera == camera, e.ts >= start, e.ts <= end)
        .order_by(e.ts.desc(), e.id.desc())
        .limit(EVENTS_LIMIT)
    )
