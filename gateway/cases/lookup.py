"""Which ledger records cover a camera's time range: the box's local ledger, read for
`segments.case_range`, which names every hole (and the archive's retrieval uses the same)."""

from __future__ import annotations

from evgw.errors import EvgwError, UsageError
from segments.case_range import (
    CENTRAL,
    DECLARED,
    LOCAL,
    Hole,
    Selection,
    Stream,
    select,
)
from segments.ledger import LEDGER_NAME, read_checkpoints, read_lines
from segments.records import Record
from segments.store import DataDir

from .sources import CaseSources

__all__ = [
    "CENTRAL",
    "DECLARED",
    "LOCAL",
    "DamagedLedgerError",
    "Hole",
    "Selection",
    "Stream",
    "load_stream",
    "select",
]


class DamagedLedgerError(EvgwError):
    """The gateway's ledger cannot be read as asked (damaged, or nothing recorded)."""


def load_stream(sources: CaseSources, camera: str) -> Stream:
    if camera not in sources.cameras:
        known = ", ".join(sources.cameras)
        raise UsageError(f"{sources.config_path}: no camera {camera!r} (configured: {known})")
    root = DataDir(sources.data_dir).stream(camera)
    lines = tuple(read_lines(root / LEDGER_NAME))
    if not lines:
        raise UsageError(f"{root / LEDGER_NAME}: no ledger for camera {camera!r}; nothing recorded")
    records = tuple(Record.from_json(line) for line in lines)
    for i, r in enumerate(records):
        if r.seq != i:
            raise DamagedLedgerError(
                f"{root / LEDGER_NAME} line {i + 1} holds seq {r.seq}: the ledger is damaged",
                hint=f"run `evgw verify {sources.data_dir}`",
            )
    return Stream(camera, root, lines, records, tuple(read_checkpoints(root)))
