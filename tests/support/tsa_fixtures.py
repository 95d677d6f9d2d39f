"""Pytest plugin: a real RFC 3161 TSA (`openssl ts -reply` over HTTP) for timestamp tests.

The PKIs are made once per session with `openssl` (a CA and a TSA certificate each); every
test gets its own server on a free port, so one test taking it offline or making it lie
never disturbs another.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from segments.timestamp import load_anchors
from testbeds.tsa import TsaPki, TsaServer, write_tsa_pki
from uplink.tsa_client import TsaClient, TsaSettings


@pytest.fixture(scope="session")
def tsa_pki(tmp_path_factory: pytest.TempPathFactory) -> TsaPki:
    """The TSA the gateway is configured with: its CA is the trust anchor."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed (Debian: apt install openssl)")
    return write_tsa_pki(tmp_path_factory.mktemp("tsa-pki"))


@pytest.fixture(scope="session")
def other_tsa_pki(tmp_path_factory: pytest.TempPathFactory, tsa_pki: TsaPki) -> TsaPki:
    """A second, unrelated TSA under its own CA: trusted by nobody in the tests."""
    return write_tsa_pki(tmp_path_factory.mktemp("other-tsa-pki"), ca="someone else's TSA CA")


@pytest.fixture
def tsa_server(tsa_pki: TsaPki) -> Iterator[TsaServer]:
    """The trusted TSA, online on a free port of 127.0.0.1; stopped at teardown."""
    server = TsaServer(tsa_pki).start()
    yield server
    server.stop()


@pytest.fixture
def other_tsa_server(other_tsa_pki: TsaPki) -> Iterator[TsaServer]:
    server = TsaServer(other_tsa_pki).start()
    yield server
    server.stop()


def tsa_settings(server: TsaServer, trusted: TsaPki | None = None, **kw: object) -> TsaSettings:
    """Settings for `server`, trusting `trusted`'s CA (default: the server's own)."""
    ca = (trusted or server.pki).ca_file
    anchors = load_anchors(ca.read_bytes(), str(ca))
    return TsaSettings(server.url, ca, anchors, **kw)  # type: ignore[arg-type]


def token_for(server: TsaServer, message: bytes) -> bytes:
    """A real token from `server` over SHA-256(`message`)."""
    return TsaClient(tsa_settings(server)).timestamp(message).token
