"""Pytest plugin: a running monitoring desk per test (add to `pytest_plugins`).

`desk_server` is `evgw desk` on the test's own mosquitto (`mqtt_broker`), a SQLite catalogue
in the test's tmp dir and the session's SeaweedFS, with one user per role (`USERS`). It is
stopped with SIGTERM at teardown; what it printed is shown when the test fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testbeds.mosquitto import MosquittoServer
from testbeds.seaweedfs import SeaweedServer
from tests.support.desk import DeskServer, add_users, desk_config
from tests.support.seaweed import unique_bucket


@pytest.fixture
def desk_server(
    tmp_path: Path, mqtt_broker: MosquittoServer, seaweed: SeaweedServer
) -> Iterator[DeskServer]:
    folder = tmp_path / "desk"
    folder.mkdir()
    config = desk_config(folder, seaweed, unique_bucket("desk"), mqtt_broker)
    add_users(config)
    server = DeskServer(config, folder / "desk.log")
    try:
        yield server.start()
    finally:
        server.stop()
        log = server.log_path
        shown = log.read_text(errors="replace") if log is not None and log.exists() else ""
        print(f"--- evgw desk ({log}):\n{shown or '(no output)'}")
