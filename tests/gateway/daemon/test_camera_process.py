"""A process per camera: a crash or hang in one is restarted, recorded, and stalls no other."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cameras.health import CameraHealth
from gateway.config import Config
from gateway.daemon import camera_process
from gateway.daemon.camera_process import WORKER_CRASH, WORKER_HANG, CameraProcess, HealthView
from gateway.daemon.child_protocol import HEALTH_PERIOD_S
from gateway.daemon.lifecycle import Gateway
from segments.agekeys import parse_recipient
from segments.store import DataDir
from testbeds.rtsp import RtspTestServer
from tests.conftest import RtspServerFactory
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config, records, wall
from tests.support.waiting import wait_until

FRAME_S = 1 / 25
SLACK_S = 0.005


def test_health_view_ages_frames_once_the_child_is_silent_past_its_report_period() -> None:
    clock = [100.0]
    view = HealthView("cam", clock=lambda: clock[0])
    view.update(CameraHealth("cam", True, 10, 25.0, 1e6, 0.1, 0, None))
    clock[0] += HEALTH_PERIOD_S
    assert view.snapshot().last_frame_age_s == pytest.approx(0.1), "the last report stands"
    clock[0] += 5.0
    assert view.snapshot().last_frame_age_s == pytest.approx(5.1)
    assert view.silent_for(clock[0]) == pytest.approx(HEALTH_PERIOD_S + 5.0)


def test_health_view_keeps_the_crash_as_gap_reason_until_online() -> None:
    view = HealthView("cam", clock=lambda: 0.0)
    view.update(CameraHealth("cam", True, 10, 25.0, 1e6, 0.1, 2, None))
    view.failed(WORKER_CRASH)
    view.update(CameraHealth("cam", False, 0, 0.0, 0.0, None, 0, None))  # the new child
    snap = view.snapshot()
    assert (snap.online, snap.last_error, snap.reconnects) == (False, WORKER_CRASH, 3)
    view.update(CameraHealth("cam", True, 5, 25.0, 1e6, 0.0, 0, None))
    assert view.snapshot().last_error is None


@pytest.fixture
def two_cameras(rtsp_server_factory: RtspServerFactory) -> Iterator[tuple[RtspTestServer, ...]]:
    yield (
        rtsp_server_factory(["cam1:320x240@25"]),
        rtsp_server_factory(["cam1:320x240@25"]),
    )


def worker(gateway: Gateway, camera: str) -> CameraProcess:
    return next(w for w in gateway.workers if w.camera == camera)


def sealed_after(config: Config, camera: str, seq: int) -> bool:
    return any(r.seq > seq for r in records(config, camera, "segment"))


def faulted_run(
    servers: tuple[RtspTestServer, ...], tmp_path: Path, fault: Callable[[CameraProcess], None]
) -> Config:
    """Record two cameras, hit one camera's process with `fault`, let it come back, stop."""
    flaky, steady = servers
    config = make_config(
        tmp_path, [Cam("flaky", flaky.url("cam1")), Cam("steady", steady.url("cam1"))]
    )
    gateway = Gateway(config)
    gateway.start()
    try:
        wait_until(
            "both record",
            lambda: all(records(config, c, "segment") for c in ("flaky", "steady")),
            30,
        )
        victim = worker(gateway, "flaky")
        store = DataDir(config.gateway.data_dir).store("flaky")
        wait_until("an open segment to cut", lambda: bool(store.leftover_parts()), 20)
        old_pid = victim.pid
        assert old_pid is not None and old_pid != os.getpid()
        fault(victim)
        wait_until("a new child", lambda: victim.pid != old_pid and victim.restarts >= 1, 60)
        boot = len(records(config, "flaky"))
        wait_until("the new child records", lambda: sealed_after(config, "flaky", boot), 60)
        assert victim.restarts == 1, "the restarted child was taken for hung as well"
        assert worker(gateway, "steady").restarts == 0
    finally:
        gateway.stop()
    return config


