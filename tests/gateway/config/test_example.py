"""The example file is generated from the key declarations, documents every key, and loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evgw.config import checks
from evgw.config.fields import keys, setting, table
from gateway.config import GatewayConfig, LocationConfig, RecordingConfig, parse_config
from gateway.config.example import render, render_section
from gateway.config.tables import SECTIONS, Section
from testbeds.pki import write_test_pki
from tests.gateway.config.sample import CONFIG_DIR

EXAMPLE = CONFIG_DIR / "evgw.example.toml"


def test_committed_example_is_generated() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == render(), (
        "config/evgw.example.toml is stale: run "
        "`python -m gateway.config.example > config/evgw.example.toml`"
    )


def test_example_loads(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in ("s3.key", "s3.secret", "mqtt.pass"):
        (tmp_path / name).write_text(f"{name}-value\n")
        text = text.replace(f"/etc/evgw/{name}", str(tmp_path / name))
    ca_file = write_test_pki(tmp_path / "pki")[0]
    text = text.replace("/etc/evgw/tsa-ca.pem", str(ca_file))
    config = parse_config(text, EXAMPLE)
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
