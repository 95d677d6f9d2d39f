"""`evgw desk` as an operator runs it: useradd, then the real server on a free port, logged
into over HTTP, its live event stream, /metrics, and a clean stop on SIGTERM."""

from __future__ import annotations

import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
            if found := re.match(r"desk: serving (https?://127\.0\.0\.1:\d+/)$", line.strip()):
                return found.group(1)
        return None


@contextmanager
def running_desk(config: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`evgw desk --config CONFIG --listen 127.0.0.1:0` and the URL it says it serves."""
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
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _log_in(client: httpx.Client) -> httpx.Response:
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
    assert token is not None
    login = {"name": "ivan", "password": PASSWORD, "csrf": token.group(1)}
    done = client.post("/login", data=login)
    assert done.status_code == 303
    return done


def _with_user(tmp_path: Path, config: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    assert _useradd(config, "ivan", "investigator", secret) == 0


@pytest.mark.integration
def test_the_desk_serves_logs_in_streams_and_stops_on_sigterm(
    tmp_path: Path, catalogue_url: URL
) -> None:
    config = desk_toml(tmp_path, catalogue_url)
    _with_user(tmp_path, config)
    catalogue = Catalogue.open(catalogue_url)
    health = {"upload": {"backlog_count": 3}}
    add_gateway(catalogue, "gw-post-01", last_seen=time.time(), health=health)
    try:
        with running_desk(config) as (process, url), httpx.Client(base_url=url) as client:
            _log_in(client)
            fleet = client.get("/")
            assert fleet.status_code == 200 and 'data-gateway="gw-post-01"' in fleet.text
            metrics = client.get("/metrics")
            assert 'evgw_gateway_upload_backlog_count{gateway="gw-post-01"} 3' in metrics.text
            with client.stream("GET", "/events/stream") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                versions = _versions(stream.iter_lines(), catalogue, process)
            assert versions[0] != versions[1]  # the new alarm, then the stream ended at SIGTERM
            assert process.wait(timeout=30) == 0
            assert process.stderr is not None
            assert "Exception" not in process.stderr.read()
    finally:
        catalogue.close()


def _versions(
    lines: Iterator[str], catalogue: Catalogue, process: subprocess.Popen[str]
) -> list[str]:
    """Read the stream to its end: add an alarm after the first version, stop the desk after
    the second."""
    versions = []
    for line in lines:
        if line.startswith("data: "):
            versions.append(line.removeprefix("data: "))
            if len(versions) == 1:
                add_alarm(catalogue, "gw-post-01", "gate-1", since=T0)
            elif len(versions) == 2:
                process.send_signal(signal.SIGTERM)
    return versions


@pytest.mark.integration
def test_the_desk_serves_https_with_secure_cookies(tmp_path: Path) -> None:
    cert, key = tmp_path / "desk.pem", tmp_path / "desk.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=desk",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    database = URL.create("sqlite", database=str(tmp_path / "catalog.db"))
    desk = f'ingest = false\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
    config = desk_toml(tmp_path, database, desk)
    _with_user(tmp_path, config)
    with running_desk(config) as (process, url):
        assert url.startswith("https://")
        with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=cert)) as client:
            cookie = _log_in(client).headers["set-cookie"]
            assert "secure" in cookie.lower() and "httponly" in cookie.lower()
            assert client.get("/").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
