"""The parent's side of a camera process: start it, answer and read its messages, restart it.

Each camera records in its own process, so a crash or hang in one cannot stall or kill
another (the child side is `camera_child`, forked by `camera_forkserver`). The parent keeps
one `CameraProcess` per camera with the read surface the progress tracker and the health
reports use; the camera supervisor restarts a child that died or that the liveness rules find
hung, with capped backoff.

The child holds no signing key: its `LedgerService` here signs what it asks over the pipe
(JSON, `child_protocol`; a message that is not one of ours kills the child). Before each child
starts, the service seals the leftover `.part` as `truncated` and writes the `boot` record,
which names the cause the parent saw (`worker_crash`, `worker_hang`): the lost time is a
declared gap.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection

from cameras.health import CameraHealth
from evgw.backoff import Backoff
from segments.errors import SegmentError
from segments.ledger import Ledger
from segments.plan import RecordingPlan
from segments.records import Record, StreamIdentity
from segments.store import DataDir

from .camera_forkserver import CameraForkServer, ForkedChild
from .child_protocol import (
    HEALTH_PERIOD_S,
    MAX_MESSAGE,
    Announced,
    CameraJob,
    DiskFull,
    Event,
    FromChild,
    Frozen,
    GapOpened,
    Health,
    MessageError,
    Stop,
    ToChild,
    encode,
    from_child,
)
from .ledger_service import LedgerService

log = logging.getLogger(__name__)

WORKER_CRASH = "worker_crash"
WORKER_HANG = "worker_hang"
WRITE_ERROR = "write_error"
SILENCE_S = 15.0  # no message at all for this long: the child is hung even if it looked fine
# A new child says nothing until it has started; on a box saturated by other work (load 20 on
# two cores was seen) that took longer than SILENCE_S and healthy children were killed in a loop.
FIRST_WORD_S = 60.0
STABLE_S = 60.0  # a child that ran this long before dying restarts after the shortest delay

EventSink = Callable[..., None]


class DiskFullFlag(threading.Event):
    """Set while recording must pause for space; each camera process is told by message.

    A shared semaphore would let one compromised child pause every camera: a child can only
    read this flag's news, never set it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._listeners: list[Callable[[bool], None]] = []

    def listen(self, listener: Callable[[bool], None]) -> None:
        self._listeners.append(listener)

    def set(self) -> None:
        super().set()
        for listener in self._listeners:
            listener(True)

    def clear(self) -> None:
        super().clear()
        for listener in self._listeners:
            listener(False)


