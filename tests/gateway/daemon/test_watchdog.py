"""The progress rule, the tracker over live workers, and the supervisor's pings."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import pytest

from cameras.health import HealthCounter
from gateway.daemon.liveness import CameraProgress, ProgressLimits, progress_ok, status_line
from gateway.daemon.progress import Observed, ProgressTracker
from gateway.daemon.sdnotify import Notifier
from gateway.daemon.watchdog import WatchdogFeeder

NOW = 1000.0
LIMITS = ProgressLimits(frame_stall_s=20.0, seal_margin_s=30.0, connect_grace_s=60.0)
RECORDING = CameraProgress(
    camera="gate-1",
    segment_seconds=60,
    alive=True,
    online=True,
    gap_reason=None,
    since=NOW - 600,
    last_frame_at=NOW - 0.1,
    last_sealed_at=NOW - 30,
)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"last_frame_at": NOW - 19}, None),
        ({"last_frame_at": NOW - 21}, "no frame for 21 s while online"),
        ({"last_frame_at": None, "since": NOW - 10}, None),
        ({"last_frame_at": None}, "no frame for 600 s"),
        ({"last_sealed_at": NOW - 149}, None),
        ({"last_sealed_at": NOW - 151}, "no segment sealed for 151 s (limit 150 s)"),
        ({"last_sealed_at": None, "since": NOW - 100}, None),
        ({"last_sealed_at": None}, "no segment sealed for 600 s"),
        ({"last_sealed_at": NOW - 500, "since": NOW - 5}, None),
        ({"online": False, "gap_reason": "rtsp_timeout", "last_frame_at": NOW - 900}, None),
        ({"online": False, "gap_reason": "disk_full", "last_sealed_at": None}, None),
        ({"online": False, "gap_reason": None, "since": NOW - 30}, None),
        ({"online": False, "gap_reason": None}, "not connected after 600 s and no gap recorded"),
        ({"alive": False}, "worker is not running"),
        ({"alive": False, "online": False, "gap_reason": "rtsp_timeout"}, "worker is not running"),
    ],
)
def test_rule_table(changes: dict[str, Any], problem: str | None) -> None:
    ok, why = progress_ok([replace(RECORDING, **changes)], NOW, LIMITS)
    assert ok is (problem is None)
    if problem is None:
        assert why == ""
    else:
        assert why.startswith("gate-1: ") and problem in why


def test_one_hung_camera_among_healthy_ones_withholds_the_ping() -> None:
    hung = replace(RECORDING, camera="yard-1", last_frame_at=NOW - 60)
    gap = replace(RECORDING, camera="store-1", online=False, gap_reason="rtsp_timeout")
    ok, why = progress_ok([RECORDING, gap, hung], NOW, LIMITS)
    assert not ok
    assert why == "yard-1: no frame for 60 s while online"
    assert progress_ok([], NOW) == (True, "")


def test_limits_follow_the_stream_timeouts() -> None:
    limits = ProgressLimits.for_timeouts(open_timeout_s=30.0, read_timeout_s=15.0)
    assert (limits.frame_stall_s, limits.connect_grace_s) == (45.0, 90.0)
    assert ProgressLimits.for_timeouts(open_timeout_s=5.0, read_timeout_s=2.0) == ProgressLimits()


def test_status_line() -> None:
    gap = replace(RECORDING, camera="yard-1", online=False, gap_reason="rtsp_timeout")
    hung = replace(RECORDING, camera="store-1", last_frame_at=NOW - 60)
    cams = [RECORDING, replace(RECORDING, camera="gate-2"), gap, hung]
    assert (
        status_line(cams, NOW, 12, LIMITS)
        == "recording 2/4 cameras (yard-1: rtsp_timeout), upload backlog 12"
    )
    assert status_line([RECORDING], NOW, None, LIMITS) == "recording 1/1 cameras"


@dataclass
class FakeRecord:
    seq: int


@dataclass
class FakeRecorder:
    identity: Any
    plan: Any
    last_sealed: FakeRecord | None = None


@dataclass
class FakeWorker:
    recorder: FakeRecorder
    health: HealthCounter
    alive: bool = True

    def is_alive(self) -> bool:
        return self.alive


def fake_worker(camera: str) -> FakeWorker:
    recorder = FakeRecorder(
        identity=type("Identity", (), {"camera": camera}),
        plan=type("Plan", (), {"segment_seconds": 10}),
    )
    return FakeWorker(recorder, HealthCounter(camera))


def test_tracker_observes_seals_and_reconnects_on_the_monotonic_clock() -> None:
    clock = [100.0]
    worker = fake_worker("gate-1")
    tracker = ProgressTracker([cast(Observed, worker)], clock=lambda: clock[0])

    first = tracker.observe().cameras[0]
    assert (first.online, first.since, first.last_sealed_at, first.gap_reason) == (
        False, 100.0, None, None,
    )  # fmt: skip

    clock[0] = 103.0
    worker.health.connected()
    worker.health.frame(1000, now=102.5)
    cam = tracker.observe().cameras[0]
    assert (cam.online, cam.since, cam.last_frame_at) == (True, 103.0, 102.5)

    clock[0] = 110.0
    worker.recorder.last_sealed = FakeRecord(seq=3)
    assert tracker.observe().cameras[0].last_sealed_at == 110.0
    clock[0] = 120.0
    assert tracker.observe().cameras[0].last_sealed_at == 110.0, "the same record is not a new seal"

    clock[0] = 130.0
    worker.health.failed("rtsp_timeout")
    cam = tracker.observe().cameras[0]
    assert (cam.online, cam.gap_reason, cam.since) == (False, "rtsp_timeout", 130.0)
    worker.alive = False
    assert not tracker.observe().cameras[0].alive


class Listener:
    """A stand-in for systemd's notify socket that collects every datagram."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages: list[str] = []

    def drain(self) -> list[str]:
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                return self.messages


