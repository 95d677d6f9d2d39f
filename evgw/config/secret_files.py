"""Secrets given inline or kept in files beside the configuration, read once at start.

A missing, empty or oversized secret file fails at start like any other configuration
mistake, naming the key and the secret file's path; the secret itself never appears in a
message.
"""

from __future__ import annotations

from pathlib import Path

from .fields import Scope

MAX_SECRET_BYTES = 4096
_HOLDING = {
    "access_key_file": "the S3 access key of the central store",
    "secret_key_file": "the S3 secret key of the central store",
    "recipients_file": "the archive's age recipients (age1…, one per line)",
    "operators_file": "the operators' public keys (ed25519:…, one per line)",
    "onvif_password_file": "the camera's ONVIF password",
}


def optional_secret(scope: Scope, key: str, inline: str | None, file: Path | None) -> str | None:
    """`key` inline or read from `key`_file, not both; None when neither is set."""
    if file is None:
        return inline
    if inline is not None:
        raise scope.error(f"{key}_file", f"set either {key} or {key}_file, not both")
    return read_secret(scope, f"{key}_file", file)


def required_secret(scope: Scope, key: str, inline: str | None, file: Path | None) -> str:
    """`key` inline or read from `key`_file: exactly one of them."""
    if inline is not None and file is None:
        return inline
    if inline is None and file is not None:
        return read_secret(scope, f"{key}_file", file)
    raise scope.error(key, f"set exactly one of {key} or {key}_file")


def read_secret(scope: Scope, key: str, path: Path) -> str:
    """The file's text without its trailing newline; `key` names it in messages."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_SECRET_BYTES + 1)
    except OSError as e:
        reason = e.strerror or str(e)
        message = f"cannot read {str(path)!r}: {reason}; create it or fix the path"
        raise scope.error(key, message) from e
    if len(raw) > MAX_SECRET_BYTES:
        raise scope.error(key, f"{str(path)!r} is larger than {MAX_SECRET_BYTES} bytes")
    try:
        secret = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as e:
        raise scope.error(key, f"{str(path)!r} is not valid UTF-8") from e
    if not secret:
        raise scope.error(key, f"{str(path)!r} is empty; write {_holding(scope, key)} into it")
    return secret


def _holding(scope: Scope, key: str) -> str:
    """What the file named by `key` should hold, for the message about an empty one."""
    if key in _HOLDING:
        return _HOLDING[key]
    if key != "password_file":
        return "the secret"
    owners = {"[mqtt]": "the broker password", "[discovery]": "the cameras' default password"}
    return owners.get(scope.label, "the camera's password")
