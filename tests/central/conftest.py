"""The catalogue's database for tests: every test takes its URL from `catalogue_url`.

Each catalogue test runs twice: on SQLite in the test's tmp folder, and on a fresh database
of the session's real PostgreSQL (`tests/support/postgres_fixtures.py`), so no test may rely
on either.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import URL


@pytest.fixture(params=["sqlite", "postgresql"])
def catalogue_url(request: pytest.FixtureRequest, tmp_path: Path) -> URL:
    if request.param == "sqlite":
        return URL.create("sqlite", database=str(tmp_path / "catalog.db"))
    url: URL = request.getfixturevalue("postgres_database")
    return url
