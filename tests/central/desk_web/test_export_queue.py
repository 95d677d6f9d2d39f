"""The desk's export worker: one export at a time, `MAX_QUEUED` waiting, then "busy"; a
failure is shown and audited. The runner is the seam between the worker and the archive's
export (which test_cases.py runs for real); here it waits for the test's signal."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from central.catalogue.audit import entries
from central.catalogue.db import Catalogue
from central.desk.web.exports import MAX_QUEUED, ExportJob, Exports
from central.retrieval.export import ArchiveExportRequest
from central.retrieval.source import RetrievalError
from evgw.errors import UsageError
from tests.support.waiting import wait_until

T = datetime(2026, 1, 1, tzinfo=UTC)


def test_one_runs_some_wait_the_rest_are_told_the_desk_is_busy(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    go = threading.Event()
    ran: list[str] = []

    def run(job: ExportJob) -> tuple[Path, dict[str, Any]]:
        job.progress(1, 4)
        go.wait(30)
        ran.append(job.request.case)
        if job.request.case == "bad":
            raise RetrievalError("no recording here", hint="look elsewhere")
        return job.request.out / job.request.case, {"verdict": "AUTHENTIC"}

    exports = Exports(catalogue, tmp_path, run)

    def submit(case: str) -> ExportJob:
        export_id, folder = exports.new_folder()
        ask = ArchiveExportRequest("gw-1", "cam1", T, T, case, folder, "ivan")
        return exports.submit(export_id, "10.0.0.7", ask)

    first = submit("bad")
    wait_until("the first export reports progress", lambda: first.status()["percent"] == 25)
    assert first.status()["state"] == "running"
    waiting = [submit(f"W-{i}") for i in range(MAX_QUEUED)]
    with pytest.raises(UsageError, match="exports are waiting already"):
        submit("one too many")
    assert {j.status()["state"] for j in waiting} == {"queued"}
    go.set()
    wait_until("all ran", lambda: all(j.status()["state"] == "done" for j in waiting))
    assert ran == ["bad"] + [f"W-{i}" for i in range(MAX_QUEUED)]  # in order, one at a time
    failed = first.status()
    assert failed["state"] == "failed" and failed["error"] == "no recording here (look elsewhere)"
    log = [(e.user, e.action, e.detail["case"], e.address) for e in reversed(entries(catalogue))]
    assert log[0] == ("ivan", "export_failed", "bad", "10.0.0.7")
    assert [a for _, a, _, _ in log] == ["export_failed"] + ["export"] * MAX_QUEUED
