"""One consistent snapshot of the gateway for health reports and alarms."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from segments.clock import kernel_clock_status
from segments.index import Index

from ..status import StatusScope, outlook
from .alarms import CameraFacts, GatewayFacts
from .camera_process import CameraProcess
from .events import EventRouter


def gateway_facts(
    scope: StatusScope,
    index: Index,
    cameras: Sequence[CameraProcess],
    events: EventRouter,
    started_at: float,
    upload_state: Callable[[], str | None],
    disk_paused: bool = False,
) -> GatewayFacts:
    """`disk_paused`: recording waits for space (the daemon's `DiskFullFlag`), every camera."""
    now = time.time()
    status = outlook(scope, index, now)
    clock = kernel_clock_status()
    tampered = index.refused()
    return GatewayFacts(
        ts=now,
        uptime_s=now - started_at,
        free_bytes=status.free_bytes,
        used_bytes=status.used_bytes,
        quota_bytes=status.quota_bytes,
        min_free_bytes=status.min_free_bytes,
        backlog_count=status.backlog_count,
        backlog_bytes=status.backlog_bytes,
        oldest_unconfirmed_age_s=status.oldest_unconfirmed_age_s,
        upload_state=upload_state(),
        minutes_left=status.minutes_left,
        clock_synced=clock.synced,
        clock_est_error_s=clock.est_error_s,
        tampered=len(tampered),
        unuploaded_purges=events.recent_purges(now),
        cameras=tuple(camera_facts(c, events.frozen(c.camera), now, disk_paused) for c in cameras),
    )


def camera_facts(
    camera: CameraProcess, frozen: bool, now: float, disk_paused: bool = False
) -> CameraFacts:
    health = camera.health.snapshot()
    sealed = camera.recorder.last_sealed
    sealed_end = None if sealed is None else (sealed.end_ts or now)
    moved = health.identity_event
    return CameraFacts(
        camera=health.camera_id,
        online=health.online,
        fps=health.fps,
        bitrate_bps=health.bitrate_bps,
        last_frame_age_s=health.last_frame_age_s,
        last_segment_age_s=None if sealed_end is None else now - sealed_end,
        reconnects=health.reconnects,
        clock_offset_s=camera.resolver.clock_offset_s,
        last_error=health.last_error,
        frozen=frozen,
        segment_seconds=camera.recorder.plan.segment_seconds,
        disk_paused=disk_paused,
        rejected_input=health.rejected_input,
        identity_event=None if moved is None else moved.event,
        identity_detail=None if moved is None else moved.detail,
        identity_event_age_s=None if moved is None else now - moved.at,
        scene_still=health.scene_still,
        event_service=health.event_service,
        tamper=health.tamper,
        osd=health.osd,
        camera_signed=health.camera_signed,
        signing_lost=health.signing_lost,
        encoder_fallback=health.encoder_fallback,
    )
