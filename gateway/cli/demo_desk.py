"""`evgw demo --desk`: the monitoring desk on the demo's broker, until Ctrl-C.

The desk runs as `evgw desk` in its own process, as at headquarters (the gateway's code
reaches `central` only through the command line): it ingests what the demo gateway reports
over MQTT and serves the fleet, alarms and plots at http://127.0.0.1:8080/. A demo user is
made with a fresh random password, printed once, so the officer can log in.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import threading

from evgw.errors import EvgwError

from ..config import Config
from .demo_archive import CENTRAL_CONFIG, HQ_FOLDER, enrol_gateway

USER = "demo"
START_TIMEOUT_S = 120.0


class DemoDesk:
    """`evgw desk --config demo-central.toml` as a child process, with a demo admin user."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._process: subprocess.Popen[str] | None = None
        self.url = ""
        self.password = ""

    def __enter__(self) -> DemoDesk:
        enrol_gateway(self._config)  # the archive's [trust] must list the box before it starts
        self.password = secrets.token_urlsafe(12)
        secret = HQ_FOLDER / "desk-demo.pass"
        secret.parent.mkdir(parents=True, exist_ok=True)
        secret.touch(mode=0o600)
        secret.write_text(self.password + "\n", encoding="utf-8")
        _evgw("desk", "useradd", USER, "--role", "admin", "--password-file", str(secret),
              "--config", str(CENTRAL_CONFIG))  # fmt: skip
        self._process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "desk", "--config", str(CENTRAL_CONFIG)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = _serving_url(self._process)
        print(f"\nmonitoring desk: {self.url}  (log in as {USER!r}, password {self.password})")
        print("the gateway records until Ctrl-C; then the box and headquarters checks run\n")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _serving_url(process: subprocess.Popen[str]) -> str:
    """The URL of the desk's `desk: serving URL` line, or an error when it stops first."""
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("desk: serving ") and not found:
                found.append(line.split()[-1])
                ready.set()
        ready.set()

    ready = threading.Event()
    threading.Thread(target=read, name="demo-desk-out", daemon=True).start()
    if not ready.wait(START_TIMEOUT_S) or not found:
        process.kill()
        raise EvgwError(
            "the demo's monitoring desk did not start (see its messages above)",
            hint=f"check that port 8080 is free and {CENTRAL_CONFIG} [desk] listen",
        )
    return found[0]


def _evgw(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "gateway", *args], check=False)
    if done.returncode != 0:
        raise EvgwError(f"`evgw {' '.join(args[:2])}` failed (exit {done.returncode})")
