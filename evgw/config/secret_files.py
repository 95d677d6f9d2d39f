"""Secrets given inline or kept in files beside the configuration, read once at start.

A missing, empty or oversized secret file fails at start like any other configuration
mistake, naming the key and the secret file's path; the secret itself never appears in a
message.
"""

from __future__ import annotations

from pathlib import Path

from ..i18n import N_, _
from .fields import Scope

MAX_SECRET_BYTES = 4096
_HOLDING = {
    "access_key_file": N_("the S3 access key of the central store"),
    "secret_key_file": N_("the S3 secret key of the central store"),
    "recipients_file": N_("the archive's age recipients (age1…, one per line)"),
    "operators_file": N_("the operators' public keys (ed25519:…, one per line)"),
    "onvif_password_file": N_("the camera's ONVIF password"),
}
_PASSWORD_OWNERS = {
    "[mqtt]": N_("the broker password"),
    "[discovery]": N_("the cameras' default password"),
}


def optional_secret(scope: Scope, key: str, inline: str | None, file: Path | None) -> str | None:
    """`key` inline or read from `key`_file, not both; None when neither is set."""
    if file is None:
        return inline
    if inline is not None:
        raise scope.error(
            f"{key}_file", _("set either {key} or {key}_file, not both").format(key=key)
        )
    return read_secret(scope, f"{key}_file", file)


def required_secret(scope: Scope, key: str, inline: str | None, file: Path | None) -> str:
    """`key` inline or read from `key`_file: exactly one of them."""
    if inline is not None and file is None:
        return inline
    if inline is None and file is not None:
        return read_secret(scope, f"{key}_file", file)
    raise scope.error(key, _("set exactly one of {key} or {key}_file").format(key=key))


def read_secret(scope: Scope, key: str, path: Path) -> str:
    """The file's text without its trailing newline; `key` names it in messages."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_SECRET_BYTES + 1)
    except OSError as e:
        reason = e.strerror or str(e)
        message = _("cannot read {path!r}: {reason}; create it or fix the path")
        raise scope.error(key, message.format(path=str(path), reason=reason)) from e
    if len(raw) > MAX_SECRET_BYTES:
        message = _("{path!r} is larger than {limit} bytes")
        raise scope.error(key, message.format(path=str(path), limit=MAX_SECRET_BYTES))
    try:
        secret = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as e:
        message = _("{path!r} is not valid UTF-8")
        raise scope.error(key, message.format(path=str(path))) from e
    if not secret:
        message = _("{path!r} is empty; write {holding} into it")
        raise scope.error(key, message.format(path=str(path), holding=_holding(scope, key)))
    return secret


def _holding(scope: Scope, key: str) -> str:
    """What the file named by `key` should hold, for the message about an empty one."""
    if key in _HOLDING:
        return _(_HOLDING[key])
    if key != "password_file":
        return _("the secret")
    return _(_PASSWORD_OWNERS.get(scope.label, N_("the camera's password")))
