"""The recording daemon: one process per enabled camera, one stop event, clean sealing on exit."""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import Any

from cameras.health import CameraHealth
from segments.clock import kernel_clock_status
from segments.index import PURGED_BEFORE_UPLOAD, Index
from segments.ledger import Ledger
from segments.recorder import StreamIdentity
from segments.records import Record
from segments.ringbuffer import Limits
from uplink.errors import UplinkError
from uplink.mqtt import GatewayLink
from uplink.object_keys import object_key
from uplink.objectstore import ObjectStore
from uplink.uploader import Uploader, UploadEvent

from . import commands
from .alarms import CameraFacts, GatewayFacts
from .camera_process import (
    Callbacks,
    CameraJob,
    CameraProcess,
    CameraSupervisor,
    Event,
    identity_for,
    open_ledger,
    plan_for,
    spawn_context,
)
from .config import CameraConfig, Config
from .enrollment import CameraDirectory
from .keys import GatewayKeys, load_keys
from .reporting import Reporter
from .retention import Retention
from .status_cmd import gather, index_path
from .watchdog import ProgressLimits, supervise

log = logging.getLogger(__name__)

PURGE_ALARM_S = 3600.0
RECORD_EVENTS = {
    "segment": "segment_sealed",
    "truncated": "segment_truncated",
    "gap": "gap_close",
    "clock": "clock_step",
    "boot": "boot",
}


