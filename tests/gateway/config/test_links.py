"""[mqtt] and [upload] become uplink settings at load time; their refusals name file and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evgw.config.fields import keys
from evgw.errors import ConfigError
from gateway.config import Config, config_from_mapping, load_config
from tests.gateway.config.sample import FAKE, VALID_TEXT, base, error_of, with_section
from uplink.config_tables import MqttTable, UploadTable
from uplink.errors import SettingsError
from uplink.settings import MqttSettings

UPLOAD = {"endpoint_url": "http://127.0.0.1:9000", "bucket": "evidence"}

# -- [mqtt] ----------------------------------------------------------------------------------


def test_mqtt_builds_the_link_settings(tmp_path: Path) -> None:
    (tmp_path / "mqtt.pass").write_text("broker-secret\n", encoding="utf-8")
    mqtt = {
        "host": "mqtt.example.gov",
        "tls": True,
        "ca_file": "ca.pem",
        "username": "gw-1",
        "password_file": "mqtt.pass",
        "health_interval_s": 5,
    }
    config = config_from_mapping({**base(), "mqtt": mqtt}, tmp_path / "evgw.toml")
    assert config.mqtt is not None
    assert config.mqtt.link == MqttSettings(
        host="mqtt.example.gov",
        port=8883,
        tls=True,
        ca_file=tmp_path / "ca.pem",
        username="gw-1",
        password="broker-secret",
        client_id="evgw-gw-1",
    )
    assert (config.mqtt.health_interval_s, config.mqtt.frozen_after_s) == (5.0, 30.0)
    assert "broker-secret" not in repr(config)


def test_mqtt_defaults() -> None:
    config = config_from_mapping(with_section("mqtt", host="127.0.0.1"), FAKE)
    assert config.mqtt is not None
    link = config.mqtt.link
    assert (link.port, link.tls, link.topic_root, link.keepalive_s, link.event_buffer) == (
        1883,
        False,
        "evgw",
        30,
        1000,
    )
    assert config_from_mapping(base(), FAKE).mqtt is None


def test_tls_off_with_ca_file_fails_at_load_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "evgw.toml"
    text = VALID_TEXT + '\n[mqtt]\nhost = "127.0.0.1"\ntls = false\nca_file = "ca.pem"\n'
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: [mqtt] ca_file: only used with tls = true: enable tls or leave ca_file out"
    )
    assert info.value.exit_code == 2
    assert isinstance(info.value.__cause__, SettingsError)


@pytest.mark.parametrize(
    ("mqtt", "expected"),
    [
        (
            {"cert_file": "c.pem"},
            "[mqtt] key_file: cert_file and key_file go together: set both or neither",
        ),
        (
            {"tls": False, "cert_file": "c.pem", "key_file": "k.pem"},
            "[mqtt] cert_file: only used with tls = true: enable tls or leave cert_file out",
        ),
        ({"password": "p"}, "[mqtt] username: missing; a password needs a username"),
        (
            {"username": "u", "password": "p", "password_file": "/p"},
            "[mqtt] password_file: set either password or password_file, not both",
        ),
        (
            {"topic_root": "evgw/#"},
            "[mqtt] topic_root: must be '/'-separated levels of letters, digits and _.-, "
            "got 'evgw/#'",
        ),
        (
            {"topic_root": "evgw site"},
            "[mqtt] topic_root: must be '/'-separated levels of letters, digits and _.-, "
            "got 'evgw site'",
        ),
        ({"port": 0}, "[mqtt] port: must be between 1 and 65535, got 0"),
        ({"keepalive_s": 4}, "[mqtt] keepalive_s: must be between 5 and 3600, got 4"),
        ({"host": ""}, "[mqtt] host: must not be empty"),
        ({"hots": "x"}, "[mqtt] hots: unknown key (did you mean host?)"),
    ],
)
def test_mqtt_errors(mqtt: dict[str, Any], expected: str) -> None:
    data = with_section("mqtt", **{"host": "127.0.0.1", "tls": True, **mqtt})
    assert error_of(data) == f"{FAKE}: {expected}"


def test_mqtt_password_is_never_echoed() -> None:
    message = error_of(with_section("mqtt", host="h", password="hunter2-secret"))
    assert "hunter2" not in message
    message = error_of(with_section("mqtt", host="h", username="u", password=123456))
    assert message == f"{FAKE}: [mqtt] password: must be a string, got integer"


# -- [upload] --------------------------------------------------------------------------------


def test_upload_builds_the_store_settings(tmp_path: Path) -> None:
    (tmp_path / "s3.key").write_text("AKIA-test\n", encoding="utf-8")
    (tmp_path / "s3.secret").write_text("s3-secret-value\n", encoding="utf-8")
    upload = {**UPLOAD, "access_key_file": "s3.key", "secret_key_file": "s3.secret"}
    config = config_from_mapping({**base(), "upload": {**upload, "workers": 4}}, tmp_path / "e")
    assert config.upload is not None and config.upload.workers == 4
    store = config.upload.store
    assert (store.endpoint_url, store.bucket, store.region) == (
        "http://127.0.0.1:9000",
        "evidence",
        "us-east-1",
    )
    assert (store.access_key, store.secret_key) == ("AKIA-test", "s3-secret-value")
    assert store.credentials_source == f"{tmp_path / 's3.key'} / {tmp_path / 's3.secret'}"
    assert (store.ca_file, store.retention_days, store.max_bytes_per_second) == ("", 365, 0)
    assert "s3-secret-value" not in repr(config) and "AKIA-test" not in repr(config)


def test_upload_inline_credentials_and_ca_file() -> None:
    upload = {**UPLOAD, "access_key": "a", "secret_key": "s", "ca_file": "ca.pem"}
    config = config_from_mapping({**base(), "upload": upload}, FAKE)
    assert config.upload is not None
    assert config.upload.store.ca_file == str(FAKE.parent / "ca.pem")
    assert config.upload.store.credentials_source == f"{FAKE} [upload] access_key / secret_key"


def test_upload_needs_exactly_one_credential_source() -> None:
    message = error_of({**base(), "upload": UPLOAD})
    assert "[upload] access_key: set exactly one of access_key or access_key_file" in message
    both = {**UPLOAD, "access_key": "a", "access_key_file": "/x", "secret_key": "s"}
    assert "set exactly one" in error_of({**base(), "upload": both})


def test_upload_endpoint_and_bucket_are_checked() -> None:
    upload = {"endpoint_url": "ftp://x", "bucket": "evidence", "access_key": "a", "secret_key": "s"}
    assert "[upload] endpoint_url: must be an http://" in error_of({**base(), "upload": upload})
    upload = {**upload, "endpoint_url": "http://127.0.0.1:9000", "bucket": "Evidence!"}
    assert "[upload] bucket: must be an S3 bucket name" in error_of({**base(), "upload": upload})


# -- fuzzing: only ConfigError escapes, also from the uplink settings ------------------------

VALID = {
    "mqtt": {"host": "127.0.0.1", "tls": True},
    "upload": {**UPLOAD, "access_key": "a", "secret_key": "s"},
}
TOML_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.lists(st.text(max_size=4), max_size=2),
)
SECTION_KEYS = st.sampled_from(
    [("mqtt", key.name) for key in keys(MqttTable)]
    + [("upload", key.name) for key in keys(UploadTable)]
)


@settings(max_examples=200, deadline=None)
@given(SECTION_KEYS, TOML_VALUES)
def test_arbitrary_values_only_raise_config_error(where: tuple[str, str], value: Any) -> None:
    section, key = where
    data = {**base(), section: {**VALID[section], key: value}}
    try:
        config = config_from_mapping(data, FAKE)
    except ConfigError:
        return
    assert isinstance(config, Config)
