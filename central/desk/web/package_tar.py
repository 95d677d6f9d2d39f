"""A finished case package streamed as an uncompressed tar, its files byte for byte.

The expert who receives it untars it and runs `evgw verify-export` on the folder: every file
is the package's own (same bytes, same relative path under `<case>/`), so the signed
manifest still matches. Nothing is staged: headers are made up front (which also gives the
length), file bodies are read in chunks as the client takes them. Only regular files and
folders go in; anything else in the package folder stops the download before it starts.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BLOCK = 512
CHUNK = 1024 * 1024
END = b"\0" * (2 * BLOCK)


@dataclass(frozen=True)
class _Member:
    header: bytes
    path: Path | None  # None: a folder
    size: int


class NotAPackage(Exception):
    """The folder holds something a package never holds (a link, a device)."""


def tar_plan(package: Path) -> list[_Member]:
    members = [_header(package, package.name)]
    for path in sorted(package.rglob("*")):
        members.append(_header(path, f"{package.name}/{path.relative_to(package).as_posix()}"))
    return members


def tar_length(members: list[_Member]) -> int:
    return sum(len(m.header) + _padded(m.size) for m in members) + len(END)


def tar_stream(members: list[_Member]) -> Iterator[bytes]:
    for m in members:
        yield m.header
        if m.path is None:
            continue
        sent = 0
        with m.path.open("rb") as f:
            while sent < m.size and (chunk := f.read(min(CHUNK, m.size - sent))):
                sent += len(chunk)
                yield chunk
        if sent != m.size:
            raise NotAPackage(f"{m.path} changed size while it was sent")
        yield b"\0" * (_padded(m.size) - m.size)
    yield END


def _header(path: Path, name: str) -> _Member:
    st = path.lstat()
    info = tarfile.TarInfo(name)
    info.mtime = int(st.st_mtime)
    if path.is_symlink() or not (path.is_dir() or path.is_file()):
        raise NotAPackage(f"{path} is neither a file nor a folder")
    if path.is_dir():
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        return _Member(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict"), None, 0)
    info.size, info.mode = st.st_size, 0o644
    return _Member(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict"), path, st.st_size)


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK
