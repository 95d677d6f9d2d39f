"""The child side of a camera process: one camera recorded until told to stop, then sealed.

The child is spawned (not forked: it inherits no threads, locks or decoder state) with its own
`CameraPlan` only, and runs the resolver, recorder, ledger and `CameraWorker` with its own
index connection. It reports over a one-way pipe of small messages: a health snapshot about
once a second, every record it appends, gap and frozen-picture changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from types import FrameType
from typing import TYPE_CHECKING

from cameras.health import HealthCounter
from segments.index import Index
from segments.recorder import StreamRecorder
from segments.signing import load_signer
from segments.store import DataDir

from ..keys import GatewayKeys
from ..logs import setup_logging
from ..wiring import CameraPlan, open_ledger
from .camera_worker import CameraWorker
from .directory import CameraDirectory
from .resolver import CameraResolver

if TYPE_CHECKING:
    import av

log = logging.getLogger(__name__)

HEALTH_PERIOD_S = 1.0
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class CameraJob:
    """What a camera process is started with, picklable: its plan and how this run began."""

    plan: CameraPlan
    started: float
    crash: str | None = None
    log_level: int = logging.INFO


class _Outbox:
    """The child's end of the pipe; worker, recorder and health threads all send through it."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, *message: object) -> None:
        # A parent that is gone cannot listen; PR_SET_PDEATHSIG ends this process anyway.
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._conn.send(message)


def camera_main(
    job: CameraJob, conn: Connection, halt: Event, disk_full: Event, parent_pid: int
) -> None:
    """Entry point of a camera process: record until `halt` (or SIGTERM), then seal and exit."""
    _die_with_parent(parent_pid)
    setup_logging(job.log_level <= logging.DEBUG)

    def on_term(signum: int, frame: FrameType | None) -> None:
        halt.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    out = _Outbox(conn)
    index = Index.open(job.plan.index_path)
    try:
        worker = _camera_worker(job, index, out, halt, disk_full)
        worker.start()
        while worker.is_alive():
            _report_health(worker, out)
            worker.join(HEALTH_PERIOD_S)
        _report_health(worker, out)
    finally:
        index.close()
        conn.close()
    if not halt.is_set():
        raise SystemExit(1)  # the loop ended on its own: the parent restarts it


def _report_health(worker: CameraWorker, out: _Outbox) -> None:
    out.send("health", worker.health.snapshot(), worker.recorder.identity, worker.resolver.identity)


def _camera_worker(
    job: CameraJob, index: Index, out: _Outbox, halt: Event, disk_full: Event
) -> CameraWorker:
    plan = job.plan
    keys = GatewayKeys(load_signer(plan.signing_key), plan.recording.recipients)
    recorder = StreamRecorder(
        plan.recording,
        plan.identity,
        DataDir(plan.data_dir).store(plan.camera.id),
        open_ledger(plan, keys, index),
        on_record=lambda record: out.send("record", record),
        start_wall=job.started,
        on_picture=_freeze_watch(plan, out),
        picture_interval_s=plan.picture_interval_s,
    )
    recorder.begin(keys.signer.public_key_text(), crash=job.crash)
    health = HealthCounter(plan.camera.id)

    def rejected(source: str, reason: str, first: bool) -> None:
        health.rejected()
        if first:
            fields = {"camera": plan.camera.id, "source": source, "reason": reason}
            out.send("event", "input_rejected", fields)

    # The parent follows WS-Discovery announcements; the child probes when it must.
    directory = CameraDirectory(plan.discovery, on_reject=rejected)
    return CameraWorker(
        CameraResolver(
            plan.camera,
            plan.timeouts,
            directory,
            on_reject=lambda source, reason: rejected(source, reason, False),
        ),
        recorder,
        health,
        halt,
        disk_full=disk_full,
        on_gap=lambda cam, reason: out.send("event", "gap_open", {"camera": cam, "reason": reason}),
        on_event=lambda kind, fields: out.send("event", kind, fields),
    )


def _freeze_watch(plan: CameraPlan, out: _Outbox) -> Callable[[float, av.VideoFrame], None]:
    """A picture callback that tells the parent when the picture freezes or moves again."""
    from cameras.freeze import FreezeDetector, thumbnail

    detector = FreezeDetector(frozen_after_s=plan.frozen_after_s)
    verdict: list[bool | None] = [None]

    def picture(wall: float, frame: av.VideoFrame) -> None:
        frozen = detector.update(wall, thumbnail(frame)).frozen
        if frozen != verdict[0]:
            verdict[0] = frozen
            out.send("frozen", frozen)

    return picture


def _die_with_parent(parent_pid: int) -> None:
    """A parent killed outright (power loss in tests) must not leave a second ledger writer."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        log.warning("cannot ask to die with the daemon (prctl unavailable)")
    if os.getppid() != parent_pid:
        os._exit(1)
