"""Drive the simulated RTSP camera (`rtsp_server.py`) from the demo and the tests.

The server runs under Debian's /usr/bin/python3 (the only interpreter with GStreamer's `gi`)
in its own process group, so tests can kill it (clients see end of stream), freeze it
(clients see a read timeout) and start it again on the same port.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
HOST = "127.0.0.1"


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


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


class RtspTestServer:
    """One simulator process serving `mounts` (``NAME:WxH@FPS[:audio]``) on `port`."""

    def __init__(
        self,
        port: int,
        mounts: Sequence[str],
        user: str | None = None,
        password: str | None = None,
        *,
        pattern: str = "smpte",
        speed: int = 4,
        ready_timeout: float = 15.0,
    ) -> None:
        self.port = port
        self.mounts = tuple(mounts)
        self.user = user
        self.password = password
        self.pattern = pattern
        self.speed = speed
        self.ready_timeout = ready_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

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
        if self.user is not None and self.password is not None:
            cmd += ["--user", self.user, "--password", self.password]
        return cmd

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> RtspTestServer:
        """Spawn the server and wait for its READY line; raise with its stderr if it fails."""
        if self.running:
            raise RuntimeError("RTSP test server already running; stop() it first")
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - kept for failure messages
        # stdin stays an open pipe: the server exits when it closes, i.e. when this process dies.
        self._proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + self.ready_timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            while (left := deadline - time.monotonic()) > 0:
                if not sel.select(left):
                    continue
                line = self._proc.stdout.readline()
                if line.startswith(b"READY "):
                    return
                if not line:
                    self._proc.wait(timeout=5)
                    raise RuntimeError(
                        f"RTSP test server exited with {self._proc.returncode}: {self.stderr()}"
                    )
        raise RuntimeError(
            f"RTSP test server not ready after {self.ready_timeout} s: {self.stderr()}"
        )

    def stderr(self) -> str:
        """What the server wrote to stderr so far (for failure messages)."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()

    def url(self, mount: str, *, with_credentials: bool = True) -> str:
        """rtsp:// URL of a mount name (``cam1``), with user:password when auth is on."""
        auth = ""
        if with_credentials and self.user is not None and self.password is not None:
            auth = f"{self.user}:{self.password}@"
        return f"rtsp://{auth}{HOST}:{self.port}/{mount}"

    def _signal(self, signum: int) -> None:
        if not self.running:
            raise RuntimeError("RTSP test server is not running")
        assert self._proc is not None
        os.killpg(self._proc.pid, signum)

    def stall(self) -> None:
        """Freeze the server (SIGSTOP): sockets stay open, clients time out reading."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo stall() (SIGCONT)."""
        self._signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the server: the kernel closes its sockets, clients see end of stream."""
        self._end(signal.SIGKILL)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop gracefully (SIGTERM), SIGKILL if it does not exit within `timeout`."""
        self._end(signal.SIGTERM, timeout)

    def restart(self) -> RtspTestServer:
        """Stop and start again on the same port and mounts."""
        self.stop()
        return self.start()

    def _end(self, signum: int, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signum)
                    if signum != signal.SIGKILL:
                        os.killpg(proc.pid, signal.SIGCONT)  # a stalled server must see SIGTERM
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                except ProcessLookupError:
                    proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()
        if self._stderr is not None and signum != signal.SIGKILL:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> RtspTestServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
