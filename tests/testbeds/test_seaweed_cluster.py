"""SeaweedCluster: every object kept twice, one volume server lost and back, object lock."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from testbeds.errors import ServerError
from testbeds.process import port_accepts
from testbeds.seaweed_cluster import SeaweedCluster
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, settings_for, unique_bucket
from tests.support.waiting import wait_until
from uplink.objectstore import ObjectStore

pytestmark = pytest.mark.integration


def put_some(cluster: SeaweedCluster, bucket: str, count: int, prefix: str) -> dict[str, str]:
    """Put `count` random objects; key -> SHA-256 of what was sent."""
    s3 = cluster.client()
    sent = {}
    for i in range(count):
        body = os.urandom(64 * 1024 + i)
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{i}", Body=body)
        sent[f"{prefix}/{i}"] = hashlib.sha256(body).hexdigest()
    return sent


def read_back(cluster: SeaweedCluster, bucket: str, sent: dict[str, str]) -> dict[str, str]:
    """Key -> SHA-256 of what the cluster returns now."""
    s3 = cluster.client()
    return {
        key: hashlib.sha256(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
        for key in sent
    }


def test_parts_on_loopback_and_every_volume_twice(seaweed_cluster: SeaweedCluster) -> None:
    cluster = seaweed_cluster
    assert cluster.endpoint_url.startswith("http://127.0.0.1:")
    for part in [cluster.master, *cluster.volumes, cluster.filer, cluster.s3]:
        command = " ".join(part.command())
        assert "-ip.bind=127.0.0.1" in command and SECRET_KEY not in command
    assert "-defaultReplication=001" in cluster.master.command()
    assert SECRET_KEY not in repr(cluster)
    assert sorted(cluster.master.data_nodes()) == sorted(v.url for v in cluster.volumes)
    cluster.client().create_bucket(Bucket="twice")
    sent = put_some(cluster, "twice", 5, "k")
    locations = cluster.master.volume_locations("twice")
    assert locations and all(len(nodes) == 2 for nodes in locations.values())
    assert read_back(cluster, "twice", sent) == sent


def test_losing_one_volume_server_loses_nothing(seaweed_cluster: SeaweedCluster) -> None:
    cluster = seaweed_cluster
    cluster.client().create_bucket(Bucket="outage")
    before = put_some(cluster, "outage", 12, "before")
    victim = cluster.volumes[0]
    victim.kill()
    assert not port_accepts(victim.port)
    wait_until("the master drops the killed volume server",
               lambda: victim.url not in cluster.master.data_nodes())  # fmt: skip
    during = put_some(cluster, "outage", 12, "during")
    assert read_back(cluster, "outage", {**before, **during}) == {**before, **during}
    cluster.restart_volume(0)
    assert victim.url in cluster.master.data_nodes()
    after = put_some(cluster, "outage", 4, "after")
    every = {**before, **during, **after}
    assert read_back(cluster, "outage", every) == every


def test_object_lock_holds_in_the_cluster(seaweed_cluster: SeaweedCluster) -> None:
    bucket = unique_bucket()
    store = ObjectStore(settings_for(seaweed_cluster, bucket))
    store.ensure_bucket(object_lock=True)
    assert store.lock_status()
    until = datetime.now(UTC) + timedelta(days=1)
    result = store.put_bytes("evidence/1.mp4.age", b"sealed bytes", retain_until=until)
    assert result.version_id is not None
    s3 = seaweed_cluster.client()
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=bucket, Key="evidence/1.mp4.age", VersionId=result.version_id)
    body = s3.get_object(Bucket=bucket, Key="evidence/1.mp4.age")["Body"].read()
    assert body == b"sealed bytes"


def test_failed_start_names_the_part_and_its_log(tmp_path: Path) -> None:
    fake = tmp_path / "weed"
    fake.write_text("#!/bin/sh\necho 'no such flag' >&2\nexit 2\n")
    fake.chmod(0o755)
    cluster = SeaweedCluster(tmp_path / "c", ACCESS_KEY, SECRET_KEY, weed=str(fake))
    with pytest.raises(ServerError, match=r"(?s)SeaweedFS master exited with 2.*no such flag"):
        cluster.start()
