"""Pytest plugin: a real PostgreSQL for the archive's fleet tests (add to `pytest_plugins`).

`postgres` is one server per session (initdb + start ~2 s); `postgres_url` is a database in
it shared by the session; `postgres_database` is a fresh database for one test (~0.2 s),
dropped afterwards, for tests that must start from an empty catalogue.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from sqlalchemy import URL

from testbeds.errors import ServerError
from testbeds.postgres import PostgresServer, find_pg_bindir

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def _postgres_installed() -> None:
    try:
        find_pg_bindir()
    except ServerError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def postgres(_postgres_installed: None) -> Iterator[PostgresServer]:
    """A PostgreSQL shared by the session; do not stop it."""
    server = PostgresServer().start()
    yield server
    server.stop()
    server.remove()


@pytest.fixture(scope="session")
def postgres_url(postgres: PostgresServer) -> URL:
    """SQLAlchemy URL (`postgresql+psycopg://…`) of a database shared by the session."""
    return postgres.create_database("evgw")


@pytest.fixture
def postgres_database(postgres: PostgresServer) -> Iterator[URL]:
    """SQLAlchemy URL of a new empty database for this test; dropped at teardown."""
    name = f"evgw_test_{next(_database_numbers)}"
    url = postgres.create_database(name)
    yield url
    postgres.drop_database(name)
