"""The daemon's side of a camera's ledger: it signs what the camera process asks it to append.

A camera process holds no signing key (DESIGN §8). It finishes and fsyncs a segment's `.part`,
then asks over its pipe; this service checks the request, names the file by the seq it
assigns, signs and appends the record, writes the sidecar, and answers with the signed record:
one round trip per record. It also writes what opens each run of the camera (`key`, crash
leftovers as `truncated`, `boot` with the cause the daemon saw) before the process starts.

A request is refused, not signed, when it is not one a recorder makes: a kind only the daemon
writes, another stream's names, a chain already filled in, a file that is not this camera's
finished `.part` of that start time and size.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from dataclasses import replace

from evgw.errors import EvgwError
from segments.camera_signing import check_extra
from segments.clock import kernel_clock_status
from segments.errors import CryptoFormatError, SegmentError
from segments.ledger import Ledger
from segments.records import Record, StreamIdentity
from segments.runs import open_run
from segments.store import StreamStore
from segments.stream_log import LocalLog
from segments.timeline import iso_utc

from .child_protocol import Append, Checkpoint, Reply, Request, Seal

log = logging.getLogger(__name__)

CHILD_KINDS = frozenset({"gap", "clock", "camera", "event"})
"""What a camera process may append; `segment` only by `seal`. `key`, `boot`, `truncated`,
`purge`, `hold`, `release` and `export` are the daemon's own."""
SAME_AS_STREAM = ("stream", "gateway", "site", "location", "camera", "camera_name", "boot_id")


class RequestRefused(EvgwError):
    """A camera process asked for something a recorder never asks: nothing was written."""


class LedgerService:
    """One camera's ledger, shared with the daemon's own writers (retention, commands)."""

    def __init__(
        self,
        ledger: Ledger,
        store: StreamStore,
        identity: StreamIdentity,
        public_key: str,
        on_record: Callable[[Record], None],
    ) -> None:
        self.identity = identity
        self._ledger = ledger
        self._store = store
        self._log = LocalLog(ledger, store)
        self._public_key = public_key
        self._on_record = on_record

    def open_run(self, crash: str | None) -> float:
        """Before a camera process starts: `key` (new stream), leftovers, `boot`; its start."""
        run = open_run(self._ledger, self._store, self._draft, self._public_key, crash)
        for record in run.records:
            self._on_record(record)
        return run.began

    def handle(self, request: Request) -> Reply:
        """Answer one request; a refusal or a failed write is an error reply, logged here."""
        try:
            record = self._answer(request)
        except RequestRefused as e:
            log.error("%s: camera process request refused: %s", self.identity.camera, e)
            return Reply(request.id, error=f"refused: {e}")
        except SegmentError as e:
            log.error("%s: %s", self.identity.camera, e)
            return Reply(request.id, error=str(e))
        if record is not None:
            self._on_record(record)
        return Reply(request.id, record=record)

    def _answer(self, request: Request) -> Record | None:
        if isinstance(request, Checkpoint):
            self._ledger.checkpoint()
            return None
        draft = request.draft
        self._check_draft(draft)
        if isinstance(request, Append):
            if draft.kind not in CHILD_KINDS:
                raise RequestRefused(f"a camera process does not append {draft.kind!r} records")
            return self._log.append(draft)
        self._check_segment(request)
        return self._log.seal(draft, request.start_wall)

    def _check_draft(self, draft: Record) -> None:
        for name in SAME_AS_STREAM:
            ours = getattr(self.identity, "camera" if name == "stream" else name)
            if getattr(draft, name) != ours:
                raise RequestRefused(f"{name} {getattr(draft, name)!r} is not this stream's")
        if draft.seq or draft.prev or draft.alg or draft.key_id or draft.sig:
            raise RequestRefused("a draft comes without seq, prev, alg, key_id and sig")
        try:  # times no verifier could read are refused; their order is the recorder's news
            start, _ = draft.start_ts, draft.end_ts
        except CryptoFormatError as e:
            raise RequestRefused(str(e)) from e
        if start is None:
            raise RequestRefused("a record needs its start")

    def _check_segment(self, request: Seal) -> None:
        draft = request.draft
        if draft.kind != "segment" or draft.file is not None:
            raise RequestRefused("seal takes a segment draft without a file name")
        if draft.start != iso_utc(request.start_wall):
            raise RequestRefused(f"start {draft.start} differs from start_wall")
        part = self._store.part_path(request.start_wall)
        try:
            found = os.lstat(part)
        except OSError as e:
            raise RequestRefused(f"{part.name}: {e.strerror}") from e
        if not stat.S_ISREG(found.st_mode):
            raise RequestRefused(f"{part.name} is not a regular file")
        if found.st_size != draft.size_cipher:
            raise RequestRefused(f"{part.name} has {found.st_size} bytes, not {draft.size_cipher}")
        wrong = check_extra(draft.extra)  # the camera's signing claim, nothing else
        if wrong is not None:
            raise RequestRefused(wrong)

    def _draft(self, *, kind: str, start: float, end: float | None, **fields: object) -> Record:
        return self.identity.draft(
            kind=kind, start=start, end=end, clock=kernel_clock_status(), **fields
        )

    def learn_serial(self, serial: str | None) -> StreamIdentity:
        """The camera process read the camera's serial: the daemon's own records name it too."""
        if serial and serial != self.identity.camera_serial:
            self.identity = replace(self.identity, camera_serial=serial)
        return self.identity
