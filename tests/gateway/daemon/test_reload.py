"""`systemctl reload evgw` (SIGHUP to `evgw run`): a camera added, changed and removed, a broken
file refused; the camera left alone records on with one run and a continuous chain."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gateway import wiring
from gateway.camera_plan import CameraPlan
from gateway.config import Config
from gateway.daemon.reload import CONFIG_RELOAD, camera_changes, restart_needed
from gateway.enrolled import Enrolled
from segments.ledger import read_checkpoints
from segments.store import StreamStore
from testbeds.rtsp import RtspTestServer
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config, records, wall
from tests.support.waiting import wait_until


class Systemd:
    """A notify socket, as systemd's: what the daemon told it, with the time it arrived."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[tuple[float, str]] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._receive, name="systemd", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._halt.is_set():
            with contextlib.suppress(TimeoutError):
                self.messages.append((time.time(), self._sock.recv(4096).decode()))

    def close(self) -> None:
        self._halt.set()
        self._thread.join(5.0)
        self._sock.close()


REFUSED = "configuration reload refused, still running with the previous one"


def sealed(config: Config, camera: str, more_than: int = 0) -> bool:
    return len(records(config, camera, "segment")) > more_than


def boots(config: Config, camera: str) -> list[str | None]:
    return [r.reason for r in records(config, camera, "boot")]


def untouched(config: Config, camera: str) -> None:
    """One run; after its first segment no gap, each segment starting where the last ended."""
    assert boots(config, camera) == [None]
    ledger = records(config, camera)
    first = next(r.seq for r in ledger if r.kind == "segment")
    assert [r.kind for r in ledger[first:] if r.kind != "segment"] == []
    segments = records(config, camera, "segment")
    for before, after in itertools.pairwise(segments):
        assert abs(wall(after.start) - wall(before.end)) < 0.5, (before.seq, after.seq)


@pytest.mark.integration
def test_sighup_applies_camera_changes_and_refuses_a_broken_file(
    rtsp_server: RtspTestServer, tmp_path: Path
) -> None:
    a, b = Cam("gate-1", rtsp_server.url("cam1")), Cam("gate-2", rtsp_server.url("cam2"))
    config = make_config(tmp_path, [a])
    log = tmp_path / "daemon.log"
    systemd = Systemd(tmp_path / "notify")
    env = {**os.environ, "NOTIFY_SOCKET": str(systemd.path)}
    with open(log, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(config.path)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip

    def reload() -> None:
        proc.send_signal(signal.SIGHUP)

    try:
        wait_until("gate-1 seals a segment", lambda: sealed(config, "gate-1"), 60)
        config.path.write_text(config.path.read_text() + "\n[[cameras]\n", encoding="utf-8")
        reload()
        wait_until("the broken file is refused", lambda: REFUSED in log.read_text(), 30)

        make_config(tmp_path, [a, b])
        reload()
        wait_until("gate-2 is added and seals", lambda: sealed(config, "gate-2"), 60)
        assert boots(config, "gate-2") == [None]

        make_config(tmp_path, [a, b], extra="segment_seconds = 4\n")  # gate-2's own setting
        reload()
        wait_until("gate-2 restarts", lambda: len(boots(config, "gate-2")) == 2, 30)
        assert boots(config, "gate-2") == [None, CONFIG_RELOAD]

        make_config(tmp_path, [a])
        reload()
        wait_until("gate-2 ends", lambda: records(config, "gate-2")[-1].kind == "camera", 30)
        count = len(records(config, "gate-1", "segment"))
        wait_until("gate-1 records on", lambda: sealed(config, "gate-1", count), 30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()
    finally:
        proc.kill()
        systemd.close()
    assert log.read_text().count(REFUSED) == 1
    heard = [m.split("\n")[0] for _, m in systemd.messages]
    heard = [m for m in heard if not m.startswith(("STATUS=", "WATCHDOG="))]
    assert heard == ["READY=1"] + ["RELOADING=1", "READY=1"] * 4 + ["STOPPING=1"], heard
    ready_at = next(at for at, m in systemd.messages if m == "READY=1")
    connected = next(r for r in records(config, "gate-1", "gap") if r.reason == "startup")
    assert ready_at > wall(connected.end), "READY once the recovered stream records"
    untouched(config, "gate-1")
    ended = records(config, "gate-2")[-1]
    assert (ended.reason, ended.extra["event"]) == (CONFIG_RELOAD, "removed")
    root = StreamStore(config.gateway.data_dir, "gate-2").root
    assert read_checkpoints(root)[-1].size == ended.seq + 1, "closed by a final checkpoint"


def test_who_the_gateway_is_and_where_it_keeps_data_need_a_restart(tmp_path: Path) -> None:
    cams = [Cam("gate-1", "rtsp://127.0.0.1:1/a")]
    old = make_config(tmp_path, cams)
    assert restart_needed(old, make_config(tmp_path, cams, segment_seconds=4)) == []
    assert restart_needed(old, make_config(tmp_path, cams, gateway_id="gw-2")) == ["[gateway] id"]
    assert restart_needed(old, make_config(tmp_path, cams, checkpoint_every=5)) == ["[ledger]"]
    assert restart_needed(old, make_config(tmp_path, cams, read_timeout_s=30.0)) == [
        "[recording] open_timeout_s/read_timeout_s"
    ]


def test_only_cameras_whose_plan_changed_restart(tmp_path: Path) -> None:
    a, b, c = (Cam(f"gate-{n}", f"rtsp://127.0.0.1:1/{n}") for n in (1, 2, 3))
    old = make_config(tmp_path, [a, b])
    new = make_config(tmp_path, [a, b, c], extra="segment_seconds = 4\n")  # gate-3's own
    newer = make_config(tmp_path, [b], segment_seconds=4)
    recipients = wiring.gateway_keys(old).recipients

    def plans(config: Config) -> list[CameraPlan]:
        return wiring.camera_plans(config, recipients, "boot-1")

    changes = camera_changes(plans(old), plans(new))
    assert [p.camera.id for p in changes.added] == ["gate-3"]
    assert changes.removed == () and changes.changed == ()
    changes = camera_changes(plans(new), plans(newer))
    assert changes.added == () and changes.removed == ("gate-1", "gate-3")
    assert [p.camera.id for p in changes.changed] == ["gate-2"]


def test_enrolled_cameras_follow_the_sections_and_hand_over_to_a_configured_entry(
    tmp_path: Path,
) -> None:
    a = Cam("gate-1", "rtsp://127.0.0.1:1/1")
    net = '[discovery]\naddress = "127.0.0.1"\nauto_enroll = true\n'
    yard = Enrolled("SN-7", "SN-7", "urn:uuid:7", "http://192.0.2.7/onvif/device_service")
    old = make_config(tmp_path, [a], extra=net)
    recipients = wiring.gateway_keys(old).recipients

    def plans(config: Config) -> list[CameraPlan]:
        cameras = wiring.camera_plans(config, recipients, "boot-1")
        return cameras + wiring.enrolled_plans(config, [yard], recipients, "boot-1")

    longer = make_config(tmp_path, [a], segment_seconds=4, extra=net)
    changes = camera_changes(plans(old), plans(longer))
    assert [p.camera.id for p in changes.changed] == ["gate-1", "SN-7"]
    named = f'[[cameras]]\nid = "yard"\nserial = "SN-7"\n{net}'
    changes = camera_changes(plans(old), plans(make_config(tmp_path, [a], extra=named)))
    assert changes.removed == ("SN-7",) and changes.changed == ()
    assert [(p.camera.id, p.camera.serial) for p in changes.added] == [("yard", "SN-7")]
