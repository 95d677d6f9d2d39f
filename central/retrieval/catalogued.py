"""What retrieval reads from the catalogue: a stream's records in a time range with their
object keys and pinned versions, its checkpoints, the first version of a segment object.

Small queries over the catalogue's tables (`central.catalogue.schema`), read-only. Times are
compared as the ISO 8601 text the records carry, widened by a day, and then exactly in Python
(`segments.case_range`), so a text comparison can only keep too much, never lose a record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from segments.records import MEDIA_KINDS
from segments.timeline import iso_utc
from segments.verify.time_order import OUT_OF_TIMELINE

from ..catalogue.db import IN_CHUNK, Tx
from ..catalogue.schema import checkpoints, object_versions, records

CONSISTENT = "consistent"
DECLARING = ("gap", "boot")
NOTES = ("purge", "hold")  # out of the timeline, but they change what `find` says
SLACK = timedelta(days=1)


@dataclass(frozen=True)
class RecordRow:
    """A catalogued record: where its object is, and the leaf hash the catalogue checked."""

    seq: int
    kind: str
    start: str | None
    end: str | None
    object_key: str
    version_id: str
    leaf_hash: str
    media_key: str | None
    media_state: str


@dataclass(frozen=True)
class CheckpointRow:
    size: int
    root: str
    object_key: str
    version_id: str
    state: str


def range_rows(
    tx: Tx, gateway: str, stream: str, start: datetime, end: datetime
) -> list[RecordRow]:
    """Segments and declaring records that may overlap [start, end) (a superset)."""
    c = records.c
    since, until = iso_utc((start - SLACK).timestamp()), iso_utc((end + SLACK).timestamp())
    query = select(records).where(
        c.gateway == gateway,
        c.stream == stream,
        c.kind.in_([*MEDIA_KINDS, *DECLARING]),
        c.start <= until,
        or_(c.end >= since, c.end.is_(None)),
    )
    return [_row(r) for r in tx.c.execute(query.order_by(c.seq))]


def seq_rows(tx: Tx, gateway: str, stream: str, first: int, last: int) -> list[RecordRow]:
    """The catalogued records of seqs first..last (a seq the catalogue lacks is absent)."""
    c = records.c
    query = select(records).where(
        c.gateway == gateway, c.stream == stream, c.seq >= first, c.seq <= last
    )
    return [_row(r) for r in tx.c.execute(query.order_by(c.seq))]


def note_rows(tx: Tx, gateway: str, stream: str, first: int, last: int) -> list[RecordRow]:
    """Every `hold` record of the stream (operators' holds and releases: few), and the `purge`
    records naming a segment of seqs first..last: a ring buffer that evicts after upload
    writes one per segment, so reading them all would grow with the stream's whole history."""
    c = records.c
    holds = c.kind == "hold"
    purges = and_(c.kind == "purge", c.purge_seq >= first, c.purge_seq <= last)
    query = select(records).where(c.gateway == gateway, c.stream == stream, or_(holds, purges))
    return [_row(r) for r in tx.c.execute(query.order_by(c.seq))]


def timeline_bounds(tx: Tx, gateway: str, stream: str) -> tuple[str | None, str | None, int]:
    """The first start and last end on the stream's timeline, and how many records it has."""
    c = records.c
    mine = (c.gateway == gateway, c.stream == stream)
    on_timeline = c.kind.not_in(sorted(OUT_OF_TIMELINE))
    query = select(func.min(c.start), func.max(func.coalesce(c.end, c.start))).where(
        *mine, on_timeline, c.start.is_not(None)
    )
    first, last = tx.c.execute(query).one()
    count = tx.c.scalar(select(func.max(c.seq)).where(*mine))
    return first, last, 0 if count is None else int(count) + 1


def consistent_checkpoints(tx: Tx, gateway: str, stream: str) -> list[CheckpointRow]:
    """The stream's checkpoints sync found consistent, largest first."""
    c = checkpoints.c
    query = select(checkpoints).where(
        c.gateway == gateway, c.stream == stream, c.state == CONSISTENT
    )
    rows = tx.c.execute(query.order_by(c.size.desc(), c.id))
    return [CheckpointRow(r.size, r.root, r.object_key, r.version_id, r.state) for r in rows]


def leaves(tx: Tx, gateway: str, stream: str, size: int) -> list[bytes]:
    """Leaf hashes of seqs 0..size-1 (fewer when the catalogue lacks one)."""
    return tx.leaf_prefix(gateway, stream)[:size]


def object_versions_of(tx: Tx, keys: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
    """key -> its (version id, size) versions, oldest first, delete markers left out.

    The uploader writes a key once; a second version is an overwrite (sync reports it). The
    evidence is the version whose bytes hash to the signed SHA-256, whichever it is."""
    found: dict[str, list[tuple[str, int]]] = {}
    c = object_versions.c
    for key in keys:
        query = select(c.version_id, c.size).where(c.key == key, c.delete_marker.is_(False))
        listed = tx.c.execute(query.order_by(c.last_modified, c.id))
        found[key] = [(v, int(n)) for v, n in listed]
    return found


def _row(r: object) -> RecordRow:
    m = r._mapping  # type: ignore[attr-defined]
    return RecordRow(
        m["seq"], m["kind"], m["start"], m["end"], m["object_key"], m["version_id"],
        m["leaf_hash"], m["media_key"], m["media_state"],
    )  # fmt: skip


def present(tx: Tx, keys: Sequence[str]) -> dict[str, str]:
    """key -> the version id of its first version, for those of `keys` the bucket held."""
    c = object_versions.c
    found: dict[str, str] = {}
    for i in range(0, len(keys), IN_CHUNK):
        query = select(c.key, c.version_id).where(
            c.key.in_(keys[i : i + IN_CHUNK]), c.delete_marker.is_(False)
        )
        for key, version in tx.c.execute(query.order_by(c.last_modified, c.id)):
            found.setdefault(key, version)
    return found