class HealthView:
    """The child's latest health snapshot; frame age grows once the child is silent for longer
    than it reports (`HEALTH_PERIOD_S`): between reports the last one stands."""

    def __init__(self, camera: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._latest = CameraHealth(camera, False, 0, 0.0, 0.0, None, 0, None)
        self._at = clock()
        self._lost: str | None = None
        self._reconnects = 0

    def update(self, health: CameraHealth) -> None:
        with self._lock:
            if health.online:
                self._lost = None
            self._latest = replace(
                health,
                last_error=health.last_error or self._lost,
                reconnects=self._reconnects + health.reconnects,
            )
            self._at = self._clock()

    def failed(self, reason: str) -> None:
        """The process ended: offline with `reason` until a new child is back online."""
        with self._lock:
            self._reconnects = self._latest.reconnects + 1
            self._lost = reason
            self._latest = replace(
                self._latest, online=False, last_error=reason, reconnects=self._reconnects
            )

    def silent_for(self, now: float) -> float:
        with self._lock:
            return now - self._at

    def snapshot(self, now: float | None = None) -> CameraHealth:
        now = self._clock() if now is None else now
        with self._lock:
            age = self._latest.last_frame_age_s
            if age is not None:
                age += max(0.0, now - self._at - HEALTH_PERIOD_S)
            return replace(self._latest, last_frame_age_s=age)


@dataclass
class RecorderView:
    identity: StreamIdentity
    plan: RecordingPlan
    last_sealed: Record | None = None


@dataclass
class ResolverView:
    """What the child reported of the camera itself: its clock's offset from ours."""

    clock_offset_s: float | None = None


@dataclass(frozen=True)
class Callbacks:
    """What the parent does with a child's messages (all run on the child's reader thread)."""

    on_record: Callable[[Record], None]
    emit: EventSink
    on_frozen: Callable[[str, bool], None]
    on_identity: Callable[[StreamIdentity], None]


class CameraProcess:
    """One camera's process, as the rest of the daemon sees it; restarted by the supervisor."""

    def __init__(
        self,
        job: CameraJob,
        ledger: Ledger,
        public_key: str,
        disk_full: DiskFullFlag,
        callbacks: Callbacks,
        forkserver: CameraForkServer,
        backoff: Backoff | None = None,
    ) -> None:
        plan = job.plan
        self.camera = plan.camera.id
        self.name = f"camera-{self.camera}"
        self.health = HealthView(self.camera)
        self.recorder = RecorderView(plan.identity, plan.recording)
        self.resolver = ResolverView()
        self.ledger = LedgerService(
            ledger, DataDir(plan.data_dir).store(self.camera), plan.identity, public_key,
            self._on_record,
        )  # fmt: skip
        self.restarts = 0
        self._job = job
        self._disk_full = disk_full
        self._callbacks = callbacks
        self._forkserver = forkserver
        self._backoff = backoff or Backoff(initial_s=1.0, cap_s=30.0)
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._proc: ForkedChild | None = None
        self._conn: Connection | None = None
        self._spawned_at = 0.0
        self._stopping = False
        self._restart_at: float | None = None
        self._cause: str | None = WORKER_CRASH  # None: it sealed and exited when told to
        self._crash: str | None = None  # why the last child ended, for the next run's records
        disk_full.listen(lambda on: self._tell(DiskFull(on)))

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return None if proc is None else proc.pid

    def start(self) -> None:
        with self._lock:
            self._launch(time.monotonic())

    def _launch(self, now: float) -> None:
        """Start a child; if its run cannot be opened in the ledger (or no process can be
        forked), try again after a delay."""
        try:
            self._spawn(self._crash)
        except (SegmentError, OSError) as e:
            delay = self._backoff.next_delay()
            self._restart_at = now + delay
            self.health.failed(WRITE_ERROR)
            log.error("%s: cannot start recording: %s; trying again in %.1f s",
                      self.camera, e, delay)  # fmt: skip

    def _spawn(self, crash: str | None) -> None:
        """Open the run in the ledger (leftovers, `boot`), then start a child to record it."""
        job = replace(self._job, started=self.ledger.open_run(crash))
        proc, conn = self._forkserver.launch(job)  # its death reads as EOF on `conn`
        self._proc, self._conn, self._spawned_at = proc, conn, time.monotonic()
        self._cause = WORKER_CRASH
        if self._disk_full.is_set():
            self._tell(DiskFull(True))
        threading.Thread(
            target=self._read, args=(conn, proc), name=f"{self.name}-pipe", daemon=True
        ).start()

    def _read(self, conn: Connection, proc: ForkedChild) -> None:
        try:
            while True:
                message = from_child(conn.recv_bytes(MAX_MESSAGE))
                try:
                    self._handle(message)
                except Exception:
                    log.exception("%s: message %s not handled", self.camera, type(message).__name__)
        except EOFError:
            pass
        except (MessageError, OSError) as e:
            log.error("%s: camera process %s broke the protocol (%s); killing it",
                      self.camera, proc.pid, e)  # fmt: skip
            proc.kill()
        finally:
            conn.close()

    def _handle(self, message: FromChild) -> None:
        cb = self._callbacks
        if isinstance(message, Health):
            self.health.update(replace(message.health, camera_id=self.camera))
            self.resolver.clock_offset_s = message.clock_offset_s
            identity = self.ledger.learn_serial(message.serial)
            if identity != self.recorder.identity:
                self.recorder.identity = identity
                cb.on_identity(identity)
        elif isinstance(message, GapOpened):
            cb.emit("gap_open", camera=self.camera, reason=message.reason)
        elif isinstance(message, Frozen):
            cb.on_frozen(self.camera, message.frozen)
        elif isinstance(message, Event):
            cb.emit(message.kind, **{**message.facts, "camera": self.camera})
        else:
            self._tell(self.ledger.handle(message))

    def _on_record(self, record: Record) -> None:
        if record.kind == "segment":
            self.recorder.last_sealed = record
        self._callbacks.on_record(record)

    def _tell(self, message: ToChild) -> None:
        """To the running child, if any: one that is gone needs no answer."""
        conn = self._conn
        if conn is None:
            return
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            conn.send_bytes(encode(message))

    def announce(self, message: Announced) -> None:
        """Pass a WS-Discovery Hello/Bye the daemon heard on to the camera process."""
        self._tell(message)

    def declare_cause(self, reason: str) -> None:
        """Why the stream paused before this process's first child (its `boot` record says so)."""
        with self._lock:
            self._crash = reason

    def is_alive(self) -> bool:
        """True while supervised (a dead child is a declared gap being restarted); after `stop`,
        whether the process still runs."""
        with self._lock:
            if not self._stopping:
                return True
            return self._proc is not None and self._proc.is_alive()

    def running(self) -> bool:
        with self._lock:
            return self._proc is not None and self._proc.is_alive() and not self._stopping

    def check(self, now: float) -> None:
        """Supervisor round: notice a dead child, restart it when its backoff delay is over."""
        with self._lock:
            proc = self._proc
            if self._stopping or (proc is not None and proc.is_alive()):
                return
            if self._restart_at is None:
                if proc is not None:
                    self._died(proc, now)
            elif now >= self._restart_at:
                self._restart_at = None
                self.restarts += 1
                log.warning("%s: restarting its camera process", self.camera)
                self._launch(now)

    def _died(self, proc: ForkedChild, now: float) -> None:
        proc.join(0)
        code = proc.exitcode
        how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
        if code == 0:
            self._cause = None  # told to stop (SIGTERM to the child alone): it sealed
        if now - self._spawned_at >= STABLE_S:
            self._backoff.reset()
        delay = self._backoff.next_delay()
        self._restart_at = now + delay
        self._crash = self._cause
        reason = self._cause or "worker_stopped"
        self.health.failed(reason)
        log.error(
            "%s: camera process %s ended with %s; restarting in %.1f s",
            self.camera, proc.pid, how, delay,
        )  # fmt: skip
        self._callbacks.emit("gap_open", camera=self.camera, reason=reason, exit=how)

    def kill_hung(self, why: str) -> None:
        """The watchdog's rule says the child makes no progress: kill it; `check` restarts it."""
        with self._lock:
            proc = self._proc
            if self._stopping or proc is None or not proc.is_alive():
                return
            log.error("%s; killing camera process %s to restart it", why, proc.pid)
            self._cause = WORKER_HANG
            proc.kill()
        proc.join(5.0)

    def silence(self, now: float) -> str | None:
        """A child that sends nothing at all (not even health) is hung whatever it last said."""
        quiet = silent_too_long(self.health.silent_for(now), now - self._spawned_at)
        return None if quiet is None else f"{self.camera}: camera process silent for {quiet:.0f} s"

    def stop(self) -> None:
        """Ask the child to seal and exit; no restart after this."""
        with self._lock:
            self._stopping = True
        self._tell(Stop())

    def join(self, timeout: float | None = None) -> None:
        proc = self._proc
        if proc is not None:
            proc.join(timeout)

    def kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.kill()
            proc.join(5.0)


def silent_too_long(since_message: float, since_spawn: float) -> float | None:
    """How long the current child has said nothing, if that is too long to be alive.

    A child that has spoken since it was spawned gets SILENCE_S; one that has not yet
    (imports, a starved CPU) gets FIRST_WORD_S.
    """
    quiet = min(since_message, since_spawn)
    limit = SILENCE_S if since_message < since_spawn else FIRST_WORD_S
    return quiet if quiet > limit else None


def stop_all(workers: list[CameraProcess], timeout_s: float) -> None:
    """Ask every camera process to seal and exit at once, then kill what is left at the end."""
    for worker in workers:
        worker.stop()
    deadline = time.monotonic() + timeout_s
    for worker in workers:
        worker.join(max(0.1, deadline - time.monotonic()))
        if worker.is_alive():
            log.error("%s did not stop within %.0f s; killing it", worker.name, timeout_s)
            worker.kill()
