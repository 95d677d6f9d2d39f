"""Fault injection against real servers: after every fault the evidence must still add up.

Each test injects one fault (or two at once) into a gateway recording for real, clears it, and
then asks three questions: does `evgw verify` pass (AUTHENTIC or AUTHENTIC_WITH_DECLARED_GAPS),
does every declared gap name a reason, and did every sealed file and record reach the object
store exactly once (backlog 0, objects read back and compared with the sealed hashes)?
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.config import Config
from gateway.daemon.confine import READABLE_ENV
from gateway.daemon.lifecycle import Gateway
from gateway.wiring import index_path
from segments.index import Index
from segments.records import Record
from segments.store import StreamStore
from segments.verify import PASSING
from testbeds.mosquitto import MosquittoServer
from testbeds.rtsp import RtspTestServer
from testbeds.seaweedfs import SeaweedServer
from tests.support.mqtt_fixtures import Probe, settings_for
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config, media_path, records, wall
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, raw_client, unique_bucket
from tests.support.waiting import wait_until
from uplink.object_keys import media_key, record_key
from uplink.objectstore import ObjectStore
from uplink.settings import MqttSettings

pytestmark = [pytest.mark.integration, pytest.mark.faults]

SITE = "测试检查站"
GATEWAY = "gw-test"
CAMERA = "gate-1"
SMALL = "cam1:320x240@25"
FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
RESTART_TARGET_S = 5.0
CameraFactory = Callable[..., RtspTestServer]


# --- configuration and processes ----------------------------------------------------------


def upload_section(server: SeaweedServer, bucket: str) -> str:
    return (
        f'[upload]\nendpoint_url = "{server.endpoint_url}"\nbucket = "{bucket}"\n'
        f'access_key = "{ACCESS_KEY}"\nsecret_key = "{SECRET_KEY}"\nretention_days = 1\n'
    )


def mqtt_section(broker: MosquittoServer) -> str:
    return (
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\n'
        "health_interval_s = 2.0\nkeepalive_s = 5\n"
    )


def camera_config(tmp_path: Path, camera: RtspTestServer, extra: str, **kw: Any) -> Config:
    config = make_config(tmp_path, [Cam(CAMERA, camera.url("cam1"))], extra=extra, **kw)
    if config.upload is not None:
        ObjectStore(config.upload.store).ensure_bucket(object_lock=True)
    return config


def daemon(config: Config, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config.path)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# libfaketime's clock_nanosleep hook fails Python's time.sleep with EINVAL whenever
# FAKETIME_DONT_FAKE_MONOTONIC is set; a condition wait (what the daemon itself uses) works.
CLEAN_RUN = """
import sys, threading, time
from pathlib import Path
from gateway.config import load_config
from gateway.daemon.lifecycle import Gateway
time.sleep = lambda s: threading.Event().wait(s) and None
gateway = Gateway(load_config(Path(sys.argv[1])))
gateway.start()
time.sleep(float(sys.argv[2]))
gateway.stop(drain_s=60)
"""


def clean_run(config: Config, seconds: float, env: dict[str, str] | None = None) -> None:
    """A fresh daemon process that records `seconds`, stops cleanly and drains the backlog."""
    done = subprocess.run(
        [sys.executable, "-c", CLEAN_RUN, str(config.path), str(seconds)],
        cwd=REPO, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-3000:]


def sealed_count(config: Config) -> int:
    return len(records(config, CAMERA, "segment"))


def parts(config: Config) -> list[Path]:
    return StreamStore(config.gateway.data_dir, CAMERA).leftover_parts()


def writing_after_boot(config: Config, boots: int) -> Callable[[], bool]:
    """True once the `boots`-th boot is recorded and a segment is being written."""
    return lambda: len(records(config, CAMERA, "boot")) >= boots and bool(parts(config))


def gaps_at_least(config: Config, count: int) -> Callable[[], bool]:
    return lambda: len(gaps(config)) >= count


# --- the three questions --------------------------------------------------------------------


def verify_passes(config: Config) -> dict[str, Any]:
    """`evgw verify --json` passes and every declared gap carries a reason."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "verify", str(config.gateway.data_dir), "--json",
         "--pubkey", f"{config.keys.signing_key}.pub"],
        cwd=REPO, capture_output=True, timeout=120,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert report["verdict"] in PASSING, json.dumps(report, ensure_ascii=False)[:4000]
    assert done.returncode == 0
    for stream in report["streams"]:
        for finding in stream["findings"]:
            verdict = finding["verdict"]
            if verdict.startswith("GAP"):
                assert verdict not in ("GAP()", "GAP(unspecified)", "GAP(None)"), finding
    return report


def backlog(config: Config) -> int:
    index = Index.open(index_path(config))
    try:
        return index.backlog().count
    finally:
        index.close()


