"""A small valid configuration, as data and as text, and helpers to break it one key at a time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from evgw.errors import ConfigError
from gateway.config import config_from_mapping

REPO = Path(__file__).resolve().parents[3]
CONFIG_DIR = REPO / "config"
FAKE = Path("/nonexistent-evgw/evgw.toml")

RECIPIENT = "age1psu0mkw66qv2eje4tvzh4he0wvx7ylk8snut8mmuwd6n7zzt8a4q4zhyzm"

BASE: dict[str, Any] = {
    "gateway": {"id": "gw-1", "site": "某某检查站", "data_dir": "/var/lib/evgw"},
    "location": {"name": "某某检查站 一号卡口"},
    "keys": {"signing_key": "/var/lib/evgw/keys/device.ed25519", "recipients": [RECIPIENT]},
    "cameras": [
        {"id": "gate-1", "rtsp": "rtsp://127.0.0.1:8554/cam1"},
        {"id": "gate-2", "rtsp": "rtsp://127.0.0.1:8554/cam2"},
    ],
}

VALID_TEXT = """\
[gateway]
id = "gw-1"
site = "某某检查站"
data_dir = "/var/lib/evgw"

[location]
name = "一号卡口"

[keys]
signing_key = "keys/device.ed25519"
recipients = ["age1psu0mkw66qv2eje4tvzh4he0wvx7ylk8snut8mmuwd6n7zzt8a4q4zhyzm"]

[[cameras]]
id = "gate-1"
rtsp = "rtsp://127.0.0.1:8554/cam1"
"""


def base() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def error_of(data: dict[str, Any], path: Path = FAKE) -> str:
    with pytest.raises(ConfigError) as info:
        config_from_mapping(data, path)
    return str(info.value)


def with_camera(**changes: Any) -> dict[str, Any]:
    data = base()
    data["cameras"][0].update(changes)
    return data


def with_section(section: str, **changes: Any) -> dict[str, Any]:
    data = base()
    data.setdefault(section, {}).update(changes)
    return data
