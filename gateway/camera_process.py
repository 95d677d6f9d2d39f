"""Each camera records in its own process: a crash or hang in one cannot stall or kill another.

The child is spawned (not forked: it inherits no threads, locks or decoder state) and runs the
same resolver, recorder, ledger and `CameraWorker` a thread would, with its own index
connection. It reports to the parent over a one-way pipe of small messages: a health snapshot
about once a second, every record it appends, gap and frozen-picture changes. The parent keeps a
`CameraProcess` per camera with the read surface the watchdog and reporting use, and the
`CameraSupervisor` thread restarts a child that died, or that the watchdog's rule finds hung,
with capped backoff. The restarted child seals the leftover `.part` as `truncated` and its `boot`
record names the cause (`worker_crash`, `worker_hang`), so the lost time is a declared gap.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.synchronize
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext, SpawnProcess
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

import av

from cameras.backoff import Backoff
from cameras.freeze import FreezeDetector, thumbnail
from cameras.health import CameraHealth, HealthCounter
from segments.index import Index
from segments.ledger import Ledger
from segments.overlay import OverlaySpec
from segments.recorder import RecordingPlan, StreamIdentity, StreamRecorder
from segments.records import Record
from segments.store import StreamStore
from segments.writer import EncodeSettings

from .camera_worker import CameraWorker
from .config import CameraConfig, Config
from .enrollment import CameraDirectory, CameraIdentity, CameraResolver
from .keys import GatewayKeys, load_keys
from .logs import setup_logging
from .status_cmd import index_path
from .watchdog import ProgressLimits, ProgressTracker, camera_problem

log = logging.getLogger(__name__)

WORKER_CRASH = "worker_crash"
WORKER_HANG = "worker_hang"
DEFAULT_FROZEN_AFTER_S = 30.0
PASSTHROUGH_PICTURE_S = 3.0
HEALTH_PERIOD_S = 1.0
SILENCE_S = 15.0  # no message at all for this long: the child is hung even if it looked fine
STABLE_S = 60.0  # a child that ran this long before dying restarts after the shortest delay
PR_SET_PDEATHSIG = 1

Event = multiprocessing.synchronize.Event
EventSink = Callable[..., None]


def plan_for(config: Config, camera: CameraConfig, keys: GatewayKeys) -> RecordingPlan:
    rec = config.recording
    loc = config.location
    gps = (loc.lat, loc.lon) if loc.lat is not None and loc.lon is not None else None
    return RecordingPlan(
        segment_seconds=camera.segment_seconds,
        mode=camera.overlay,
        encode=EncodeSettings(codec=rec.encoder, preset=rec.preset, crf=rec.crf),
        overlay=OverlaySpec(location=camera.location, camera=camera.name, gps=gps),
        tz=ZoneInfo(config.gateway.timezone),
        recipients=keys.recipients,
    )


def identity_for(config: Config, camera: CameraConfig, boot_id: str) -> StreamIdentity:
    return StreamIdentity(
        gateway=config.gateway.id,
        site=config.gateway.site,
        location=camera.location,
        camera=camera.id,
        camera_name=camera.name,
        boot_id=boot_id,
    )


def open_ledger(
    config: Config,
    camera_id: str,
    keys: GatewayKeys,
    index: Index,
) -> Ledger:
    """The stream's ledger writer, indexing what it appends; each process opens its own."""
    store = StreamStore(config.gateway.data_dir, camera_id)
    return Ledger.open(
        store.root,
        camera_id,
        config.gateway.id,
        keys.signer,
        every_records=config.ledger.checkpoint_every,
        every_s=config.ledger.checkpoint_interval_s,
        on_append=index.add_record,
        on_checkpoint=index.add_checkpoint,
    )


def frozen_after_s(config: Config) -> float:
    return config.mqtt.frozen_after_s if config.mqtt is not None else DEFAULT_FROZEN_AFTER_S


