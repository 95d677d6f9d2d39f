"""The declared-once mapper: a key's annotation, default, check and secrecy drive validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest

from evgw.config import checks
from evgw.config.fields import (
    INTEGER,
    NUMBER,
    PATH,
    STRING,
    STRINGS,
    Scope,
    keys,
    read_table,
    setting,
    table,
)
from evgw.errors import ConfigError
from gateway.config import LedgerConfig, RecordingConfig, config_from_mapping, load_config
from tests.gateway.config.sample import (
    FAKE,
    VALID_TEXT,
    base,
    error_of,
    with_camera,
    with_section,
)

# -- key and type errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {**base(), "recordings": {}},
            "recordings: unknown key (did you mean recording?)",
        ),
        (
            with_section("recording", segmnet_seconds=30),
            "[recording] segmnet_seconds: unknown key (did you mean segment_seconds?)",
        ),
        (
            with_camera(pasword="x"),
            "cameras[0].pasword: unknown key (did you mean password?)",
        ),
        (
            with_section("location", zzz=1),
            "[location] zzz: unknown key (allowed: name, lat, lon)",
        ),
        (
            with_section("recording", crf="23"),
            "[recording] crf: must be an integer, got '23'",
        ),
        (
            with_section("recording", segment_seconds=True),
            "[recording] segment_seconds: must be an integer, got boolean true",
        ),
        (
            with_section("gateway", site=["a"]),
            "[gateway] site: must be a string, got array ['a']",
        ),
        (
            with_camera(enabled="yes"),
            "cameras[0].enabled: must be a boolean (true or false), got 'yes'",
        ),
        (
            {**base(), "gateway": "gw-1"},
            "[gateway]: must be a table ([gateway]), got 'gw-1'",
        ),
        (
            {k: v for k, v in base().items() if k != "location"},
            "[location]: missing required section",
        ),
        (
            {**base(), "gateway": {"site": "x", "data_dir": "/d"}},
            "[gateway] id: missing required key",
        ),
        (
            {**base(), "cameras": [{"id": "gate-1"}]},
            "cameras[0]: set exactly one of rtsp (a stream URL), onvif (the camera's ONVIF "
            "device service URL) or serial (a camera found by discovery)",
        ),
        (
            with_section("gateway", site="  "),
            "[gateway] site: must not be empty",
        ),
    ],
)
def test_key_and_type_errors(data: dict[str, Any], expected: str) -> None:
    assert error_of(data) == f"{FAKE}: {expected}"


def test_unknown_key_in_file_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "evgw.toml"
    path.write_text(VALID_TEXT + "\n[recording]\nsegmnet_seconds = 30\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: [recording] segmnet_seconds: unknown key (did you mean segment_seconds?)"
    )


def test_wrong_password_type_is_not_echoed() -> None:
    message = error_of(with_camera(password=987654321))
    assert message == f"{FAKE}: cameras[0].password: must be a string, got integer"


@table
class Probe:
    where: Path = setting(help="Where it goes.", example="probe/out")
    count: int = setting(default=3, help="How many.", check=checks.int_range(1, 5))
    mode: Literal["fast", "safe"] = setting(default="safe", help="How.")
    ratio: float = setting(default=0.5, help="How much.", check=checks.float_range(0, 1))
    names: tuple[str, ...] = setting(default=(), help="Which.")
    token: str | None = setting(default=None, help="A secret.", example="t0ken", secret=True)


SCOPE = Scope(Path("/etc/evgw/probe.toml"), "[probe]", " ")


def probe_error(**raw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        read_table(SCOPE, {"where": "out", **raw}, Probe)
    return str(info.value)


def test_declarations_give_kind_default_and_rule() -> None:
    declared = {key.name: key for key in keys(Probe)}
    assert list(declared) == ["where", "count", "mode", "ratio", "names", "token"]
    assert declared["where"].required and declared["where"].kind is PATH
    assert (declared["count"].kind, declared["count"].default) == (INTEGER, 3)
    assert declared["count"].rule == "1..5"
    assert (declared["mode"].kind, declared["mode"].rule) == (STRING, "one of fast, safe")
    assert declared["ratio"].kind is NUMBER and declared["names"].kind is STRINGS
    assert declared["token"].setting.secret and declared["token"].default is None
    assert declared["count"].setting.help == "How many."


def test_defaults_come_from_the_declarations_and_values_keep_their_checked_form() -> None:
    assert read_table(SCOPE, {"where": "out"}, Probe) == Probe(where=Path("/etc/evgw/out"))
    probe = read_table(SCOPE, {"where": "/x", "ratio": 1, "names": ["a"]}, Probe)
    assert probe.ratio == 1.0 and isinstance(probe.ratio, float)
    assert probe.names == ("a",)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"count": 9}, "[probe] count: must be between 1 and 5, got 9"),
        ({"count": 2.0}, "[probe] count: must be an integer, got float 2.0"),
        (
            {"mode": "fastest"},
            "[probe] mode: must be one of fast, safe, got 'fastest' (did you mean fast?)",
        ),
        ({"ratio": "1"}, "[probe] ratio: must be a number, got '1'"),
        ({"names": ["a", 1]}, "[probe] names: must be an array of strings, got array ['a', 1]"),
        ({"where": ""}, "[probe] where: must be a file system path, got ''"),
        ({"token": 12345}, "[probe] token: must be a string, got integer"),
        ({"zzz": 1}, "[probe] zzz: unknown key (allowed: where, count, mode, ratio, names, token)"),
    ],
)
def test_declarations_drive_validation(raw: dict[str, Any], expected: str) -> None:
    assert probe_error(**raw) == f"/etc/evgw/probe.toml: {expected}"


def test_required_key_and_secret_repr() -> None:
    with pytest.raises(ConfigError, match=r"\[probe\] where: missing required key"):
        read_table(SCOPE, {}, Probe)
    probe = read_table(SCOPE, {"where": "out", "token": "hunter2"}, Probe)
    assert probe.token == "hunter2" and "hunter2" not in repr(probe)


def test_sections_use_their_declared_defaults() -> None:
    config = config_from_mapping(base(), FAKE)
    assert config.ledger == LedgerConfig(checkpoint_every=10, checkpoint_interval_s=600.0)
    assert config.recording == RecordingConfig()
