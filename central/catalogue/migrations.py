"""Bring a catalogue database to the current schema, one recorded version at a time.

A small runner of our own rather than Alembic: the catalogue needs only forward steps in a
fixed order, applied at open and recorded in `schema_version`, and a database written by a
newer evgw refused rather than misread (the same discipline as the gateway's index,
`segments.index_schema`). Alembic would add a dependency, an environment script and a
configuration file per installation for that, and its autogeneration is not wanted for
evidence: every step here is written and reviewed by hand. Each step is portable SQLAlchemy
Core, so the same migrations run on SQLite and PostgreSQL.

A layout change adds a step at the end; a released step is never edited.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, inspect, select, text

from evgw.errors import EvgwError

from . import desk_schema, schema


class SchemaError(EvgwError):
    """The database holds a schema this evgw cannot use."""

    exit_code = 2


@dataclass(frozen=True)
class Step:
    version: int
    note: str
    apply: Callable[[Connection], None]


def _v1(connection: Connection) -> None:
    tables = [schema.object_versions, schema.records, schema.checkpoints, schema.findings]
    schema.metadata.create_all(connection, tables=tables)


def _v2(connection: Connection) -> None:
    schema.metadata.create_all(connection, tables=[schema.witnessed, schema.timestamps])


def _v3(connection: Connection) -> None:
    schema.metadata.create_all(connection, tables=[schema.audits, schema.resolutions])
    schema.records_uploaded.create(connection, checkfirst=True)


def _v4(connection: Connection) -> None:
    schema.metadata.create_all(connection, tables=desk_schema.DESK_TABLES)
    # v1 creates `records` from today's table, reason included; an older database lacks it
    if "reason" not in {c["name"] for c in inspect(connection).get_columns("records")}:
        connection.execute(text("ALTER TABLE records ADD COLUMN reason TEXT"))


STEPS = (
    Step(1, "object versions, records, checkpoints, findings", _v1),
    Step(2, "witnessed checkpoints and timestamp tokens", _v2),
    Step(3, "when each gateway prefix was last listed whole; resolved findings", _v3),
    Step(4, "the desk: reports, samples, alarms, events, users, sessions, audit; reasons", _v4),
)
CURRENT = STEPS[-1].version


def migrate(connection: Connection, where: str) -> list[int]:
    """Apply the steps the database lacks, inside the caller's transaction; the versions applied.

    `where` names the database (password hidden) in messages.
    """
    schema.metadata.create_all(connection, tables=[schema.schema_version])
    done = set(connection.scalars(select(schema.schema_version.c.version)))
    newer = sorted(v for v in done if v > CURRENT)
    if newer:
        raise SchemaError(
            f"{where}: catalogue schema version {newer[-1]} was written by a newer evgw "
            f"(this one knows up to {CURRENT}); upgrade evgw on this archive"
        )
    if not done and _foreign_tables(connection):
        raise SchemaError(
            f"{where}: the database holds tables but no evgw catalogue version; "
            "give the catalogue a database of its own"
        )
    applied = []
    for step in STEPS:
        if step.version in done:
            continue
        step.apply(connection)
        connection.execute(
            schema.schema_version.insert().values(
                version=step.version, applied_at=time.time(), note=step.note
            )
        )
        applied.append(step.version)
    return applied


def _foreign_tables(connection: Connection) -> bool:
    names = set(inspect(connection).get_table_names()) - {schema.schema_version.name}
    return bool(names)
