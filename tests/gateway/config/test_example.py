"""The example file is generated from the key declarations, documents every key, and loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evgw.config import checks
from evgw.config.fields import keys, setting, table
from evgw.config.problems import ConfigProblems
from gateway.config import GatewayConfig, LocationConfig, RecordingConfig, parse_config
from gateway.config.example import render, render_section
from gateway.config.tables import SECTIONS, Section
from testbeds.pki import write_test_pki
from tests.gateway.config.sample import CONFIG_DIR

EXAMPLE = CONFIG_DIR / "evgw.example.toml"
RECIPIENT = "age1psu0mkw66qv2eje4tvzh4he0wvx7ylk8snut8mmuwd6n7zzt8a4q4zhyzm"
ESCROW = "age1an47medwu6yuvw2d72vtsuhqpm6thluwz8tnlfvr7ggz6fzduazst2egy5"
OPERATOR = "ed25519:T6KRAmGU4tE88FqpEj0zWa5xSyll4ktaYLCmWcul1GU="


def test_committed_example_is_generated() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == render(), (
        "config/evgw.example.toml is stale: run "
        "`python -m gateway.config.example > config/evgw.example.toml`"
    )


PLACEHOLDERS = (
    ("[keys] recipients", "ARCHIVE-AGE-RECIPIENT with the central archive's age recipient"),
    ("[keys] recipients", "ESCROW-AGE-RECIPIENT with the offline escrow's age recipient"),
    ("[upload] endpoint_url", "S3-ENDPOINT with the URL of the central store's S3 API"),
    ("[mqtt] host", "MQTT-BROKER"),
    ("[tsa] url", "TSA-URL"),
    ("[commands] operators", "OPERATOR-PUBLIC-KEY with an operator's public key"),
    ("cameras[0].rtsp", "CAMERA-ADDRESS"),
    ("cameras[0].password", "CAMERA-PASSWORD"),
    ("cameras[1].rtsp", "CAMERA-ADDRESS"),
)


def test_untouched_example_is_refused_naming_every_placeholder() -> None:
    with pytest.raises(ConfigProblems) as info:
        parse_config(EXAMPLE.read_text(encoding="utf-8"), EXAMPLE)
    lines = info.value.problems
    for key, advice in PLACEHOLDERS:
        start = f"{EXAMPLE}: {key}: still the example's placeholder: "
        assert any(line.startswith(start) and f"REPLACE-WITH-{advice}" in line for line in lines)
    assert len(lines) == len(PLACEHOLDERS) - 1  # both recipients in one line


def filled_in(tmp_path: Path) -> str:
    """The example as an installer leaves it: every placeholder replaced, secret files written."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in ("s3.key", "s3.secret", "mqtt.pass"):
        (tmp_path / name).write_text(f"{name}-value\n")
        text = text.replace(f"/etc/evgw/{name}", str(tmp_path / name))
    ca_file = write_test_pki(tmp_path / "pki")[0]
    text = text.replace("/etc/evgw/tsa-ca.pem", str(ca_file))
    real = {
        "REPLACE-WITH-ARCHIVE-AGE-RECIPIENT": RECIPIENT,
        "REPLACE-WITH-ESCROW-AGE-RECIPIENT": ESCROW,
        "REPLACE-WITH-S3-ENDPOINT": "https://oss.example.gov",
        "REPLACE-WITH-MQTT-BROKER": "mqtt.example.gov",
        "REPLACE-WITH-TSA-URL": "https://tsa.example.gov/tsr",
        "REPLACE-WITH-OPERATOR-PUBLIC-KEY": OPERATOR,
        "REPLACE-WITH-CAMERA-ADDRESS": "192.0.2.10",
        "REPLACE-WITH-CAMERA-PASSWORD": "camera-password",
    }
    for stand_in, value in real.items():
        text = text.replace(stand_in, value)
    live = [line for line in text.splitlines() if not line.startswith("#")]
    assert not [line for line in live if "REPLACE-WITH-" in line]
    return text


def test_example_loads_once_filled_in(tmp_path: Path) -> None:
    config = parse_config(filled_in(tmp_path), EXAMPLE)
    assert config.keys.recipients == (RECIPIENT, ESCROW)
    assert config.cameras[0].password == "camera-password"
    assert config.tsa is not None and config.tsa.url == "https://tsa.example.gov/tsr"
    assert config.upload is not None and config.upload.store.secret_key == "s3.secret-value"
    assert config.mqtt is not None and config.mqtt.link.password == "mqtt.pass-value"
    assert (config.mqtt.link.tls, config.mqtt.link.port) == (True, 8883)
    assert "s3.secret-value" not in repr(config) and "mqtt.pass-value" not in repr(config)
    assert config.storage.on_full == "evict_unuploaded"
    assert config.gateway == GatewayConfig(
        "gw-post-01", "某某检查站", Path("/var/lib/evgw"), "Asia/Shanghai"
    )
    assert config.location == LocationConfig("某某检查站 一号卡口", 31.2, 121.5)
    assert config.recording == RecordingConfig(
        60, "burn_in", "libx264", "", "veryfast", 23, 10.0, 5.0
    )
    assert [c.id for c in config.cameras] == ["gate-1", "store-1", "yard-1"]
    assert config.discovery.interface == "eth1" and not config.discovery.auto_enroll
    yard = config.cameras[2]
    assert (yard.rtsp, yard.serial, yard.profile, yard.uses_onvif) == (
        None,
        "SN-0042-YARD",
        "MainStream",
        True,
    )


def test_example_documents_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for section in SECTIONS:
        header = f"[[{section.name}]]" if section.array else f"[{section.name}]"
        body = text[text.index(f"\n{header}\n") :]
        for key in keys(section.declared):
            assert re.search(rf"^(# )?{key.name} = ", body, re.MULTILINE), (section.name, key)


def test_help_default_and_bounds_reach_the_example() -> None:
    crf = "\n".join(
        [
            "# Constant rate factor; lower is better quality and larger files.",
            "# Integer, 0..51; default 23.",
            "crf = 23",
        ]
    )
    assert crf in render()


@table
class Probe:
    size: int = setting(default=4, help="How big.", check=checks.int_range(1, 8))
    label: str | None = setting(
        default=None, help="Shown as a commented line.", example="x", commented=True
    )


@table
class Unshowable:
    where: Path = setting(help="Required, and no example value to show.")


def test_a_declaration_renders_its_own_section() -> None:
    assert render_section(Section("probe", Probe, "A probe.")) == "\n".join(
        [
            "# A probe.",
            "[probe]",
            "# How big.",
            "# Integer, 1..8; default 4.",
            "size = 4",
            "# Shown as a commented line.",
            "# Text; optional.",
            '# label = "x"',
        ]
    )
    with pytest.raises(TypeError, match="where: declare an example value"):
        render_section(Section("unshowable", Unshowable, "Nothing to show."))