@dataclass
class Gateway:
    """Owns the index, the ledgers and the workers; `stop` seals every open segment."""

    config: Config
    boot_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    stop_event: threading.Event = field(default_factory=threading.Event)
    workers: list[CameraProcess] = field(default_factory=list)
    ledgers: dict[str, Ledger] = field(default_factory=dict)
    identities: dict[str, StreamIdentity] = field(default_factory=dict)
    index: Index | None = None
    retention: Retention | None = None
    directory: CameraDirectory | None = None
    uploader: Uploader | None = None
    link: GatewayLink | None = None
    reporter: Reporter | None = None
    frozen: dict[str, bool] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    _purges: list[float] = field(default_factory=list)
    _supervisor: CameraSupervisor | None = None

    def start(self) -> None:
        """Open the index and every stream's ledger (recovering crash leftovers), then record."""
        started = time.time()
        keys = load_keys(self.config)
        self.index = Index.open(index_path(self.config))
        self.directory = CameraDirectory(self.config.discovery).start()
        storage = self.config.storage
        context = spawn_context()
        disk_full = context.Event()
        self.retention = Retention(
            self.index,
            self.config.gateway.data_dir,
            self.ledgers,
            self.identities,
            Limits(storage.quota_bytes, storage.min_free_bytes, storage.on_full),
            on_event=self._retention_event,
            on_record=_log_record,
            disk_full=disk_full,
        )
        for camera in self.config.cameras:
            if not camera.enabled:
                log.info("%s: disabled in the configuration", camera.id)
                continue
            worker = self._camera_process(camera, keys, self.index, started, disk_full)
            self.workers.append(worker)
        self.uploader = self._start_uploader(self.index)
        self._start_monitoring(self.index)
        self.retention.run_once()
        self.retention.start()
        for worker in self.workers:
            worker.start()
        limits = ProgressLimits.for_recording(self.config.recording)
        self._supervisor = CameraSupervisor(self.workers, limits)
        self._supervisor.start()

    def _camera_process(
        self,
        camera: CameraConfig,
        keys: GatewayKeys,
        index: Index,
        started: float,
        disk_full: Event,
    ) -> CameraProcess:
        """The parent's ledger writer (purge records) and the camera's supervised process."""
        self.ledgers[camera.id] = open_ledger(self.config, camera.id, keys, index)
        self.identities[camera.id] = identity_for(self.config, camera, self.boot_id)
        job = CameraJob(
            self.config, camera, self.boot_id, started, log_level=logging.getLogger().level
        )
        callbacks = Callbacks(
            on_record=self._on_record,
            emit=self.emit,
            on_frozen=self._on_frozen,
            on_identity=self._on_identity,
        )
        plan = plan_for(self.config, camera, keys)
        return CameraProcess(job, plan, disk_full, callbacks, spawn_context())

    def _start_uploader(self, index: Index) -> Uploader | None:
        upload = self.config.upload
        if upload is None:
            log.warning("no [upload] section: sealed segments stay on this gateway only")
            return None
        store = ObjectStore(upload.store)
        try:
            if not store.lock_status():
                log.warning(
                    "bucket %s has no object lock: uploads cannot be retention-locked; "
                    "create the bucket with object lock enabled",
                    upload.store.bucket,
                )
        except UplinkError as e:
            log.warning("cannot check object lock on %s now: %s", upload.store.bucket, e)
        uploader = Uploader(
            index,
            store,
            self.config.gateway.data_dir,
            self.config.gateway.site,
            self.config.gateway.id,
            upload.store.retention_days,
            workers=upload.workers,
            on_event=self._upload_event,
        )
        uploader.start()
        return uploader

    def _start_monitoring(self, index: Index) -> None:
        mqtt = self.config.mqtt
        if mqtt is None:
            log.info("no [mqtt] section: health is not reported to central monitoring")
            return
        gateway_id = self.config.gateway.id
        self.link = GatewayLink(mqtt.link, gateway_id)
        commands.register(
            self.link,
            commands.CommandContext(
                index=index,
                ledgers=self.ledgers,
                identities=self.identities,
                wake_uploads=self.uploader.wake if self.uploader else lambda: None,
                rediscover=self._rediscover,
            ),
        )
        self.link.start()
        self.reporter = Reporter(self.link, self.facts, mqtt.health_interval_s).start()

    def _rediscover(self) -> None:
        if self.directory is not None and self.directory.enabled:
            self.directory.probe()

    def emit(self, kind: str, **fields: Any) -> None:
        """An event for central monitoring (and the log)."""
        _log_event(kind=kind, **fields)
        if self.reporter is not None:
            self.reporter.event(kind, **fields)

    def _retention_event(self, *, kind: str, **fields: object) -> None:
        if kind == "purge":
            self._purges.append(time.time())
        self.emit(kind, **fields)

    def _upload_event(self, event: UploadEvent) -> None:
        _log_upload_event(event)
        if self.reporter is not None:
            self.reporter.event(
                event.kind, camera=event.stream, seq=event.seq, what=event.what,
                key=event.key, detail=event.detail,
            )  # fmt: skip

    def facts(self) -> GatewayFacts:
        """One consistent snapshot for health reports and alarms."""
        assert self.index is not None
        now = time.time()
        status = gather(self.config, self.index, now)
        clock = kernel_clock_status()
        recent_purges = [t for t in self._purges if now - t < PURGE_ALARM_S]
        tampered = [r for r in self.index.refused() if r[2] != PURGED_BEFORE_UPLOAD]
        return GatewayFacts(
            ts=now,
            uptime_s=now - self.started_at,
            free_bytes=status.free_bytes,
            used_bytes=status.used_bytes,
            quota_bytes=status.quota_bytes,
            min_free_bytes=status.min_free_bytes,
            backlog_count=status.backlog_count,
            backlog_bytes=status.backlog_bytes,
            oldest_unconfirmed_age_s=status.oldest_unconfirmed_age_s,
            upload_state=self.uploader.status().state if self.uploader else None,
            minutes_left=status.minutes_left,
            clock_synced=clock.synced,
            clock_est_error_s=clock.est_error_s,
            tampered=len(tampered),
            unuploaded_purges=len(recent_purges),
            cameras=tuple(self._camera_facts(w, now) for w in self.workers),
        )

    def _camera_facts(self, worker: CameraProcess, now: float) -> CameraFacts:
        health = worker.health.snapshot()
        sealed = worker.recorder.last_sealed
        identity = worker.resolver.identity
        camera = health.camera_id
        return CameraFacts(
            camera=camera,
            online=health.online,
            fps=health.fps,
            bitrate_bps=health.bitrate_bps,
            last_frame_age_s=health.last_frame_age_s,
            last_segment_age_s=None if sealed is None else now - _ts(sealed.end),
            reconnects=health.reconnects,
            clock_offset_s=None if identity is None else identity.clock_offset_s,
            last_error=health.last_error,
            frozen=self.frozen.get(camera, False),
            segment_seconds=worker.recorder.plan.segment_seconds,
        )

    def _on_frozen(self, camera: str, frozen: bool) -> None:
        """A camera process judged its picture (about once a second): is it still changing?"""
        if frozen != self.frozen.get(camera, False):
            self.emit("camera_frozen" if frozen else "camera_unfrozen", camera=camera)
        self.frozen[camera] = frozen

    def _on_identity(self, identity: StreamIdentity) -> None:
        """The child learnt the camera's serial: purge records name it too."""
        self.identities[identity.camera] = identity

    def _on_record(self, record: Record) -> None:
        _log_record(record)
        kind = RECORD_EVENTS.get(record.kind)
        if kind is not None and self.reporter is not None:
            self.reporter.event(
                kind, camera=record.stream, seq=record.seq, start=record.start, end=record.end,
                reason=record.reason, file=record.file,
            )  # fmt: skip
        if self.uploader is not None:
            self.uploader.wake()
        if record.kind == "segment" and self.retention is not None:
            self.retention.poke()

    def confirmed_keys(self) -> list[str]:
        """Object keys the store has confirmed (reads the index, also after `stop`)."""
        index = Index.open(index_path(self.config))
        try:
            items = index.confirmed_uploads()
        finally:
            index.close()
        site, gateway = self.config.gateway.site, self.config.gateway.id
        return [object_key(item, site, gateway) for item in items]

    def health(self) -> list[CameraHealth]:
        return [w.health.snapshot() for w in self.workers]

    def stop(self, timeout_s: float = 30.0, drain_s: float = 0.0) -> None:
        """Seal and stop recording; then give the upload backlog up to `drain_s` to empty."""
        self.stop_event.set()
        for worker in self.workers:
            worker.stop()
        deadline = time.monotonic() + timeout_s
        for worker in self.workers:
            worker.join(max(0.1, deadline - time.monotonic()))
            if worker.is_alive():
                log.error("%s did not stop within %.0f s; killing it", worker.name, timeout_s)
                worker.kill()
        if self._supervisor is not None:
            self._supervisor.stop()
        if self.retention is not None:
            self.retention.stop()
        if self.uploader is not None:
            self._drain(drain_s)
            self.uploader.stop()
        if self.directory is not None:
            self.directory.stop()
        if self.reporter is not None:
            self.reporter.stop()
        if self.link is not None:
            self.link.stop()
        if self.index is not None:
            self.index.close()

    def _drain(self, seconds: float) -> None:
        assert self.index is not None
        deadline = time.monotonic() + seconds
        while self.index.backlog().count and time.monotonic() < deadline:
            time.sleep(0.2)
        left = self.index.backlog()
        if left.count:
            log.info("upload backlog at stop: %d items, %d bytes (sent after restart)",
                     left.count, left.bytes)  # fmt: skip

    def wait(self, seconds: float | None = None) -> None:
        self.stop_event.wait(seconds)


