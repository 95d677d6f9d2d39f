"""`evgw check` and `evgw run --check`: every problem before recording, one line each, exit 2;
`evgw --version`; `status` and `find` create nothing and refuse a data dir that is not there."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.config import load_config
from gateway.keys import make_archive_identity, make_device_key
from gateway.preflight.online import online_problems
from segments.index import Index
from testbeds.mosquitto import MosquittoServer
from testbeds.process import find_free_port
from testbeds.seaweedfs import SeaweedServer
from tests.gateway.config.sample import CONFIG_DIR, RECIPIENT
from tests.support.mqtt_fixtures import MosquittoFactory
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, settings_for, unique_bucket
from uplink.objectstore import ObjectStore

EXAMPLE = CONFIG_DIR / "evgw.example.toml"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="takes the service user's ids: needs root")


def gateway_file(folder: Path, data_dir: Path, key: Path, extra: str = "") -> Path:
    path = folder / "evgw.toml"
    path.write_text(
        f'[gateway]\nid = "gw-1"\nsite = "s"\ndata_dir = "{data_dir}"\n'
        f'[location]\nname = "l"\n'
        f'[keys]\nsigning_key = "{key}"\nrecipients = ["{RECIPIENT}"]\n'
        f'[[cameras]]\nid = "gate-1"\nrtsp = "rtsp://127.0.0.1:9/x"\noverlay = "passthrough"\n'
        f"enabled = false\n{extra}",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def box() -> Iterator[Path]:
    """A folder every user may pass through (pytest's own is root's 0700), as /etc and /var."""
    folder = Path(tempfile.mkdtemp(prefix="evgw-check-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_untouched_example_lists_every_placeholder_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--config", str(EXAMPLE)]) == 2
    lines = capsys.readouterr().err.splitlines()
    for key in ("[keys] recipients", "[upload] endpoint_url", "[mqtt] host", "cameras[0].rtsp"):
        assert any(line.startswith(f"{EXAMPLE}: {key}: still the example") for line in lines)
    assert lines[-1] == f"evgw check: {len(lines) - 1} problem(s) in {EXAMPLE}"


@as_root
def test_every_setup_mistake_is_one_line(box: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, _ = make_device_key(box / "keys")
    key.chmod(0o644)
    data = box / "data"
    data.mkdir(mode=0o755)  # root's: the service user cannot write it
    make_archive_identity(data)  # and a decryption key where a thief would find it
    config = gateway_file(box, data, key)
    argv = ["--config", str(config), "--service-user", "nobody"]
    assert main(["run", "--check", *argv]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == (
        f"{config}: [keys] signing_key: {key}: signing key is accessible by group/others "
        f"(mode 0644); run `chmod 600 {key}`"
    )
    assert lines[1].startswith(f"{data / 'archive.agekey'} holds an age identity")
    assert lines[2] == (
        f"{config}: [gateway] data_dir: {data} is not writable by the service user nobody "
        "(checked as nobody (the kernel's access check, run as root)); mkdir -p "
        f"{data} && chown nobody: {data} && chmod 750 {data}"
    )
    assert lines[3:] == [f"evgw check: 3 problem(s) in {config}"]


@as_root
def test_a_file_that_does_not_validate_still_gets_the_box_checked(
    box: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One run lists the config's problems and the box's; fixing them all leaves none new."""
    data = box / "data"
    config = gateway_file(box, data, box / "keys" / "device.ed25519")
    config.write_text(config.read_text().replace(RECIPIENT, "age1typo"))
    argv = ["check", "--config", str(config), "--service-user", "nobody"]
    assert main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[1] for line in lines[:-1]] == [
        "[keys] recipients",
        "[keys] signing_key",
        "[gateway] data_dir",
    ]
    assert lines[1].endswith(f"does not exist; create it with `evgw keygen --out {box / 'keys'}`")
    assert f"does not exist and {box} is not writable by the service user nobody" in lines[2]
    assert lines[-1] == f"evgw check: 3 problem(s) in {config}"

    config.write_text(config.read_text().replace("age1typo", RECIPIENT))
    make_device_key(box / "keys")
    data.mkdir()
    shutil.chown(data, "nobody")
    assert main(argv) == 0
    assert capsys.readouterr().err == ""


