"""Secrets given inline or kept in files beside the configuration, read once at start.

A missing, empty or oversized secret file fails at start like any other configuration
mistake, naming the key and the secret file's path; the secret itself never appears in a
message.
"""

from __future__ import annotations

from pathlib import Path

from .fields import Scope

MAX_SECRET_BYTES = 4096


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
        raise scope.error(key, f"{str(path)!r} is empty; write the camera's password into it")
    return secret
