"""Where the verifier reads a stream from: the `MediaSource` interface and its folder form.

The checks see only relative, '/'-separated names, so the same procedure reads a data dir,
a copy of it, or any other store that can hand over a stream's files.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from ..hashing import hash_file


class MediaSource(Protocol):
    """Read access to one stream's folder; paths are relative to it, '/'-separated."""

    def read_bytes(self, relpath: str) -> bytes | None:
        """Whole small file (ledger, checkpoints), None if absent."""
        ...

    def stat_hash(self, relpath: str) -> tuple[int, str] | None:
        """(size, SHA-256 hex) of a media file, None if absent."""
        ...

    def open(self, relpath: str) -> BinaryIO: ...


class DirMediaSource:
    """A stream folder on disk (`data_dir/streams/<camera>` or a copy of it)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, relpath: str) -> Path:
        return self.root.joinpath(*PurePosixPath(relpath).parts)

    def read_bytes(self, relpath: str) -> bytes | None:
        try:
            return self._path(relpath).read_bytes()
        except FileNotFoundError:
            return None

    def stat_hash(self, relpath: str) -> tuple[int, str] | None:
        try:
            return hash_file(self._path(relpath))
        except (FileNotFoundError, IsADirectoryError):
            return None

    def open(self, relpath: str) -> BinaryIO:
        return open(self._path(relpath), "rb")
