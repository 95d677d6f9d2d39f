"""The archive's configuration: the example is generated, documents every key and loads;
every mistake names the file, the key and (for trusted keys) the gateway."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, SSLError

from central.config import load_central_config, parse_central_config
from central.config.example import render
from central.config.tables import SECTIONS
from evgw.config.fields import keys
from evgw.errors import ConfigError
from segments.signing import generate_signing_key
from tests.support.paths import REPO
from uplink.s3_errors import store_error

EXAMPLE = REPO / "config" / "central.example.toml"
KEY = "ed25519:T6KRAmGU4tE88FqpEj0zWa5xSyll4ktaYLCmWcul1GU="
OTHER_KEY = "ed25519:3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def minimal(trust: str = f'keys = {{ "gw-1" = "{KEY}" }}', database: str = "catalog.db") -> str:
    return f"""
[store]
endpoint_url = "http://127.0.0.1:9000"
bucket = "evidence"
access_key = "a"
secret_key = "s"
[archive]
id = "hq"
identity_file = "archive.agekey"
[trust]
{trust}
[database]
url = "sqlite:///{database}"
"""


def test_committed_example_is_generated() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == render(), (
        "config/central.example.toml is stale: run "
        "`python -m central.config.example > config/central.example.toml`"
    )


def test_example_loads(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in ("s3.key", "s3.secret", "mqtt.pass"):
        (tmp_path / name).write_text(f"{name}-value\n")
        text = text.replace(f"/etc/evgw/{name}", str(tmp_path / name))
    with pytest.raises(ConfigError, match="REPLACE-WITH-S3-ENDPOINT"):
        parse_central_config(text, EXAMPLE)
    text = text.replace("REPLACE-WITH-S3-ENDPOINT", "https://oss.example.gov")
    text = text.replace("REPLACE-WITH-MQTT-BROKER", "mqtt.example.gov")
    config = parse_central_config(text, EXAMPLE)
    assert config.mqtt is not None and config.mqtt.password == "mqtt.pass-value"
    assert config.mqtt.client_id is None and "mqtt.pass-value" not in repr(config)
    assert config.desk is not None and config.desk.listen == "127.0.0.1:8080"
    assert config.desk.metrics_allow == ("127.0.0.1/32",) and config.desk.history_days == 30
    assert config.store.bucket == "evidence" and config.store.secret_key == "s3.secret-value"
    assert "s3.secret-value" not in repr(config)
    assert config.archive.id == "hq" and config.archive.settle_s == 3600.0
    assert config.trust.for_subject("gw-post-01") is not None
    assert config.trust.for_subject("gw-other") is None
    assert config.database.drivername == "sqlite"
    assert config.database.database == "/var/lib/evgw-central/catalog.db"
    assert config.witness is not None and config.witness.name == "archive.example.gov/witness"
    assert config.export is not None and config.tsa is not None


def test_example_documents_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for section in SECTIONS:
        body = text[text.index(f"\n[{section.name}]\n") :]
        for key in keys(section.declared):
            assert re.search(rf"^(# )?{key.name} = ", body, re.MULTILINE), (section.name, key)


def test_relative_sqlite_file_and_optional_sections(tmp_path: Path) -> None:
    config = parse_central_config(minimal(), tmp_path / "central.toml")
    assert config.database.database == str(tmp_path / "catalog.db")
    assert (config.witness, config.export, config.tsa) == (None, None, None)
    assert config.archive.identity_file == tmp_path / "archive.agekey"


def test_keys_dir_adds_gateways_and_rotated_keys(tmp_path: Path) -> None:
    folder = tmp_path / "gateways"
    folder.mkdir()
    rotated = generate_signing_key(tmp_path / "new.ed25519").public_key_text()
    (folder / "gw-1.pub").write_text(rotated + "\n")
    (folder / "gw-2.pub").write_text(generate_signing_key(tmp_path / "b").public_key_text())
    (folder / "README").write_text("not a key file: ignored")
    trust = f'keys = {{ "gw-1" = "{KEY}" }}\nkeys_dir = "gateways"'
    config = parse_central_config(minimal(trust), tmp_path / "central.toml")
    assert [k.public_key_text() for k in config.trust.subjects["gw-1"]] == [KEY, rotated]
    assert set(config.trust.subjects) == {"gw-1", "gw-2"}


@pytest.mark.parametrize(
    ("trust", "message"),
    [
        (
            'keys = { "gw-post-01" = "ed25519:nope" }',
            r"\[trust\] keys.gw-post-01: gateway gw-post-01: not a device public key",
        ),
        ('keys = { "gw/1" = "' + KEY + '" }', r"\[trust\] keys.gw/1: gateway id 'gw/1'"),
        ('keys = { "gw-1" = 7 }', r"\[trust\] keys: must be a table of strings"),
        ("", r"\[trust\] keys: set keys .* or keys_dir"),
        (
            'keys = { "a" = "' + KEY + '", "b" = "' + KEY + '" }',
            "gateway b has the same key as gateway a",
        ),
        ('keys_dir = "missing"', r"\[trust\] keys_dir: cannot list"),
    ],
)
def test_bad_trust_names_the_gateway(tmp_path: Path, trust: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_central_config(minimal(trust), tmp_path / "central.toml")
    assert str(caught.value).startswith(str(tmp_path / "central.toml"))


def test_a_bad_key_file_names_the_gateway_and_file(tmp_path: Path) -> None:
    folder = tmp_path / "gateways"
    folder.mkdir()
    (folder / "gw-9.pub").write_text(OTHER_KEY.replace("ed25519", "rsa"))
    with pytest.raises(ConfigError, match=r"keys_dir: gateway gw-9 in .*gw-9.pub: not a device"):
        parse_central_config(minimal('keys_dir = "gateways"'), tmp_path / "central.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            minimal(database="").replace('url = "sqlite:///"', 'url = "sqlite://"'),
            r"\[database\] url: name the SQLite file",
        ),
        (
            minimal().replace("sqlite:///catalog.db", "mysql://u:secret@h/db"),
            r"\[database\] url: database 'mysql' is not supported",
        ),
        (
            minimal().replace("sqlite:///catalog.db", "::not a url::"),
            r"\[database\] url: not a database URL",
        ),
        (
            minimal().replace('id = "hq"', 'id = "hq"\nsettle = 5'),
            r"\[archive\] settle: unknown key \(did you mean settle_s\?\)",
        ),
        (minimal().replace("[archive]\nid", "[archive]\nidx"), r"\[archive\] idx: unknown key"),
        (minimal() + "[witness]\nname = 'w'\n", r"\[witness\] signing_key: missing required key"),
        (minimal() + "[tsa]\nurl = 'ftp://x'\nca_file = 'c'\n", r"\[tsa\] url: must be an http"),
        (minimal().replace("[store]", "[stores]"), r"stores: unknown key"),
        (minimal().replace('secret_key = "s"', ""), r"\[store\] secret_key: set exactly one"),
        (
            minimal().replace("[database]", "[database]\nmax_object_bytes = 1"),
            r"\[database\] max_object_bytes: unknown",
        ),
        (minimal() + "[desk]\nlisten = '8080'\n", r"\[desk\] listen: must be host:port"),
        (minimal() + "[desk]\nmetrics_allow = ['10.0.0.300/8']\n", r"metrics_allow: not a net"),
        (minimal() + "[desk]\ntls_cert = 'c.pem'\n", r"\[desk\] tls_key: set tls_cert and"),
        (
            minimal() + "[mqtt]\nhost = 'b'\nhealth_interval_s = 5\n",
            r"\[mqtt\] health_interval_s: unknown key",
        ),
        (minimal() + "[mqtt]\nhost = 'b'\ntopic_root = 'a b'\n", r"\[mqtt\] topic_root: must"),
    ],
)
def test_mistakes_name_file_key_and_reason(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_central_config(text, tmp_path / "central.toml")
    assert "secret" not in str(caught.value).replace("secret_key", "")


def test_database_password_comes_from_its_file(tmp_path: Path) -> None:
    (tmp_path / "db.pass").write_text("s3cr3t\n")
    text = minimal().replace(
        'url = "sqlite:///catalog.db"',
        'url = "postgresql://archive@127.0.0.1:5432/catalog"\npassword_file = "db.pass"',
    )
    config = parse_central_config(text, tmp_path / "central.toml")
    assert config.database.drivername == "postgresql+psycopg"
    assert config.database.password == "s3cr3t" and "s3cr3t" not in repr(config)


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_central_config(tmp_path / "absent.toml")


def test_store_errors_name_the_archives_own_section(tmp_path: Path) -> None:
    """The archive reads the gateway's [upload] keys as [store]: its errors say [store]."""
    config = parse_central_config(minimal(), tmp_path / "central.toml")
    refused = ClientError({"Error": {"Code": "NoSuchBucket"}}, "ListObjectVersions")
    message = str(store_error(config.store, refused, "listing"))
    assert "fix [store] bucket" in message and "[upload]" not in message
    tls = str(store_error(config.store, SSLError(endpoint_url="https://x", error="bad"), "x"))
    assert "check [store] ca_file" in tls
