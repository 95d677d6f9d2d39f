"""Broker and store settings refuse what cannot work with a typed error naming the setting."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evgw.errors import EvgwError
from uplink.errors import SettingsError, UplinkError
from uplink.settings import MIN_PART_SIZE, MqttSettings, ObjectStoreSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("changes", "key", "reason"),
    [
        ({"host": ""}, "host", "must not be empty"),
        ({"port": 0}, "port", "must be between 1 and 65535, got 0"),
        (
            {"topic_root": "a/#"},
            "topic_root",
            "must be '/'-separated levels of letters, digits and _.-, got 'a/#'",
        ),
        ({"keepalive_s": 4}, "keepalive_s", "must be between 5 and 65535, got 4"),
        ({"reconnect_max_s": 0}, "reconnect_max_s", "must be at least 1, got 0"),
        ({"event_buffer": 0}, "event_buffer", "must be at least 1, got 0"),
        ({"password": "p"}, "username", "missing; a password needs a username"),
        (
            {"tls": True, "cert_file": Path("c.pem")},
            "key_file",
            "cert_file and key_file go together: set both or neither",
        ),
        (
            {"ca_file": Path("ca.pem")},
            "ca_file",
            "only used with tls = true: enable tls or leave ca_file out",
        ),
    ],
)
def test_mqtt_settings_refuse(changes: dict[str, Any], key: str, reason: str) -> None:
    with pytest.raises(SettingsError) as info:
        MqttSettings(**{"host": "127.0.0.1", **changes})
    assert (info.value.key, info.value.reason) == (key, reason)
    assert str(info.value) == f"invalid MQTT {key}: {reason}"
    assert isinstance(info.value, UplinkError) and isinstance(info.value, EvgwError)
    assert not isinstance(info.value, ValueError)
    assert info.value.exit_code == 2


def test_mqtt_settings_hide_the_password() -> None:
    assert "hunter2" not in repr(MqttSettings("h", username="u", password="hunter2"))


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"endpoint_url": ""}, "endpoint_url"),
        ({"bucket": ""}, "bucket"),
        ({"retention_days": -1}, "retention_days"),
        ({"max_bytes_per_second": -1}, "max_bytes_per_second"),
        ({"part_size": MIN_PART_SIZE - 1}, "part_size"),
        ({"multipart_threshold": MIN_PART_SIZE, "part_size": 2 * MIN_PART_SIZE}, "part_size"),
    ],
)
def test_object_store_settings_refuse(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(SettingsError) as info:
        ObjectStoreSettings(**{"endpoint_url": "http://127.0.0.1:1", "bucket": "b", **changes})
    assert info.value.key == key
    assert str(info.value).startswith(f"invalid object store {key}: ")


def test_object_store_settings_hide_credentials_and_give_retention() -> None:
    s = ObjectStoreSettings("http://127.0.0.1:1", "b", access_key="AKIA-x", secret_key="s3cr3t")
    assert "s3cr3t" not in repr(s) and "AKIA-x" not in repr(s)
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert s.retain_until(now) == now + timedelta(days=365)
    assert ObjectStoreSettings("http://h", "b", retention_days=0).retain_until(now) is None


def test_settings_and_the_config_load_neither_paho_nor_boto3() -> None:
    code = (
        "import sys, uplink.settings, gateway.config; "
        "assert not {'paho', 'boto3', 'botocore'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