def assert_all_stored_once(config: Config, server: SeaweedServer) -> list[Record]:
    """Backlog 0; every record with a file is in the store with its sealed hash, exactly once."""
    assert backlog(config) == 0, "upload backlog left after the fault cleared"
    assert config.upload is not None
    bucket = config.upload.store.bucket
    client = raw_client(server)
    sealed = [r for r in records(config, CAMERA) if r.file]
    assert sealed
    for r in sealed:
        start = wall(r.start)
        key = media_key(SITE, GATEWAY, CAMERA, r.seq, start)
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == r.sha256_cipher, key
        assert len(body) == r.size_cipher, key
        meta = record_key(SITE, GATEWAY, CAMERA, r.seq, start)
        assert client.get_object(Bucket=bucket, Key=meta)["Body"].read() == r.to_json()
    versions = client.list_object_versions(Bucket=bucket).get("Versions", [])
    keys = [v["Key"] for v in versions]
    assert len(keys) == len(set(keys)), "an object was stored twice"
    return sealed


def gaps(config: Config) -> list[Record]:
    return records(config, CAMERA, "gap")


# --- (a) repeated SIGKILL -----------------------------------------------------------------


def test_repeated_sigkill_loses_nothing_and_recording_resumes_within_5_s(
    rtsp_server_factory: CameraFactory, seaweed: SeaweedServer, tmp_path: Path
) -> None:
    camera = rtsp_server_factory([SMALL])
    config = camera_config(
        tmp_path, camera, upload_section(seaweed, unique_bucket()), segment_seconds=4
    )
    kills, launched = 3, []
    for run in range(kills):
        launched.append(time.time())
        proc = daemon(config)
        try:
            wait_until("a segment being written", writing_after_boot(config, run + 1))
            time.sleep(1.0 + 0.5 * run)
            assert parts(config), "no segment was being written"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    launched.append(time.time())
    clean_run(config, seconds=6)

    ledger = records(config, CAMERA)
    assert [r.seq for r in ledger] == list(range(len(ledger))), "seq never skips or repeats"
    boots = [r for r in ledger if r.kind == "boot"]
    assert [b.reason for b in boots] == [None] + ["power_loss"] * kills
    truncated = [r for r in ledger if r.kind == "truncated"]
    assert len(truncated) == kills and all(r.reason == "power_loss" for r in truncated)
    assert not parts(config), "recovery sealed every leftover"
    # Restart to recording again: from Popen to the first frame of the next sealed file.
    media = [r for r in ledger if r.kind in ("segment", "truncated")]
    delays = []
    for t0 in launched[1:]:
        first = min(wall(r.start) for r in media if wall(r.start) >= t0)
        delays.append(first - t0)
    print(f"restart to recording after SIGKILL: {', '.join(f'{d:.2f} s' for d in delays)}")
    assert max(delays) <= RESTART_TARGET_S, delays
    report = verify_passes(config)
    assert report["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"
    assert_all_stored_once(config, seaweed)


# --- (b) camera flaps ---------------------------------------------------------------------


def test_camera_flaps_give_one_reasoned_gap_per_outage(
    rtsp_server_factory: CameraFactory, seaweed: SeaweedServer, tmp_path: Path
) -> None:
    camera = rtsp_server_factory([SMALL])
    config = camera_config(tmp_path, camera, upload_section(seaweed, unique_bucket()))
    outages = 3
    gateway = Gateway(config)
    gateway.start()
    try:
        wait_until("the first segment", lambda: sealed_count(config) >= 1)
        before = len(gaps(config))
        flaps_started = time.monotonic()
        for n in range(1, outages + 1):
            camera.kill()
            time.sleep(2.5)
            camera.start()
            wait_until(f"frames back after outage {n}", gaps_at_least(config, before + n))
            time.sleep(1.0)
        assert time.monotonic() - flaps_started <= 25
        after = sealed_count(config)
        wait_until("a segment after the last flap", lambda: sealed_count(config) > after)
    finally:
        gateway.stop(drain_s=60)

    found = gaps(config)[before:]
    assert len(found) == outages, [(g.reason, g.start, g.end) for g in found]
    for g in found:
        assert g.reason in ("camera_offline", "rtsp_timeout"), g.reason
        assert wall(g.end) - wall(g.start) >= 1.5, "the gap covers the outage"
    assert verify_passes(config)["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"
    assert_all_stored_once(config, seaweed)


# --- (c) broker and object store down together -------------------------------------------


def test_broker_and_store_outage_together_lose_nothing(
    rtsp_server_factory: CameraFactory,
    seaweed_factory: Callable[[], SeaweedServer],
    mosquitto_factory: Callable[[], MosquittoServer],
    probe_factory: Callable[[MqttSettings, list[str]], Probe],
    tmp_path: Path,
) -> None:
    camera = rtsp_server_factory([SMALL])
    store = seaweed_factory()
    broker = mosquitto_factory()
    extra = upload_section(store, unique_bucket()) + mqtt_section(broker)
    config = camera_config(tmp_path, camera, extra)
    gateway = Gateway(config)
    gateway.start()
    try:
        assert gateway.index is not None
        index = gateway.index
        wait_until("a confirmed segment", lambda: bool(index.confirmed_uploads()))
        broker.kill()
        store.kill()
        before = sealed_count(config)
        wait_until("segments sealed during the outage", lambda: sealed_count(config) >= before + 3)
        assert backlog(config) > 0, "the outage should hold uploads back"
        broker.start()
        store.start()
        root = f"evgw/{GATEWAY}"
        probe = probe_factory(settings_for(broker), [f"{root}/#"])
        probe.wait_for(
            lambda m: any(t == f"{root}/state" and p == b"online" for t, p, _ in m), timeout=20
        )
        probe.wait_for(
            lambda m: any(
                t == f"{root}/cameras/{CAMERA}/health" and json.loads(p)["recording"]
                for t, p, _ in m
            ),
            timeout=20,
        )
        wait_until("the backlog to drain", lambda: backlog(config) == 0, timeout=30)
    finally:
        gateway.stop(drain_s=60)

    reasons = [g.reason for g in gaps(config)]
    assert reasons == ["startup"], f"a network outage is no recording gap: {reasons}"
    assert verify_passes(config)["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"
    assert_all_stored_once(config, store)


# --- (d) disk full with stop_recording ----------------------------------------------------


def test_disk_full_pauses_with_a_gap_and_resumes_when_the_store_returns(
    rtsp_server_factory: CameraFactory, seaweed_factory: Callable[[], SeaweedServer], tmp_path: Path
) -> None:
    camera = rtsp_server_factory([SMALL])
    store = seaweed_factory()
    storage = '[storage]\nquota_bytes = 600_000\nmin_free_bytes = 0\non_full = "stop_recording"\n'
    config = camera_config(tmp_path, camera, upload_section(store, unique_bucket()) + storage)
    store.kill()
    gateway = Gateway(config)
    gateway.start()
    try:
        assert gateway.retention is not None
        retention = gateway.retention
        wait_until("disk full", retention.disk_full.is_set, timeout=40)
        assert gateway.facts().cameras[0].disk_paused, "camera health says it waits for space"
        paused = sealed_count(config)
        time.sleep(3)
        assert sealed_count(config) <= paused + 1, "recording should pause while the disk is full"
        assert not records(config, CAMERA, "purge"), "nothing confirmed, nothing to evict"
        store.start()
        wait_until("space again", lambda: not retention.disk_full.is_set(), timeout=40)
        assert not gateway.facts().cameras[0].disk_paused
        resumed = sealed_count(config)
        wait_until("recording again", lambda: sealed_count(config) > resumed + 1)
    finally:
        gateway.stop(drain_s=60)

    disk_gaps = [g for g in gaps(config) if g.reason == "disk_full"]
    assert len(disk_gaps) == 1 and wall(disk_gaps[0].end) > wall(disk_gaps[0].start)
    purges = records(config, CAMERA, "purge")
    assert purges and {p.reason for p in purges} == {"evicted_confirmed"}
    segs = {r.seq: r for r in records(config, CAMERA, "segment")}
    for p in purges:
        assert p.extra["sha256_cipher"] == segs[p.extra["seq"]].sha256_cipher
        assert not media_path(config, segs[p.extra["seq"]]).exists()
    assert verify_passes(config)["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"
    assert_all_stored_once(config, store)


# --- (e) wall-clock step ------------------------------------------------------------------


def faketime_env(offset_file: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LD_PRELOAD": str(FAKETIME_LIB),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_TIMESTAMP_FILE": str(offset_file),
        READABLE_ENV: str(offset_file),  # camera processes read nothing they are not told to
    }


@pytest.mark.skipif(
    not FAKETIME_LIB.exists(), reason="libfaketime missing: apt-get install faketime"
)
def test_wall_clock_steps_are_signed_and_verify(
    rtsp_server_factory: CameraFactory, seaweed: SeaweedServer, tmp_path: Path
) -> None:
    camera = rtsp_server_factory([SMALL])
    config = camera_config(tmp_path, camera, upload_section(seaweed, unique_bucket()))
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    env = faketime_env(offset)
    proc = daemon(config, env)
    try:
        wait_until("the first segment", lambda: sealed_count(config) >= 2)
        offset.write_text("+120\n")
        wait_until("a forward clock record", lambda: bool(records(config, CAMERA, "clock")))
        stepped = sealed_count(config)
        wait_until("segments after the step", lambda: sealed_count(config) >= stepped + 2)
        offset.write_text("+60\n")
        wait_until("a backward clock record", lambda: len(records(config, CAMERA, "clock")) >= 2)
        stepped = sealed_count(config)
        wait_until("segments after the step back", lambda: sealed_count(config) >= stepped + 2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        proc.kill()
    # Drain under the same fake clock, so the next boot does not look like a third step.
    clean_run(config, seconds=2, env=env)

    clocks = records(config, CAMERA, "clock")
    assert len(clocks) == 2 and all(c.reason == "clock_step" for c in clocks)
    steps = [c.extra["step_s"] for c in clocks]
    assert steps == [pytest.approx(120, abs=2), pytest.approx(-60, abs=2)], steps
    assert verify_passes(config)["verdict"] in PASSING
    assert_all_stored_once(config, seaweed)
