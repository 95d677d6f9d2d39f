"""A fleet of real gateways uploading to one central store, and what the store must hold.

`Fleet` runs each gateway as its own `python -m gateway run` process (as systemd would),
recording RTSP test cameras and uploading to a bucket with object lock. After `stop()` and
`drain()`, `sealed_objects()` lists, per gateway, every object the gateway sealed and had
confirmed, with its key and SHA-256: the ground truth the bucket (and, once it exists, the
archive catalogue built from it by `evgw archive sync`) must match. `store_problems()`
compares the bucket with it.

To prove `evgw archive sync` in the same test: after `fleet.drain()`, sync
`fleet.store.endpoint_url` / `fleet.bucket` (credentials: `tests/support/seaweed.py`) into a
catalogue on the `postgres_database` fixture, trusting each gateway's device key
(`f"{config.keys.signing_key}.pub"` for `config` in `fleet.configs`), and compare the
catalogue with `sealed_objects(config)` for every gateway.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import ClientError

from gateway.config import Config
from gateway.daemon.lifecycle import Gateway
from gateway.wiring import index_path
from segments.index import Index
from testbeds.rtsp import RtspTestServer
from testbeds.seaweed_cluster import SeaweedCluster
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config, records, wall
from tests.support.seaweed import upload_section
from uplink.object_keys import media_key, object_key, record_key
from uplink.objectstore import ObjectStore

SITE = "测试检查站"  # the site make_config writes


@dataclass(frozen=True)
class SealedObject:
    """One object a gateway confirmed: where it is in the bucket and what it must hash to."""

    gateway: str
    camera: str
    what: str  # "media", "record" or "checkpoint"
    key: str
    sha256: str


@dataclass
class Fleet:
    """`size` gateways (`gw-1`…), one camera each, every one uploading to `bucket`."""

    root: Path
    cameras: RtspTestServer
    store: SeaweedCluster
    bucket: str
    size: int = 3
    configs: list[Config] = field(default_factory=list)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def configure(self) -> list[Config]:
        """Write each gateway's keys and config; make the bucket (object lock on)."""
        self.configs = [
            make_config(
                self.root / f"gw-{n}",
                [Cam(f"gw{n}-cam", self.cameras.url(f"g{n}"), overlay="passthrough")],
                extra=upload_section(self.store, self.bucket),
                gateway_id=f"gw-{n}",
            )
            for n in range(1, self.size + 1)
        ]
        upload = self.configs[0].upload
        assert upload is not None
        ObjectStore(upload.store).ensure_bucket(object_lock=True)
        return self.configs

    def start(self) -> None:
        """One `evgw run` process per gateway; its output goes to `daemon.log` beside it."""
        for config in self.configs:
            log = (config.path.parent / "daemon.log").open("wb")
            self._logs.append(log)
            command = [sys.executable, "-m", "gateway", "run", "--config", str(config.path)]
            self._procs.append(subprocess.Popen(command, cwd=REPO, stdout=log, stderr=log))

    def dead(self) -> list[str]:
        """Gateways whose process ended while they should be recording."""
        return [
            c.gateway.id
            for c, p in zip(self.configs, self._procs, strict=True)
            if p.poll() is not None
        ]

    def stop(self) -> list[int]:
        """SIGTERM every gateway (each seals its open segment); their exit codes."""
        for proc in self._procs:
            proc.send_signal(signal.SIGTERM)
        return [proc.wait(90) for proc in self._procs]

    def drain(self, seconds: float = 120.0) -> None:
        """Send what the daemons left queued: a short run per gateway, stopped with a drain."""
        for config in self.configs:
            gateway = Gateway(config)
            gateway.start()
            gateway.stop(drain_s=seconds)

    def close(self) -> None:
        """Kill whatever still runs (after a failure) and close the logs."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in self._logs:
            log.close()

    def log_tails(self) -> str:
        """The end of every daemon's log, for a failure message."""
        return "\n".join(
            f"--- {c.gateway.id}\n" + "\n".join(log_lines(c)[-15:]) for c in self.configs
        )


def log_lines(config: Config) -> list[str]:
    path = config.path.parent / "daemon.log"
    return path.read_text(errors="replace").splitlines() if path.exists() else []


def camera(config: Config) -> str:
    return config.cameras[0].id


def sealed_segments(config: Config) -> int:
    return len(records(config, camera(config), "segment"))


def _open_index(config: Config) -> Index:
    return Index.open(index_path(config))


def confirmed_segments(config: Config) -> int:
    index = _open_index(config)
    try:
        states = index.segment_states(camera(config))
    finally:
        index.close()
    return sum(version is not None for _, version in states.values())


def unconfirmed_segments(config: Config) -> list[int]:
    """Seqs of sealed segments the local index does not hold as confirmed by the store."""
    index = _open_index(config)
    try:
        states = index.segment_states(camera(config))
    finally:
        index.close()
    sealed = [r.seq for r in records(config, camera(config)) if r.file]
    return [seq for seq in sealed if states.get(seq, ("absent", None))[1] is None]


def backlog(config: Config) -> tuple[int, list[tuple[str, int, str]]]:
    """(pending uploads, refused uploads) in the gateway's index."""
    index = _open_index(config)
    try:
        return index.backlog().count, index.refused()
    finally:
        index.close()


def sealed_objects(config: Config) -> list[SealedObject]:
    """Every object this gateway confirmed (media, records, checkpoints), from its index."""
    index = _open_index(config)
    try:
        items = index.confirmed_uploads(limit=100_000)
    finally:
        index.close()
    gw = config.gateway.id
    return [
        SealedObject(gw, item.stream, item.what, object_key(item, SITE, gw), item.sha256)
        for item in items
    ]


def confirmed_problems(config: Config, client: Any, bucket: str) -> list[str]:
    """Objects this gateway had confirmed that do not read back with their SHA-256."""
    problems = []
    for obj in sealed_objects(config):
        got = _sha256(client, bucket, obj.key)
        if got != obj.sha256:
            problems.append(f"{obj.key}: stored SHA-256 {got}, confirmed {obj.sha256}")
    return problems


def store_problems(config: Config, client: Any, bucket: str) -> list[str]:
    """What the bucket gets wrong about this gateway: every confirmed object must read back
    with its SHA-256, and every sealed segment and its record must be there as sealed."""
    problems = confirmed_problems(config, client, bucket)
    gw, cam = config.gateway.id, camera(config)
    for r in records(config, cam):
        if not r.file:
            continue
        key = media_key(SITE, gw, cam, r.seq, wall(r.start))
        if _sha256(client, bucket, key) != r.sha256_cipher:
            problems.append(f"{key}: not the sealed segment (sha256_cipher {r.sha256_cipher})")
        if _sha256(client, bucket, record_key(SITE, gw, cam, r.seq, wall(r.start))) != (
            hashlib.sha256(r.to_json()).hexdigest()
        ):
            problems.append(f"record of {key}: not the sealed ledger record")
    return problems


def _sha256(client: Any, bucket: str, key: str) -> str | None:
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError:
        return None
    return hashlib.sha256(body).hexdigest()
