"""Where the daemon finds its device key: systemd's credential when the unit passes one."""

from __future__ import annotations

from pathlib import Path

from gateway.config import KeysConfig
from gateway.keys import (
    CREDENTIALS_ENV,
    DEVICE_KEY_NAME,
    load_keys,
    make_device_key,
    signing_key_path,
)

CONFIGURED = KeysConfig(Path("/etc/evgw/keys/device.ed25519"), ())


def test_the_configured_key_without_systemd_credentials() -> None:
    assert signing_key_path(CONFIGURED.signing_key, {}) == CONFIGURED.signing_key


def test_the_credential_when_the_unit_passes_one(tmp_path: Path) -> None:
    (tmp_path / DEVICE_KEY_NAME).write_bytes(b"key")
    env = {CREDENTIALS_ENV: str(tmp_path)}
    assert signing_key_path(CONFIGURED.signing_key, env) == tmp_path / DEVICE_KEY_NAME


def test_other_credentials_leave_the_configured_key(tmp_path: Path) -> None:
    (tmp_path / "mqtt.pass").write_text("x")
    assert (
        signing_key_path(CONFIGURED.signing_key, {CREDENTIALS_ENV: str(tmp_path)})
        == CONFIGURED.signing_key
    )


def test_the_daemon_loads_the_credential_s_key(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    key, _ = make_device_key(tmp_path / "credentials")
    monkeypatch.setenv(CREDENTIALS_ENV, str(key.parent))
    keys = load_keys(
        KeysConfig(tmp_path / "missing" / DEVICE_KEY_NAME, ()), tmp_path / "x.toml", ()
    )
    expected = (key.parent / (DEVICE_KEY_NAME + ".pub")).read_text().strip()
    assert keys.signer.public_key_text() == expected
