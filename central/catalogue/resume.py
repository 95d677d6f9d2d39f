"""Where sync resumes listing a gateway: per stream, the oldest object not yet settled.

A gateway's keys sort by stream, then by day and seq (records and their segments), then
`checkpoints/` by size (DESIGN.md §7), and S3 lists versions in key order from a
`KeyMarker`. So a sync need not list again what the catalogue has settled; per stream it
resumes at the earliest of:

- records: the newest catalogued record; a record still waiting for its segment object; the
  record below a hole in the seqs of recent records (parallel uploads arrive out of order);
- checkpoints: the largest catalogued one; one still pending (waiting for its records); a
  recent one without a token, on a stream whose gateway sends tokens.

"Recent" is uploaded since `recent_since`: sync passes one audit interval (or `settle_s`,
if longer) ago, so whatever can still arrive below those points (a record or token later
than that, a new version of a settled key, a deletion, an object at a key evgw never
writes) is found by the audit, the whole-prefix listing sync runs every `[archive]
audit_interval_h` (`audits` remembers when).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from .db import Tx
from .schema import audits, checkpoints, records, timestamps


@dataclass(frozen=True)
class ResumePoint:
    """`records_from`: a key prefix sorting just before the earliest record (and segment) to
    list again, e.g. ``s/gw/cam/2026/12/02/00000041``; None lists the day folders from their
    start. `checkpoints_from`: the smallest checkpoint size to list again."""

    records_from: str | None
    checkpoints_from: int | None


def resume_points(tx: Tx, gateway: str, recent_since: float) -> dict[str, ResumePoint]:
    """Each catalogued stream's resume point; streams absent here are listed whole."""
    starts = _record_starts(tx, gateway, recent_since)
    sizes = _checkpoint_starts(tx, gateway, recent_since)
    return {
        stream: ResumePoint(starts.get(stream) or None, sizes.get(stream))
        for stream in sorted(set(starts) | set(sizes))
    }


def stem(object_key: str) -> str:
    """``…/<day>/<seq>`` of a record's key: it sorts before the record's and segment's keys."""
    folder, _, name = object_key.rpartition("/")
    return f"{folder}/{name.partition('_')[0]}"


def last_audit(tx: Tx, prefix: str) -> float | None:
    return tx.c.scalar(select(audits.c.audited_at).where(audits.c.prefix == prefix))


def record_audit(tx: Tx, prefix: str, at: float, versions: int) -> None:
    tx.c.execute(audits.delete().where(audits.c.prefix == prefix))
    tx.c.execute(audits.insert().values(prefix=prefix, audited_at=at, versions=versions))


def _record_starts(tx: Tx, gateway: str, recent_since: float) -> dict[str, str]:
    r = records.c
    mine = r.gateway == gateway
    starts: dict[str, list[str]] = defaultdict(list)
    newest = select(r.stream, func.max(r.seq)).where(mine).group_by(r.stream)
    for stream, seq in tx.c.execute(newest).all():
        starts[stream].append(stem(_key_of(tx, gateway, stream, int(seq))))
    waiting = select(r.stream, r.object_key).where(mine, r.media_state == "pending")
    for stream, key in tx.c.execute(waiting).all():
        starts[stream].append(stem(key))
    for stream in _streams_with_holes(tx, gateway, recent_since):
        hole = _first_hole(tx, gateway, stream, recent_since)
        if hole is not None:
            below = _key_below(tx, gateway, stream, hole)
            starts[stream].append("" if below is None else stem(below))
    return {stream: min(keys) for stream, keys in starts.items()}


def _streams_with_holes(tx: Tx, gateway: str, recent_since: float) -> list[str]:
    """Streams whose recent records may have a hole: counted in the database, so a sync
    without one (the usual case) reads a row per stream, not a day of records."""
    r = records.c
    recent = (
        select(r.stream, func.min(r.seq), func.max(r.seq), func.count())
        .where(r.gateway == gateway, r.uploaded_at >= recent_since)
        .group_by(r.stream)
    )
    found = []
    for stream, low, high, count in tx.c.execute(recent).all():
        whole = count == high - low + 1
        if not whole or (low > 0 and not _catalogued(tx, gateway, stream, low - 1)):
            found.append(stream)
    return found


def _first_hole(tx: Tx, gateway: str, stream: str, recent_since: float) -> int | None:
    """The lowest seq missing just below a recent record."""
    r = records.c
    query = select(r.seq).where(
        r.gateway == gateway, r.stream == stream, r.uploaded_at >= recent_since
    )
    seqs = set(tx.c.scalars(query))
    for seq in sorted(seqs):
        if seq > 0 and seq - 1 not in seqs and not _catalogued(tx, gateway, stream, seq - 1):
            return seq - 1
    return None


def _checkpoint_starts(tx: Tx, gateway: str, recent_since: float) -> dict[str, int]:
    c, t = checkpoints.c, timestamps.c
    newest = select(c.stream, func.max(c.size)).where(c.gateway == gateway).group_by(c.stream)
    starts = {stream: int(size) for stream, size in tx.c.execute(newest).all()}
    tokened = set(tx.c.scalars(select(t.stream).where(t.gateway == gateway).distinct()))
    has_token = (
        select(t.id).where(t.gateway == c.gateway, t.stream == c.stream, t.size == c.size).exists()
    )
    waiting = select(c.stream, c.size, c.state, has_token).where(
        c.gateway == gateway, (c.state == "pending") | (c.uploaded_at >= recent_since)
    )
    for stream, size, state, token in tx.c.execute(waiting).all():
        if state == "pending" or (stream in tokened and not token):
            starts[stream] = min(starts[stream], int(size))
    return starts


def _catalogued(tx: Tx, gateway: str, stream: str, seq: int) -> bool:
    r = records.c
    query = select(r.id).where(r.gateway == gateway, r.stream == stream, r.seq == seq)
    return tx.c.execute(query).first() is not None


def _key_of(tx: Tx, gateway: str, stream: str, seq: int) -> str:
    r = records.c
    query = select(r.object_key).where(r.gateway == gateway, r.stream == stream, r.seq == seq)
    return str(tx.c.scalar(query))


def _key_below(tx: Tx, gateway: str, stream: str, seq: int) -> str | None:
    """The key of the stream's highest catalogued record below `seq`."""
    r = records.c
    query = (
        select(r.object_key)
        .where(r.gateway == gateway, r.stream == stream, r.seq < seq)
        .order_by(r.seq.desc())
        .limit(1)
    )
    return tx.c.scalar(query)
