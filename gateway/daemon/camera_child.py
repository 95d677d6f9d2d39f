"""The child side of a camera process: one camera recorded until told to stop, then sealed.

The child is forked from `camera_forkserver`, a fresh interpreter that has only imported
the recording modules (it inherits no threads, locks, decoder state or secrets), and is sent
its own `CameraJob` only: its camera's plan and credentials, no signing key, no other
secret. Before it touches the camera it confines itself (`confine`: its own stream folder to
write, the program to read, nothing else) and turns off memory dumps and tracing. It runs
the resolver, recorder and `CameraWorker`; its records are signed by the daemon over the pipe
(`parent_link`), to which it also reports a health snapshot on news and every few seconds
(with `scene_still`), gaps and frozen-picture changes. It opens no index and no ledger, and listens
to no multicast: the daemon passes on the WS-Discovery Hello/Bye it hears (`Announced`), so a
camera that announces a new address is followed at once. An ONVIF camera's own events (tamper,
motion, inputs) are followed in a thread beside the recording (`camera_events`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from cameras.health import HealthCounter
from cameras.wsd import Announcement, normalise_endpoint
from segments.camera_signing import SigningClaim
from segments.clock import kernel_clock_status
from segments.encoder_choice import ENCODER_FALLBACK, EncoderChoice, encoder_access
from segments.recorder import StreamRecorder
from segments.records import Record
from segments.store import DataDir

from ..camera_plan import CameraPlan
from ..logs import setup_logging
from .camera_worker import CameraWorker
from .child_protocol import (
    HEALTH_PERIOD_S,
    Announced,
    CameraJob,
    Event,
    Frozen,
    GapOpened,
    Health,
)
from .confine import READABLE_ENV, ConfineError, confine, no_dumps
from .directory import CameraDirectory
from .parent_link import ParentLink, RemoteLog
from .rate_limit import RateLimiter
from .resolver import CameraResolver

if TYPE_CHECKING:
    import av

    from .osd_keeper import OsdKeeper

log = logging.getLogger(__name__)

EVENTS_JOIN_S = 5.0  # the subscriber sees stop within 0.2 s, then unsubscribes (3 s at most)
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
FOLLOWS_PER_MINUTE = 6.0  # announced moves that drop the stream at once (2 in a burst)


def camera_main(job: CameraJob, conn: Connection, parent_pid: int) -> None:
    """Entry point of a camera process: record until told to stop (or SIGTERM), then seal."""
    _die_with_parent(parent_pid)
    _name_process(f"cam-{job.plan.camera.id}")
    setup_logging(job.log_level <= logging.DEBUG)
    halt, disk_full = threading.Event(), threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        halt.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    link = ParentLink(conn, halt, disk_full).start()
    worker, osd = _camera_worker(job, link, halt, disk_full)
    _confine(job.plan)
    worker.start()
    events_done = threading.Event()
    events = _camera_events(job, worker, link, events_done)
    if osd is not None:
        osd.start()
    while not worker.ended.is_set():
        _report_health(worker, link)
        worker.health.news.wait(HEALTH_PERIOD_S)
        worker.health.news.clear()
    worker.join()
    events_done.set()
    if osd is not None:
        osd.stop()
    if events is not None:
        events.join(EVENTS_JOIN_S)
    _report_health(worker, link)
    if not halt.is_set():
        raise SystemExit(1)  # the loop ended on its own: the parent restarts it


def _report_health(worker: CameraWorker, link: ParentLink) -> None:
    camera = worker.resolver.identity
    link.send(
        Health(
            worker.health.snapshot(),
            worker.recorder.identity.camera_serial,
            None if camera is None else camera.clock_offset_s,
        )
    )


def _camera_events(
    job: CameraJob, worker: CameraWorker, link: ParentLink, done: threading.Event
) -> threading.Thread | None:
    """The camera's event subscription (ONVIF cameras only), recorded through the daemon.
    An `rtsp` camera loads no SOAP stack (zeep, aiohttp) for it."""
    if job.plan.camera.rtsp is not None:
        return None
    from .camera_events import CameraEvents, start_events

    events = CameraEvents(
        lambda: worker.recorder.identity,
        RemoteLog(link),
        worker.health,
        lambda: _report_health(worker, link),
    )
    return start_events(
        f"cam-{job.plan.camera.id}",
        job.plan.camera,
        worker.resolver,
        events,
        done,
        on_reject=worker.health.rejected,
    )


def _camera_worker(
    job: CameraJob, link: ParentLink, halt: threading.Event, disk_full: threading.Event
) -> tuple[CameraWorker, OsdKeeper | None]:
    plan = job.plan
    health = HealthCounter(plan.camera.id)
    recorder = StreamRecorder(
        plan.recording,
        plan.identity,
        DataDir(plan.data_dir).store(plan.camera.id),
        RemoteLog(link),
        on_record=_record_watch(plan, health, link),
        on_picture=_freeze_watch(plan, link, health),
        picture_interval_s=plan.picture_interval_s,
    )
    recorder.begin(job.started)

    def rejected(source: str, reason: str, first: bool) -> None:
        """Hostile input from the camera network: counted always, reported once per sender."""
        health.rejected()
        if first:
            facts = {"camera": plan.camera.id, "source": source, "reason": reason}
            link.send(Event("input_rejected", facts))

    # The parent hears WS-Discovery announcements and passes them on; the child probes when
    # it must.
    directory = CameraDirectory(plan.discovery, on_reject=rejected)
    osd = _osd_keeper(plan, recorder, health, link)
    worker = CameraWorker(
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
        on_gap=lambda camera, reason: link.send(GapOpened(reason)),
        on_event=lambda kind, facts: link.send(Event(kind, facts)),
        on_resolved=None if osd is None else osd.resolved,
    )
    link.on_announced = _follower(directory, worker)
    return worker, osd


def _osd_keeper(
    plan: CameraPlan, recorder: StreamRecorder, health: HealthCounter, link: ParentLink
) -> OsdKeeper | None:
    """For `osd` cameras: the thread that sets and checks the camera's own OSD."""
    if not plan.camera.osd:
        return None
    from cameras.osd_plan import OsdWanted, osd_text

    from .osd_keeper import OsdKeeper

    remote = RemoteLog(link)

    def declare(event: str, extra: dict[str, object]) -> None:
        now = time.time()
        draft = recorder.identity.draft(
            kind="camera",
            start=now,
            end=now,
            clock=kernel_clock_status(),
            reason=event,
            extra={"event": event, **extra},
        )
        remote.append(draft)

    identity = plan.identity
    return OsdKeeper(
        plan.camera,
        OsdWanted(osd_text(identity.site, identity.location)),
        declare,
        health,
        lambda kind, facts: link.send(Event(kind, facts)),
        plan.timeouts.open_timeout_s,
    )


