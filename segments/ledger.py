"""The append-only ledger of one stream: signed, hash-chained records and signed checkpoints.

    <stream>/ledger.jsonl        one canonical-JSON record per line, fsynced per record
    <stream>/checkpoints.jsonl   one signed RFC 6962 tree head per line

The writer is the only place that assigns `seq` and `prev`, so a stream's records are
always appended in sequence order.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from .checkpoint import Checkpoint
from .errors import WriteError
from .merkle import MerkleAccumulator, leaf_hash
from .records import GENESIS_PREV, Record
from .signing import Signer, Verifier, verify_b64
from .timeline import iso_utc

log = logging.getLogger(__name__)

LEDGER_NAME = "ledger.jsonl"
CHECKPOINTS_NAME = "checkpoints.jsonl"
LOCK_NAME = ".ledger.lock"


def line_hash(line: bytes) -> str:
    """What the next record's `prev` holds: SHA-256 of the previous line (no newline)."""
    return hashlib.sha256(line).hexdigest()


def sign(record: Record, signer: Signer) -> Record:
    sig = signer.sign(record.signed_part())
    return replace(record, sig=base64.b64encode(sig).decode())


def signature_ok(record: Record, verifier: Verifier) -> bool:
    return verify_b64(verifier, record.alg, record.key_id, record.signed_part(), record.sig)


def read_lines(path: Path) -> Iterator[bytes]:
    """Non-empty lines without their newline; a file that is absent has none."""
    if not path.exists():
        return
    with open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            if line:
                yield line


def read_records(stream_dir: Path) -> list[Record]:
    return [Record.from_json(line) for line in read_lines(stream_dir / LEDGER_NAME)]


def read_checkpoints(stream_dir: Path) -> list[Checkpoint]:
    return [Checkpoint.from_json(line) for line in read_lines(stream_dir / CHECKPOINTS_NAME)]


class Ledger:
    """Writer of one stream's ledger; open it with `Ledger.open`, which reads the history."""

    def __init__(
        self,
        stream_dir: Path,
        stream: str,
        gateway: str,
        signer: Signer,
        *,
        every_records: int = 10,
        every_s: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
        on_checkpoint: Callable[[Checkpoint], None] | None = None,
        on_append: Callable[[Record], None] | None = None,
    ) -> None:
        self.dir = stream_dir
        self.stream = stream
        self.gateway = gateway
        self._signer = signer
        self._every_records = every_records
        self._every_s = every_s
        self._monotonic = monotonic
        self._on_checkpoint = on_checkpoint
        self._on_append = on_append
        self._acc = MerkleAccumulator()
        self._next_seq = 0
        self._last_hash = GENESIS_PREV
        self._checkpointed = 0
        self._checkpoint_at = monotonic()
        self.closed_cleanly = True
        self.last_record: Record | None = None
        self._known_size = 0
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        stream_dir: Path,
        stream: str,
        gateway: str,
        signer: Signer,
        *,
        every_records: int = 10,
        every_s: float = 600.0,
        on_checkpoint: Callable[[Checkpoint], None] | None = None,
        on_append: Callable[[Record], None] | None = None,
    ) -> Ledger:
        ledger = cls(
            stream_dir,
            stream,
            gateway,
            signer,
            every_records=every_records,
            every_s=every_s,
            on_checkpoint=on_checkpoint,
            on_append=on_append,
        )
        ledger._load()
        return ledger

    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def size(self) -> int:
        return self._acc.size

    def _load(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with _exclusive(self.dir):
            _set_aside_torn_tail(self.dir / LEDGER_NAME)
            self._catch_up(load=True)
        checkpoints = read_checkpoints(self.dir)
        self._checkpointed = checkpoints[-1].size if checkpoints else 0
        self.closed_cleanly = self._checkpointed == self._acc.size

    def append(self, draft: Record) -> Record:
        """Number, chain, sign and durably append a record; may write a checkpoint after it."""
        return self.append_numbered(lambda seq: draft)

    def _catch_up(self, load: bool = False) -> None:
        """Take in lines another writer appended (an export run beside the daemon); they go to
        `on_append` like our own, except the history read on `load`."""
        path = self.dir / LEDGER_NAME
        try:
            if not path.exists() or path.stat().st_size == self._known_size:
                return
            with open(path, "rb") as f:
                f.seek(self._known_size)
                tail = f.readlines()
        except OSError as e:
            raise WriteError(f"cannot append to {path}: {e.strerror}; check the data dir") from e
        for raw in tail:
            self._known_size += len(raw)
            line = raw.rstrip(b"\n")
            if not line:
                continue
            record = Record.from_json(line)
            self._acc.append(leaf_hash(line))
            self._last_hash = line_hash(line)
            self._next_seq = record.seq + 1
            self.last_record = record
            if not load and self._on_append is not None:
                self._on_append(record)

    def append_numbered(self, make: Callable[[int], Record]) -> Record:
        """Like `append`, for a record that needs its seq first (a segment file named by it).

        `on_append` runs after the record is durable, before any checkpoint that covers it.
        """
        with self._lock, _exclusive(self.dir):
            self._catch_up()
            seq = self._next_seq
            draft = make(seq)
            record = sign(
                draft.with_chain(seq, self._last_hash, self._signer.alg, self._signer.key_id),
                self._signer,
            )
            line = record.to_json()
            _append_line(self.dir / LEDGER_NAME, line)
            self._known_size += len(line) + 1
            self._acc.append(leaf_hash(line))
            self._last_hash = line_hash(line)
            self._next_seq += 1
            self.last_record = record
            if self._on_append is not None:
                self._on_append(record)
            if (
                self.size - self._checkpointed >= self._every_records
                or self._monotonic() - self._checkpoint_at >= self._every_s
            ):
                self._checkpoint()
            return record

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current tree head (nothing new since the last one: nothing written)."""
        with self._lock, _exclusive(self.dir):
            self._catch_up()
            return self._checkpoint()

    def _checkpoint(self) -> Checkpoint | None:
        self._checkpoint_at = self._monotonic()
        if self.size == self._checkpointed and self.size > 0:
            return None
        cp = Checkpoint(
            stream=self.stream,
            gateway=self.gateway,
            size=self.size,
            root=self._acc.root().hex(),
            time=iso_utc(time.time()),
        ).signed_by(self._signer)
        _append_line(self.dir / CHECKPOINTS_NAME, cp.to_json())
        self._checkpointed = self.size
        if self._on_checkpoint is not None:
            self._on_checkpoint(cp)
        return cp


@contextmanager
def _exclusive(stream_dir: Path) -> Iterator[None]:
    """One writer at a time across processes (flock on a lock file beside the ledger)."""
    fd = os.open(stream_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _append_line(path: Path, line: bytes) -> None:
    try:
        with open(path, "ab") as f:
            f.write(line + b"\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise WriteError(f"cannot append to {path}: {e.strerror}; check free space") from e


def _set_aside_torn_tail(path: Path) -> None:
    """A crash mid-append leaves a line without newline: keep its bytes, but out of the ledger."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        data = f.read()
        cut = data.rfind(b"\n") + 1
        aside = path.with_name(f"{path.name}.torn-{time.time_ns()}")
        aside.write_bytes(data[cut:])
        f.truncate(cut)
        f.flush()
        os.fsync(f.fileno())
    log.warning("%s: an unfinished last line (crash mid-write) was moved to %s", path, aside)
