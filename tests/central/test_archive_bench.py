"""The archive sync benchmark at toy scale, so it cannot rot: its builder fills a real bucket,
its measured child-process sync catalogues exactly what was generated, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL

from central.catalogue.db import Catalogue
from central.catalogue.schema import checkpoints, records
from central.config import load_central_config
from segments.ledger import line_hash, read_records
from testbeds.seaweedfs import SeaweedServer
from tests.bench.archive_fleet import SITE, add_minutes, build_fleet
from tests.bench.bench_archive_sync import run_sync
from tests.central.boxes import central_toml
from tests.support.seaweed import settings_for, unique_bucket
from uplink.object_keys import record_key
from uplink.objectstore import ObjectStore

pytestmark = pytest.mark.integration


def test_the_benchmark_sync_catalogues_what_its_builder_sealed(
    tmp_path: Path, seaweed: SeaweedServer, catalogue_url: URL
) -> None:
    store = ObjectStore(settings_for(seaweed, unique_bucket()))
    store.ensure_bucket(object_lock=True)
    fleet = build_fleet(tmp_path / "gateways", gateways=1, cameras=1, checkpoint_every=2)
    base = add_minutes(fleet, 3, store, workers=4)
    assert (base.records, base.checkpoints, base.objects) == (3, 1, 7)
    url = catalogue_url.render_as_string(hide_password=False)
    config = central_toml(
        tmp_path, seaweed.endpoint_url, store.settings.bucket, url, fleet.trusted_keys(), 3600.0
    )
    full = run_sync(config, None, seaweed.pid)
    assert (full.counts["records"], full.counts["checkpoints"], full.findings) == (3, 1, 0)
    assert full.counts["consistent"] == 1 and full.cpu_s > 0 and full.maxrss_mib > 0

    one = add_minutes(fleet, 1, store, workers=4)
    incremental = run_sync(config, None, seaweed.pid)
    assert (incremental.counts["records"], incremental.counts["checkpoints"]) == (1, 1)
    # listed from the resume points: the newest record and checkpoint again, then what is new
    assert (incremental.counts["listed"], incremental.counts["new_versions"]) == (6, one.objects)
    audit = run_sync(config, None, seaweed.pid, "--audit")
    assert (audit.counts["listed"], audit.counts["new_versions"], audit.findings) == (10, 0, 0)
    assert audit.counts["audited"] == 1 and incremental.counts["audited"] == 0

    (camera,) = fleet.gateways[0].cameras
    sealed = read_records(camera.ledger.dir)
    catalogue = Catalogue.open(load_central_config(config).database)
    try:
        with catalogue.transaction() as tx:
            rows = list(tx.c.execute(select(records).order_by(records.c.seq)))
            heads = list(tx.c.execute(select(checkpoints).order_by(checkpoints.c.size)))
    finally:
        catalogue.close()
    assert [(r.seq, r.record_hash, r.object_key) for r in rows] == [
        (r.seq, line_hash(r.to_json()), _key(r.gateway, r.stream, r.seq, r.start_ts))
        for r in sealed
    ]
    assert [(h.size, h.state) for h in heads] == [(2, "consistent"), (4, "consistent")]


def _key(gateway: str, stream: str, seq: int, start_ts: float | None) -> str:
    assert start_ts is not None
    return record_key(SITE, gateway, stream, seq, start_ts)
