"""The records of a camera's time range as the archive holds them, fetched at the versions
the catalogue pinned, then selected exactly as the box selects (`segments.case_range`).

Only what the range needs is read: the catalogued rows that may overlap it, the contiguous
slice of records spanning it, the stream's `hold` records and the `purge` records naming a
segment among those (not every purge: eviction writes one per segment). Each record's
bytes must hash to the leaf hash the catalogue checked; the signatures are checked again by
the slice check with the trusted key.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from evgw.i18n import _
from segments.case_range import Selection, choose, slice_seqs, stream_end
from segments.errors import CryptoFormatError
from segments.merkle import leaf_hash
from segments.records import Record
from segments.signing import Verifier
from segments.timeline import parse_iso

from . import catalogued
from .catalogued import CheckpointRow, RecordRow
from .source import ArchiveSource, RetrievalError

FETCH_WORKERS = 4


@dataclass(frozen=True)
class ArchiveStream:
    """One camera's records around a range, with the catalogue rows they came from."""

    gateway: str
    camera: str
    key: Verifier  # the gateway's trusted device key
    records: dict[int, Record]  # seq -> record: the slice, every hold, the purges naming it
    lines: dict[int, bytes]
    rows: dict[int, RecordRow]
    checkpoints: tuple[CheckpointRow, ...]  # consistent ones, largest first
    selection: Selection

    @property
    def notes(self) -> list[Record]:
        return [r for r in self.records.values() if r.kind in catalogued.NOTES]


def load_range(
    source: ArchiveSource, gateway: str, camera: str, start: datetime, end: datetime, now: datetime
) -> ArchiveStream:
    """Fetch and select the records of [start, end); raises RetrievalError with the fix."""
    key = source.device_key(gateway)
    with source.catalogue.transaction() as tx:
        first, last, count = catalogued.timeline_bounds(tx, gateway, camera)
        if count == 0:
            raise RetrievalError(
                _(
                    "the catalogue holds no records of gateway {gateway!r}, camera {camera!r}"
                ).format(gateway=gateway, camera=camera),
                hint=_(
                    "check --gateway and --camera; run `evgw archive sync --config {path}` to "
                    "catalogue what the bucket holds"
                ).format(path=source.config_path),
            )
        candidates = catalogued.range_rows(tx, gateway, camera, start, end)
        checkpoints = tuple(catalogued.consistent_checkpoints(tx, gateway, camera))
        fetched = _fetch(source, candidates)
        span = slice_seqs([r for r, _line in fetched.values()], start, end)
        rows = {r.seq: r for r in candidates}
        if span is not None:
            sliced = catalogued.seq_rows(tx, gateway, camera, span[0], span[-1])
            rows.update((r.seq, r) for r in sliced)
        seqs = [*rows, *(span or ())]
        if seqs:
            notes = catalogued.note_rows(tx, gateway, camera, min(seqs), max(seqs))
            rows.update((r.seq, r) for r in notes)
    missing = [] if span is None else [seq for seq in span if seq not in rows]
    if missing:
        raise RetrievalError(
            _(
                "records {seqs} of gateway {gateway!r}, camera {camera!r} lie inside the range "
                "but are not in the catalogue: the slice cannot be proven whole"
            ).format(seqs=_seqs(missing), gateway=gateway, camera=camera),
            hint=_("run `evgw archive sync`; its findings (missing or refused records) say why"),
        )
    both = _fetch(source, [rows[s] for s in sorted(rows)], fetched)
    records = {seq: record for seq, (record, _line) in both.items()}
    lines = {seq: line for seq, (_record, line) in both.items()}
    stopped = bool(checkpoints) and checkpoints[0].size == count
    tail = stream_end(_timeline(first, last), stopped, now)
    selection = choose(list(records.values()), lines, start, end, tail)
    return ArchiveStream(gateway, camera, key, records, lines, rows, checkpoints, selection)


def _fetch(
    source: ArchiveSource,
    rows: Sequence[RecordRow],
    have: dict[int, tuple[Record, bytes]] | None = None,
) -> dict[int, tuple[Record, bytes]]:
    """Each row's record (and its bytes) at its catalogued version, checked against its leaf
    hash; read FETCH_WORKERS at a time (records are small: the round trips dominate)."""
    found = dict(have or {})
    wanted = [row for row in rows if row.seq not in found]
    with ThreadPoolExecutor(FETCH_WORKERS, thread_name_prefix="retrieval-fetch") as pool:
        read = list(pool.map(lambda row: source.read(row.object_key, row.version_id), wanted))
    for row, data in zip(wanted, read, strict=True):
        found[row.seq] = (_record(row, data), data)
    return found


def _record(row: RecordRow, data: bytes) -> Record:
    if leaf_hash(data).hex() != row.leaf_hash:
        raise RetrievalError(
            _(
                "{key} (version {version}) is not the record the catalogue checked (its leaf "
                "hash differs): the object was replaced"
            ).format(key=row.object_key, version=row.version_id),
            hint=_("run `evgw archive sync` and read its findings (overwrite)"),
        )
    try:
        return Record.from_json(data)
    except CryptoFormatError as e:
        raise RetrievalError(
            _("{key}: not a ledger record: {error}").format(key=row.object_key, error=e)
        ) from e


def _timeline(first: str | None, last: str | None) -> list[tuple[datetime, datetime]]:
    try:
        a, b = parse_iso(first), parse_iso(last)
    except CryptoFormatError:
        return []
    return [] if a is None or b is None else [(a, b)]


def _seqs(seqs: Sequence[int]) -> str:
    shown = ", ".join(map(str, seqs[:10]))
    more = len(seqs) - 10
    if more > 0:
        return _("seq {shown} and {more} more").format(shown=shown, more=more)
    return _("seq {shown}").format(shown=shown)
