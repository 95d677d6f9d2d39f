"""Case exports started from the desk: one at a time, in a worker thread, with live progress.

An export is the archive's own (`central.retrieval.export.archive_export`, the code behind
`evgw archive export`), written into `<exports_dir>/<export id>/<case>/`; the package appears
there only when complete (the export builds in a hidden folder and renames it), so what the
download finds on disk is always a whole package, also after the desk restarted. Progress
and outcome are kept in memory for the pages. Every export and every failure is audited with
the officer's name and address, the same rows `evgw archive export` writes.

A desk runs one export at a time (they are disk- and CPU-heavy); up to `MAX_QUEUED` more wait
their turn, beyond that the desk says it is busy.
"""

from __future__ import annotations

import logging
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from central.catalogue.audit import AuditEntry, append
from central.catalogue.db import Catalogue
from central.config.load import CentralConfig
from central.retrieval.export import ArchiveExportRequest, archive_export
from central.retrieval.setup import archive_keys, archive_source
from evgw.errors import EvgwError, UsageError

log = logging.getLogger("central.desk.exports")

MAX_QUEUED = 4
MAX_KEPT = 200  # finished jobs remembered; older ones are still found on disk when finished
EXPORT_ID = re.compile(r"[0-9a-f]{16}")
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass
class ExportJob:
    """One export as the pages show it; `done`/`total` are bytes of work (fetch, decrypt,
    remux), as the CLI's progress counts them."""

    id: str
    user: str
    address: str
    request: ArchiveExportRequest
    state: str = QUEUED
    done: int = 0
    total: int = 0
    verdict: str | None = None
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def target(self) -> str:
        r = self.request
        return f"{r.gateway}/{r.camera} {r.start.isoformat()}..{r.end.isoformat()}"

    def progress(self, done: int, total: int) -> None:
        with self.lock:
            self.done, self.total = done, total

    def status(self) -> dict[str, Any]:
        with self.lock:
            percent = 100 if self.state == DONE else _percent(self.done, self.total)
            return {
                "id": self.id,
                "state": self.state,
                "percent": percent,
                "verdict": self.verdict,
                "error": self.error,
                "case": self.request.case,
                "download": f"/cases/exports/{self.id}/download" if self.state == DONE else None,
            }


def _percent(done: int, total: int) -> int:
    return 0 if total <= 0 else min(99, done * 100 // total)


def exports_root(config: CentralConfig) -> Path | None:
    """`[desk] exports_dir`, or desk-exports beside a SQLite catalogue; None: not configured."""
    if config.desk is not None and config.desk.exports_dir is not None:
        return config.desk.exports_dir
    database = config.database
    if database.get_backend_name() == "sqlite" and database.database:
        return Path(database.database).parent / "desk-exports"
    return None


Runner = Callable[[ExportJob], tuple[Path, dict[str, Any]]]


class Exports:
    """The desk's export jobs and the one worker thread that runs them."""

    def __init__(self, catalogue: Catalogue, root: Path | None, run: Runner) -> None:
        self.catalogue = catalogue
        self.root = root
        self._run = run
        self._jobs: dict[str, ExportJob] = {}
        self._queue: queue.Queue[ExportJob] = queue.Queue(maxsize=MAX_QUEUED)
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    def new_folder(self) -> tuple[str, Path]:
        """A fresh export id and the folder its package goes into."""
        if self.root is None:
            raise UsageError(
                "the desk has no folder for exports: set [desk] exports_dir in central.toml"
            )
        export_id = secrets.token_hex(8)
        return export_id, self.root / export_id

    def submit(self, export_id: str, address: str, request: ArchiveExportRequest) -> ExportJob:
        """Queue the export of `request` (its operator is the logged-in user)."""
        job = ExportJob(export_id, request.operator, address, request)
        with self._lock:
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                raise UsageError(
                    f"{MAX_QUEUED} exports are waiting already: try again when one has finished"
                ) from None
            self._jobs[export_id] = job
            self._forget_old()
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="desk-exports", daemon=True)
                self._worker.start()
        return job

    def _forget_old(self) -> None:
        ended = [k for k, j in self._jobs.items() if j.state in (DONE, FAILED)]
        for export_id in ended[: max(0, len(self._jobs) - MAX_KEPT)]:
            del self._jobs[export_id]

    def job(self, export_id: str) -> ExportJob | None:
        with self._lock:
            return self._jobs.get(export_id)

    def package(self, export_id: str) -> Path | None:
        """The finished package folder of `export_id` on disk (None: no such finished export).
        Hidden folders (an export still being built) are never a package."""
        if self.root is None or not EXPORT_ID.fullmatch(export_id):
            return None
        folder = self.root / export_id
        if not folder.is_dir():
            return None
        found = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
        return found[0] if len(found) == 1 else None

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            with job.lock:
                job.state = RUNNING
            self._one(job)

    def _one(self, job: ExportJob) -> None:
        try:
            job.request.out.mkdir(parents=True, exist_ok=True)
            path, report = self._run(job)
        except EvgwError as e:
            self._failed(job, str(e) if e.hint is None else f"{e} ({e.hint})")
            return
        except Exception as e:  # the officer sees it failed; the log keeps the trace
            log.exception("export %s failed", job.id)
            self._failed(job, f"{type(e).__name__}: {e}")
            return
        verdict = str(report["verdict"])
        made = {"case": job.request.case, "package": str(path), "verdict": verdict,
                "export": job.id}  # fmt: skip
        self._audit(job, "export", made)
        with job.lock:
            job.state, job.verdict = DONE, verdict

    def _failed(self, job: ExportJob, error: str) -> None:
        self._audit(job, "export_failed", {"case": job.request.case, "error": error,
                                           "export": job.id})  # fmt: skip
        with job.lock:
            job.state, job.error = FAILED, error

    def _audit(self, job: ExportJob, action: str, detail: Mapping[str, object]) -> None:
        entry = AuditEntry(time.time(), job.user, action, job.target, detail, job.address)
        with self.catalogue.transaction() as tx:
            append(tx, entry)


def archive_runner(config: CentralConfig, catalogue: Catalogue) -> Runner:
    """Run a job with the archive's own export: its source and keys read afresh each time,
    so a key fixed in the configuration's files needs no desk restart."""

    def run(job: ExportJob) -> tuple[Path, dict[str, Any]]:
        source = archive_source(config, catalogue)
        keys = archive_keys(config)
        return archive_export(source, job.request, keys, job.progress)

    return run