def check_isolated_and_declared(config: Config, cause: str) -> None:
    steady_gaps = [g.reason for g in records(config, "steady", "gap")]
    assert steady_gaps == ["startup"], "one camera's crash stalled another"
    steady = records(config, "steady", "segment")
    for prev, nxt in itertools.pairwise(steady):
        assert wall(nxt.start) - wall(prev.end) <= FRAME_S + SLACK_S

    ledger = records(config, "flaky")
    assert [r.seq for r in ledger] == list(range(len(ledger)))
    assert [b.reason for b in ledger if b.kind == "boot"] == [None, cause]
    truncated = [r for r in ledger if r.kind == "truncated"]
    assert [t.reason for t in truncated] == [cause], "the open segment is sealed as truncated"
    pubkey = config.keys.signing_key.with_name(config.keys.signing_key.name + ".pub")
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "verify", str(config.gateway.data_dir), "--pubkey",
         str(pubkey)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verdict: AUTHENTIC_WITH_DECLARED_GAPS" in done.stdout


@pytest.mark.integration
def test_a_segfaulting_camera_restarts_and_the_other_records_on(
    two_cameras: tuple[RtspTestServer, ...], tmp_path: Path
) -> None:
    def segfault(victim: CameraProcess) -> None:
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGSEGV)

    config = faulted_run(two_cameras, tmp_path, segfault)
    check_isolated_and_declared(config, WORKER_CRASH)


@pytest.mark.integration
def test_a_hung_camera_is_killed_and_restarted(
    two_cameras: tuple[RtspTestServer, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(camera_process, "SILENCE_S", 10.0)  # a loaded box delays healthy children

    def freeze(victim: CameraProcess) -> None:
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGSTOP)  # a hang nothing inside the child could report

    config = faulted_run(two_cameras, tmp_path, freeze)
    check_isolated_and_declared(config, WORKER_HANG)


@pytest.mark.integration
def test_a_camera_whose_run_cannot_open_retries_and_stalls_no_other(
    two_cameras: tuple[RtspTestServer, ...], tmp_path: Path
) -> None:
    """The daemon opens each run (leftovers, boot) before the child starts: a stream that
    cannot be written then is retried with backoff, and the other camera records on."""
    broken, steady = two_cameras
    config = make_config(
        tmp_path, [Cam("broken", broken.url("cam1")), Cam("steady", steady.url("cam1"))]
    )
    store = DataDir(config.gateway.data_dir).store("broken")
    start = 1_800_000_000.0
    leftover = store.open_segment(start, [parse_recipient(config.keys.recipients[0])])
    leftover.sink.write(b"cut short")
    leftover.finish()
    blocker = store.final_path(1, start)  # where the leftover would be sealed (after the key)
    blocker.mkdir(parents=True)
    gateway = Gateway(config)
    gateway.start()
    try:
        wait_until("steady records", lambda: bool(records(config, "steady", "segment")), 30)
        victim = worker(gateway, "broken")
        assert victim.pid is None and victim.health.snapshot().last_error == "write_error"
        blocker.rmdir()
        wait_until("broken records", lambda: bool(records(config, "broken", "segment")), 40)
        assert victim.restarts >= 1
    finally:
        gateway.stop()
    kinds = [(r.kind, r.reason) for r in records(config, "broken")]
    assert kinds[:3] == [("key", None), ("truncated", "power_loss"), ("boot", "power_loss")], kinds
    assert worker(gateway, "steady").restarts == 0


def test_a_child_that_has_not_spoken_yet_gets_time_to_start_then_the_short_rule() -> None:
    silent_too_long = camera_process.silent_too_long
    first, short = camera_process.FIRST_WORD_S, camera_process.SILENCE_S
    assert silent_too_long(since_message=first - 1, since_spawn=first - 1) is None  # starting
    assert silent_too_long(since_message=500.0, since_spawn=first + 1) == first + 1  # never spoke
    assert silent_too_long(since_message=short + 1, since_spawn=300.0) == short + 1  # went quiet
    assert silent_too_long(since_message=short - 1, since_spawn=300.0) is None
