"""The camera worker declares a moved camera, signed, before recording its stream again."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cameras.health import HealthCounter
from cameras.rtsp import StreamSettings
from evgw.backoff import Backoff
from gateway.config import DiscoveryConfig, RecordingConfig
from gateway.daemon.camera_worker import CameraWorker
from gateway.daemon.directory import CameraDirectory
from gateway.daemon.resolver import CameraResolver
from segments.ledger import signature_ok
from segments.recorder import PASSTHROUGH
from segments.trust import TrustedKeys
from segments.verify import DirMediaSource, Verdict, verify
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from tests.conftest import RtspServerFactory
from tests.gateway.daemon.test_resolver import camera
from tests.segments.recorder_rig import make_rig, wall_of
from tests.support.waiting import wait_until

pytestmark = pytest.mark.multicast

RECORDING = RecordingConfig(2, "passthrough", "libx264", "", "veryfast", 23, 5.0, 3.0)
LOOPBACK = DiscoveryConfig(None, "127.0.0.1", False, 1.0, None, None)


@pytest.mark.integration
def test_a_moved_camera_is_declared_before_its_video_is_used(
    rtsp_server_factory: RtspServerFactory, tmp_path: Path
) -> None:
    events: list[tuple[str, dict[str, object]]] = []
    rtsp = rtsp_server_factory(["cam:320x240@25"])
    device = OnvifDevice(
        DeviceConfig(default_profiles(rtsp.url("cam")), serial="SN-W"), discovery=True
    ).start()
    rig = make_rig(tmp_path, PASSTHROUGH)
    directory = CameraDirectory(LOOPBACK, probe_interval_s=0.0)
    health = HealthCounter("cam")
    halt = threading.Event()
    worker = CameraWorker(
        CameraResolver(camera(onvif=device.xaddr), RECORDING, directory),
        rig.recorder,
        health,
        halt,
        backoff=Backoff(initial_s=0.2, cap_s=0.5),
        on_event=lambda kind, fields: events.append((kind, fields)),
    )
    old = device.xaddr
    try:
        worker.start()
        wait_until("a first segment is sealed", lambda: bool(rig.records("segment")), 30)
        device.stop(announce=False)  # the camera gets a new address ...
        device.port = 0
        device.start()
        rtsp.stop()  # ... and its stream drops while it does
        rtsp.start()
        wait_until("the move is declared", lambda: bool(rig.records("camera")), 30)
        declared = rig.records("camera")[0]
        wait_until(
            "a segment from the new address",
            lambda: any(r.seq > declared.seq for r in rig.records("segment")),
            30,
        )
    finally:
        halt.set()
        worker.join(30)
        device.stop()
    assert declared.reason == "moved" and declared.extra["event"] == "moved"
    assert (declared.extra["old_address"], declared.extra["new_address"]) == (old, device.xaddr)
    assert declared.extra["serial"] == "SN-W" and declared.extra["endpoint"] == device.config.uuid
    assert signature_ok(declared, rig.signer.verifier())
    after = [r for r in rig.records("segment") if r.seq > declared.seq]
    assert wall_of(declared.start) <= wall_of(after[0].start)
    snapshot = health.snapshot()
    assert snapshot.identity_event is not None and snapshot.identity_event.event == "moved"
    assert [k for k, _ in events] == ["camera_moved"]
    assert events[0][1]["camera"] == "cam" and events[0][1]["new_address"] == device.xaddr
    trusted = TrustedKeys.single(rig.signer.verifier())
    report = verify([("cam", DirMediaSource(rig.store.root))], trust=trusted)
    assert report.verdict is Verdict.AUTHENTIC_WITH_DECLARED_GAPS
    [row] = [f for f in report.streams[0].findings if f.seq == declared.seq]
    assert row.verdict == "OK" and "declared camera moved" in row.detail


class BrokenResolver(CameraResolver):
    """A stand-in for a parser bug not found yet: resolving raises what nobody expects."""

    calls = 0

    def resolve(self, declare: object = None) -> StreamSettings:
        type(self).calls += 1
        raise ValueError("invalid literal for int() with base 10: '²'")


def test_an_unexpected_error_while_connecting_is_a_gap_not_a_dead_thread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The probe-path reproduction crash-looped the camera process: the exception left the
    worker thread, the process exited, the parent restarted it, and again."""
    rig = make_rig(tmp_path, PASSTHROUGH)
    halt = threading.Event()
    health = HealthCounter("cam")
    worker = CameraWorker(
        BrokenResolver(camera(rtsp="rtsp://127.0.0.1:1/x"), RECORDING),
        rig.recorder,
        health,
        halt,
        backoff=Backoff(initial_s=0.05, cap_s=0.05),
    )
    worker.start()
    try:
        wait_until("three attempts", lambda: BrokenResolver.calls >= 3, 10)
        assert worker.is_alive()
        assert health.snapshot().last_error == "internal_error"
    finally:
        halt.set()
        worker.join(10)
    assert [r.reason for r in rig.records("gap")] == ["internal_error"]
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1, "one traceback, then a line per repeat"
