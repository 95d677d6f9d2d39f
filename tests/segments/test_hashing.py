"""The one file hasher: size and SHA-256 over any size, block boundaries included."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segments.hashing import BLOCK, hash_file


def _expected(data: bytes) -> tuple[int, str]:
    return len(data), hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", [0, 1, 65_535, 65_536, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 7])
def test_sizes_around_the_block(tmp_path: Path, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    path = tmp_path / "f"
    path.write_bytes(data)
    assert hash_file(path) == _expected(data)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200_000))
def test_any_content(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("h") / "f"
    path.write_bytes(data)
    assert hash_file(path) == _expected(data)


def test_absent_file_and_folder_raise_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "absent")
    with pytest.raises(IsADirectoryError):
        hash_file(tmp_path)