def _follower(directory: CameraDirectory, worker: CameraWorker) -> Callable[[Announced], None]:
    """What the child does with a Hello/Bye the daemon heard: note it; follow a move.

    Anyone on the camera network can send a Hello with the camera's endpoint: following costs
    a short gap, so it is rate-limited (a forged address is then refused by the serial check).
    """
    limit = RateLimiter(FOLLOWS_PER_MINUTE, burst=2)

    def announced(message: Announced) -> None:
        a = Announcement(message.kind, normalise_endpoint(message.endpoint), message.xaddrs)
        directory.on_announcement(a)
        if not worker.resolver.announced_elsewhere(a):
            return
        if limit.allow("moves", time.monotonic()):
            log.info("%s: camera announced %s", worker.name, ", ".join(a.xaddrs))
            worker.moved()
        else:
            log.warning("%s: camera announced %s again; followed at the next reconnect",
                        worker.name, ", ".join(a.xaddrs))  # fmt: skip

    return announced


def _freeze_watch(
    plan: CameraPlan, link: ParentLink, health: HealthCounter
) -> Callable[[float, av.VideoFrame], bool]:
    """A picture callback that tells the parent when the camera sticks or moves again, and
    marks a still scene (alive, nothing moving) in the health it reports. It answers whether
    the picture moved: passthrough may then put the next check off (`segments.pictures`)."""
    from cameras.freeze import FreezeDetector
    from cameras.picture import PictureSampler

    detector, sample = FreezeDetector(frozen_after_s=plan.frozen_after_s), PictureSampler()
    verdict: list[bool | None] = [None]

    def picture(wall: float, frame: av.VideoFrame) -> bool:
        state = detector.update(wall, sample(frame))
        health.scene_still(state.scene_still)
        frozen = state.frozen
        if frozen != verdict[0]:
            verdict[0] = frozen
            link.send(Frozen(frozen))
        return state.moved

    return picture


