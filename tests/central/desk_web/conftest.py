"""The desk web app in-process (Starlette's TestClient) on a fresh catalogue, SQLite and
PostgreSQL; rows go straight into the desk tables, as ingest would write them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import desk_alarms, desk_cameras, desk_gateways
from central.config import load_central_config
from central.config.load import CentralConfig
from central.desk.web.accounts import save_user
from central.desk.web.app import create_app

T0 = 1_795_800_000.0
PASSWORD = "correct horse battery"


@dataclass
class Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now


def desk_toml(folder: Path, database: URL, desk: str = "ingest = false\n") -> Path:
    """A central.toml with a [desk] section (no [mqtt]: nothing to ingest)."""
    url = database.render_as_string(hide_password=False)
    path = folder / "central.toml"
    path.write_text(
        f"""
[store]
endpoint_url = "http://127.0.0.1:9"
bucket = "evidence"
access_key = "a"
secret_key = "s"
[archive]
id = "hq"
identity_file = "archive.agekey"
[trust]
keys = {{ "gw-1" = "ed25519:T6KRAmGU4tE88FqpEj0zWa5xSyll4ktaYLCmWcul1GU=" }}
[database]
url = "{url}"
[desk]
{desk}""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config(tmp_path: Path, catalogue_url: URL) -> CentralConfig:
    return load_central_config(desk_toml(tmp_path, catalogue_url))


@pytest.fixture
def catalogue(config: CentralConfig) -> Iterator[Catalogue]:
    catalogue = Catalogue.open(config.database)
    yield catalogue
    catalogue.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(config: CentralConfig, catalogue: Catalogue, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(config, catalogue, clock=clock)) as c:
        yield c


@pytest.fixture
def users(catalogue: Catalogue) -> None:
    for name, role in (("vera", "viewer"), ("ivan", "investigator"), ("ada", "admin")):
        save_user(catalogue, name, role, PASSWORD, T0 - 100)


Login = Callable[..., str]


def login_form_token(client: TestClient) -> str:
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text
    return found.group(1)


def log_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form; the session's CSRF token (from the fleet page)."""
    token = login_form_token(client)
    done = client.post(
        "/login", data={"name": name, "password": password, "csrf": token}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    return page_csrf(client.get("/").text)


def page_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


def add_gateway(
    catalogue: Catalogue,
    gateway: str,
    *,
    state: str = "online",
    last_seen: float = T0,
    health: dict[str, Any] | None = None,
) -> None:
    with catalogue.transaction() as tx:
        tx.c.execute(
            insert(desk_gateways).values(
                gateway=gateway,
                state=state,
                state_at=last_seen,
                health=None if health is None else json.dumps(health),
                health_at=last_seen,
                alarms=None,
                last_seen=last_seen,
            )
        )


def add_camera(
    catalogue: Catalogue, gateway: str, camera: str, health: dict[str, Any], last_seen: float = T0
) -> None:
    with catalogue.transaction() as tx:
        tx.c.execute(
            insert(desk_cameras).values(
                gateway=gateway, camera=camera, health=json.dumps(health), last_seen=last_seen
            )
        )


def add_alarm(
    catalogue: Catalogue,
    gateway: str,
    camera: str,
    alarm: str = "camera_offline",
    detail: str = "end of stream",
    since: float = T0 - 30,
    cleared_at: float | None = None,
) -> int:
    with catalogue.transaction() as tx:
        done = tx.c.execute(
            insert(desk_alarms).values(
                gateway=gateway,
                camera=camera,
                alarm=alarm,
                since=since,
                detail=detail,
                raised_at=since,
                cleared_at=cleared_at,
            )
        )
        key = done.inserted_primary_key
        assert key is not None
        return int(key[0])
