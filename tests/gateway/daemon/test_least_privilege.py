"""A camera process holds no secret but its own camera's, and the fork server it comes from
none: not in its plan, its environment, its open files or its memory. Checked on a running
daemon with two cameras, S3 and MQTT, each with a distinctive secret, and the device key
passed as a systemd credential.

The memory scan has positive controls: each camera process must hold its own camera's
password, and the daemon the device key's private bytes. A scan that finds nothing proves
nothing.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.config import Config
from gateway.daemon.child_protocol import CameraJob
from gateway.keys import CREDENTIALS_ENV, DEVICE_KEY_NAME
from gateway.wiring import camera_plans
from segments.agekeys import parse_recipient
from testbeds.mosquitto import MosquittoServer
from testbeds.seaweedfs import SeaweedServer
from tests.conftest import RtspServerFactory
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config, records
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

CAM_A_PW = "CamA-Secret-91f3e7c2"
CAM_B_PW = "CamB-Secret-5d08ab44"
S3_ACCESS = "LPaccess7Q2xK9"
S3_SECRET = "S3-Secret-c0ffee1234abcd"
MQTT_PW = "Mqtt-Secret-7e2b19aa"
DISCOVERY_PW = "Disco-Secret-44aa0b1c"
SKIPPED_MAPPINGS = ("[vvar]", "[vvar_vclock]", "[vsyscall]")


@dataclass(frozen=True)
class Secrets:
    """Every secret of the gateway, as the bytes a memory or file scan looks for."""

    values: dict[str, bytes]

    def of_others(self, camera: str) -> dict[str, bytes]:
        own = {"gate-a": "camera gate-a", "gate-b": "camera gate-b"}[camera]
        return {k: v for k, v in self.values.items() if k != own}

    def found_in(self, data: bytes, names: dict[str, bytes]) -> set[str]:
        return {name for name, value in names.items() if value in data}


@pytest.fixture
def gateway_config(
    rtsp_server_factory: RtspServerFactory, tmp_path: Path
) -> Iterator[tuple[Config, Secrets]]:
    cam_a = rtsp_server_factory(["cam1:320x240@25"], "gate-a-user", CAM_A_PW)
    cam_b = rtsp_server_factory(["cam1:320x240@25"], "gate-b-user", CAM_B_PW)
    store = SeaweedServer(tmp_path / "seaweed", S3_ACCESS, S3_SECRET).start()
    broker = MosquittoServer(tmp_path / "mosquitto", users={"gw-mqtt": MQTT_PW}).start()
    try:
        secret_dir = tmp_path / "etc"
        secret_dir.mkdir()
        (secret_dir / "s3.secret").write_text(S3_SECRET + "\n")
        (secret_dir / "mqtt.pass").write_text(MQTT_PW + "\n")
        extra = f"""