def _confine(plan: CameraPlan) -> None:
    """From here on: no memory dumps or traces of this process, no file but what recording
    needs (`confine`): what FFmpeg might be tricked into doing is kept to this camera."""
    no_dumps()
    font, ca_file = plan.recording.font_path, plan.camera.onvif_ca_file
    readable = [Path(font)] if font else []
    readable += [Path(ca_file)] if ca_file else []
    readable += [Path(p) for p in os.environ.get(READABLE_ENV, "").split(os.pathsep) if p]
    devices: list[Path] = []
    if plan.recording.mode == "burn_in":
        devices, found_by = encoder_access(plan.recording.encode)
        readable += found_by
    try:
        abi = confine(DataDir(plan.data_dir).stream(plan.camera.id), readable, devices)
        log.info("%s: camera process confined (Landlock ABI %d)", plan.camera.id, abi)
    except ConfineError as e:
        log.warning("%s: camera process not confined: %s", plan.camera.id, e)


def _name_process(name: str) -> None:
    """`ps`, `top` and the journal show which camera a process records (15 bytes at most)."""
    with contextlib.suppress(OSError, AttributeError):
        short = name.encode()[:15].decode(errors="ignore").encode()
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, ctypes.c_char_p(short), 0, 0, 0)


def _die_with_parent(parent_pid: int) -> None:
    """A parent killed outright (power loss in tests) must not leave an orphan recording."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        log.warning("cannot ask to die with the daemon (prctl unavailable)")
    if os.getppid() != parent_pid:
        os._exit(1)


def _signing_watch(
    plan: CameraPlan, health: HealthCounter, link: ParentLink
) -> Callable[[Record], None]:
    """Each sealed passthrough segment says whether the camera signed it; signing that stops
    (or resumes) within this run is an event now and `signing_lost` in health."""

    def sealed(record: Record) -> None:
        claim = SigningClaim.from_extra(record.extra) if record.kind == "segment" else None
        if claim is None or not health.segment_signing(claim.signed):
            return
        kind = "camera_signing_resumed" if claim.signed else "camera_signing_lost"
        facts = {"camera": plan.camera.id, "seq": record.seq, "file": record.file}
        link.send(Event(kind, facts))

    return sealed


def _record_watch(
    plan: CameraPlan, health: HealthCounter, link: ParentLink
) -> Callable[[Record], None]:
    """What health learns from the records the recorder makes: signing, and the encoder."""
    signing = _signing_watch(plan, health, link)
    wanted = plan.recording.encode.codec

    def made(record: Record) -> None:
        signing(record)
        if record.kind == "camera" and record.reason == ENCODER_FALLBACK:
            choice = EncoderChoice.from_facts(record.extra)
            health.encoder_fallback(choice.describe())
            link.send(Event(ENCODER_FALLBACK, {"camera": plan.camera.id, **choice.facts()}))
        elif record.kind == "segment" and record.media and record.media.codec == wanted:
            health.encoder_fallback(None)

    return made
