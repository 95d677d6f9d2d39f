"""Drive the simulated RTSP camera (`rtsp_server.py`) from the demo and the tests.

The server runs under Debian's /usr/bin/python3 (the only interpreter with GStreamer's `gi`)
as a `LocalServer`, so tests can kill it (PyAV sees end of stream), stall it (PyAV's read
times out) and start it again on the same port. It watches its stdin and quits when the
pipe closes, so it never outlives the test process.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from .process import HOST, LocalServer

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")


def gst_rtsp_available() -> str | None:
    """None when the simulator can run here, else why not (for pytest.skip)."""
    check = "import gi; gi.require_version('GstRtspServer', '1.0')"
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", check], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{SYSTEM_PYTHON} cannot run: {e}"
    if done.returncode != 0:
        return (
            f"GStreamer RTSP server missing for {SYSTEM_PYTHON}: apt-get install python3-gi "
            f"gir1.2-gst-rtsp-server-1.0 ({done.stderr.decode(errors='replace').strip()})"
        )
    return None


class RtspTestServer(LocalServer):
    """One simulator process serving `mounts` (``NAME:WxH@FPS[:audio]``) on `port`."""

    name = "RTSP test server"

    def __init__(
        self,
        port: int,
        mounts: Sequence[str],
        user: str | None = None,
        password: str | None = None,
        *,
        pattern: str = "smpte",
        speed: int = 4,
        auth: str = "digest",
        ready_timeout: float = 15.0,
        noise: float = 0.0,
        file_mounts: Sequence[str] = (),
    ) -> None:
        super().__init__(log_path=None, ready_timeout=ready_timeout)
        self.port = port
        self.mounts = tuple(mounts)
        self.user = user
        self.password = password
        self.pattern = pattern
        self.speed = speed
        self.auth = auth
        self.noise = noise
        self.file_mounts = tuple(file_mounts)  # NAME:PATH@FPS (see `rtsp_server.py`)

    def command(self) -> list[str]:
        cmd = [
            SYSTEM_PYTHON,
            str(SERVER_SCRIPT),
            "--address",
            HOST,
            "--port",
            str(self.port),
            "--pattern",
            self.pattern,
            "--speed",
            str(self.speed),
            "--exit-on-stdin-eof",
        ]
        for mount in self.mounts:
            cmd += ["--mount", mount]
        if self.noise > 0:
            cmd += ["--noise", str(self.noise)]
        for file_mount in self.file_mounts:
            cmd += ["--file-mount", file_mount]
        if self.user is not None and self.password is not None:
            cmd += ["--user", self.user, "--password", self.password, "--auth", self.auth]
        return cmd

    def ready(self) -> bool:
        """The server printed its READY line: it has bound the port and serves every mount."""
        return self.printed(r"^READY ")

    def url(self, mount: str, *, with_credentials: bool = True) -> str:
        """rtsp:// URL of a mount name (``cam1``), with user:password when auth is on."""
        auth = ""
        if with_credentials and self.user is not None and self.password is not None:
            auth = f"{self.user}:{self.password}@"
        return f"rtsp://{auth}{HOST}:{self.port}/{mount}"
