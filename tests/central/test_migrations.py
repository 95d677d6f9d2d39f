"""The catalogue's schema is created and recorded once, survives re-opening, and a database
from a newer evgw or holding foreign tables is refused rather than misread."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    create_engine,
    delete,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL

from central.catalogue.db import Catalogue
from central.catalogue.migrations import CURRENT, SchemaError
from central.catalogue.schema import schema_version
from central.findings import OVERWRITE, Finding


def versions(url: URL) -> list[int]:
    engine = create_engine(url)
    with engine.connect() as c:
        found = list(c.scalars(select(schema_version.c.version)))
    engine.dispose()
    return found


def test_a_new_database_gets_every_version_once(catalogue_url: URL) -> None:
    Catalogue.open(catalogue_url).close()
    Catalogue.open(catalogue_url).close()
    assert versions(catalogue_url) == list(range(1, CURRENT + 1))


def test_findings_are_stored_once(catalogue_url: URL) -> None:
    catalogue = Catalogue.open(catalogue_url)
    finding = Finding(OVERWRITE, "gw-1", "2 versions", key="s/gw-1/cam/x.json")
    with catalogue.transaction() as tx:
        assert tx.add_finding(finding) is True
    with catalogue.transaction() as tx:
        assert tx.add_finding(finding) is False
    assert [f for f, _ in catalogue.findings()] == [finding]
    assert catalogue.findings(["gw-2"]) == []
    catalogue.close()


def test_a_newer_schema_is_refused(catalogue_url: URL) -> None:
    Catalogue.open(catalogue_url).close()
    engine = create_engine(catalogue_url)
    with engine.begin() as c:
        c.execute(schema_version.insert().values(version=CURRENT + 1, applied_at=0, note="x"))
    engine.dispose()
    with pytest.raises(SchemaError, match=f"version {CURRENT + 1} was written by a newer evgw"):
        Catalogue.open(catalogue_url)


def test_a_database_of_something_else_is_refused(catalogue_url: URL) -> None:
    engine = create_engine(catalogue_url)
    other = MetaData()
    Table("invoices", other, Column("id", Integer, primary_key=True))
    other.create_all(engine)
    engine.dispose()
    with pytest.raises(SchemaError, match="holds tables but no evgw catalogue version"):
        Catalogue.open(catalogue_url)


def test_hostile_names_are_stored_bounded(catalogue_url: URL) -> None:
    catalogue = Catalogue.open(catalogue_url)
    huge = Finding(OVERWRITE, "gw-" + "界" * 2000, "x" * 10_000, "cam" * 900, 7, "k" * 5000)
    assert len(huge.detail) == 500 and len(huge.key.encode()) <= 1024
    assert len(huge.gateway.encode()) <= 1024 and len(huge.stream.encode()) <= 1024
    with catalogue.transaction() as tx:
        assert tx.add_finding(huge) is True
        assert tx.add_finding(huge) is False
    assert [f for f, _ in catalogue.findings()] == [huge]
    catalogue.close()


def test_archives_opening_a_new_database_at_once_migrate_it_once(catalogue_url: URL) -> None:
    """Several workers started together: each waits for the first one's migration (PostgreSQL
    takes an advisory lock; SQLite's file lock serialises the writers)."""
    with ThreadPoolExecutor(4) as pool:
        opened = list(pool.map(lambda _: Catalogue.open(catalogue_url), range(4)))
    for catalogue in opened:
        catalogue.close()
    assert versions(catalogue_url) == list(range(1, CURRENT + 1))


def test_a_version_3_catalogue_gets_the_records_reason_column(catalogue_url: URL) -> None:
    """v1 makes `records` from today's table; a catalogue made before v4 lacks `reason`."""
    Catalogue.open(catalogue_url).close()
    engine = create_engine(catalogue_url)
    with engine.begin() as c:
        c.execute(text("ALTER TABLE records DROP COLUMN reason"))
        c.execute(delete(schema_version).where(schema_version.c.version == 4))
    Catalogue.open(catalogue_url).close()
    with engine.connect() as c:
        assert "reason" in {col["name"] for col in inspect(c).get_columns("records")}
    engine.dispose()
    assert versions(catalogue_url) == list(range(1, CURRENT + 1))
