"""Secrets inline or in files: read once at start, bounded, never echoed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.config import config_from_mapping
from tests.gateway.config.sample import FAKE, error_of, with_camera, with_section


def test_password_file_is_read_and_newline_stripped(tmp_path: Path) -> None:
    (tmp_path / "gate-1.pass").write_text("pa ss\n", encoding="utf-8")
    config = config_from_mapping(with_camera(password_file="gate-1.pass"), tmp_path / "e.toml")
    assert config.cameras[0].password == "pa ss"


def test_password_never_in_repr_or_str(tmp_path: Path) -> None:
    (tmp_path / "p").write_text("from-a-file\n", encoding="utf-8")
    data = with_camera(password="hunter2-secret")
    data["cameras"][1]["password_file"] = "p"
    config = config_from_mapping(data, tmp_path / "e.toml")
    assert config.cameras[1].password == "from-a-file"
    for text in (repr(config), str(config), repr(config.cameras), f"{config.cameras[0]}"):
        assert "hunter2" not in text
        assert "from-a-file" not in text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            with_camera(password="a", password_file="/etc/evgw/a.pass"),
            "cameras[0].password_file: set either password or password_file, not both",
        ),
        (
            with_camera(password_file="/nonexistent-evgw/gate-1.pass"),
            "cameras[0].password_file: cannot read '/nonexistent-evgw/gate-1.pass': "
            "No such file or directory; create it or fix the path",
        ),
    ],
)
def test_secret_errors(data: dict[str, Any], expected: str) -> None:
    assert error_of(data) == f"{FAKE}: {expected}"


def test_empty_password_file(tmp_path: Path) -> None:
    (tmp_path / "p").write_text("\n", encoding="utf-8")
    path = tmp_path / "e.toml"
    assert error_of(with_camera(password_file="p"), path) == (
        f"{path}: cameras[0].password_file: '{tmp_path / 'p'}' is empty; "
        "write the camera's password into it"
    )


def test_empty_s3_key_file_says_what_belongs_in_it(tmp_path: Path) -> None:
    (tmp_path / "s3.key").write_text("", encoding="utf-8")
    (tmp_path / "s3.secret").write_text("secret\n", encoding="utf-8")
    path = tmp_path / "e.toml"
    upload = {"endpoint_url": "http://127.0.0.1:8333", "bucket": "evidence"}
    upload |= {"access_key_file": "s3.key", "secret_key_file": "s3.secret"}
    assert error_of(with_section("upload", **upload), path) == (
        f"{path}: [upload] access_key_file: '{tmp_path / 's3.key'}' is empty; "
        "write the S3 access key of the central store into it"
    )


def test_oversized_or_binary_password_file(tmp_path: Path) -> None:
    path = tmp_path / "e.toml"
    (tmp_path / "big").write_bytes(b"x" * 4097)
    (tmp_path / "bin").write_bytes(b"\xff\xfe")
    assert error_of(with_camera(password_file="big"), path) == (
        f"{path}: cameras[0].password_file: '{tmp_path / 'big'}' is larger than 4096 bytes"
    )
    assert error_of(with_camera(password_file="bin"), path) == (
        f"{path}: cameras[0].password_file: '{tmp_path / 'bin'}' is not valid UTF-8"
    )
