"""The download's tar: the package's files byte for byte under `<case>/`, its announced length
exact, and a package folder holding a link refused before anything is sent."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from central.desk.web.package_tar import NotAPackage, tar_length, tar_plan, tar_stream


def make_package(root: Path) -> Path:
    package = root / "案-1"
    (package / "original").mkdir(parents=True)
    (package / "original" / "seg 0001.mp4.age").write_bytes(os.urandom(70_000))
    (package / "report.json").write_text('{"verdict": "AUTHENTIC"}\n', encoding="utf-8")
    (package / "empty").write_bytes(b"")
    (package / ("长" * 40 + ".txt")).write_bytes(b"x" * 512)  # a name past ustar's 100 bytes
    return package


def test_the_tar_holds_the_package_unchanged(tmp_path: Path) -> None:
    package = make_package(tmp_path / "in")
    members = tar_plan(package)
    data = b"".join(tar_stream(members))
    assert len(data) == tar_length(members)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(tmp_path / "out", filter="data")
    sent = {p.relative_to(package) for p in package.rglob("*")}
    got = {p.relative_to(tmp_path / "out" / "案-1") for p in (tmp_path / "out" / "案-1").rglob("*")}
    assert sent == got
    for rel in sent:
        if (package / rel).is_file():
            assert (tmp_path / "out" / "案-1" / rel).read_bytes() == (package / rel).read_bytes()


def test_a_link_in_the_package_folder_is_refused(tmp_path: Path) -> None:
    package = make_package(tmp_path / "in")
    (package / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(NotAPackage, match="neither a file nor a folder"):
        tar_plan(package)
