"""A real gateway records a real RTSP camera (burn-in overlay, x264, age, signed ledger) and
uploads to SeaweedFS; the archive then finds its bucket complete: no false alarm from the
objects a real box writes (key, boot, segment and stop records, checkpoints)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from central.catalogue.db import Catalogue
from central.config import load_central_config
from central.sync.bucket import Bucket
from central.sync.service import ArchiveSync
from gateway.daemon.lifecycle import Gateway
from segments.index import Index
from segments.store import INDEX_NAME
from testbeds.seaweedfs import SeaweedServer
from tests.central.boxes import central_toml
from tests.conftest import RtspServerFactory
from tests.support.recording import Cam, make_config, records
from tests.support.seaweed import unique_bucket, upload_section
from tests.support.waiting import wait_until
from uplink.objectstore import ObjectStore

pytestmark = pytest.mark.integration


def test_a_recorded_and_uploaded_gateway_syncs_clean(
    tmp_path: Path,
    seaweed: SeaweedServer,
    rtsp_server_factory: RtspServerFactory,
    catalogue_url: URL,
) -> None:
    camera = rtsp_server_factory(["cam1:320x240@25"])
    bucket = unique_bucket()
    config = make_config(
        tmp_path, [Cam("gate-1", camera.url("cam1"))], extra=upload_section(seaweed, bucket)
    )
    assert config.upload is not None
    ObjectStore(config.upload.store).ensure_bucket(object_lock=True)
    gateway = Gateway(config)
    gateway.start()
    try:
        wait_until("three segments", lambda: len(records(config, "gate-1", "segment")) >= 3, 90)
    finally:
        gateway.stop(drain_s=60)
    index = Index.open(config.gateway.data_dir / INDEX_NAME)
    try:
        assert index.backlog().count == 0, "the gateway left uploads behind"
    finally:
        index.close()
    written = records(config, "gate-1")
    # Enrolment: the device key's .pub, as `evgw keygen` wrote it, filed under the gateway id.
    gateways = tmp_path / "hq" / "gateways"
    gateways.mkdir(parents=True)
    device_pub = config.keys.signing_key.with_name(config.keys.signing_key.name + ".pub")
    (gateways / f"{config.gateway.id}.pub").write_bytes(device_pub.read_bytes())
    url = catalogue_url.render_as_string(hide_password=False)
    path = central_toml(tmp_path / "hq", seaweed.endpoint_url, bucket, url, {}, keys_dir=gateways)
    central = load_central_config(path)
    catalogue = Catalogue.open(central.database)
    try:
        result = ArchiveSync(central, catalogue, Bucket(central.store)).run()
    finally:
        catalogue.close()
    assert result.findings == []
    c = result.counts
    assert c.records == len(written) and c.checkpoints >= 1
    assert c.consistent == c.checkpoints and c.pending_checkpoints == 0
    assert c.waiting_segments == 0 and c.purged_segments == 0
