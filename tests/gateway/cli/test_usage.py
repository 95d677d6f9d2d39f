"""One error form and one exit-code table for every command: a usage mistake is exit 2 with
`evgw: error:`, never an evidence verdict; `find` and `export` agree on the same mistake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from evgw import exit_codes
from gateway.cli.main import build_parser, main
from gateway.config import Config
from tests.segments.sealed_stream import T0, Stream
from tests.support.recording import Cam, archive_identity, make_config

Capture = pytest.CaptureFixture[str]


def test_verify_export_of_a_folder_that_is_not_a_package_is_a_usage_error(
    tmp_path: Path, capsys: Capture
) -> None:
    (tmp_path / "out" / "case-7").mkdir(parents=True)
    (tmp_path / "out" / "case-7" / "MANIFEST.sha256").write_text("")
    assert main(["verify-export", str(tmp_path / "out")]) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"evgw: error: {tmp_path / 'out'} is not an export package (no ")
    assert f"pass the case folder inside it, e.g. {tmp_path / 'out' / 'case-7'}" in err
    assert "NOT_AUTHENTIC" not in err


def test_argparse_mistakes_use_the_same_prefix_and_exit_2(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["verify", "--no-such-flag", "x"])
    assert stop.value.code == exit_codes.USAGE
    err = capsys.readouterr().err.splitlines()
    assert err[-2] == "evgw: error: unrecognized arguments: --no-such-flag"
    assert err[-1].startswith("evgw: hint: `evgw") and err[-1].endswith("--help` lists the options")


def test_verbose_goes_before_or_after_the_command_and_help_shows_the_exit_codes() -> None:
    parser = build_parser(["status"])
    assert parser.parse_args(["-v", "status", "--config", "c"]).verbose is True
    assert parser.parse_args(["status", "--config", "c", "-v"]).verbose is True
    assert parser.parse_args(["status", "--config", "c"]).verbose is False
    archive = build_parser(["archive", "desk"])
    found = ["find", "--config", "c", "--gateway", "g", "--camera", "k", "--from", "a", "--to", "b"]
    assert archive.parse_args(["archive", *found, "-v"]).verbose is True
    assert archive.parse_args(["-v", "archive", "sync", "--config", "c"]).verbose is True
    assert archive.parse_args(["archive", "sync", "--config", "c"]).verbose is False
    assert archive.parse_args(
        ["desk", "useradd", "ann", "--role", "viewer", "--password-file", "f", "-v"]
    ).verbose
    sub = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for p in (parser, sub["status"], sub["verify"]):
        assert p.epilog == exit_codes.epilog() and "  4  partial" in p.epilog


@pytest.fixture
def recorded(tmp_path: Path) -> Config:
    config = make_config(tmp_path, [Cam("cam1", "rtsp://127.0.0.1:1/x")])
    stream = Stream(config.gateway.data_dir)
    stream.start()
    stream.segment()
    return config


def _at(offset_s: float) -> str:
    return (datetime.fromtimestamp(T0, UTC) + timedelta(seconds=offset_s)).isoformat()


@pytest.mark.parametrize(
    ("camera", "start", "end", "code"),
    [
        ("no-such-camera", -60, 600, exit_codes.USAGE),
        ("cam1", 600, -60, exit_codes.USAGE),  # the range ends before it starts
        ("cam1", -86400, -86000, exit_codes.NEGATIVE),  # nothing recorded in it
    ],
)
def test_find_and_export_agree_on_the_same_mistake(
    recorded: Config, tmp_path: Path, camera: str, start: float, end: float, code: int
) -> None:
    common = ["--config", str(recorded.path), "--camera", camera]
    common += ["--from", _at(start), "--to", _at(end)]
    identity = str(archive_identity(recorded))
    export = ["--identity", identity, "--case", "c-1", "--out", str(tmp_path / "out")]
    assert main(["find", *common]) == code
    assert main(["export", *common, *export]) == code


def test_find_shows_the_configured_zone_and_its_json_keeps_utc(
    recorded: Config, capsys: Capture
) -> None:
    argv = ["find", "--config", str(recorded.path), "--camera", "cam1"]
    argv += ["--from", _at(-60), "--to", _at(600)]
    main(argv)
    text = capsys.readouterr().out
    assert "times shown in Asia/Shanghai (the configured [gateway] timezone)" in text
    local = datetime.fromtimestamp(T0, UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"{local:%Y-%m-%d %H:%M}" in text and "+08:00" in text
    main([*argv, "--json"])
    found = json.loads(capsys.readouterr().out)
    assert all(s["start"].endswith("+00:00") for s in found["segments"])
