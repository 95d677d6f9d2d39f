"""The catalogue's database for tests: every test takes its URL from `catalogue_url`.

SQLite in the test's tmp folder for now; PostgreSQL joins as a second parameter of this
fixture, and every catalogue test then runs on both, so no test may rely on SQLite.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import URL


@pytest.fixture(params=["sqlite"])
def catalogue_url(request: pytest.FixtureRequest, tmp_path: Path) -> URL:
    assert request.param == "sqlite"
    return URL.create("sqlite", database=str(tmp_path / "catalog.db"))
