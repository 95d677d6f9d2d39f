"""The records that open a run of a stream: `key` (first run only), crash leftovers sealed as
`truncated`, then `boot`, which says why recording paused (and from when to when)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from .ledger import Ledger
from .records import Record
from .recovery import POWER_LOSS, DraftMaker, recover_leftovers
from .store import StreamStore
from .timeline import iso_utc


@dataclass(frozen=True)
class Run:
    """What `open_run` appended, and when the run began (its `boot` record's end)."""

    records: tuple[Record, ...]
    began: float


def open_run(
    ledger: Ledger,
    store: StreamStore,
    draft: DraftMaker,
    public_key: str,
    crash: str | None = None,
) -> Run:
    """Start a run: `key` first if the stream is new, leftovers sealed, then `boot`.

    `crash` is why the previous run ended when the caller knows it (a worker crash or hang
    seen by the daemon); otherwise the ledger tells an operator stop from a power loss.
    No recorder may write the stream's folder meanwhile.
    """
    written: list[Record] = []
    first_run = ledger.size == 0
    if first_run:
        key = draft(kind="key", start=time.time(), end=None)
        written.append(ledger.append(replace(key, extra={"public_key": public_key})))
    recovered = recover_leftovers(store, ledger, draft, crash or POWER_LOSS)
    written += recovered
    now = time.time()
    last = ledger.last_record
    previous_end = None if last is None else (last.end or last.start)
    reason = None if first_run else crash or _restart_reason(ledger, recovered)
    boot = draft(kind="boot", start=now, end=now, reason=reason)
    written.append(ledger.append(replace(boot, start=previous_end or iso_utc(now))))
    return Run(tuple(written), now)


def _restart_reason(ledger: Ledger, recovered: list[Record]) -> str:
    """Why recording paused: a final checkpoint means the last run was stopped on purpose."""
    return "operator_stop" if ledger.closed_cleanly and not recovered else "power_loss"
