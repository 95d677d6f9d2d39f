"""A real recording with [tsa] set: every checkpoint's RFC 3161 token reaches the bucket
beside it, and both, read back from SeaweedFS, verify against the TSA's CA; `evgw verify
--tsa-ca` on the data dir prints the TSA's time per checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.config import Config
from gateway.daemon.lifecycle import Gateway
from segments.timestamp import TRUSTED, check_token, load_anchors
from testbeds.rtsp import RtspTestServer
from testbeds.seaweedfs import SeaweedServer
from testbeds.tsa import TsaPki, TsaServer
from tests.support.recording import Cam, make_config
from tests.support.seaweed import raw_client, unique_bucket, upload_section
from tests.support.waiting import wait_until
from uplink.objectstore import ObjectStore

pytestmark = pytest.mark.integration

PREFIX = "测试检查站/gw-test/gate-1/checkpoints/"


def tsa_section(server: TsaServer) -> str:
    return f'[tsa]\nurl = "{server.url}"\nca_file = "{server.pki.ca_file}"\ntimeout_s = 10\n'


def bucket_objects(server: SeaweedServer, config: Config) -> dict[str, bytes]:
    """Every object under the camera's checkpoints/ folder, read back from the bucket."""
    assert config.upload is not None
    client, bucket = raw_client(server), config.upload.store.bucket
    listed = client.list_objects_v2(Bucket=bucket, Prefix=PREFIX).get("Contents", [])
    return {
        o["Key"]: bytes(client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read())
        for o in listed
    }


def tokens_uploaded(server: SeaweedServer, config: Config) -> int:
    assert config.upload is not None
    listed = raw_client(server).list_objects_v2(Bucket=config.upload.store.bucket, Prefix=PREFIX)
    return sum(o["Key"].endswith(".tsr") for o in listed.get("Contents", []))


def test_recorded_checkpoints_get_tokens_that_verify_from_the_bucket(
    rtsp_server: RtspTestServer,
    seaweed: SeaweedServer,
    tsa_server: TsaServer,
    tsa_pki: TsaPki,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = make_config(
        tmp_path,
        [Cam("gate-1", rtsp_server.url("cam1"))],
        checkpoint_every=2,
        extra=upload_section(seaweed, unique_bucket()) + tsa_section(tsa_server),
    )
    assert config.upload is not None and config.tsa is not None
    ObjectStore(config.upload.store).ensure_bucket(object_lock=True)
    gateway = Gateway(config)
    gateway.start()
    try:
        wait_until("two tokens uploaded", lambda: tokens_uploaded(seaweed, config) >= 2, 120)
    finally:
        gateway.stop(drain_s=60)

    objects = bucket_objects(seaweed, config)
    anchors = load_anchors(tsa_pki.ca_file.read_bytes(), "ca")
    tokens = {k: v for k, v in objects.items() if k.endswith(".tsr")}
    assert len(tokens) >= 2
    for key, token in tokens.items():
        checkpoint = objects[key.removesuffix(".tsr") + ".json"]
        size = json.loads(checkpoint)["size"]
        found = check_token(token, checkpoint, size, anchors)
        assert found.status == TRUSTED, (key, found.detail)

    data_dir = str(config.gateway.data_dir)
    assert main(["verify", data_dir, "--tsa-ca", str(tsa_pki.ca_file), "--json"]) == 4
    stamps = json.loads(capsys.readouterr().out)["streams"][0]["timestamps"]
    trusted = [s for s in stamps if s["status"] == TRUSTED]
    assert len(trusted) >= len(tokens) and all(s["time"].endswith("Z") for s in trusted)
    assert {s["status"] for s in stamps} <= {TRUSTED, "MISSING"}
    assert main(["verify", data_dir, "--tsa-ca", str(tsa_pki.ca_file)]) == 4
    table = capsys.readouterr().out
    assert table.count("TRUSTED") == len(trusted) and "time (TSA)" in table
