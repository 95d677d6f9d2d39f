"""Fleet proof: 3 gateways record for real into a SeaweedFS cluster that loses a disk server.

Three `evgw run` processes, one RTSP camera each (passthrough, 2 s segments), upload to one
bucket (object lock) on a cluster of 1 master, 3 volume servers (every volume kept twice),
filer and S3 gateway. Once every gateway has had segments confirmed, the volume server
holding most of the bucket's volumes is SIGKILLed; the gateways keep recording and
uploading on the two left, and everything confirmed so far still reads back; the server
comes back. At the end every sealed segment is
confirmed in its gateway's local index, nothing is pending or refused, and every object a
gateway confirmed reads back from the cluster with the SHA-256 it was confirmed with. Then
`evgw archive sync` of the bucket into PostgreSQL finds nothing wrong and holds every
confirmed object: each record accepted, each segment paired, each checkpoint consistent.

Every wait is for a condition, never a fixed time (a busy 2-core machine is slow).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL

from central.catalogue.db import Catalogue
from central.catalogue.schema import checkpoints, records
from central.config import load_central_config
from gateway.cli.main import main
from gateway.config import Config
from testbeds.seaweed_cluster import SeaweedCluster
from tests.central.boxes import central_toml
from tests.conftest import RtspServerFactory
from tests.integration.fleet_rig import (
    Fleet,
    SealedObject,
    backlog,
    confirmed_problems,
    confirmed_segments,
    sealed_objects,
    sealed_segments,
    store_problems,
    unconfirmed_segments,
)
from tests.support.seaweed import unique_bucket
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

GATEWAYS = 3


def busiest_volume_server(cluster: SeaweedCluster, bucket: str) -> int:
    """Index of the volume server holding the most of `bucket`'s volumes."""
    held = [
        sum(v.url in nodes for nodes in cluster.master.volume_locations(bucket).values())
        for v in cluster.volumes
    ]
    assert max(held) > 0, "the bucket has no volume yet"
    return held.index(max(held))


def wait_all(fleet: Fleet, what: str, ok: Callable[[Config], bool], timeout: float = 90.0) -> None:
    """Wait until `ok(config)` holds for every gateway; fail at once if one process died."""

    def every() -> bool:
        assert not fleet.dead(), f"gateway ended early: {fleet.dead()}\n{fleet.log_tails()}"
        return all(ok(c) for c in fleet.configs)

    wait_until(f"every gateway: {what}", every, timeout)


def test_three_gateways_lose_nothing_when_a_volume_server_dies(
    rtsp_server_factory: RtspServerFactory,
    seaweed_cluster: SeaweedCluster,
    postgres_database: URL,
    tmp_path: Path,
) -> None:
    cameras = rtsp_server_factory([f"g{n}:320x240@25" for n in range(1, GATEWAYS + 1)])
    bucket = unique_bucket("fleet")
    fleet = Fleet(tmp_path, cameras, seaweed_cluster, bucket, GATEWAYS)
    configs = fleet.configure()
    fleet.start()
    try:
        wait_all(fleet, "2 segments confirmed", lambda c: confirmed_segments(c) >= 2)
        victim = busiest_volume_server(seaweed_cluster, bucket)
        seaweed_cluster.volumes[victim].kill()
        before = {c.gateway.id: (sealed_segments(c), confirmed_segments(c)) for c in configs}
        wait_all(
            fleet,
            "2 more segments sealed and confirmed with a volume server down",
            lambda c: (
                sealed_segments(c) >= before[c.gateway.id][0] + 2
                and confirmed_segments(c) >= before[c.gateway.id][1] + 2
            ),
        )
        client = seaweed_cluster.client()
        for config in configs:  # read while the server is still down: the copies serve
            assert confirmed_problems(config, client, bucket) == [], config.gateway.id
        seaweed_cluster.restart_volume(victim)
        back = {c.gateway.id: sealed_segments(c) for c in configs}
        wait_all(
            fleet, "2 more segments sealed", lambda c: sealed_segments(c) >= back[c.gateway.id] + 2
        )
        assert fleet.stop() == [0] * GATEWAYS, fleet.log_tails()
        fleet.drain()
    finally:
        fleet.close()
    for config in configs:
        assert backlog(config) == (0, []), config.gateway.id
        assert unconfirmed_segments(config) == [], config.gateway.id
        assert sealed_segments(config) >= 6
        assert store_problems(config, client, bucket) == [], config.gateway.id
    objects = [o for c in configs for o in sealed_objects(c)]
    assert {o.what for o in objects} == {"media", "record", "checkpoint"}
    assert len({o.key for o in objects}) == len(objects), "two gateways wrote one key"
    assert archive_problems(tmp_path / "hq", fleet, postgres_database, objects) == []


def archive_problems(
    folder: Path, fleet: Fleet, database: URL, objects: list[SealedObject]
) -> list[str]:
    """`evgw archive sync` of the fleet's bucket into PostgreSQL: every finding, and every
    object a gateway confirmed that the catalogue does not hold as accepted and consistent."""
    trusted = folder / "gateways"
    trusted.mkdir(parents=True)
    for config in fleet.configs:  # enrolment: each device key's .pub under its gateway id
        device = config.keys.signing_key
        pub = device.with_name(device.name + ".pub").read_bytes()
        (trusted / f"{config.gateway.id}.pub").write_bytes(pub)
    url = database.render_as_string(hide_password=False)
    path = central_toml(folder, fleet.store.endpoint_url, fleet.bucket, url, {}, keys_dir=trusted)
    assert main(["archive", "sync", "--config", str(path)]) == 0
    central = load_central_config(path)
    catalogue = Catalogue.open(central.database)
    try:
        with catalogue.transaction() as tx:
            held = {
                **{r.object_key: "record" for r in tx.c.execute(select(records))},
                **{r.media_key: "media" for r in tx.c.execute(
                    select(records).where(records.c.media_state == "ok"))},
                **{c.object_key: "checkpoint" for c in tx.c.execute(
                    select(checkpoints).where(checkpoints.c.state == "consistent"))},
            }  # fmt: skip
        problems = [f"{f.kind} {f.key}: {f.detail}" for f, _ in catalogue.findings()]
    finally:
        catalogue.close()
    return problems + [
        f"{o.key}: not catalogued as {o.what}" for o in objects if held.get(o.key) != o.what
    ]
