"""The gateway with a real central store: outages, crashes, wrong credentials, a full disk.

What was uploaded is read back from SeaweedFS and compared with what was sealed locally.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys

import pytest

from gateway.config import Config
from gateway.daemon.lifecycle import Gateway
from gateway.wiring import index_path
from segments.index import Index
from segments.records import Record
from testbeds.rtsp import RtspTestServer
from testbeds.seaweedfs import SeaweedServer
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config, media_path, records
from tests.support.seaweed import raw_client, unique_bucket, upload_section
from tests.support.waiting import wait_until
from uplink.object_keys import media_key, record_key
from uplink.objectstore import ObjectStore

pytestmark = pytest.mark.integration

SITE = "测试检查站"


def segment_count(config: Config) -> int:
    return len(records(config, "gate-1", "segment"))


def confirmed(config: Config) -> int:
    index = Index.open(index_path(config))
    try:
        return len(index.confirmed_uploads())
    finally:
        index.close()


def locked_bucket(config: Config) -> str:
    assert config.upload is not None
    ObjectStore(config.upload.store).ensure_bucket(object_lock=True)
    return config.upload.store.bucket


def object_bytes(server: SeaweedServer, bucket: str, key: str) -> bytes:
    return raw_client(server).get_object(Bucket=bucket, Key=key)["Body"].read()


def assert_all_uploaded(config: Config, server: SeaweedServer, camera: str) -> list[Record]:
    bucket = config.upload.store.bucket if config.upload else ""
    sealed = [r for r in records(config, camera) if r.file]
    assert sealed
    for r in sealed:
        start = _ts(r.start)
        key = media_key(SITE, "gw-test", camera, r.seq, start)
        assert object_bytes(server, bucket, key) == media_path(config, r).read_bytes(), key
        stored = object_bytes(server, bucket, record_key(SITE, "gw-test", camera, r.seq, start))
        assert stored == r.to_json()
    return sealed


def _ts(iso: str | None) -> float:
    from datetime import datetime

    assert iso is not None
    return datetime.fromisoformat(iso).timestamp()


def backlog(config: Config) -> int:
    index = Index.open(index_path(config))
    try:
        return index.backlog().count
    finally:
        index.close()


def test_everything_arrives_across_a_store_outage(
    rtsp_server: RtspTestServer, seaweed_factory, tmp_path
) -> None:
    server = seaweed_factory()
    config = make_config(
        tmp_path,
        [Cam("gate-1", rtsp_server.url("cam1"))],
        extra=upload_section(server, unique_bucket()),
    )
    bucket = locked_bucket(config)
    gateway = Gateway(config)
    gateway.start()
    try:
        wait_until("a segment is confirmed", lambda: confirmed(config) > 0, 60)
        server.kill()
        sealed = segment_count(config)
        wait_until(
            "two segments sealed in the outage", lambda: segment_count(config) >= sealed + 2, 60
        )
        server.restart()
        wait_until("four segments in all", lambda: segment_count(config) >= 4, 60)
    finally:
        gateway.stop(drain_s=60)
    assert backlog(config) == 0
    sealed = assert_all_uploaded(config, server, "gate-1")
    assert len([r for r in sealed if r.kind == "segment"]) >= 4
    versions = raw_client(server).list_object_versions(Bucket=bucket).get("Versions", [])
    keys = [v["Key"] for v in versions]
    assert len(keys) == len(set(keys)), "an object was uploaded twice"


def test_sigkill_mid_upload_confirms_every_segment_exactly_once(
    rtsp_server: RtspTestServer, seaweed_factory, tmp_path
) -> None:
    server = seaweed_factory()
    config = make_config(
        tmp_path,
        [Cam("gate-1", rtsp_server.url("cam2"))],
        extra=upload_section(server, unique_bucket(), max_bytes_per_second=150_000, workers=1),
    )
    bucket = locked_bucket(config)
    command = [sys.executable, "-m", "gateway", "run", "--config", str(config.path)]
    proc = subprocess.Popen(command, cwd=REPO, stderr=subprocess.DEVNULL)
    wait_until("three segments sealed", lambda: segment_count(config) >= 3, 60)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert backlog(config) > 0, "the throttle should leave uploads in flight"
    boots = len(records(config, "gate-1", "boot"))
    proc = subprocess.Popen(command, cwd=REPO, stderr=subprocess.DEVNULL)
    try:
        wait_until("the restart", lambda: len(records(config, "gate-1", "boot")) > boots, 60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        proc.kill()
    unthrottled = make_config(
        tmp_path,
        [Cam("gate-1", rtsp_server.url("cam2"))],
        extra=upload_section(server, bucket),
    )
    gateway = Gateway(unthrottled)
    gateway.start()
    gateway.stop(drain_s=90)
    assert backlog(config) == 0
    assert_all_uploaded(config, server, "gate-1")
    versions = raw_client(server).list_object_versions(Bucket=bucket).get("Versions", [])
    keys = [v["Key"] for v in versions]
    assert len(keys) == len(set(keys)), "an object was stored twice"


def test_a_segment_sealed_but_never_indexed_is_uploaded_after_the_restart(
    rtsp_server: RtspTestServer, seaweed, tmp_path
) -> None:
    cams = [Cam("gate-1", rtsp_server.url("cam1"))]
    offline = make_config(tmp_path, cams)
    gateway = Gateway(offline)
    gateway.start()
    try:
        wait_until("two segments sealed", lambda: segment_count(offline) >= 2, 60)
    finally:
        gateway.stop()
    last = records(offline, "gate-1", "segment")[-1]
    # A kill after the ledger's fsync and before the index's commit loses exactly these rows.
    index = Index.open(index_path(offline))
    with index.transaction() as db:
        db.execute("DELETE FROM uploads WHERE stream = 'gate-1' AND seq >= ?", (last.seq,))
        db.execute("DELETE FROM segments WHERE stream = 'gate-1' AND seq >= ?", (last.seq,))
    index.close()
    config = make_config(tmp_path, cams, extra=upload_section(seaweed, unique_bucket()))
    locked_bucket(config)
    gateway = Gateway(config)
    gateway.start()
    gateway.stop(drain_s=60)
    assert backlog(config) == 0
    uploaded = assert_all_uploaded(config, seaweed, "gate-1")
    assert last.seq in {r.seq for r in uploaded}


def test_an_index_that_fails_once_neither_stops_recording_nor_loses_the_record(
    rtsp_server: RtspTestServer, tmp_path
) -> None:
    config = make_config(tmp_path, [Cam("gate-1", rtsp_server.url("cam1"))])
    gateway = Gateway(config)
    gateway.start()
    try:
        assert gateway.index is not None
        add_record, failed = gateway.index.add_record, []

        def fails_once(record: Record) -> None:
            if record.kind == "segment" and not failed:
                failed.append(record.seq)
                raise sqlite3.OperationalError("disk I/O error")
            add_record(record)

        gateway.index.add_record = fails_once  # type: ignore[method-assign]
        wait_until("a segment the index refused", lambda: bool(failed), 60)
        wait_until("two segments after it", lambda: segment_count(config) >= failed[0] + 2, 60)
    finally:
        gateway.stop()
    index = Index.open(index_path(config))
    try:
        indexed = {row.seq for row in index.local_segments()}
    finally:
        index.close()
    assert {r.seq for r in records(config, "gate-1", "segment")} == indexed
    assert failed[0] in indexed


def test_wrong_credentials_keep_the_backlog_and_status_shows_it(
    rtsp_server: RtspTestServer, seaweed, tmp_path
) -> None:
    config = make_config(
        tmp_path,
        [Cam("gate-1", rtsp_server.url("cam1"))],
        extra=upload_section(seaweed, unique_bucket(), secret="wrong-secret-value"),
    )
    gateway = Gateway(config)
    gateway.start()
    try:
        uploader = gateway.uploader
        assert uploader is not None
        wait_until("auth_failed", lambda: uploader.status().state == "auth_failed", 60)
        wait_until("a segment waits", lambda: segment_count(config) >= 1, 60)
    finally:
        gateway.stop()
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "status", "--config", str(config.path), "--json"],
        cwd=REPO, capture_output=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    status = json.loads(done.stdout)
    camera = status["cameras"][0]
    assert camera["camera"] == "gate-1"
    assert camera["backlog_count"] == status["backlog_count"] > 0
    assert camera["local_segments"] >= 1 and camera["confirmed_segments"] == 0
    assert "wrong-secret-value" not in done.stdout.decode() + done.stderr.decode()


@pytest.mark.parametrize("store_up", [True, False])
def test_quota_pressure_evicts_confirmed_first_and_signs_every_purge(
    rtsp_server: RtspTestServer, seaweed, tmp_path, store_up: bool
) -> None:
    upload = upload_section(seaweed, unique_bucket()) if store_up else ""
    config = make_config(
        tmp_path,
        [Cam("gate-1", rtsp_server.url("cam1"))],
        extra=upload + "[storage]\nquota_bytes = 2_500_000\nmin_free_bytes = 0\n",
    )
    if store_up:
        locked_bucket(config)
    gateway = Gateway(config)
    gateway.start()
    try:
        wait_until(
            "the quota forces purges", lambda: len(records(config, "gate-1", "purge")) >= 2, 120
        )
    finally:
        gateway.stop()
    ledger = records(config, "gate-1")
    purges = [r for r in ledger if r.kind == "purge"]
    assert purges, "the quota never forced an eviction"
    expected = "evicted_confirmed" if store_up else "evicted_unuploaded"
    assert {p.reason for p in purges} == {expected}
    segs = {r.seq: r for r in ledger if r.kind == "segment"}
    evicted = [p.extra["seq"] for p in purges]
    assert evicted == sorted(evicted), "oldest first"
    for p in purges:
        assert p.extra["sha256_cipher"] == segs[p.extra["seq"]].sha256_cipher
        assert not media_path(config, segs[p.extra["seq"]]).exists()
    kept = [r for r in segs.values() if r.seq not in evicted]
    assert all(media_path(config, r).exists() for r in kept)
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "verify", str(config.gateway.data_dir), "--json",
         "--pubkey", f"{config.keys.signing_key}.pub"],
        cwd=REPO, capture_output=True, timeout=120,
    )  # fmt: skip
    assert json.loads(done.stdout)["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"
