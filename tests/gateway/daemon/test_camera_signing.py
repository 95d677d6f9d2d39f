"""A signing camera's claim crosses the pipe typed and bounded; signing that stops is an alarm."""

from __future__ import annotations

from dataclasses import replace

from cameras.health import CameraHealth, HealthCounter
from gateway.daemon.alarms import evaluate
from gateway.daemon.child_protocol import Event, Health, Seal, encode, from_child
from segments.camera_signing import CERT_SHA256, SIGNED
from tests.gateway.daemon.test_alarms import CAMERA, GATEWAY
from tests.gateway.daemon.test_ledger_service import START, Rig, rig, segment

__all__ = ["rig"]  # the fixture, shared with the ledger service's tests
CERT = "ab" * 32


def test_a_segment_s_signing_claim_is_sealed(rig: Rig) -> None:
    claim = {SIGNED: True, CERT_SHA256: CERT}
    reply = rig.service.handle(Seal(1, replace(segment(rig.part()), extra=claim), START))
    assert reply.error is None and reply.record is not None
    assert rig.records()[-1].extra == claim


def test_anything_else_in_a_segment_s_extra_is_refused(rig: Rig) -> None:
    size = rig.part()
    for extra in ({SIGNED: "true"}, {SIGNED: True, "padding": "x" * 100}, {CERT_SHA256: CERT}):
        reply = rig.service.handle(Seal(1, replace(segment(size), extra=extra), START))
        assert reply.error is not None and reply.error.startswith("refused"), extra
    assert [r.kind for r in rig.records()] == ["key", "boot"]


def test_signing_health_and_events_cross_the_pipe() -> None:
    health = CameraHealth(
        "gate-1", True, 250, 25.0, 1.5e6, 0.04, 2, None, camera_signed=False, signing_lost=True
    )
    message = Health(health, "SN-1", None)
    assert from_child(encode(message)) == message
    for kind in ("camera_signing_lost", "camera_signing_resumed"):
        event = Event(kind, {"camera": "gate-1", "seq": 12, "file": "x.mp4.age"})
        assert from_child(encode(event)) == event


def test_signing_lost_only_after_signing_in_this_run_and_cleared_when_it_resumes() -> None:
    health = HealthCounter("gate-1")
    assert health.snapshot().camera_signed is None
    assert not health.segment_signing(False), "a camera that never signed lost nothing"
    assert not health.snapshot().signing_lost
    assert not health.segment_signing(True)
    assert health.segment_signing(False)
    assert health.snapshot().signing_lost and health.snapshot().camera_signed is False
    assert not health.segment_signing(False), "still lost: no new news"
    assert health.segment_signing(True)
    snapshot = health.snapshot()
    assert not snapshot.signing_lost and snapshot.camera_signed is True


def test_signing_lost_raises_camera_signing_lost() -> None:
    lost = replace(CAMERA, camera_signed=False, signing_lost=True)
    found = evaluate(replace(GATEWAY, cameras=(lost,)))
    assert [(a.alarm, a.camera) for a in found] == [("camera_signing_lost", "gate-1")]
    assert "unsigned" in found[0].detail
    signed = replace(CAMERA, camera_signed=True)
    assert evaluate(replace(GATEWAY, cameras=(signed,))) == []
