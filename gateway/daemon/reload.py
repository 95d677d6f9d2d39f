"""`systemctl reload evgw` (SIGHUP): apply a changed configuration, with a gap only where needed.

The file is read and validated again. What the daemon cannot change while it runs (who the
gateway is, where its data and keys are, the ledger, discovery and time-stamping) refuses
the whole reload with a message saying a restart is needed; so does a file that fails
validation. A refused reload changes nothing: the daemon records on with the old
configuration, logs one error and reports a `config_reload_refused` event.

Otherwise only what changed is touched: a camera added gets its process; a camera removed (or
disabled) is stopped, which seals its open segment, and its ledger says why (a signed
`camera` record, reason `config_reload`); a camera whose own plan changed (segment length,
overlay, address, names…) is stopped and started again, and its `boot` record declares the
pause (`config_reload`). Auto-enrolled cameras count as cameras here too: one whose
recording settings the sections change restarts, one that a new `[[cameras]]` entry names
(by id or serial) hands over to that entry. Every other camera records on untouched.
`[mqtt]`/`[commands]` reconnect the reporter, `[upload]` restarts the uploader, `[storage]`
takes effect at the next retention round. systemd hears RELOADING=1 before and READY=1 after.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from evgw.errors import EvgwError
from segments.clock import kernel_clock_status
from segments.errors import SegmentError
from segments.index import Index
from segments.ledger import Ledger
from segments.records import StreamIdentity
from segments.signing import Signer
from uplink.mqtt import GatewayLink
from uplink.uploader import Uploader

from .. import wiring
from ..camera_plan import CameraPlan
from ..config import Config, load_config
from ..keys import GatewayKeys
from .auto_enroll import AutoEnroll
from .camera_process import CameraProcess, stop_all
from .events import EventRouter
from .liveness import ProgressLimits
from .reporting import Reporter
from .retention import Retention
from .sdnotify import Notifier

log = logging.getLogger(__name__)

CONFIG_RELOAD = "config_reload"
STOP_TIMEOUT_S = 30.0
FIXED_SECTIONS = ("keys", "ledger", "discovery", "tsa")


@dataclass(frozen=True)
class CameraChanges:
    """Configured cameras by id: to start, to stop for good, to stop and start again."""

    added: tuple[CameraPlan, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[CameraPlan, ...] = ()


def restart_needed(old: Config, new: Config) -> list[str]:
    """What differs between `old` and `new` that only a restart of the daemon can apply."""
    wrong = [
        f"[gateway] {name}"
        for name in ("id", "data_dir")
        if getattr(old.gateway, name) != getattr(new.gateway, name)
    ]
    wrong += [f"[{name}]" for name in FIXED_SECTIONS if getattr(old, name) != getattr(new, name)]
    before, after = (
        ProgressLimits.for_timeouts(c.recording.open_timeout_s, c.recording.read_timeout_s)
        for c in (old, new)
    )
    if before != after:
        wrong.append("[recording] open_timeout_s/read_timeout_s")
    return wrong


def camera_changes(old: Iterable[CameraPlan], new: Iterable[CameraPlan]) -> CameraChanges:
    """Compare the configured cameras' plans: a camera whose plan is equal records on."""
    before = {p.camera.id: p for p in old}
    after = {p.camera.id: p for p in new}
    return CameraChanges(
        added=tuple(p for c, p in after.items() if c not in before),
        removed=tuple(c for c in before if c not in after),
        changed=tuple(p for c, p in after.items() if c in before and before[c] != p),
    )


def changed_sections(old: Config, new: Config, names: Iterable[str]) -> list[str]:
    return [name for name in names if getattr(old, name) != getattr(new, name)]


class Gateway(Protocol):
    """What a reload touches of the running daemon (`lifecycle.Gateway`)."""

    config: Config
    boot_id: str
    events: EventRouter
    workers: list[CameraProcess]
    ledgers: dict[str, Ledger]
    identities: dict[str, StreamIdentity]
    index: Index | None
    retention: Retention | None
    uploader: Uploader | None
    reporter: Reporter | None
    link: GatewayLink | None
    enroller: AutoEnroll | None
    _keys: GatewayKeys | None
    _workers_lock: threading.Lock

    def _camera_process(self, plan: CameraPlan) -> CameraProcess: ...
    def _start_uploader(self, index: Index) -> Uploader | None: ...
    def _start_monitoring(self, index: Index, device: Signer) -> None: ...


class ReloadRefused(EvgwError):
    """The new configuration is not applied: the daemon runs on with the old one."""


