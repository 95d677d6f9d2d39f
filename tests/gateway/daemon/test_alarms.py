"""Alarm rules for a camera that moved or answers as another device (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.daemon.alarms import (
    DEFAULT_THRESHOLDS,
    AlarmTracker,
    CameraFacts,
    GatewayFacts,
    evaluate,
)

CAMERA = CameraFacts(
    camera="gate-1",
    online=True,
    fps=25.0,
    bitrate_bps=1e6,
    last_frame_age_s=0.1,
    last_segment_age_s=10.0,
    reconnects=1,
    clock_offset_s=0.0,
    last_error=None,
    frozen=False,
    segment_seconds=60,
)
GATEWAY = GatewayFacts(
    ts=1000.0, uptime_s=600.0, free_bytes=10**12, used_bytes=0, quota_bytes=0,
    min_free_bytes=0, backlog_count=0, backlog_bytes=0, oldest_unconfirmed_age_s=None,
    upload_state=None, minutes_left=None, clock_synced=True, clock_est_error_s=0.0,
    tampered=0, unuploaded_purges=0,
)  # fmt: skip


def alarms(camera: CameraFacts) -> list[tuple[str, str | None, str]]:
    found = evaluate(replace(GATEWAY, cameras=(camera,)))
    return [(a.alarm, a.camera, a.detail) for a in found]


@pytest.mark.parametrize(
    ("event", "alarm"),
    [("moved", "camera_moved"), ("identity_changed", "camera_identity_changed")],
)
def test_a_declared_change_raises_its_alarm_for_an_hour(event: str, alarm: str) -> None:
    changed = replace(
        CAMERA, identity_event=event, identity_detail="camera SN moved: a -> b",
        identity_event_age_s=5.0,
    )  # fmt: skip
    assert alarms(changed) == [(alarm, "gate-1", "camera SN moved: a -> b")]
    later = replace(changed, identity_event_age_s=DEFAULT_THRESHOLDS.identity_change_s + 1)
    assert alarms(later) == []


def test_no_change_no_alarm_and_unknown_events_are_ignored() -> None:
    assert alarms(CAMERA) == []
    assert alarms(replace(CAMERA, identity_event="other", identity_event_age_s=1.0)) == []


def test_the_tracker_raises_then_clears() -> None:
    tracker = AlarmTracker()
    moved = replace(CAMERA, identity_event="moved", identity_event_age_s=1.0)
    raised, _ = tracker.update(evaluate(replace(GATEWAY, cameras=(moved,))), 1000.0)
    assert [a.alarm for a in raised] == ["camera_moved"]
    _, cleared = tracker.update(evaluate(replace(GATEWAY, cameras=(CAMERA,))), 5000.0)
    assert [a.alarm for a in cleared] == ["camera_moved"]


def test_a_still_scene_is_information_never_an_alarm() -> None:
    assert alarms(replace(CAMERA, scene_still=True)) == []
    frozen = alarms(replace(CAMERA, frozen=True))
    assert frozen == [("camera_frozen", "gate-1", "the picture has stopped changing")]


def test_a_tamper_the_camera_reports_raises_camera_tamper() -> None:
    tampered = replace(CAMERA, tamper="tns1:VideoSource/ImageTooDark/ImagingService")
    assert alarms(tampered) == [
        (
            "camera_tamper",
            "gate-1",
            "the camera reports tns1:VideoSource/ImageTooDark/ImagingService",
        )
    ]
    assert alarms(replace(CAMERA, event_service="unsupported")) == [], "no events: no alarm"
