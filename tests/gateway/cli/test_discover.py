"""`evgw discover`: finds emulated cameras over loopback, lists failures, exits 0 or 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli import discover as discover_cmd
from gateway.cli.main import build_parser, main
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice
from tests.support.paths import REPO

pytestmark = pytest.mark.multicast


@pytest.fixture
def devices() -> Iterator[list[OnvifDevice]]:
    started = [
        OnvifDevice(
            DeviceConfig(
                default_profiles(f"rtsp://127.0.0.1:1/cam{i}", f"rtsp://127.0.0.1:1/sub{i}"),
                serial=f"DC-{i}",
                username="admin",
                password="pw" if i < 3 else "other",
            )
        ).start()
        for i in range(4)
    ]
    yield started
    for d in started:
        d.stop()


def test_discover_json_subprocess_finds_three_cameras(
    devices: list[OnvifDevice], tmp_path: Path
) -> None:
    (tmp_path / "pw").write_text("pw\n")
    command = [sys.executable, "-m", "gateway", "discover", "--address", "127.0.0.1", "--json"]
    command += ["--username", "admin", "--password-file", str(tmp_path / "pw"), "--timeout", "1.5"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = {r["endpoint"]: r for r in json.loads(done.stdout)}
    for d in devices[:3]:
        row = rows[d.config.uuid]
        assert row["error"] is None
        assert (row["serial"], row["model"], row["xaddr"]) == (d.config.serial, "SimCam-1", d.xaddr)
        assert row["address"] == f"127.0.0.1:{d.port}"
        assert row["stream_uri"] == d.config.profiles[1].uri and row["profile"] == "main"
        assert [p["token"] for p in row["profiles"]] == ["sub", "main"]
        assert abs(row["clock_offset_s"]) < 1.5
    bad = rows[devices[3].config.uuid]
    assert "refused the credentials" in bad["error"]


def test_table_lists_cameras_and_failures(devices: list[OnvifDevice], tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("pw\n")
    argv = ["discover", "--address", "127.0.0.1", "--timeout", "1.5", "--username", "admin"]
    args = build_parser().parse_args([*argv, "--password-file", str(tmp_path / "pw")])
    out = io.StringIO()
    assert discover_cmd.run(args, out) == 0
    text = out.getvalue()
    header = text.splitlines()[0].split()
    assert header == list(discover_cmd.COLUMNS)
    for d in devices[:3]:
        assert d.config.uuid in text and "sub:640x360@25, main:1280x720@25" in text
    assert f"not queryable: {devices[3].config.uuid}" in text


def test_no_camera_found_says_so() -> None:
    assert discover_cmd.render_table([]) == "no ONVIF cameras answered on this network\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["discover"], "give --interface IF or --address IP"),
        (["discover", "--address", "127.0.0.1", "--timeout", "0"], "--timeout must be"),
        (["discover", "--address", "127.0.0.1", "--password-file", "/x"], "needs --username"),
        (
            ["discover", "--address", "127.0.0.1", "--username", "u", "--password-file", "/nope"],
            "cannot read --password-file /nope",
        ),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_interface_and_address_are_exclusive() -> None:
    with pytest.raises(SystemExit) as info:
        main(["discover", "--interface", "lo", "--address", "127.0.0.1"])
    assert info.value.code == 2


def test_unknown_interface_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discover", "--interface", "nosuchif0"]) == 2
    assert "no IPv4 address" in capsys.readouterr().err
