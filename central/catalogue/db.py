"""Open the catalogue and query it: the few typed reads and writes sync needs.

`Catalogue.open` connects (SQLite or PostgreSQL, by URL) and migrates in one transaction;
`Catalogue.transaction` hands out a `Tx`, whose methods each run one statement on that
transaction's connection, so sync commits a gateway's whole work at once or none of it.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, create_engine, func, or_, select, update
from sqlalchemy.engine import URL, Row
from sqlalchemy.exc import SQLAlchemyError

from evgw.errors import EvgwError

from ..findings import Finding
from .migrations import migrate
from .schema import checkpoints, findings, object_versions, records

IN_CHUNK = 500  # keys per IN (...) list: well under every database's parameter limit
MIGRATION_LOCK = 0x65766777  # "evgw": the PostgreSQL advisory lock migrations run under


class CatalogueError(EvgwError):
    """The catalogue database cannot be reached or used."""


@dataclass(frozen=True)
class SeenVersion:
    key: str
    version_id: str
    prefix: str
    gateway: str
    what: str
    size: int
    last_modified: float
    delete_marker: bool
    judged: bool


class Catalogue:
    def __init__(self, engine: Engine, where: str) -> None:
        self._engine = engine
        self.where = where

    @classmethod
    def open(cls, url: URL) -> Catalogue:
        """Connect and bring the schema to the current version."""
        where = url.render_as_string(hide_password=True)
        try:
            engine = create_engine(url)
            with _sqlite_lock(url), engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
                migrate(connection, where)
        except SQLAlchemyError as e:
            raise CatalogueError(
                f"cannot open the catalogue {where}: {e}",
                hint="check [database] url and that the database server is running",
            ) from e
        return cls(engine, where)

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        try:
            with self._engine.begin() as connection:
                yield Tx(connection)
        except SQLAlchemyError as e:
            raise CatalogueError(f"catalogue {self.where}: {e}") from e

    def findings(self, gateways: Sequence[str] | None = None) -> list[tuple[Finding, float]]:
        """Stored findings (of `gateways`, or all) with when each was first seen."""
        query = select(findings).order_by(findings.c.id)
        if gateways is not None:
            query = query.where(findings.c.gateway.in_(gateways))
        with self.transaction() as tx:
            rows = tx.c.execute(query).all()
        return [(_finding(row), row.first_seen) for row in rows]


@contextmanager
def _sqlite_lock(url: URL) -> Iterator[None]:
    """Several archive workers or desks may open a new database at once: the first migrates,
    the others wait and find the schema current. PostgreSQL serialises them with an advisory
    lock inside the transaction; SQLite runs DDL outside the driver's transactions, so a
    file lock beside the database does it there."""
    if url.get_backend_name() != "sqlite" or not url.database:
        yield
        return
    with open(f"{url.database}.migrate.lock", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


def _finding(row: Row[tuple[object, ...]]) -> Finding:
    m = row._mapping
    return Finding(m["kind"], m["gateway"], m["detail"], m["stream"], m["seq"], m["object_key"])


class Tx:
    """One transaction's reads and writes."""

    def __init__(self, connection: Connection) -> None:
        self.c = connection

    # -- object versions ------------------------------------------------------------------

    def known(self, versions: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (key, version id) pairs are catalogued already."""
        wanted = set(versions)
        keys = sorted({key for key, _ in wanted})
        found: set[tuple[str, str]] = set()
        for i in range(0, len(keys), IN_CHUNK):
            chunk = keys[i : i + IN_CHUNK]
            query = select(object_versions.c.key, object_versions.c.version_id).where(
                object_versions.c.key.in_(chunk)
            )
            found.update((k, v) for k, v in self.c.execute(query) if (k, v) in wanted)
        return found

    def add_version(self, seen: SeenVersion) -> None:
        self.c.execute(
            object_versions.insert().values(
                key=seen.key,
                version_id=seen.version_id,
                prefix=seen.prefix,
                gateway=seen.gateway,
                what=seen.what,
                size=seen.size,
                last_modified=seen.last_modified,
                delete_marker=seen.delete_marker,
                judged=seen.judged,
                vanished=False,
                seen_at=time.time(),
            )
        )

    def count_present(self, prefix: str) -> int:
        """Catalogued versions under `prefix` not yet found gone."""
        query = select(func.count()).where(
            object_versions.c.prefix == prefix, object_versions.c.vanished.is_(False)
        )
        return int(self.c.scalar(query) or 0)

    def present(self, prefix: str) -> list[tuple[str, str]]:
        """(key, catalogued version id) of every version under `prefix` not found gone."""
        query = select(object_versions.c.key, object_versions.c.version_id).where(
            object_versions.c.prefix == prefix, object_versions.c.vanished.is_(False)
        )
        return [(k, v) for k, v in self.c.execute(query)]

    def mark_vanished(self, key: str, version_id: str) -> None:
        self.c.execute(
            update(object_versions)
            .where(object_versions.c.key == key, object_versions.c.version_id == version_id)
            .values(vanished=True)
        )

    def version_counts(self, keys: Iterable[str]) -> dict[str, int]:
        """How many versions (not counting delete markers) each of `keys` has, for keys with >1."""
        keys = sorted(set(keys))
        counts: dict[str, int] = {}
        for i in range(0, len(keys), IN_CHUNK):
            query = (
                select(object_versions.c.key, func.count())
                .where(
                    object_versions.c.key.in_(keys[i : i + IN_CHUNK]),
                    object_versions.c.delete_marker.is_(False),
                )
                .group_by(object_versions.c.key)
                .having(func.count() > 1)
            )
            counts.update((k, n) for k, n in self.c.execute(query))
        return counts

    def object_versions_of(self, key: str) -> list[SeenVersion]:
        query = select(object_versions).where(object_versions.c.key == key)
        return [_seen(row) for row in self.c.execute(query.order_by(object_versions.c.id))]

    def unjudged_media(self, gateway: str) -> list[SeenVersion]:
        query = select(object_versions).where(
            object_versions.c.gateway == gateway,
            object_versions.c.what == "media",
            object_versions.c.judged.is_(False),
        )
        return [_seen(row) for row in self.c.execute(query.order_by(object_versions.c.id))]

    def judge(self, key: str, version_id: str) -> None:
        self.c.execute(
            update(object_versions)
            .where(object_versions.c.key == key, object_versions.c.version_id == version_id)
            .values(judged=True)
        )

    # -- records --------------------------------------------------------------------------

    def record(self, gateway: str, stream: str, seq: int) -> Row[tuple[object, ...]] | None:
        query = select(records).where(
            records.c.gateway == gateway, records.c.stream == stream, records.c.seq == seq
        )
        return self.c.execute(query).first()

    def add_record(self, **values: object) -> None:
        self.c.execute(records.insert().values(**values))

    def record_naming_media(self, key: str) -> Row[tuple[object, ...]] | None:
        return self.c.execute(select(records).where(records.c.media_key == key)).first()

    def records_waiting_for_media(self, gateway: str) -> list[Row[tuple[object, ...]]]:
        query = select(records).where(
            records.c.gateway == gateway, records.c.media_state == "pending"
        )
        return list(self.c.execute(query.order_by(records.c.id)))

    def count_media_state(self, gateway: str, state: str) -> int:
        query = select(func.count()).where(
            records.c.gateway == gateway, records.c.media_state == state
        )
        return int(self.c.scalar(query) or 0)

    def purge_of(self, gateway: str, stream: str, seq: int) -> Row[Any] | None:
        """The first catalogued `purge` record that names segment `seq`."""
        query = select(records).where(
            records.c.gateway == gateway, records.c.stream == stream, records.c.purge_seq == seq
        )
        return self.c.execute(query.order_by(records.c.seq)).first()

    def set_media_state(self, record_id: int, state: str) -> None:
        self.c.execute(update(records).where(records.c.id == record_id).values(media_state=state))

    def leaf_prefix(self, gateway: str, stream: str) -> list[bytes]:
        """Leaf hashes of the stream's catalogued records 0, 1, 2, … up to the first gap."""
        query = (
            select(records.c.seq, records.c.leaf_hash)
            .where(records.c.gateway == gateway, records.c.stream == stream)
            .order_by(records.c.seq)
        )
        leaves: list[bytes] = []
        for seq, leaf in self.c.execute(query):
            if seq != len(leaves):
                break
            leaves.append(bytes.fromhex(leaf))
        return leaves

    # -- checkpoints ----------------------------------------------------------------------

    def add_checkpoint(self, **values: object) -> None:
        self.c.execute(checkpoints.insert().values(**values))

    def checkpoints_of(self, gateway: str, stream: str) -> list[Row[tuple[object, ...]]]:
        query = select(checkpoints).where(
            checkpoints.c.gateway == gateway, checkpoints.c.stream == stream
        )
        return list(self.c.execute(query.order_by(checkpoints.c.size, checkpoints.c.id)))

    def same_checkpoint(self, gateway: str, stream: str, size: int, root: str) -> bool:
        """Whether a signed checkpoint with this size and root is catalogued already."""
        query = select(checkpoints.c.id).where(
            checkpoints.c.gateway == gateway,
            checkpoints.c.stream == stream,
            checkpoints.c.size == size,
            checkpoints.c.root == root,
            checkpoints.c.signature_ok.is_(True),
        )
        return self.c.execute(query).first() is not None

    def other_roots(self, gateway: str, stream: str, size: int, root: str) -> list[Row[Any]]:
        """Signed checkpoints of the same size with another root: a fork."""
        query = select(checkpoints).where(
            checkpoints.c.gateway == gateway,
            checkpoints.c.stream == stream,
            checkpoints.c.size == size,
            checkpoints.c.root != root,
            checkpoints.c.signature_ok.is_(True),
        )
        return list(self.c.execute(query.order_by(checkpoints.c.id)))

    def out_of_order(self, gateway: str, stream: str, size: int, time_ts: float) -> list[Row[Any]]:
        """Signed checkpoints signed earlier but larger, or later but smaller: a rollback."""
        c = checkpoints.c
        query = select(checkpoints).where(
            c.gateway == gateway,
            c.stream == stream,
            c.signature_ok.is_(True),
            or_(and_(c.time_ts < time_ts, c.size > size), and_(c.time_ts > time_ts, c.size < size)),
        )
        return list(self.c.execute(query.order_by(c.id)))

    def pending_streams(self, gateway: str) -> list[str]:
        query = (
            select(checkpoints.c.stream)
            .where(checkpoints.c.gateway == gateway, checkpoints.c.state == "pending")
            .distinct()
        )
        return sorted(self.c.scalars(query))

    def set_checkpoint(self, checkpoint_id: int, state: str, consistent_with: int | None) -> None:
        self.c.execute(
            update(checkpoints)
            .where(checkpoints.c.id == checkpoint_id)
            .values(state=state, consistent_with=consistent_with)
        )

    def count_checkpoints(self, gateway: str, state: str) -> int:
        query = select(func.count()).where(
            checkpoints.c.gateway == gateway, checkpoints.c.state == state
        )
        return int(self.c.scalar(query) or 0)

    # -- findings -------------------------------------------------------------------------

    def add_finding(self, finding: Finding) -> bool:
        """Store `finding` unless the same one is stored; True when it is new."""
        same = select(findings.c.id).where(findings.c.fingerprint == finding.fingerprint)
        if self.c.execute(same).first() is not None:
            return False
        self.c.execute(
            findings.insert().values(
                fingerprint=finding.fingerprint,
                kind=finding.kind,
                gateway=finding.gateway,
                stream=finding.stream,
                seq=finding.seq,
                object_key=finding.key,
                detail=finding.detail,
                first_seen=time.time(),
            )
        )
        return True


def _seen(row: Row[tuple[object, ...]]) -> SeenVersion:
    m = row._mapping
    return SeenVersion(
        m["key"], m["version_id"], m["prefix"], m["gateway"], m["what"], m["size"],
        m["last_modified"], m["delete_marker"], m["judged"],
    )  # fmt: skip
