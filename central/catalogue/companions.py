"""Catalogue reads and writes of the objects beside checkpoints: cosignatures and tokens.

Kept apart from `db.Tx` (the listing's own tables) so each module stays small; every
function runs one statement on the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Row

from .db import Tx
from .schema import checkpoints, records, timestamps, witnessed

PENDING_TOKEN = "PENDING"


@dataclass(frozen=True)
class WitnessedRow:
    """One cosignature the catalogue holds (written, or signed and not yet confirmed)."""

    id: int
    gateway: str
    stream: str
    size: int
    root: str
    checkpoint_key: str
    object_key: str
    body: bytes
    version_id: str
    witnessed_at: float | None


def witnessed_at_key(tx: Tx, object_key: str) -> WitnessedRow | None:
    row = tx.c.execute(select(witnessed).where(witnessed.c.object_key == object_key)).first()
    return None if row is None else _witnessed(row)


def add_witnessed(tx: Tx, **values: object) -> None:
    tx.c.execute(witnessed.insert().values(**values))


def confirm_witnessed(tx: Tx, row_id: int, version_id: str, at: float) -> None:
    tx.c.execute(
        update(witnessed)
        .where(witnessed.c.id == row_id)
        .values(version_id=version_id, witnessed_at=at)
    )


def unconfirmed_witnessed(tx: Tx) -> list[WitnessedRow]:
    """Cosignatures signed but not confirmed by the store (a sync stopped in between)."""
    query = select(witnessed).where(witnessed.c.version_id == "").order_by(witnessed.c.id)
    return [_witnessed(row) for row in tx.c.execute(query)]


def newest_witnessed(tx: Tx, gateway: str) -> list[WitnessedRow]:
    """The confirmed cosignature of the largest size of each of `gateway`'s streams."""
    w = witnessed.c
    newest = (
        select(w.stream, func.max(w.size).label("size"))
        .where(w.gateway == gateway, w.version_id != "")
        .group_by(w.stream)
        .subquery()
    )
    query = (
        select(witnessed)
        .join(newest, and_(w.stream == newest.c.stream, w.size == newest.c.size))
        .where(w.gateway == gateway, w.version_id != "")
        .order_by(w.stream)
    )
    return [_witnessed(row) for row in tx.c.execute(query)]


def count_witnessed(tx: Tx, gateways: list[str]) -> int:
    query = select(func.count()).where(
        witnessed.c.gateway.in_(gateways), witnessed.c.version_id != ""
    )
    return int(tx.c.scalar(query) or 0)


def chain_intact(tx: Tx, gateway: str, stream: str, size: int) -> bool:
    """Whether records 0..size-1 are all catalogued and each `prev` is its predecessor's hash."""
    query = (
        select(records.c.seq, records.c.record_hash, records.c.prev)
        .where(records.c.gateway == gateway, records.c.stream == stream, records.c.seq < size)
        .order_by(records.c.seq)
    )
    previous: str | None = None
    count = 0
    for seq, record_hash, prev in tx.c.execute(query):
        if seq != count or (previous is not None and prev != previous):
            return False
        previous, count = record_hash, count + 1
    return count == size


def signed_checkpoint(tx: Tx, object_key: str) -> Row[Any] | None:
    """The first catalogued checkpoint at `object_key` whose device signature held."""
    query = select(checkpoints).where(
        checkpoints.c.object_key == object_key, checkpoints.c.signature_ok.is_(True)
    )
    return tx.c.execute(query.order_by(checkpoints.c.id)).first()


# -- timestamp tokens -----------------------------------------------------------------------


def add_token(tx: Tx, **values: object) -> None:
    tx.c.execute(timestamps.insert().values(status=PENDING_TOKEN, detail="", **values))


def pending_tokens(tx: Tx, gateway: str) -> list[Row[Any]]:
    query = select(timestamps).where(
        timestamps.c.gateway == gateway, timestamps.c.status == PENDING_TOKEN
    )
    return list(tx.c.execute(query.order_by(timestamps.c.id)))


def set_token(
    tx: Tx, token_id: int, status: str, tsa_time: str | None, tsa: str | None, detail: str
) -> None:
    tx.c.execute(
        update(timestamps)
        .where(timestamps.c.id == token_id)
        .values(status=status, tsa_time=tsa_time, tsa=tsa, detail=detail[:500])
    )


@dataclass(frozen=True)
class StreamTime:
    """A stream's newest signed checkpoint and what its token says (None: no token yet)."""

    gateway: str
    stream: str
    size: int
    status: str | None
    tsa_time: str | None


def newest_times(tx: Tx, gateways: list[str]) -> list[StreamTime]:
    """For each stream of `gateways`: its largest signed checkpoint and that one's token."""
    c = checkpoints.c
    query = (
        select(c.gateway, c.stream, func.max(c.size))
        .where(c.gateway.in_(gateways), c.signature_ok.is_(True))
        .group_by(c.gateway, c.stream)
        .order_by(c.gateway, c.stream)
    )
    found = []
    for gateway, stream, size in tx.c.execute(query).all():
        t = timestamps.c
        token = tx.c.execute(
            select(t.status, t.tsa_time)
            .where(t.gateway == gateway, t.stream == stream, t.size == size)
            .order_by(t.id)
        ).first()
        status, when = (None, None) if token is None else (token.status, token.tsa_time)
        found.append(StreamTime(gateway, stream, int(size), status, when))
    return found


def _witnessed(row: Row[Any]) -> WitnessedRow:
    m = row._mapping
    return WitnessedRow(
        m["id"], m["gateway"], m["stream"], m["size"], m["root"], m["checkpoint_key"],
        m["object_key"], bytes(m["body"]), m["version_id"], m["witnessed_at"],
    )  # fmt: skip