def _ts(iso: str | None) -> float:
    return datetime.fromisoformat(iso).timestamp() if iso else time.time()


def _log_upload_event(event: UploadEvent) -> None:
    level = logging.INFO if event.kind == "segment_confirmed" else logging.WARNING
    log.log(level, "upload %s %s #%d %s %s", event.kind, event.stream, event.seq, event.key,
            event.detail)  # fmt: skip


def _log_event(*, kind: str, **fields: object) -> None:
    details = " ".join(f"{k}={v}" for k, v in fields.items())
    log.warning("event %s %s", kind, details)


def _log_record(record: Record) -> None:
    what = f"{record.stream}: {record.kind} #{record.seq}"
    if record.kind == "segment":
        log.info("%s %s", what, record.file)
    elif record.kind in ("gap", "truncated", "clock"):
        log.warning("%s %s from %s to %s", what, record.reason, record.start, record.end)
    else:
        log.info("%s %s", what, record.reason or "")


def run(config: Config) -> int:
    """Record until SIGTERM/SIGINT; every open segment is sealed before returning."""
    gateway = Gateway(config)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: sealing open segments", signal.Signals(signum).name)
        gateway.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    gateway.start()
    supervise(
        gateway.workers,
        gateway.stop_event,
        config.recording,
        gateway.index if gateway.uploader else None,
    )
    log.info("recording %d camera(s) into %s", len(gateway.workers), config.gateway.data_dir)
    while not gateway.stop_event.is_set():
        gateway.wait(1.0)
    gateway.stop()
    return 0
