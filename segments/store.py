"""On-disk layout of one camera stream: dated folders of sealed segments beside its ledger.

    data_dir/streams/<camera>/ledger.jsonl, checkpoints.jsonl
    data_dir/streams/<camera>/<YYYY>/<MM>/<DD>/<seq>_<startUTC>.mp4.age   (+ .json record)

A segment is written encrypted as `<startUTC>-<ms>.mp4.age.part` and renamed to its final
name, which carries the ledger seq, when it is sealed. Every write that matters is fsynced
(file, then folder) before it is reported done.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .age_writer import AgeWriter
from .agekeys import X25519Recipient
from .errors import WriteError
from .timeline import compact_utc

SEGMENT_SUFFIX = ".mp4.age"
PART_SUFFIX = ".part"
PART_NAME = re.compile(r"^(\d{8}T\d{6})Z-(\d{3})\.mp4\.age\.part$")


@dataclass(frozen=True)
class SealedFile:
    path: Path
    size_plain: int
    sha256_plain: str
    size_cipher: int
    sha256_cipher: str


class OpenSegment:
    """A segment being encrypted into its `.part` file; plaintext never reaches the disk."""

    def __init__(self, part: Path, recipients: Sequence[X25519Recipient]) -> None:
        self.part = part
        part.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(part, "xb")  # noqa: SIM115 - closed in seal()
        self.sink = AgeWriter(self._file, recipients)

    def seal(self, final: Path) -> SealedFile:
        """Finish the encryption, fsync, and rename to `final`."""
        try:
            self.sink.close()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self.part, final)
            fsync_dir(final.parent)
        except OSError as e:
            raise WriteError(f"cannot seal {final}: {e.strerror}; check free space") from e
        stats = self.sink.stats
        return SealedFile(
            final,
            stats.plaintext_size,
            stats.plaintext_sha256,
            stats.ciphertext_size,
            stats.ciphertext_sha256,
        )


class StreamStore:
    def __init__(self, data_dir: Path, stream: str) -> None:
        self.root = data_dir / "streams" / stream

    def day_folder(self, wall: float) -> Path:
        day = datetime.fromtimestamp(wall, UTC)
        return self.root / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"

    def final_path(self, seq: int, start_wall: float) -> Path:
        return self.day_folder(start_wall) / f"{seq:08d}_{compact_utc(start_wall)}{SEGMENT_SUFFIX}"

    def open_segment(self, start_wall: float, recipients: Sequence[X25519Recipient]) -> OpenSegment:
        ms = int(start_wall * 1000) % 1000
        name = f"{compact_utc(start_wall)}-{ms:03d}{SEGMENT_SUFFIX}{PART_SUFFIX}"
        return OpenSegment(self.day_folder(start_wall) / name, recipients)

    def leftover_parts(self) -> list[Path]:
        """`.part` files a crash left behind, oldest first."""
        return sorted(self.root.glob(f"*/*/*/*{PART_SUFFIX}"), key=lambda p: p.name)

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def part_start(part: Path) -> float | None:
    """The start time a `.part` file's name records (None for a foreign name)."""
    m = PART_NAME.match(part.name)
    if m is None:
        return None
    stamp = datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return stamp.timestamp() + int(m.group(2)) / 1000


def hash_file(path: Path) -> tuple[int, str]:
    """Size and SHA-256 (hex) of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def write_durably(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
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
