"""The camera fork server: what a camera process imports, and that it dies with the daemon."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from gateway.daemon.camera_forkserver import PRELOAD, SERVER_NAME
from testbeds.process import find_free_port
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config
from tests.support.waiting import wait_until

NOT_FOR_PASSTHROUGH = (
    "zeep", "onvif", "aiohttp", "lxml", "httpx", "requests",  # ONVIF cameras' SOAP stack
    "PIL", "cv2", "segments.overlay.drawing",  # burn-in's overlay; OpenCV nowhere
    "boto3", "botocore", "paho", "rfc3161_client", "sqlite3",  # the daemon's uplink and index
    "uplink.tsa_client", "gateway.config.load",
)  # fmt: skip


def test_a_passthrough_camera_process_imports_only_what_it_needs() -> None:
    """Everything a camera process starts with is what the fork server preloads."""
    probe = (
        f"import importlib, json, sys\nfor m in {PRELOAD!r}: importlib.import_module(m)\n"
        f"print(json.dumps([m for m in {NOT_FOR_PASSTHROUGH!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == []


def processes_under(pid: int) -> dict[int, str]:
    found: dict[int, str] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found[int(child)] = Path(f"/proc/{child}/comm").read_text().strip()
            found.update(processes_under(int(child)))
    return found


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def test_a_daemon_killed_outright_takes_its_camera_processes_with_it(tmp_path: Path) -> None:
    """Power loss in miniature: no camera process may go on recording without its daemon
    (nothing would sign its segments, and the next daemon would find its files open)."""
    offline = f"rtsp://127.0.0.1:{find_free_port()}/cam1"  # nothing listens: it retries
    config = make_config(tmp_path, [Cam("cam-a", offline), Cam("cam-b", offline)])
    log = tmp_path / "daemon.log"
    with open(log, "wb") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(config.path)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(
            "the fork server and both camera processes",
            lambda: (
                sorted(processes_under(daemon.pid).values())
                == ["cam-cam-a", "cam-cam-b", SERVER_NAME.decode()]
            ),
            90,
        )
        under = processes_under(daemon.pid)
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(10)
    wait_until("every process under the daemon ends", lambda: all(map(gone, under)), 10)