@dataclass(frozen=True)
class CameraJob:
    """Everything a camera process needs, picklable; keys are loaded in the child."""

    config: Config
    camera: CameraConfig
    boot_id: str
    started: float
    crash: str | None = None
    log_level: int = logging.INFO


# -- the child ---------------------------------------------------------------------------------


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
    keys = load_keys(job.config)
    index = Index.open(index_path(job.config))
    try:
        worker = _camera_worker(job, keys, index, out, halt, disk_full)
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
    job: CameraJob, keys: GatewayKeys, index: Index, out: _Outbox, halt: Event, disk_full: Event
) -> CameraWorker:
    config, camera = job.config, job.camera
    ledger = open_ledger(config, camera.id, keys, index)
    detector = FreezeDetector(frozen_after_s=frozen_after_s(config))
    verdict: list[bool | None] = [None]

    def picture(wall: float, frame: av.VideoFrame) -> None:
        frozen = detector.update(wall, thumbnail(frame)).frozen
        if frozen != verdict[0]:
            verdict[0] = frozen
            out.send("frozen", frozen)

    recorder = StreamRecorder(
        plan_for(config, camera, keys),
        identity_for(config, camera, job.boot_id),
        StreamStore(config.gateway.data_dir, camera.id),
        ledger,
        on_record=lambda record: out.send("record", record),
        start_wall=job.started,
        on_picture=picture,
        picture_interval_s=1.0 if camera.overlay == "burn_in" else PASSTHROUGH_PICTURE_S,
    )
    recorder.begin(keys.signer.public_key_text(), crash=job.crash)
    return CameraWorker(
        # The parent follows WS-Discovery announcements; the child probes when it must.
        CameraResolver(camera, config.recording, CameraDirectory(config.discovery)),
        recorder,
        HealthCounter(camera.id),
        halt,
        disk_full=disk_full,
        on_gap=lambda cam, reason: out.send("event", "gap_open", {"camera": cam, "reason": reason}),
    )


def _die_with_parent(parent_pid: int) -> None:
    """A parent killed outright (power loss in tests) must not leave a second ledger writer."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        log.warning("cannot ask to die with the daemon (prctl unavailable)")
    if os.getppid() != parent_pid:
        os._exit(1)


# -- the parent's view of one child ------------------------------------------------------------


class HealthView:
    """The child's latest health snapshot; frame age keeps growing while the child is silent."""

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
                age += max(0.0, now - self._at)
            return replace(self._latest, last_frame_age_s=age)


@dataclass
class RecorderView:
    identity: StreamIdentity
    plan: RecordingPlan
    last_sealed: Record | None = None


