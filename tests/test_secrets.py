"""Secrets never reach an output: a full run with every kind of credential, then every output
(daemon log, every command's stdout and stderr, every text file in the data dir, the index)
is searched for them.

The credentials are distinctive strings; a wrong camera password provokes the error paths
(authentication failures are logged and reported) that would most tempt a message to echo it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbeds.mosquitto import MosquittoServer
from testbeds.seaweedfs import SeaweedServer
from tests.conftest import RtspServerFactory
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config, records
from tests.support.seaweed import SECRET_KEY, unique_bucket, upload_section
from tests.support.waiting import wait_until
from uplink.objectstore import ObjectStore

pytestmark = pytest.mark.integration

RTSP_PW = "rtsp-Pw-7f3a9c"
WRONG_PW = "wrong-Pw-51d2e8"
MQTT_PW = "mqtt-Pw-c09b44"
SECRETS = (RTSP_PW, WRONG_PW, MQTT_PW, SECRET_KEY)


def _evgw(*argv: object) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *map(str, argv)],
        cwd=REPO, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    return done.stdout + done.stderr


def test_no_secret_in_any_output(
    rtsp_server_factory: RtspServerFactory,
    seaweed: SeaweedServer,
    mosquitto_factory: type[MosquittoServer],
    tmp_path: Path,
) -> None:
    camera = rtsp_server_factory(["cam1:320x240@25"], "viewer", RTSP_PW)
    broker = mosquitto_factory(users={"gw": MQTT_PW})
    for name, secret in (("good", RTSP_PW), ("bad", WRONG_PW), ("mqtt", MQTT_PW)):
        (tmp_path / f"{name}.pass").write_text(secret + "\n")
    mqtt = (
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nusername = "gw"\n'
        f'password_file = "{tmp_path / "mqtt.pass"}"\nhealth_interval_s = 1.0\n'
    )
    config = make_config(
        tmp_path,
        [Cam(name, f"rtsp://127.0.0.1:{camera.port}/cam1") for name in ("good", "bad")],
        extra=upload_section(seaweed, unique_bucket()) + mqtt,
    )
    text = config.path.read_text()
    for name in ("good", "bad"):
        entry = f'id = "{name}"\n'
        auth = f'username = "viewer"\npassword_file = "{tmp_path / f"{name}.pass"}"\n'
        text = text.replace(entry, entry + auth)
    config.path.write_text(text)
    assert config.upload is not None
    ObjectStore(config.upload.store).ensure_bucket(object_lock=True)

    daemon = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config.path)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_until("two sealed segments", lambda: len(records(config, "good", "segment")) >= 2, 90)
    finally:
        daemon.send_signal(signal.SIGTERM)
        log, _ = daemon.communicate(timeout=120)
    assert "bad: " in log and "auth_failed" in log  # the error path ran

    start = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime())
    outputs = {
        "daemon log": log,
        "status": _evgw("status", "--config", config.path, "--json"),
        "verify": _evgw("verify", config.gateway.data_dir),
        "find": _evgw(
            "find",
            "--config",
            config.path,
            "--camera",
            "good",
            "--from",
            start,
            "--to",
            "2099-01-01T00:00:00Z",
            "--source",
            "central",
        ),
        "monitor": _evgw(
            "monitor",
            "--broker",
            f"127.0.0.1:{broker.port}",
            "--once",
            "--username",
            "gw",
            "--password-file",
            tmp_path / "mqtt.pass",
        ),
    }
    for path in config.gateway.data_dir.rglob("*"):
        if path.is_file() and not path.name.endswith((".age", ".part")):
            outputs[str(path)] = path.read_bytes().decode("utf-8", "replace")
    leaks = [(where, s) for where, out in outputs.items() for s in SECRETS if s in out]
    assert leaks == []
    assert "verdict:" in outputs["verify"] and "gateway" in outputs["monitor"].lower()