def test_a_file_that_is_not_toml_is_one_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "evgw.toml"
    config.write_text('[gateway\nid = "gw-1"\n')
    assert main(["check", "--config", str(config), "--online", "--service-user", "nobody"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "evgw check: --online: not run until the configuration is valid"
    assert err[1].startswith(f"{config}: ")
    assert err[2:] == [f"evgw check: 1 problem(s) in {config}"]


@as_root
def test_a_ready_box_passes(box: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, _ = make_device_key(box / "keys")
    data = box / "data"
    data.mkdir()
    shutil.chown(data, "nobody")
    config = gateway_file(box, data, key)
    assert main(["check", "--config", str(config), "--service-user", "nobody"]) == 0
    assert capsys.readouterr().out == f"evgw check: {config}: no problem found\n"


def test_version_comes_from_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("evgw 0.")


def test_status_of_a_mistyped_data_dir_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = gateway_file(tmp_path, tmp_path / "dat", tmp_path / "k")
    assert main(["status", "--config", str(config)]) == 2
    assert f"{config}: [gateway] data_dir: {tmp_path / 'dat'} does not exist" in (
        capsys.readouterr().err
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evgw.toml"]


def test_status_reads_the_index_without_touching_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    config = gateway_file(tmp_path, data, tmp_path / "k")
    assert main(["status", "--config", str(config)]) == 0
    assert "no index yet" in capsys.readouterr().out
    assert list(data.iterdir()) == []
    Index.open(data / "index.sqlite3").close()
    before = {p.name: p.stat().st_mtime_ns for p in data.iterdir()}
    assert main(["status", "--config", str(config)]) == 0
    assert "gateway gw-1" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in data.iterdir()} == before


def test_online_store_denies_a_wrong_secret(seaweed: SeaweedServer, tmp_path: Path) -> None:
    bucket = unique_bucket()
    ObjectStore(settings_for(seaweed, bucket)).ensure_bucket(object_lock=False)
    upload = f'[upload]\nendpoint_url = "{seaweed.endpoint_url}"\nbucket = "{bucket}"\n'
    good = gateway_file(tmp_path, tmp_path, tmp_path / "k", upload)
    good.write_text(
        good.read_text() + f'access_key = "{ACCESS_KEY}"\nsecret_key = "{SECRET_KEY}"\n'
    )
    assert online_problems(load_config(good), 5.0) == []
    good.write_text(good.read_text().replace(SECRET_KEY, "wrong-secret"))
    (problem,) = online_problems(load_config(good), 5.0)
    assert problem.startswith(f"{good}: [upload] bucket: central store denied checking the bucket")


def test_online_broker_refuses_a_wrong_password(
    mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    broker: MosquittoServer = mosquitto_factory(users={"gw-1": "right"})
    mqtt = f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\nusername = "gw-1"\n'
    config = gateway_file(tmp_path, tmp_path, tmp_path / "k", mqtt + 'password = "right"\n')
    assert online_problems(load_config(config), 5.0) == []
    config.write_text(config.read_text().replace('"right"', '"wrong"'))
    assert online_problems(load_config(config), 5.0) == [
        f"{config}: [mqtt]: not authorised: check username/password_file "
        f"(broker {broker.host}:{broker.port})"
    ]


def test_online_camera_that_does_not_answer(tmp_path: Path) -> None:
    port = find_free_port()
    config = gateway_file(tmp_path, tmp_path, tmp_path / "k")
    config.write_text(config.read_text().replace("127.0.0.1:9/x", f"127.0.0.1:{port}/x"))
    config.write_text(config.read_text().replace("enabled = false", "enabled = true"))
    (problem,) = online_problems(load_config(config), 2.0)
    assert problem.startswith(
        f"{config}: cameras[0] (gate-1): RTSP rtsp://127.0.0.1:{port}/x unreachable: "
    )
