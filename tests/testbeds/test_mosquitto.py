"""MosquittoServer: loopback config, hashed passwords, TLS kept across restart, clear failures."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest

from testbeds import mosquitto
from testbeds.errors import ServerError
from testbeds.mosquitto import MosquittoServer
from testbeds.process import HOST, port_accepts
from tests.support.mqtt_fixtures import MosquittoFactory

pytestmark = pytest.mark.integration


def test_tls_broker_with_passwords(mosquitto_factory: MosquittoFactory) -> None:
    broker = mosquitto_factory(tls=True, users={"gw-1": "s3cret-pass"})
    config = broker.config_file.read_text()
    assert f"listener {broker.port} {HOST}\n" in config and "allow_anonymous false" in config
    passwd = broker.workdir / "passwd"
    assert passwd.stat().st_mode & 0o777 == 0o600
    assert passwd.read_text().startswith("gw-1:$") and "s3cret-pass" not in passwd.read_text()
    assert broker.ca_file is not None
    context = ssl.create_default_context(cafile=broker.ca_file)
    with (
        socket.create_connection((HOST, broker.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        assert tls.version() is not None


def test_restart_keeps_port_and_ca(mosquitto_factory: MosquittoFactory) -> None:
    broker = mosquitto_factory(tls=True)
    port, ca = broker.port, broker.ca_file
    assert ca is not None
    ca_pem = ca.read_bytes()
    broker.kill()
    assert not port_accepts(port)
    broker.restart()
    assert (broker.port, broker.ca_file) == (port, ca) and ca.read_bytes() == ca_pem
    assert port_accepts(port)


def test_anonymous_broker_logs_to_its_workdir(mosquitto_factory: MosquittoFactory) -> None:
    broker = mosquitto_factory()
    assert "allow_anonymous true" in broker.config_file.read_text()
    assert broker.log_path == broker.workdir / "mosquitto.log"
    assert "mosquitto version" in broker.output()


def test_port_in_use_is_reported_with_the_log(mosquitto_factory: MosquittoFactory) -> None:
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        with pytest.raises(ServerError, match=r"(?s)mosquitto exited with \d+:.*in use"):
            mosquitto_factory(port=taken.getsockname()[1])


def test_bad_user_name_is_refused_before_spawning(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="invalid MQTT user name"):
        MosquittoServer(tmp_path, users={"a:b": "x"}).start()


def test_missing_binary_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(mosquitto.shutil, "which", lambda *_args, **_kwargs: None)
    with pytest.raises(ServerError, match="apt-get install mosquitto"):
        MosquittoServer(tmp_path).start()
