"""The data dir on disk: its layout (`DataDir`), and the sealed files of one camera stream.

    data_dir/index.sqlite3                                            the SQLite index
    data_dir/streams/<camera>/ledger.jsonl, checkpoints.jsonl         the stream's ledger
    data_dir/streams/<camera>/<YYYY>/<MM>/<DD>/<seq:08d>_<startUTC>.mp4.age   (+ .json record)
    data_dir/streams/<camera>/<YYYY>/<MM>/<DD>/<startUTC>-<ms>.mp4.age.part   being written

A segment is written encrypted as its `.part` file and renamed to its final name, which
carries the ledger seq, when it is sealed. Every write that matters is fsynced (file, then
folder) before it is reported done. Dates and names are UTC from the segment's start.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from .age_writer import AgeWriter
from .agekeys import X25519Recipient
from .errors import WriteError
from .ledger import CHECKPOINTS_NAME, LEDGER_NAME
from .timeline import compact_utc

STREAMS_DIR = "streams"
INDEX_NAME = "index.sqlite3"
KEYS_DIR = "keys"
SEGMENT_SUFFIX = ".mp4.age"
SIDECAR_SUFFIX = ".json"
PART_SUFFIX = ".part"
_PART_NAME = re.compile(r"^(\d{8}T\d{6})Z-(\d{3})\.mp4\.age\.part$")


@dataclass(frozen=True)
class DataDir:
    """The one owner of every name in the data dir; nobody else builds these paths.

    Names inside a stream folder are '/'-separated strings relative to it (the form a
    record's `file` holds and object keys end with), so they need no data dir.
    """

    root: Path

    PART_GLOB = f"*/*/*/*{PART_SUFFIX}"
    """Where `.part` files lie inside a stream folder (in day folders only)."""

    @property
    def streams(self) -> Path:
        return self.root / STREAMS_DIR

    @property
    def index(self) -> Path:
        return self.root / INDEX_NAME

    @property
    def keys(self) -> Path:
        """Where older installs kept the device key; still searched for a stray age identity."""
        return self.root / KEYS_DIR

    def stream(self, camera: str) -> Path:
        return self.streams / camera

    def ledger(self, camera: str) -> Path:
        return self.stream(camera) / LEDGER_NAME

    def checkpoints(self, camera: str) -> Path:
        return self.stream(camera) / CHECKPOINTS_NAME

    def store(self, camera: str) -> StreamStore:
        """The per-stream view that writes and finds this camera's segments."""
        return StreamStore(self.root, camera)

    @staticmethod
    def day(wall: float) -> str:
        """`YYYY/MM/DD`: the day folder of a segment starting at `wall`."""
        return datetime.fromtimestamp(wall, UTC).strftime("%Y/%m/%d")

    @staticmethod
    def stem(seq: int, start_wall: float) -> str:
        """`<seq:08d>_<YYYYMMDDTHHMMSSZ>`: a sealed segment's name without its suffix."""
        return f"{seq:08d}_{compact_utc(start_wall)}"

    @classmethod
    def segment(cls, seq: int, start_wall: float) -> str:
        """`YYYY/MM/DD/<stem>.mp4.age`: a sealed segment, relative to its stream folder."""
        return f"{cls.day(start_wall)}/{cls.stem(seq, start_wall)}{SEGMENT_SUFFIX}"

    @staticmethod
    def sidecar(segment: str) -> str:
        """The `.json` copy of a segment's record, beside the segment."""
        if not segment.endswith(SEGMENT_SUFFIX):
            raise ValueError(f"{segment!r} is not a sealed segment's name")
        return segment.removesuffix(SEGMENT_SUFFIX) + SIDECAR_SUFFIX

    @classmethod
    def part(cls, start_wall: float) -> str:
        """`YYYY/MM/DD/<startUTC>-<ms>.mp4.age.part`: a segment being written (no seq yet)."""
        ms = int(start_wall * 1000) % 1000
        name = f"{compact_utc(start_wall)}-{ms:03d}{SEGMENT_SUFFIX}{PART_SUFFIX}"
        return f"{cls.day(start_wall)}/{name}"

    @staticmethod
    def part_start(name: str) -> float | None:
        """The start time a `.part` file's name records (None for a foreign name)."""
        m = _PART_NAME.match(name)
        if m is None:
            return None
        stamp = datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return stamp.timestamp() + int(m.group(2)) / 1000


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

    def finish(self) -> SealedFile:
        """Finish the encryption and fsync; the file keeps its `.part` name until it is named.

        A camera process stops here: its parent names the file by the seq it assigns.
        """
        try:
            self.sink.close()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        except OSError as e:
            raise WriteError(f"cannot finish {self.part}: {e.strerror}; check free space") from e
        stats = self.sink.stats
        return SealedFile(
            self.part,
            stats.plaintext_size,
            stats.plaintext_sha256,
            stats.ciphertext_size,
            stats.ciphertext_sha256,
        )

    def seal(self, final: Path) -> SealedFile:
        """Finish, then rename to `final` (a writer that numbers its own files)."""
        sealed = self.finish()
        return replace(sealed, path=name_sealed(sealed.path, final))


class StreamStore:
    """One camera's folder in the data dir: where its segments are written and found."""

    def __init__(self, data_dir: Path, stream: str) -> None:
        self.root = DataDir(data_dir).stream(stream)

    def day_folder(self, wall: float) -> Path:
        return self.root / DataDir.day(wall)

    def final_path(self, seq: int, start_wall: float) -> Path:
        return self.root / DataDir.segment(seq, start_wall)

    def sidecar_path(self, segment: str) -> Path:
        """Where the `.json` record of the segment `segment` (relative, as recorded) goes."""
        return self.root / DataDir.sidecar(segment)

    def part_path(self, start_wall: float) -> Path:
        """The `.part` file of the segment starting at `start_wall` while it is written."""
        return self.root / DataDir.part(start_wall)

    def open_segment(self, start_wall: float, recipients: Sequence[X25519Recipient]) -> OpenSegment:
        return OpenSegment(self.part_path(start_wall), recipients)

    def leftover_parts(self) -> list[Path]:
        """`.part` files a crash left behind, oldest first."""
        return sorted(self.root.glob(DataDir.PART_GLOB), key=lambda p: p.name)

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def name_sealed(part: Path, final: Path) -> Path:
    """Give a finished `.part` its final name (which carries its seq), durably."""
    try:
        os.replace(part, final)
        fsync_dir(final.parent)
    except OSError as e:
        raise WriteError(f"cannot seal {final}: {e.strerror}; check the data dir") from e
    return final


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
