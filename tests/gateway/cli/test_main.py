"""The command line as a user meets it: one error line and an exit code, never a traceback;
a court expert's commands load no video stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli.main import main
from testbeds.process import find_free_port
from tests.segments.sealed_stream import SIGNER, T0, Stream
from tests.segments.test_package_check import build
from tests.support.paths import REPO
from tests.support.recording import Cam, make_config

VIDEO_STACK = ("av", "numpy", "cv2", "PIL")


def evgw(*argv: object) -> subprocess.CompletedProcess[str]:
    """`evgw ARGV` in a fresh interpreter that reports, last, the video libraries it loaded."""
    code = (
        "import json, sys\n"
        "from gateway.cli.main import main\n"
        "try:\n"
        f"    code = main({[str(a) for a in argv]!r})\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        f"print(json.dumps([m for m in {VIDEO_STACK!r} if m in sys.modules]))\n"
        "sys.exit(code)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def loaded(done: subprocess.CompletedProcess[str]) -> list[str]:
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_verify_export_loads_no_video_stack(tmp_path: Path) -> None:
    package = build(tmp_path / "case-1", tmp_path / "data")
    trusted = ["--pubkey", SIGNER.public_key_text()]
    for argv in (["--help"], [package], [package, *trusted]):
        done = evgw("verify-export", *argv)
        assert loaded(done) == [], argv
    assert done.returncode == 0, done.stderr
    assert "verdict: AUTHENTIC" in done.stdout


def test_verify_loads_no_video_stack(tmp_path: Path) -> None:
    stream = Stream(tmp_path / "data")
    stream.start()
    stream.segment()
    stream.ledger.checkpoint()
    done = evgw("verify", tmp_path / "data", "--pubkey", SIGNER.public_key_text())
    assert done.returncode == 0, done.stderr
    assert loaded(done) == []


def test_a_bad_argument_is_one_line_with_exit_2(tmp_path: Path) -> None:
    done = evgw("verify-export", build(tmp_path / "case-1", tmp_path / "data"), "--pubkey", "x")
    assert done.returncode == 2
    assert done.stderr.startswith("evgw: error: --pubkey:")
    assert "Traceback" not in done.stderr


def _config_with_a_recording(tmp_path: Path, extra: str) -> Path:
    config = make_config(tmp_path, [Cam("cam1", "rtsp://127.0.0.1:1/x")], extra=extra)
    stream = Stream(config.gateway.data_dir)
    stream.start()
    stream.segment()
    return config.path


def test_find_from_a_central_store_that_is_down_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"http://127.0.0.1:{find_free_port()}"
    extra = (
        f'[upload]\nendpoint_url = "{store}"\nbucket = "evidence"\n'
        'access_key = "a"\nsecret_key = "s"\n'
    )
    path = _config_with_a_recording(tmp_path, extra)
    rc = main(["find", "--config", str(path), "--camera", "cam1", "--source", "central",
               "--from", f"@{T0}", "--to", f"@{T0 + 60}"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "--from" in err  # a time must be ISO 8601: the parser says which
    rc = main(["find", "--config", str(path), "--camera", "cam1", "--source", "central",
               "--from", "2026-11-27T06:00:00Z", "--to", "2026-11-27T06:01:00Z"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 3  # a runtime failure, not a verdict
    assert err.startswith("evgw: error: central store unreachable")
    assert store in err and "Traceback" not in err


def test_run_with_an_unloadable_mqtt_ca_stops_cleanly_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    extra = (
        f'[mqtt]\nhost = "127.0.0.1"\nport = {find_free_port()}\ntls = true\nca_file = "ca.pem"\n'
    )
    config = make_config(tmp_path, [Cam("cam1", "rtsp://127.0.0.1:1/x")], extra=extra)
    assert main(["run", "--config", str(config.path)]) == 2
    err = capsys.readouterr().err
    assert "evgw: error: invalid MQTT ca_file/cert_file/key_file" in err
    assert "Traceback" not in err
