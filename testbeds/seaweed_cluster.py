"""Run SeaweedFS as a small cluster: 1 master, N volume servers, 1 filer, 1 S3 gateway.

The single-node `weed mini` (`seaweedfs.py`) cannot show what a fleet's store does when a
disk server dies. Here every part is its own process, so a test can kill one volume server
while gateways upload, and start it again on the same port with the same data.

The master asks for one extra copy of every volume on another server of the same rack
(`-defaultReplication=001`), so with 3 volume servers every object survives the loss of any
one. All parts bind 127.0.0.1; every HTTP and gRPC port is chosen here (weed would derive
gRPC ports as HTTP+10000 and collide with other instances); peers are named as
`ip:port.grpcPort`. Telemetry is off. Each part logs to its own file under `root`, glog files
included. The S3 gateway takes its single admin identity from AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY in its environment, as `weed mini` does; the secret never appears on a
command line.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from .errors import ServerError
from .process import HOST, LocalServer, free_ports, http_get
from .seaweedfs import find_weed

REPLICATION = "001"
PROBE_BUCKET = "testbed-probe"
# Every S3 bucket is a collection that grows volumes of its own (several at a time, each on
# 2 servers): with weed's default of 8 volumes per server a cluster runs out of slots after a
# couple of buckets. Small volumes, many slots; nothing is preallocated.
VOLUME_SIZE_LIMIT_MB = 64
MAX_VOLUMES = 100


class _WeedPart(LocalServer):
    """One `weed` sub-command in its own folder, with an HTTP and a gRPC port kept for life."""

    stop_s: ClassVar[float] = 10.0

    def __init__(self, folder: Path, weed: str, ready_timeout: float) -> None:
        self.folder = folder
        super().__init__(
            log_path=folder / "weed.log", ready_timeout=ready_timeout, stop_timeout=self.stop_s
        )
        self._weed = weed
        self.port = 0
        self.grpc_port = 0

    @property
    def address(self) -> str:
        """How other parts name this one: `ip:port.grpcPort`."""
        return f"{HOST}:{self.port}.{self.grpc_port}"

    def prepare(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port, self.grpc_port = free_ports(2)

    def _base(self, sub: str) -> list[str]:
        return [
            self._weed,
            f"-logdir={self.folder}",
            sub,
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-port={self.port}",
            f"-port.grpc={self.grpc_port}",
        ]


P = TypeVar("P", bound=_WeedPart)


class WeedMaster(_WeedPart):
    name = "SeaweedFS master"

    def command(self) -> list[str]:
        return [
            *self._base("master"),
            f"-mdir={self.folder}",
            f"-defaultReplication={REPLICATION}",
            f"-volumeSizeLimitMB={VOLUME_SIZE_LIMIT_MB}",
            "-peers=none",
            "-telemetry=false",
        ]

    def ready(self) -> bool:
        return http_get(self.port, "/cluster/status") is not None

    def data_nodes(self) -> dict[str, int]:
        """Volume server `ip:port` -> number of volumes, as the master sees the topology now."""
        body = http_get(self.port, "/dir/status")
        try:
            topology = json.loads(body)["Topology"] if body is not None else {}
        except (ValueError, KeyError, TypeError):
            return {}
        return {
            node["Url"]: int(node.get("Volumes", 0))
            for dc in topology.get("DataCenters") or []
            for rack in dc.get("Racks") or []
            for node in rack.get("DataNodes") or []
        }

    def volume_locations(self, collection: str) -> dict[int, set[str]]:
        """Volume id -> the volume servers holding a copy, for one collection (an S3 bucket)."""
        body = http_get(self.port, "/vol/status")
        try:
            centers = json.loads(body)["Volumes"]["DataCenters"] if body is not None else {}
            found: dict[int, set[str]] = {}
            for racks in centers.values():
                for nodes in racks.values():
                    for node, volumes in nodes.items():
                        for volume in volumes or []:
                            if volume["Collection"] == collection:
                                found.setdefault(int(volume["Id"]), set()).add(node)
        except (ValueError, KeyError, TypeError, AttributeError):
            return {}
        return found


class WeedVolume(_WeedPart):
    name = "SeaweedFS volume server"

    def __init__(self, folder: Path, weed: str, ready_timeout: float, master: WeedMaster) -> None:
        super().__init__(folder, weed, ready_timeout)
        self.master = master

    @property
    def url(self) -> str:
        return f"{HOST}:{self.port}"

    def command(self) -> list[str]:
        return [
            *self._base("volume"),
            f"-dir={self.folder}",
            f"-mserver={self.master.address}",
            f"-max={MAX_VOLUMES}",
            "-preStopSeconds=0",
        ]

    def ready(self) -> bool:
        """Serving, and registered with the master (a kill leaves a stale entry for a while,
        so the volume server's own status page must answer too)."""
        return http_get(self.port, "/status") is not None and self.url in self.master.data_nodes()


class WeedFiler(_WeedPart):
    name = "SeaweedFS filer"
    # Its graceful gRPC stop waits for its own metadata subscription and never returns
    # (weed 4.48), so SIGKILL follows soon; its leveldb log is written by then.
    stop_s = 2.0

    def __init__(self, folder: Path, weed: str, ready_timeout: float, master: WeedMaster) -> None:
        super().__init__(folder, weed, ready_timeout)
        self.master = master

    def command(self) -> list[str]:
        return [
            *self._base("filer"),
            f"-master={self.master.address}",
            f"-defaultStoreDir={self.folder}",
            f"-localSocket={self.folder / 'filer.sock'}",
        ]

    def ready(self) -> bool:
        return http_get(self.port, "/healthz") is not None


class WeedS3(_WeedPart):
    name = "SeaweedFS S3 gateway"

    def __init__(
        self,
        folder: Path,
        weed: str,
        ready_timeout: float,
        filer: WeedFiler,
        credentials: tuple[str, str],
    ) -> None:
        super().__init__(folder, weed, ready_timeout)
        self.filer = filer
        self._credentials = credentials

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("S3_BUCKET", None)
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = self._credentials
        return env

    def command(self) -> list[str]:
        return [
            *self._base("s3"),
            f"-filer={self.filer.address}",
            f"-localSocket={self.folder / 's3.sock'}",
            "-port.iceberg=0",
            "-port.lance=0",
        ]

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def ready(self) -> bool:
        return http_get(self.port, "/healthz") is not None


class SeaweedCluster:
    """A SeaweedFS cluster serving S3 at `endpoint_url`, every part's data kept under `root`.

    `start()` returns once an object put through S3 reads back (volumes grown, replicas
    placed). `volumes[i].kill()` crashes one volume server; `restart_volume(i)` brings it
    back on its port with its data and waits until the master lists it again.
    """

    def __init__(
        self,
        root: Path,
        access_key: str,
        secret_key: str,
        *,
        volume_servers: int = 3,
        ready_timeout: float = 60.0,
        weed: str | None = None,
    ) -> None:
        self.root = Path(root)
        self.access_key = access_key
        self._secret_key = secret_key
        self.ready_timeout = ready_timeout
        self._weed_path = weed
        self._volume_count = volume_servers
        self._parts: list[_WeedPart] = []

    def __repr__(self) -> str:
        return f"SeaweedCluster(root={str(self.root)!r}, endpoint={self._endpoint_or_none()!r})"

    def _endpoint_or_none(self) -> str | None:
        return self.s3.endpoint if self._parts and self.s3.port else None

    @property
    def master(self) -> WeedMaster:
        return self._part(WeedMaster)[0]

    @property
    def volumes(self) -> list[WeedVolume]:
        return self._part(WeedVolume)

    @property
    def filer(self) -> WeedFiler:
        return self._part(WeedFiler)[0]

    @property
    def s3(self) -> WeedS3:
        return self._part(WeedS3)[0]

    def _part(self, kind: type[P]) -> list[P]:
        found = [p for p in self._parts if isinstance(p, kind)]
        if not found:
            raise ServerError("the SeaweedFS cluster is built by start(); call it first")
        return found

    @property
    def endpoint_url(self) -> str:
        return self.s3.endpoint

    def start(self) -> Self:
        """Start master, volume servers, filer and S3 gateway in order; wait for a round trip."""
        if not self._parts:
            self._parts = self._build(self._weed_path or find_weed())
        try:
            for part in self._parts:
                if not part.running:
                    part.start()
            self._wait_round_trip()
        except BaseException:
            self.stop()
            raise
        return self

    def _build(self, weed: str) -> list[_WeedPart]:
        t = self.ready_timeout
        master = WeedMaster(self.root / "master", weed, t)
        volumes = [
            WeedVolume(self.root / f"volume-{i}", weed, t, master)
            for i in range(self._volume_count)
        ]
        filer = WeedFiler(self.root / "filer", weed, t, master)
        s3 = WeedS3(self.root / "s3", weed, t, filer, (self.access_key, self._secret_key))
        return [master, *volumes, filer, s3]

    def restart_volume(self, index: int) -> WeedVolume:
        """Start volume server `index` again (after kill() or stop()) and wait until listed."""
        volume = self.volumes[index]
        volume.stop()
        return volume.start()

    def stop(self) -> None:
        """Stop every part, the S3 gateway first and the master last."""
        for part in reversed(self._parts):
            part.stop()

    def client(self) -> Any:
        """A boto3 S3 client with the cluster's admin credentials (one attempt per call)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self._secret_key,
            config=BotoConfig(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    def _wait_round_trip(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            try:
                if self._round_trip():
                    return
                last = "the object read back differs"
            except (BotoCoreError, ClientError) as e:
                last = str(e)
            time.sleep(0.2)
        raise ServerError(
            f"SeaweedFS cluster: no S3 put+get round trip within {self.ready_timeout} s "
            f"(last: {last}); see the logs under {self.root}"
        )

    def _round_trip(self) -> bool:
        s3 = self.client()
        buckets = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if PROBE_BUCKET not in buckets:
            s3.create_bucket(Bucket=PROBE_BUCKET)
        body = uuid.uuid4().bytes
        s3.put_object(Bucket=PROBE_BUCKET, Key="probe", Body=body)
        return bool(s3.get_object(Bucket=PROBE_BUCKET, Key="probe")["Body"].read() == body)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
