"""Gateways for the desk to watch: a real recording one, and light simulated ones.

`GatewayProcess` is `evgw run` in its own process (as systemd runs it) recording an RTSP test
camera and reporting to the test's mosquitto every second. `simulated_gateway` speaks for a
gateway without recording: the gateway's own MQTT link and reporter publish one report built
from made-up facts, so the payloads are exactly what a gateway sends, alarms included.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from gateway.config import Config
from gateway.daemon.alarms import CameraFacts, GatewayFacts
from gateway.daemon.reporting import Reporter
from testbeds.mosquitto import MosquittoServer
from testbeds.rtsp import RtspTestServer
from tests.support.mqtt_fixtures import Probe, settings_for
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config
from uplink.mqtt import GatewayLink

GATEWAY = "gw-test"  # make_config's gateway id
CAMERA = "gate-1"
HEALTH_INTERVAL_S = 1.0


def gateway_config(folder: Path, camera: RtspTestServer, broker: MosquittoServer) -> Config:
    """One camera (`cam1` of `camera`), reporting to `broker` every HEALTH_INTERVAL_S."""
    mqtt = (
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        f"health_interval_s = {HEALTH_INTERVAL_S}\nkeepalive_s = 5\n"
    )
    cam = Cam(CAMERA, camera.url("cam1"), overlay="passthrough")
    return make_config(folder, [cam], extra=mqtt, gateway_id=GATEWAY)


class GatewayProcess:
    """`python -m gateway run` for `config`; its output in ``daemon.log`` beside the config."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.log_path = config.path.parent / "daemon.log"
        self._log: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> GatewayProcess:
        self._log = self.log_path.open("wb")
        command = [sys.executable, "-m", "gateway", "run", "--config", str(self.config.path)]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self._proc = subprocess.Popen(command, env=env, stdout=self._log, stderr=self._log)
        return self

    def stop(self) -> None:
        """SIGTERM (it seals and says offline), SIGKILL if it has not ended within a minute."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(60)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._log is not None:
            self._log.close()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_recording(probe: Probe, gateway: GatewayProcess, timeout: float = 90.0) -> None:
    """Until the gateway reports its camera recording (a sealed segment, frames arriving)."""
    topic = f"evgw/{GATEWAY}/cameras/{CAMERA}/health"

    def recording(messages: list[tuple[str, bytes, bool]]) -> bool:
        assert gateway.running, f"evgw run ended:\n{gateway.log()}"
        return any(t == topic and json.loads(p)["recording"] for t, p, _ in messages)

    probe.wait_for(recording, timeout)


def camera_facts(camera: str, online: bool) -> CameraFacts:
    """A camera that records, or one whose stream ended a while ago."""
    return CameraFacts(
        camera=camera,
        online=online,
        fps=25.0 if online else 0.0,
        bitrate_bps=2_000_000.0 if online else 0.0,
        last_frame_age_s=0.04 if online else None,
        last_segment_age_s=1.0 if online else None,
        reconnects=3,
        clock_offset_s=0.1,
        last_error=None if online else "end of stream",
        frozen=False,
        segment_seconds=2,
    )


def gateway_facts(cameras: Mapping[str, bool]) -> GatewayFacts:
    """A healthy gateway up for an hour, with `cameras` (id -> online)."""
    return GatewayFacts(
        ts=time.time(),
        uptime_s=3600.0,
        free_bytes=80 * 10**9,
        used_bytes=5 * 10**9,
        quota_bytes=500 * 10**9,
        min_free_bytes=10**9,
        backlog_count=2,
        backlog_bytes=1579,
        oldest_unconfirmed_age_s=4.0,
        upload_state="connected",
        minutes_left=5120.5,
        clock_synced=True,
        clock_est_error_s=0.004,
        tampered=0,
        unuploaded_purges=0,
        cameras=tuple(camera_facts(c, online) for c, online in cameras.items()),
    )


@contextmanager
def simulated_gateway(
    broker: MosquittoServer, gateway_id: str, cameras: Mapping[str, bool]
) -> Iterator[GatewayLink]:
    """`gateway_id` online on `broker`, having reported `cameras` once (an offline camera
    raises camera_offline); it says offline when the block ends."""
    link = GatewayLink(settings_for(broker), gateway_id)
    link.start()
    try:
        assert link.wait_connected(60), f"{gateway_id}: no connection to {broker}"
        Reporter(link, lambda: gateway_facts(cameras), HEALTH_INTERVAL_S).report()
        yield link
    finally:
        link.stop()
