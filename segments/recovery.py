"""After a crash: seal each leftover `.part` as a `truncated` segment. Nothing is deleted.

The gateway holds no decryption key, so it cannot tell how much of the file authenticates;
it records the ciphertext as found, and the archive's reader recovers the prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from .hashing import hash_file
from .ledger import Ledger
from .records import Record
from .store import DataDir, StreamStore, name_sealed

log = logging.getLogger(__name__)

POWER_LOSS = "power_loss"

DraftMaker = Callable[..., Record]


def recover_leftovers(
    store: StreamStore, ledger: Ledger, draft: DraftMaker, reason: str = POWER_LOSS
) -> list[Record]:
    """`reason` says what cut the files short: `power_loss`, or a worker crash the daemon saw."""
    recovered = []
    for part in store.leftover_parts():
        if part.is_symlink() or not part.is_file():
            log.error("%s: %s is not a regular file: left as it is", ledger.stream, part)
            continue
        recovered.append(_seal_truncated(part, store, ledger, draft, reason))
        log.warning("%s: sealed leftover %s as truncated", ledger.stream, part.name)
    return recovered


def _seal_truncated(
    part: Path, store: StreamStore, ledger: Ledger, draft: DraftMaker, reason: str
) -> Record:
    info = part.stat()
    start = DataDir.part_start(part.name)
    size, sha256 = hash_file(part)

    def make(seq: int) -> Record:
        begin = start if start is not None else info.st_mtime
        final = name_sealed(part, store.final_path(seq, begin))
        return draft(
            kind="truncated",
            start=begin,
            end=max(begin, info.st_mtime),
            reason=reason,
            file=store.relative(final),
            size_cipher=size,
            sha256_cipher=sha256,
        )

    return ledger.append_numbered(make)
