"""`evgw run` as a process: clean stop on SIGTERM, crash recovery after SIGKILL, refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.config import Config
from segments.ledger import read_checkpoints
from segments.store import StreamStore
from testbeds.rtsp import RtspTestServer
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config, records

pytestmark = pytest.mark.integration


def start_daemon(config: Config) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config.path)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for_segments(config: Config, camera: str, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(records(config, camera, "segment")) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} segments after {timeout} s")


def parts(config: Config, camera: str) -> list[Path]:
    return StreamStore(config.gateway.data_dir, camera).leftover_parts()


def test_sigterm_seals_everything_and_checkpoints(rtsp_server: RtspTestServer, tmp_path) -> None:
    config = make_config(tmp_path, [Cam("gate-1", rtsp_server.url("cam1"))])
    proc = start_daemon(config)
    try:
        wait_for_segments(config, "gate-1", 1)
        time.sleep(0.7)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, proc.stderr.read().decode() if proc.stderr else ""
    finally:
        proc.kill()
    assert not parts(config, "gate-1"), "a clean stop leaves no partial files"
    ledger = records(config, "gate-1")
    assert ledger[-1].kind == "segment"
    root = StreamStore(config.gateway.data_dir, "gate-1").root
    assert read_checkpoints(root)[-1].size == len(ledger), "final checkpoint covers every record"


def test_sigkill_mid_segment_is_recovered_as_truncated(
    rtsp_server: RtspTestServer, tmp_path
) -> None:
    config = make_config(tmp_path, [Cam("gate-1", rtsp_server.url("cam1"))], segment_seconds=10)
    kills = 3
    for run in range(kills):
        proc = start_daemon(config)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (
                len(records(config, "gate-1", "boot")) > run and parts(config, "gate-1")
            ):
                time.sleep(0.1)
            time.sleep(1.0)
            assert parts(config, "gate-1"), "no segment was being written"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
    sealed_before = len(records(config, "gate-1", "segment"))
    proc = start_daemon(config)
    try:
        wait_for_segments(config, "gate-1", sealed_before + 1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        proc.kill()

    ledger = records(config, "gate-1")
    assert [r.seq for r in ledger] == list(range(len(ledger))), "seq never skips or repeats"
    truncated = [r for r in ledger if r.kind == "truncated"]
    boots = [r for r in ledger if r.kind == "boot"]
    assert len(truncated) == kills
    assert [b.reason for b in boots] == [None] + ["power_loss"] * kills
    store = StreamStore(config.gateway.data_dir, "gate-1")
    for r in truncated:
        assert r.reason == "power_loss" and r.sha256_cipher and r.file
        assert (store.root / r.file).stat().st_size == r.size_cipher
    assert not parts(config, "gate-1"), "recovery sealed every leftover"


def test_refuses_to_start_beside_an_age_identity(rtsp_server: RtspTestServer, tmp_path) -> None:
    config = make_config(tmp_path, [Cam("gate-1", rtsp_server.url("cam1"))])
    keys = config.keys.signing_key.parent
    (keys / "oops.txt").write_text((tmp_path / "archive" / "archive.agekey").read_text())
    proc = start_daemon(config)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "oops.txt holds an age identity" in err.decode()
    assert not records(config, "gate-1")


def test_bad_config_fails_with_file_key_and_reason(tmp_path) -> None:
    path = tmp_path / "evgw.toml"
    path.write_text('[gateway]\nid = "gw"\nsite = "s"\ndata_dir = "d"\ntimezone = "Mars/Base"\n')
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "run", "--config", str(path)],
        cwd=REPO,
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert f"{path}: [gateway] timezone: unknown time zone 'Mars/Base'" in done.stderr.decode()


def test_missing_signing_key_names_keygen(rtsp_server: RtspTestServer, tmp_path) -> None:
    config = make_config(tmp_path, [Cam("gate-1", rtsp_server.url("cam1"))])
    os.unlink(config.keys.signing_key)
    proc = start_daemon(config)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "evgw keygen --out" in err.decode()