@dataclass
class ResolverView:
    identity: CameraIdentity | None = None


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
        plan: RecordingPlan,
        disk_full: Event,
        callbacks: Callbacks,
        context: SpawnContext,
        backoff: Backoff | None = None,
    ) -> None:
        self.camera = job.camera.id
        self.name = f"camera-{self.camera}"
        self.health = HealthView(self.camera)
        self.recorder = RecorderView(identity_for(job.config, job.camera, job.boot_id), plan)
        self.resolver = ResolverView()
        self.restarts = 0
        self._job = job
        self._disk_full = disk_full
        self._callbacks = callbacks
        self._ctx = context
        self._backoff = backoff or Backoff(initial_s=1.0, cap_s=30.0)
        self._lock = threading.Lock()
        self._proc: SpawnProcess | None = None
        self._halt: Event | None = None
        self._spawned_at = 0.0
        self._stopping = False
        self._restart_at: float | None = None
        self._cause: str | None = WORKER_CRASH  # None: it sealed and exited when told to

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return None if proc is None else proc.pid

    def start(self) -> None:
        with self._lock:
            self._spawn(self._job)

    def _spawn(self, job: CameraJob) -> None:
        halt = self._ctx.Event()
        receive, send = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=camera_main,
            args=(job, send, halt, self._disk_full, os.getpid()),
            name=self.name,
            daemon=True,
        )
        proc.start()
        send.close()  # the child holds the only writer: its death reads as EOF here
        threading.Thread(
            target=self._read, args=(receive,), name=f"{self.name}-pipe", daemon=True
        ).start()
        self._proc, self._halt, self._spawned_at = proc, halt, time.monotonic()
        self._cause = WORKER_CRASH

    def _read(self, conn: Connection) -> None:
        try:
            while True:
                message = conn.recv()
                try:
                    self._handle(message)
                except Exception:
                    log.exception("%s: message %r not handled", self.camera, message[0])
        except (EOFError, OSError):
            pass
        except Exception:
            log.exception("%s: unreadable message from the camera process", self.camera)
        finally:
            conn.close()

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind, *body = message
        cb = self._callbacks
        if kind == "health":
            health, identity, camera_identity = body
            self.health.update(health)
            self.resolver.identity = camera_identity
            if identity != self.recorder.identity:
                self.recorder.identity = identity
                cb.on_identity(identity)
        elif kind == "record":
            record: Record = body[0]
            if record.kind == "segment":
                self.recorder.last_sealed = record
            cb.on_record(record)
        elif kind == "event":
            cb.emit(body[0], **body[1])
        elif kind == "frozen":
            cb.on_frozen(self.camera, body[0])

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
            if self._stopping or proc is None or proc.is_alive():
                return
            if self._restart_at is None:
                self._died(proc, now)
            elif now >= self._restart_at:
                self._restart_at = None
                self.restarts += 1
                log.warning("%s: restarting its camera process (%s)", self.camera, self._cause)
                self._spawn(replace(self._job, crash=self._cause, started=time.time()))

    def _died(self, proc: SpawnProcess, now: float) -> None:
        proc.join(0)
        code = proc.exitcode
        how = f"signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
        if code == 0 and self._halt is not None and self._halt.is_set():
            self._cause = None  # SIGTERM to the child alone: it sealed; not a crash
        if now - self._spawned_at >= STABLE_S:
            self._backoff.reset()
        delay = self._backoff.next_delay()
        self._restart_at = now + delay
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
        quiet = self.health.silent_for(now)
        if quiet > SILENCE_S and now - self._spawned_at > SILENCE_S:
            return f"{self.camera}: camera process silent for {quiet:.0f} s"
        return None

    def stop(self) -> None:
        """Ask the child to seal and exit; no restart after this."""
        with self._lock:
            self._stopping = True
            if self._halt is not None:
                self._halt.set()

    def join(self, timeout: float | None = None) -> None:
        proc = self._proc
        if proc is not None:
            proc.join(timeout)

    def kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.kill()
            proc.join(5.0)


class CameraSupervisor(threading.Thread):
    """Restarts dead camera processes with backoff and kills hung ones (thread `cameras`).

    It spawns the restarted children, so it must outlive them: `stop` it after they are joined.
    """

    def __init__(
        self,
        cameras: Sequence[CameraProcess],
        limits: ProgressLimits,
        period_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="cameras", daemon=True)
        self._cameras = cameras
        self._limits = limits
        self._period_s = period_s
        self._clock = clock
        self._tracker = ProgressTracker(cameras, clock)
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self._period_s):
            try:
                self.round()
            except Exception:
                log.exception("camera supervisor round failed")

    def round(self) -> None:
        now = self._clock()
        for camera in self._cameras:
            camera.check(now)
        for camera, progress in zip(self._cameras, self._tracker(), strict=True):
            if not camera.running():
                continue
            why = camera_problem(progress, now, self._limits) or camera.silence(now)
            if why is not None:
                camera.kill_hung(why)

    def stop(self) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(5.0)


def spawn_context() -> SpawnContext:
    return multiprocessing.get_context("spawn")
