"""[tsa]: optional; read at start with its CA file, every mistake naming file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.config import config_from_mapping
from testbeds.pki import write_test_pki
from tests.gateway.config.sample import base, error_of


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    return write_test_pki(tmp_path / "pki", ca="a TSA CA")[0]


def with_tsa(**tsa: object) -> dict[str, object]:
    data = base()
    data["tsa"] = tsa
    return data


def test_without_tsa_no_checkpoint_is_timestamped(tmp_path: Path) -> None:
    assert config_from_mapping(base(), tmp_path / "evgw.toml").tsa is None


def test_tsa_reads_its_ca_chain_at_start(tmp_path: Path, ca_file: Path) -> None:
    data = with_tsa(url="http://127.0.0.1:8318/tsa", ca_file=str(ca_file), policy="1.2.3.4.1")
    tsa = config_from_mapping(data, tmp_path / "evgw.toml").tsa
    assert tsa is not None
    assert (tsa.url, tsa.ca_file, tsa.timeout_s, tsa.policy) == (
        "http://127.0.0.1:8318/tsa",
        ca_file,
        30.0,
        "1.2.3.4.1",
    )
    assert [a.subject.rfc4514_string() for a in tsa.anchors] == ["CN=a TSA CA"]


@pytest.mark.parametrize(
    ("tsa", "message"),
    [
        ({"ca_file": "ca.pem"}, r"\[tsa\] url: missing"),
        ({"url": "ftp://tsa.example.gov", "ca_file": "ca.pem"}, r"\[tsa\] url: must be an http"),
        ({"url": "https://tsa.example.gov"}, r"\[tsa\] ca_file: missing"),
        ({"url": "https://t", "ca_file": "nowhere.pem"}, r"\[tsa\] ca_file: .*cannot read"),
        ({"url": "https://t", "ca_file": "ca.pem", "policy": "tsa-policy"}, r"\[tsa\] policy"),
        ({"url": "https://t", "ca_file": "ca.pem", "timeout_s": 0}, r"\[tsa\] timeout_s"),
    ],
)
def test_tsa_mistakes_name_file_and_key(
    tmp_path: Path, ca_file: Path, tsa: dict[str, object], message: str
) -> None:
    (tmp_path / "ca.pem").write_bytes(ca_file.read_bytes())
    assert re.search(message, error_of(with_tsa(**tsa), tmp_path / "evgw.toml"))


def test_a_ca_file_without_a_certificate_is_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN NONSENSE-----\n")
    message = error_of(with_tsa(url="https://t", ca_file="ca.pem"), tmp_path / "evgw.toml")
    assert "[tsa] ca_file" in message and "no readable PEM certificate" in message
