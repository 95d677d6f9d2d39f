"""Where a recorder's records go: the stream's ledger, in this process or behind a pipe.

A camera process holds no signing key (DESIGN §8), so its recorder writes through a
`StreamLog` whose far end, in the daemon, numbers, names, signs and appends. `LocalLog` is
that far end, and what a tool or test that records in one process uses directly.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from .ledger import Ledger
from .records import Record
from .store import StreamStore, name_sealed, write_durably


class StreamLog(Protocol):
    def append(self, draft: Record) -> Record:
        """Number, chain, sign and durably append `draft`; returns the signed record."""
        ...

    def seal(self, draft: Record, start_wall: float) -> Record:
        """Append the `segment` record of the finished `.part` that started at `start_wall`.

        The file is renamed to its final name (which carries the seq) under the ledger's lock,
        `draft` gets that name as its `file`, and the record's `.json` sidecar is written.
        """
        ...

    def checkpoint(self) -> None:
        """Sign a checkpoint over the records so far (a clean stop ends with one)."""
        ...


class LocalLog:
    """A stream's ledger and folder in this process."""

    def __init__(self, ledger: Ledger, store: StreamStore) -> None:
        self.ledger = ledger
        self.store = store

    def append(self, draft: Record) -> Record:
        return self.ledger.append(draft)

    def seal(self, draft: Record, start_wall: float) -> Record:
        part = self.store.part_path(start_wall)

        def named(seq: int) -> Record:
            final = name_sealed(part, self.store.final_path(seq, start_wall))
            return replace(draft, file=self.store.relative(final))

        record = self.ledger.append_numbered(named)
        assert record.file is not None
        write_durably(self.store.sidecar_path(record.file), record.to_json())
        return record

    def checkpoint(self) -> None:
        self.ledger.checkpoint()
