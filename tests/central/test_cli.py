"""`evgw archive sync` as an operator meets it: summary, --json, exit codes, one error line;
and the gateway's command line reaches the archive only by module path."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from evgw import progress
from gateway.cli.main import COMMANDS, ELSEWHERE, main
from testbeds.seaweedfs import SeaweedServer
from tests.central.boxes import SITE, Box, central_toml
from tests.support.paths import REPO
from tests.support.seaweed import raw_client, settings_for, unique_bucket
from uplink.object_keys import record_key
from uplink.objectstore import ObjectStore


def test_the_gateway_loads_no_archive_code_until_asked() -> None:
    code = (
        "import sys\n"
        "from gateway.cli.main import build_parser\n"
        "build_parser(['verify', 'status'])\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'central', 'sqlalchemy'}))\n"
        "build_parser(['archive'])\n"
        "print('central.cli.sync' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["[]", "True"], done.stderr


def test_commands_elsewhere_are_named_by_path_and_listed() -> None:
    for name, path in ELSEWHERE.items():
        assert name in COMMANDS and path.startswith("central.")
        module = importlib.import_module(path)
        assert callable(module.add_arguments) and callable(module.run)


@pytest.mark.integration
def test_sync_reports_clean_then_an_overwrite(
    tmp_path: Path,
    seaweed: SeaweedServer,
    catalogue_url: URL,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = ObjectStore(settings_for(seaweed, unique_bucket()))
    store.ensure_bucket(object_lock=True)
    box = Box(tmp_path)
    box.record(4)
    box.upload(store)
    url = catalogue_url.render_as_string(hide_password=False)
    config = central_toml(
        tmp_path, seaweed.endpoint_url, store.settings.bucket, url, {"gw-1": box.public_key}
    )
    assert main(["archive", "sync", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "1 gateway (1 audited: listed whole): listed 9 object versions, 9 new, fetched 5" in out
    assert "catalogued 4 records and 1 checkpoint; 1 checkpoint newly consistent" in out
    assert "findings: none" in out
    first = box.records[0]
    assert first.start_ts is not None
    key = record_key(SITE, box.gateway, box.stream, 0, first.start_ts)
    raw_client(seaweed).put_object(Bucket=store.settings.bucket, Key=key, Body=first.to_json())
    assert main(["archive", "sync", "--config", str(config), "--json", "--audit"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["new_versions"] == 1 and report["counts"]["fetched"] == 1
    assert [(f["kind"], f["key"], f["new"]) for f in report["findings"]] == [
        ("overwrite", key, True)
    ]
    assert main(["archive", "sync", "--config", str(config), "--gateway", "gw-9,gw-1"]) == 1
    out = capsys.readouterr().out
    assert "1 gateway: listed" in out
    assert "findings: 1 open (0 new), 0 resolved" in out and "overwrite attempt" in out
    nowhere = ["--gateway", "gw-9", "--gateway", "gw-8"]
    assert main(["archive", "sync", "--config", str(config), *nowhere]) == 0
    assert "no objects of gateway gw-9, gw-8" in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:
        main(["archive", "sync", "--config", str(config), "--gateway", "gw-1,"])
    assert usage.value.code == 2 and "an empty gateway name" in capsys.readouterr().err
    resolving_the_finding_ends_exit_1(config, report["findings"][0]["id"], capsys)
    box.close()


def resolving_the_finding_ends_exit_1(
    config: Path, finding: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def resolve(*ids: str) -> int:
        note = ["--operator", "王科长", "--note", "test re-upload by the installer, see ticket 7"]
        return main(["archive", "resolve", "--config", str(config), *ids, *note])

    assert resolve("0000000000") == 2
    assert "no finding 0000000000" in capsys.readouterr().err
    assert resolve("xyz") == 2 and "not a finding id" in capsys.readouterr().err
    assert resolve(finding[:8]) == 0
    assert f"resolved #{finding} by 王科长" in capsys.readouterr().out
    assert resolve(finding) == 2 and "resolved already" in capsys.readouterr().err
    assert main(["archive", "sync", "--config", str(config), "--json"]) == 0
    (kept,) = json.loads(capsys.readouterr().out)["findings"]
    assert kept["kind"] == "overwrite" and kept["resolved"]["operator"] == "王科长"
    assert main(["archive", "sync", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "findings: 0 open (0 new), 1 resolved" in out
    assert f"#{finding} resolved overwrite" in out and "ticket 7" in out


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.integration
def test_a_terminal_sees_progress_per_gateway(
    tmp_path: Path, seaweed: SeaweedServer, catalogue_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ObjectStore(settings_for(seaweed, unique_bucket()))
    store.ensure_bucket(object_lock=True)
    box = Box(tmp_path)
    box.record(2)
    box.upload(store)
    url = catalogue_url.render_as_string(hide_password=False)
    config = central_toml(
        tmp_path, seaweed.endpoint_url, store.settings.bucket, url, {"gw-1": box.public_key}
    )
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(progress, "REFRESH_S", 0.0)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["archive", "sync", "--config", str(config)]) == 0
    assert terminal.getvalue().endswith("\rsyncing gw-1: 100% of 4 new objects\n")
    box.close()


def test_a_config_mistake_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "central.toml"
    path.write_text("[store]\nendpoint_url = 'http://127.0.0.1:1'\n", encoding="utf-8")
    assert main(["archive", "sync", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"evgw: error: {path}: [store] bucket: missing required key"]
