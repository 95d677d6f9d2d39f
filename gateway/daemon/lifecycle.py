"""The recording daemon: one process per enabled camera, one stop event, clean sealing on exit.

`Gateway.start` loads the device key and opens the index and the only ledger writer of each
camera (which signs for its camera process, and the daemon's own records: purges, holds),
then starts retention, uploads, monitoring and the camera processes under the camera
supervisor; `Gateway.stop` seals and stops them in reverse. `run` is `evgw run`.

The WS-Discovery listener passes each Hello/Bye on to the camera processes (a camera that
announces a new address is followed at once) and to auto-enrolment, which adds cameras while
the daemon runs (`_enrol`; those enrolled before are recorded again at start, before any
probe) and has found, lost and re-found cameras declared in their ledgers (`_presence`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

from cameras.wsd import Announcement
from segments.checkpoint import Checkpoint
from segments.errors import SegmentError
from segments.index import Index
from segments.index_catch_up import catch_up
from segments.ledger import Ledger
from segments.records import Record, StreamIdentity
from segments.signing import Signer
from segments.store import DataDir
from segments.timestamp_queue import TimestampQueue
from uplink.errors import UplinkError
from uplink.mqtt import GatewayLink
from uplink.objectstore import ObjectStore
from uplink.timestamps import Timestamper
from uplink.tsa_client import TsaClient
from uplink.uploader import Uploader

from .. import wiring
from ..camera_plan import CameraPlan
from ..config import Config
from ..enrolled import Enrolled
from ..keys import CREDENTIALS_ENV, GatewayKeys, operator_keyring
from . import commands
from .alarms import GatewayFacts
from .auto_enroll import AutoEnroll, for_gateway
from .camera_forkserver import CameraForkServer
from .camera_process import Callbacks, CameraProcess, DiskFullFlag, stop_all
from .child_protocol import Announced, CameraJob, MessageError, encode, to_child
from .command_gate import CommandGate
from .directory import CameraDirectory
from .enrollment import presence_draft
from .events import EventRouter, log_record
from .facts import gateway_facts
from .liveness import ProgressLimits
from .progress import ProgressTracker
from .reporting import Reporter
from .retention import Retention
from .supervisor import CameraSupervisor

log = logging.getLogger(__name__)


class Gateway:
    """Owns the index, the ledgers and the camera processes; `stop` seals every open segment."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.boot_id = str(uuid.uuid4())
        self.stop_event = threading.Event()
        self.started_at = time.time()
        self.events = EventRouter()
        self.workers: list[CameraProcess] = []
        self.ledgers: dict[str, Ledger] = {}
        self.identities: dict[str, StreamIdentity] = {}
        self.tracker = ProgressTracker(self.workers)
        self.limits = ProgressLimits.for_timeouts(
            config.recording.open_timeout_s, config.recording.read_timeout_s
        )
        self.index: Index | None = None
        self._index_behind: set[str] = set()  # streams with records the index did not take
        self.directory: CameraDirectory | None = None
        self.retention: Retention | None = None
        self.uploader: Uploader | None = None
        self.timestamper: Timestamper | None = None
        self.link: GatewayLink | None = None
        self.reporter: Reporter | None = None
        self.supervisor: CameraSupervisor | None = None
        self.enroller: AutoEnroll | None = None
        self._workers_lock = threading.Lock()
        self._keys: GatewayKeys | None = None
        self._disk_full = DiskFullFlag()
        self._forkserver = CameraForkServer()
        self._callbacks = Callbacks(
            on_record=self.events.on_record,
            emit=self.events.emit,
            on_frozen=self.events.on_frozen,
            on_identity=self._on_identity,
        )

    def start(self) -> None:
        """Open the index and every stream's ledger (recovering crash leftovers), then record."""
        config = self.config
        self.started_at = time.time()
        self._keys = keys = wiring.gateway_keys(config)
        os.environ.pop(CREDENTIALS_ENV, None)  # camera processes inherit the environment
        self._forkserver.start()
        self.index = index = Index.open(wiring.index_path(config))
        self.timestamper = self._start_timestamper(index)
        self.directory = CameraDirectory(config.discovery, on_reject=self._rejected)
        self.directory.listen(self._on_announcement)
        self.directory.start()
        for camera in config.cameras:
            if not camera.enabled:
                log.info("%s: disabled in the configuration", camera.id)
        for plan in wiring.camera_plans(config, keys.recipients, self.boot_id):
            self.workers.append(self._camera_process(plan))
        if config.discovery.auto_enroll:
            self.enroller = for_gateway(
                config,
                self.directory,
                self._enrol,
                self._presence,
                lambda facts: self.events.emit("camera_refused", **facts),
            )
            for entry in self.enroller.enrolled:
                self.workers.append(self._camera_process(self._enrolled_plan(entry)))
        self.retention = Retention(
            index,
            config.gateway.data_dir,
            self.ledgers,
            self.identities,
            wiring.storage_limits(config),
            on_event=self.events.on_retention,
            on_record=log_record,
            disk_full=self._disk_full,
        )
        self.events.poke_retention = self.retention.poke
        self.uploader = self._start_uploader(index)
        self._start_monitoring(index, keys.signer)
        self.retention.run_once()
        self.retention.start()
        for worker in self.workers:
            worker.start()
        self.supervisor = CameraSupervisor(self.workers, self.tracker, self.limits)
        self.supervisor.round()
        self.supervisor.start()
        if self.enroller is not None:
            self.enroller.start()

    def _camera_process(self, plan: CameraPlan) -> CameraProcess:
        """Open the stream's ledger (the daemon's only writer) and set up its process."""
        assert self.index is not None and self._keys is not None
        stream = plan.camera.id
        ledger = self.ledgers.get(stream)
        if ledger is None:  # a reload reuses it
            ledger = wiring.open_ledger(
                self.config, stream, self._keys.signer, self._on_append, self._on_checkpoint
            )
            self._catch_up(stream)
        self.ledgers[stream] = ledger
        self.identities[stream] = plan.identity
        job = CameraJob(plan, self.started_at, log_level=logging.getLogger().level)
        public_key = self._keys.signer.public_key_text()
        return CameraProcess(
            job, ledger, public_key, self._disk_full, self._callbacks, self._forkserver
        )

    def _queue(self, stream: str, add: Callable[[Index], None]) -> None:
        """What is queued is durable in the ledger already: an index that fails is logged and
        caught up from the ledger at the stream's next record, never raised into the writer
        (a camera process would wait for its signed record)."""
        assert self.index is not None
        try:
            if stream in self._index_behind:
                self._catch_up(stream)  # the new record is in the ledger: it is taken too
                self._index_behind.discard(stream)
            else:
                add(self.index)
        except (sqlite3.Error, SegmentError, OSError) as e:
            self._index_behind.add(stream)
            log.error("%s: the index did not take a record (%s); it is in the ledger and is "
                      "queued for upload once the index works again", stream, e)  # fmt: skip

    def _catch_up(self, stream: str) -> None:
        """Queue what the ledger holds beyond the index (after a crash, or an index failure):
        nothing else would upload it."""
        assert self.index is not None
        stream_dir = DataDir(self.config.gateway.data_dir).stream(stream)
        done = catch_up(self.index, stream_dir, stream, timestamp=self.timestamper is not None)
        if done.records or done.checkpoints:
            log.warning("%s: %d records and %d checkpoints were in the ledger but not queued for "
                        "upload; queued now",
                        stream, done.records, done.checkpoints)  # fmt: skip

    def _enrolled_plan(self, entry: Enrolled) -> CameraPlan:
        assert self._keys is not None
        return wiring.enrolled_plan(self.config, entry, self._keys.recipients, self.boot_id)

    def _enrol(self, entry: Enrolled) -> bool:
        """Record a camera auto-enrolment admitted, while the daemon runs."""
        with self._workers_lock:
            if self.stop_event.is_set() or entry.id in self.ledgers:
                return False
            try:
                worker = self._camera_process(self._enrolled_plan(entry))
                worker.start()
            except (SegmentError, OSError) as e:
                log.error("%s: cannot record the enrolled camera: %s", entry.id, e)
                return False
            self.workers.append(worker)
        return True

    def _presence(self, camera: str, event: str, facts: dict[str, object]) -> None:
        """Declare an enrolled camera found, lost or re-found: signed record, then event."""
        ledger, identity = self.ledgers.get(camera), self.identities.get(camera)
        if ledger is None or identity is None:
            return
        try:
            log_record(ledger.append(presence_draft(identity, event, facts, time.time())))
        except SegmentError as e:
            log.error("%s: cannot declare the camera %s: %s", camera, event, e)
        self.events.emit(f"camera_{event}", camera=camera, **facts)

    def _on_announcement(self, a: Announcement) -> None:
        """A Hello/Bye on the camera network: to every camera process, and to enrolment."""
        message = Announced(a.kind, a.endpoint, a.xaddrs)
        try:
            to_child(encode(message))  # what a child would refuse (and stop on) is not sent
        except MessageError as e:
            log.warning("announcement of %s not passed on: %s", a.endpoint[:80], e)
        else:
            for worker in list(self.workers):
                worker.announce(message)
        if self.enroller is not None:
            self.enroller.on_announcement(a)

    def _start_timestamper(self, index: Index) -> Timestamper | None:
        tsa = self.config.tsa
        if tsa is None:
            log.info("no [tsa] section: checkpoints carry the gateway's own clock only")
            return None
        queue = TimestampQueue(index)
        data_dir = self.config.gateway.data_dir
        return Timestamper(
            queue, TsaClient(tsa), data_dir, on_event=self.events.on_timestamp
        ).start()

    def _on_append(self, record: Record) -> None:
        """Index and queue a record whoever appended it (camera process, retention, commands);
        the uploader sleeps until woken."""
        self._queue(record.stream, lambda index: index.add_record(record))
        self.events.wake_uploads()

    def _on_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Queue a new checkpoint's upload and, with [tsa], its timestamp, in one commit."""
        timestamp = self.timestamper is not None
        self._queue(
            checkpoint.stream, lambda index: index.add_checkpoint(checkpoint, timestamp=timestamp)
        )
        self.events.wake_uploads()
        if self.timestamper is not None:
            self.timestamper.wake()

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
        gateway = self.config.gateway
        uploader = Uploader(
            index,
            store,
            gateway.data_dir,
            gateway.site,
            gateway.id,
            upload.store.retention_days,
            workers=upload.workers,
            on_event=self.events.on_upload,
        )
        uploader.start()
        self.events.wake_uploads = uploader.wake
        return uploader

    def _start_monitoring(self, index: Index, device: Signer) -> None:
        mqtt = self.config.mqtt
        if mqtt is None:
            log.info("no [mqtt] section: health is not reported to central monitoring")
            return
        gateway_id = self.config.gateway.id
        self.link = GatewayLink(mqtt.link, gateway_id)
        limits = self.config.commands
        keyring = operator_keyring(limits.operators, device, self.config.path)
        commands.serve(
            self.link,
            CommandGate(keyring, gateway_id, limits, index, self.events.emit),
            commands.CommandContext(
                index=index,
                ledgers=self.ledgers,
                identities=self.identities,
                limits=limits,
                wake_uploads=self.uploader.wake if self.uploader else lambda: None,
                rediscover=self._rediscover,
            ),
        )
        self.link.start()
        self.reporter = Reporter(self.link, self.facts, mqtt.health_interval_s).start()
        self.events.reporter = self.reporter

    def _rejected(self, source: str, reason: str, first: bool) -> None:
        """A malformed WS-Discovery datagram: counted by the directory, reported once a sender."""
        if first:
            self.events.emit("input_rejected", source=source, reason=reason)

    def _rediscover(self) -> list[Announcement] | None:
        """Probe now; camera processes and enrolment take each answer as a Hello. None: off."""
        if self.directory is None or not self.directory.enabled:
            return None
        found = self.directory.probe(fresh=True)
        for a in found:
            self._on_announcement(replace(a, kind="Hello"))
        return found

    def _on_identity(self, identity: StreamIdentity) -> None:
        """The child learnt the camera's serial: purge records name it too."""
        self.identities[identity.camera] = identity

    def facts(self) -> GatewayFacts:
        """One consistent snapshot for health reports and alarms."""
        assert self.index is not None
        uploader = self.uploader
        workers = list(self.workers)
        return gateway_facts(
            replace(wiring.status_scope(self.config), cameras=tuple(w.camera for w in workers)),
            self.index,
            workers,
            self.events,
            self.started_at,
            lambda: uploader.status().state if uploader else None,
            self._disk_full.is_set(),
        )

    def stop(self, timeout_s: float = 30.0, drain_s: float = 0.0) -> None:
        """Seal and stop recording; then give the upload backlog up to `drain_s` to empty.

        Safe after a `start` that failed half-way: only what was started is stopped.
        """
        self.stop_event.set()
        if self.enroller is not None:
            self.enroller.stop()
        self._stop_cameras(timeout_s)
        self._forkserver.stop()
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.retention is not None:
            self.retention.stop()
        if self.timestamper is not None:
            self.timestamper.stop()
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

    def _stop_cameras(self, timeout_s: float) -> None:
        with self._workers_lock:  # no camera is enrolled from here on
            workers = list(self.workers)
        stop_all(workers, timeout_s)

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
