"""`evgw desk` as an operator runs it: useradd, then the real server on a free port, logged
into over HTTP, its live event stream, /metrics, and a clean stop on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL

from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import desk_users
from gateway.cli.main import main
from tests.support.paths import REPO
from tests.support.waiting import wait_until

from .conftest import PASSWORD, T0, add_alarm, add_gateway, desk_toml


def _useradd(config: Path, name: str, role: str, password_file: Path) -> int:
    argv = ["desk", "useradd", name, "--role", role, "--password-file", str(password_file)]
    return main([*argv, "--config", str(config)])


def test_useradd_adds_then_updates(
    tmp_path: Path, catalogue_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    config = desk_toml(tmp_path, catalogue_url)
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    assert _useradd(config, "ada", "viewer", secret) == 0
    assert "desk: added user ada (viewer)" in capsys.readouterr().out
    assert _useradd(config, "ada", "admin", secret) == 0
    assert "desk: updated user ada (admin)" in capsys.readouterr().out
    catalogue = Catalogue.open(catalogue_url)
    try:
        with catalogue.transaction() as tx:
            row = tx.c.execute(select(desk_users)).one()
    finally:
        catalogue.close()
    assert row.role == "admin" and row.password_hash.startswith("$argon2id$")
    secret.write_text("short\n")
    assert _useradd(config, "bob", "viewer", secret) == 2
    assert "at least 8 characters" in capsys.readouterr().err
    secret.write_text(PASSWORD)
    assert _useradd(config, " bob", "viewer", secret) == 2


def test_listen_must_be_host_and_port(
    tmp_path: Path, catalogue_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    config = desk_toml(tmp_path, catalogue_url)
    assert main(["desk", "--config", str(config), "--listen", "localhost"]) == 2
    assert "--listen must be HOST:PORT" in capsys.readouterr().err
    assert main(["desk"]) == 2
    assert "--config" in capsys.readouterr().err


class Lines:
    """The server's stdout lines as they come (read by a thread)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        stream = process.stdout
        self.thread = threading.Thread(target=lambda: self.lines.extend(stream), daemon=True)
        self.thread.start()

    def url(self) -> str | None:
        for line in self.lines:
            if found := re.match(r"desk: serving (http://127\.0\.0\.1:\d+/)$", line.strip()):
                return found.group(1)
        return None


@pytest.mark.integration
def test_the_desk_serves_logs_in_streams_and_stops_on_sigterm(
    tmp_path: Path, catalogue_url: URL
) -> None:
    config = desk_toml(tmp_path, catalogue_url)
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    assert _useradd(config, "ivan", "investigator", secret) == 0
    catalogue = Catalogue.open(catalogue_url)
    add_gateway(
        catalogue, "gw-post-01", last_seen=time.time(), health={"upload": {"backlog_count": 3}}
    )
    command = [sys.executable, "-m", "gateway", "desk", "--config", str(config)]
    process = subprocess.Popen(
        [*command, "--listen", "127.0.0.1:0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = Lines(process)
        wait_until("the desk says where it serves", lambda: lines.url() is not None, 60)
        url = lines.url()
        assert url is not None
        with httpx.Client(base_url=url, timeout=10) as client:
            form = client.get("/login")
            token = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
            assert token is not None
            login = {"name": "ivan", "password": PASSWORD, "csrf": token.group(1)}
            assert client.post("/login", data=login).status_code == 303
            fleet = client.get("/")
            assert fleet.status_code == 200 and 'data-gateway="gw-post-01"' in fleet.text
            metrics = client.get("/metrics")
            assert 'evgw_gateway_upload_backlog_count{gateway="gw-post-01"} 3' in metrics.text
            _stream_tells_of_a_new_alarm(client, catalogue)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        catalogue.close()


def _stream_tells_of_a_new_alarm(client: httpx.Client, catalogue: Catalogue) -> None:
    versions = []
    with client.stream("GET", "/events/stream") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                versions.append(line.removeprefix("data: "))
                if len(versions) == 1:
                    add_alarm(catalogue, "gw-post-01", "gate-1", since=T0)
                else:
                    break
    assert versions[0] != versions[1]
    assert 'data-alarm="camera_offline"' in client.get("/fragments/alarms").text