def reload(gateway: Gateway, notifier: Notifier | None = None) -> bool:
    """Re-read `gateway.config.path` and apply it; False (logged, reported) when refused."""
    notifier = notifier or Notifier.from_env()
    notifier.send("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")
    try:
        summary = _apply(gateway)
    except ReloadRefused as e:
        log.error("configuration reload refused, still running with the previous one: %s", e)
        gateway.events.emit("config_reload_refused", reason=str(e))
        return False
    except Exception as e:  # a reload never ends the recording: the daemon runs on
        log.exception("configuration reload failed part-way; restart the service to apply it")
        gateway.events.emit("config_reload_refused", reason=f"failed part-way: {e}")
        return False
    finally:
        notifier.ready()
    log.info("configuration reloaded: %s", summary)
    gateway.events.emit("config_reloaded", changes=summary)
    return True


def _apply(gateway: Gateway) -> str:
    old = gateway.config
    try:
        new = load_config(old.path)
    except EvgwError as e:
        raise ReloadRefused(str(e)) from e
    fixed = restart_needed(old, new)
    if fixed:
        raise ReloadRefused(
            f"{', '.join(fixed)} changed in {old.path}: these take effect only at a restart "
            "(systemctl restart evgw); nothing was changed"
        )
    assert gateway._keys is not None
    recipients, boot_id = gateway._keys.recipients, gateway.boot_id
    enrolled = gateway.enroller.enrolled if gateway.enroller is not None else []
    cameras = camera_changes(
        wiring.camera_plans(old, recipients, boot_id)
        + wiring.enrolled_plans(old, enrolled, recipients, boot_id),
        wiring.camera_plans(new, recipients, boot_id)
        + wiring.enrolled_plans(new, enrolled, recipients, boot_id),
    )
    gateway.config = new
    if gateway.enroller is not None:
        gateway.enroller.reconfigure(new.cameras)
    _replace_cameras(gateway, cameras)
    sections = changed_sections(old, new, ("mqtt", "commands", "upload", "storage"))
    _apply_sections(gateway, sections)
    parts = [f"{len(cameras.added)} camera(s) added", f"{len(cameras.removed)} removed",
             f"{len(cameras.changed)} restarted"]  # fmt: skip
    return ", ".join(parts + [f"[{s}] applied" for s in sections])


def _replace_cameras(gateway: Gateway, cameras: CameraChanges) -> None:
    """Stop the removed and changed cameras together (each seals), then start the new ones."""
    ending = {c: None for c in cameras.removed} | {p.camera.id: p for p in cameras.changed}
    with gateway._workers_lock:
        stopping = [w for w in gateway.workers if w.camera in ending]
    stop_all(stopping, STOP_TIMEOUT_S)
    with gateway._workers_lock:
        for worker in stopping:
            gateway.workers.remove(worker)
    for camera in cameras.removed:
        _declare_removed(gateway, camera)
    for plan in (*cameras.changed, *cameras.added):
        _start(gateway, plan)


def _declare_removed(gateway: Gateway, camera: str) -> None:
    """The ledger says why the stream ends here; a final checkpoint closes it cleanly again."""
    ledger, identity = gateway.ledgers.get(camera), gateway.identities.get(camera)
    if ledger is None or identity is None:
        return
    now = time.time()
    draft = identity.draft(
        kind="camera", start=now, end=now, clock=kernel_clock_status(), reason=CONFIG_RELOAD,
        extra={"event": "removed"},
    )  # fmt: skip
    try:
        record = ledger.append(draft)
        ledger.checkpoint()
    except SegmentError as e:
        log.error("%s: cannot declare the camera removed: %s", camera, e)
        return
    gateway.events.on_record(record)
    log.info("%s: removed from the configuration; its recording ended (seq %d)", camera, record.seq)


def _start(gateway: Gateway, plan: CameraPlan) -> None:
    """A camera process for `plan` on the stream's open ledger; its boot record says why."""
    with gateway._workers_lock:
        try:
            worker = gateway._camera_process(plan)
            worker.declare_cause(CONFIG_RELOAD)
            worker.start()
        except (SegmentError, OSError) as e:
            log.error("%s: cannot start recording after the reload: %s", plan.camera.id, e)
            return
        gateway.workers.append(worker)


def _apply_sections(gateway: Gateway, sections: list[str]) -> None:
    assert gateway.index is not None and gateway._keys is not None
    if "storage" in sections and gateway.retention is not None:
        gateway.retention.limits = wiring.storage_limits(gateway.config)
        gateway.retention.poke()
    if "upload" in sections:
        if gateway.uploader is not None:
            gateway.uploader.stop()
        gateway.events.wake_uploads = _nothing
        gateway.uploader = gateway._start_uploader(gateway.index)
    if {"mqtt", "commands", "upload"} & set(sections):  # commands wake the uploader too
        _stop_monitoring(gateway)
        gateway._start_monitoring(gateway.index, gateway._keys.signer)


def _stop_monitoring(gateway: Gateway) -> None:
    gateway.events.reporter = None
    if gateway.reporter is not None:
        gateway.reporter.stop()
        gateway.reporter = None
    if gateway.link is not None:
        gateway.link.stop()
        gateway.link = None


def _nothing() -> None:
    pass
