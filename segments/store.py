"""On-disk layout of one camera stream: dated segment folders and an append-only ledger.

    data_dir/streams/<camera>/ledger.jsonl
    data_dir/streams/<camera>/<YYYY>/<MM>/<DD>/<seq>_<startUTC>.mp4   (+ .json record beside it)

Every write that matters is fsynced (file, then folder) before it is reported done.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from .errors import WriteError
from .records import Record
from .timeline import compact_utc

PART_SUFFIX = ".part"


class HashingWriter:
    """Write-only, non-seekable: the muxer must stream, exactly as it will into an encryptor."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._out.write(data)
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


@dataclass(frozen=True)
class SealedFile:
    path: Path
    size: int
    sha256: str


class OpenSegment:
    """A segment being written as `<name>.part`; `seal` makes it durable under its final name."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.part = final.with_name(final.name + PART_SUFFIX)
        final.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.part, "xb")  # noqa: SIM115 - closed in seal()
        self.sink = HashingWriter(self._file)

    def seal(self) -> SealedFile:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self.part, self.final)
            fsync_dir(self.final.parent)
        except OSError as e:
            raise WriteError(f"cannot seal {self.final}: {e.strerror}; check free space") from e
        return SealedFile(self.final, self.sink.size, self.sink.sha256)


class StreamStore:
    def __init__(self, data_dir: Path, stream: str) -> None:
        self.root = data_dir / "streams" / stream
        self.ledger_path = self.root / "ledger.jsonl"

    def records(self) -> list[Record]:
        if not self.ledger_path.exists():
            return []
        with open(self.ledger_path, "rb") as f:
            return [Record.from_json(line) for line in f if line.strip()]

    def next_seq(self) -> int:
        last = _last_line(self.ledger_path)
        return 0 if last is None else Record.from_json(last).seq + 1

    def segment_path(self, seq: int, start_wall: float, suffix: str = ".mp4") -> Path:
        day = datetime.fromtimestamp(start_wall, UTC)
        folder = self.root / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
        return folder / f"{seq:08d}_{compact_utc(start_wall)}{suffix}"

    def open_segment(self, seq: int, start_wall: float) -> OpenSegment:
        return OpenSegment(self.segment_path(seq, start_wall))

    def append(self, record: Record, beside: Path | None = None) -> None:
        """Append to the ledger (fsynced); optionally also write the record next to its media."""
        line = record.to_json() + b"\n"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if beside is not None:
                write_durably(beside.with_name(beside.name.split(".")[0] + ".json"), line)
            with open(self.ledger_path, "ab") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise WriteError(
                f"cannot append to {self.ledger_path}: {e.strerror}; check free space"
            ) from e


def write_durably(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + PART_SUFFIX)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _last_line(path: Path, block: int = 4096) -> bytes | None:
    """The ledger's last record without reading a year of history."""
    if not path.exists():
        return None
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        data = b""
        pos = end
        while pos > 0:
            step = min(block, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
            lines = [ln for ln in data.split(b"\n") if ln.strip()]
            if len(lines) > 1 or (lines and pos == 0):
                return lines[-1]
    return None