def test_supervisor_pings_only_while_progress_is_ok(tmp_path: Path) -> None:
    """Each round judged synchronously (no timing), then the thread's stop path."""
    listener = Listener(tmp_path / "notify")
    healthy = [True]

    def cams() -> list[CameraProgress]:
        return [RECORDING if healthy[0] else replace(RECORDING, last_frame_at=NOW - 99)]

    stop = threading.Event()
    supervisor = WatchdogFeeder(
        Notifier(str(tmp_path / "notify")),
        cams,
        lambda cameras: "recording 1/1 cameras",
        period_s=0.05,
        stop=stop,
        limits=LIMITS,
        clock=lambda: NOW,
    )
    assert all(supervisor.check() for _ in range(3))
    fed = listener.drain()
    assert fed.count("WATCHDOG=1") == 3
    assert "STATUS=recording 1/1 cameras" in fed

    healthy[0] = False
    listener.messages.clear()
    assert not supervisor.check()
    stalled = listener.drain()
    assert "WATCHDOG=1" not in stalled
    assert "STATUS=stalled: gate-1: no frame for 99 s while online" in stalled

    healthy[0] = True
    listener.messages.clear()
    assert supervisor.check()
    assert "WATCHDOG=1" in listener.drain()

    supervisor.start()
    stop.set()
    supervisor.join(5)
    assert not supervisor.is_alive()
    assert listener.drain()[-1] == "STOPPING=1"
    listener.sock.close()


def test_a_failing_progress_callable_withholds_the_ping(tmp_path: Path) -> None:
    listener = Listener(tmp_path / "notify")

    def broken() -> list[CameraProgress]:
        raise RuntimeError("index locked")

    supervisor = WatchdogFeeder(
        Notifier(str(tmp_path / "notify")), broken, lambda cameras: "", 1.0, threading.Event()
    )
    assert not supervisor.check()
    assert listener.drain() == ["STATUS=stalled: progress check failed: index locked"]
    listener.sock.close()