[discovery]
username = "discovery-user"
password = "{DISCOVERY_PW}"
[upload]
endpoint_url = "{store.endpoint_url}"
bucket = "least-privilege"
access_key = "{S3_ACCESS}"
secret_key_file = "{secret_dir / "s3.secret"}"
[mqtt]
host = "{broker.host}"
port = {broker.port}
username = "gw-mqtt"
password_file = "{secret_dir / "mqtt.pass"}"
"""
        cams = [
            Cam("gate-a", cam_a.url("cam1", with_credentials=False), username="gate-a-user",
                password=CAM_A_PW),
            Cam("gate-b", cam_b.url("cam1", with_credentials=False), username="gate-b-user",
                password=CAM_B_PW),
        ]  # fmt: skip
        config = make_config(tmp_path, cams, extra=extra)
        yield config, secrets(config)
    finally:
        broker.stop()
        store.stop()


def secrets(config: Config) -> Secrets:
    pem = config.keys.signing_key.read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    pem_body = pem.splitlines()[1]
    return Secrets(
        {
            "camera gate-a": CAM_A_PW.encode(),
            "camera gate-b": CAM_B_PW.encode(),
            "S3 access key": S3_ACCESS.encode(),
            "S3 secret key": S3_SECRET.encode(),
            "MQTT password": MQTT_PW.encode(),
            "[discovery] password": DISCOVERY_PW.encode(),
            "device key (raw private bytes)": raw,
            "device key (PEM)": pem_body,
        }
    )


def test_each_plan_holds_its_own_camera_s_secret_and_nothing_else(
    gateway_config: tuple[Config, Secrets],
) -> None:
    config, found = gateway_config
    recipients = [parse_recipient(r) for r in config.keys.recipients]
    for plan in camera_plans(config, recipients, "boot-1"):
        pickled = pickle.dumps(CameraJob(plan, 0.0))
        camera = plan.camera.id
        assert found.found_in(pickled, found.values) == {f"camera {camera}"}
        assert str(config.keys.signing_key).encode() not in pickled
        assert DEVICE_KEY_NAME.encode() not in pickled
        assert str(config.path).encode() not in pickled


def test_a_running_camera_process_holds_no_secret_but_its_own(
    gateway_config: tuple[Config, Secrets], tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip(
            "reading another process's memory needs root: camera processes are not dumpable"
        )
    config, found = gateway_config
    credentials = tmp_path / "credentials"  # as systemd's LoadCredential= leaves it
    credentials.mkdir(mode=0o700)
    shutil.move(config.keys.signing_key, credentials / DEVICE_KEY_NAME)
    env = {**os.environ, CREDENTIALS_ENV: str(credentials)}
    log = tmp_path / "daemon.log"
    with open(log, "wb") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(config.path)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(
            "both cameras seal a segment",
            lambda: all(records(config, c, "segment") for c in ("gate-a", "gate-b")),
            90,
        )
        processes = descendants(daemon.pid)
        children = {n: p for n, p in processes.items() if n.startswith("cam-")}
        assert sorted(children) == ["cam-gate-a", "cam-gate-b"]
        forkserver = processes["evgw-forkserver"]  # every camera process is forked from it
        assert found.found_in(environ(forkserver), found.values) == set()
        assert found.found_in(memory(forkserver), found.values) == set()
        assert found.found_in(memory(daemon.pid), found.values) >= {
            "device key (raw private bytes)", "S3 secret key", "MQTT password",
        }, "the scan finds what the daemon holds"  # fmt: skip
        for name, pid in children.items():
            camera = name.removeprefix("cam-")
            others = found.of_others(camera)
            assert found.found_in(environ(pid), found.values) == set()
            assert CREDENTIALS_ENV.encode() not in environ(pid)
            for target, content in open_files(pid):
                assert target.startswith(str(config.gateway.data_dir / "streams" / camera))
                assert target.endswith(".part"), target
                assert found.found_in(content, found.values) == set()
            held = found.found_in(memory(pid), found.values)
            assert f"camera {camera}" in held, "the scan finds the process's own password"
            assert held & set(others) == set(), f"{camera} holds {held & set(others)}"
    finally:
        daemon.terminate()
        daemon.wait(60)
    output = log.read_text()
    assert output.count("camera process confined (Landlock") == 2 or "not confined" in output


def descendants(pid: int) -> dict[str, int]:
    """The processes under the daemon (its camera fork server, the camera processes) by name.
    Threads and processes that end while they are read (upload workers come and go) are
    skipped."""
    found = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        for child in _proc_text(task / "children").split():
            name = _proc_text(Path(f"/proc/{child}/comm")).strip()
            if name:
                found[name] = int(child)
                found.update(descendants(int(child)))
    return found


def _proc_text(path: Path) -> str:
    try:
        return path.read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def environ(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


def open_files(pid: int) -> Iterator[tuple[str, bytes]]:
    """(path, content) of every file the process opened (not the standard streams it was
    given: the journal under systemd, the test's log here)."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        if int(fd.name) <= 2:
            continue
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue  # closed meanwhile
        if target.startswith("/") and not target.startswith("/dev/"):
            try:
                yield target, fd.read_bytes()
            except FileNotFoundError:
                continue  # sealed and renamed meanwhile: it held a .part


def memory(pid: int) -> bytes:
    """Every readable mapping of the process, concatenated (a few hundred MB at most)."""
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            if fields[1][0] != "r" or (len(fields) > 5 and fields[5] in SKIPPED_MAPPINGS):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except (OSError, OverflowError, ValueError):
                continue
    return b"\0".join(c for c in chunks if c)
