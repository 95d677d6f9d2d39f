"""Key material on the gateway: the device signing key, the archive recipients, the operator
keys it obeys, and the guard that refuses to run next to a decryption key.

Three roles, three files: the device key (`device.ed25519`) signs the gateway's records; an
operator key (`operator.ed25519`, made and kept on the operator's machine) signs commands; the
archive identity decrypts, at the central archive only.

The device key lives outside every path the service may write (`/etc/evgw/keys`, root's,
0600). Under systemd the unit passes it with `LoadCredential=device.ed25519:…`, so the service
reads systemd's private copy from `$CREDENTIALS_DIRECTORY` and needs no access to the original.
Only the daemon's parent process loads it: camera processes never see it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from evgw.errors import ConfigError
from segments.agekeys import X25519Recipient, generate_identity, parse_recipient
from segments.signing import (
    Ed25519Signer,
    Signer,
    fingerprint,
    generate_signing_key,
    load_signer,
)
from uplink.command_check import Keyring

from .config import AGE_IDENTITY_MARK, KeysConfig

log = logging.getLogger(__name__)

DEVICE_KEY_NAME = "device.ed25519"
OPERATOR_KEY_NAME = "operator.ed25519"
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"
ARCHIVE_IDENTITY_NAME = "archive.agekey"
ARCHIVE_RECIPIENT_NAME = "archive.recipient"
_SCAN_LIMIT = 1 << 20


@dataclass(frozen=True)
class GatewayKeys:
    signer: Ed25519Signer
    recipients: tuple[X25519Recipient, ...]


def load_keys(keys: KeysConfig, config_path: Path, guarded: Iterable[Path]) -> GatewayKeys:
    """The signing key and recipients of `[keys]`, once no folder in `guarded` holds an identity."""
    refuse_identities(guarded)
    path = signing_key_path(keys.signing_key)
    if not path.exists():
        raise ConfigError(
            f"{config_path}: [keys] signing_key: {path} does not exist; create it with "
            f"`evgw keygen --out {path.parent}`"
        )
    recipients = tuple(parse_recipient(r) for r in keys.recipients)
    signer = load_signer(path)
    log.info("device signing key %s from %s", fingerprint(signer), path)
    return GatewayKeys(signer, recipients)


def signing_key_path(configured: Path, environ: Mapping[str, str] | None = None) -> Path:
    """systemd's credential `device.ed25519` when the service has one, else `[keys] signing_key`."""
    env = os.environ if environ is None else environ
    folder = env.get(CREDENTIALS_ENV)
    if folder:
        credential = Path(folder) / DEVICE_KEY_NAME
        if credential.is_file():
            return credential
    return configured


def refuse_identities(folders: Iterable[Path]) -> None:
    """No age identity may sit beside the gateway: a stolen box must decrypt nothing."""
    for folder in dict.fromkeys(folders):
        for path in _small_files(folder):
            if AGE_IDENTITY_MARK.encode() in path.read_bytes().upper():
                raise ConfigError(
                    f"{path} holds an age identity (AGE-SECRET-KEY-…): no decryption key may "
                    "live on the gateway; move it to the central archive, then start again"
                )


def _small_files(folder: Path) -> list[Path]:
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    files = []
    for path in entries:
        try:
            if path.is_file() and path.stat().st_size <= _SCAN_LIMIT and os.access(path, os.R_OK):
                files.append(path)
        except OSError:
            continue
    return files


def make_device_key(out: Path) -> tuple[Path, str]:
    """Create the device signing key (0600) and its `.pub`; returns the path and fingerprint."""
    path = out / DEVICE_KEY_NAME
    signer = generate_signing_key(path)
    path.with_name(path.name + ".pub").write_text(signer.public_key_text() + "\n")
    return path, fingerprint(signer)


def make_operator_key(out: Path) -> tuple[Path, Ed25519Signer]:
    """Create an operator's command signing key (0600) and its `.pub` (the line a gateway lists)."""
    path = out / OPERATOR_KEY_NAME
    signer = generate_signing_key(path)
    path.with_name(path.name + ".pub").write_text(signer.public_key_text() + "\n")
    return path, signer


def operator_keyring(operators: Iterable[str], device: Signer, config_path: Path) -> Keyring:
    """The operator keys `[commands]` lists; the device's own key may not be one of them."""
    keyring = Keyring.from_texts(operators)
    if device.key_id in keyring.keys:
        raise ConfigError(
            f"{config_path}: [commands] operators lists this gateway's own device key "
            f"({device.key_id}): operators sign commands with their own keys; make one with "
            "`evgw keygen --operator` on the operator's machine"
        )
    return keyring


def make_archive_identity(out: Path) -> tuple[Path, str]:
    """Create an age identity for the central archive (0600) and its recipient file."""
    identity, recipient = generate_identity()
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = out / ARCHIVE_IDENTITY_NAME
    created = datetime.now(UTC).isoformat(timespec="seconds")
    text = f"# created: {created}\n# public key: {recipient}\n{identity}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    (out / ARCHIVE_RECIPIENT_NAME).write_text(recipient + "\n")
    return path, recipient
