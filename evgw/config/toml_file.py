"""Reading a configuration file: the same errors for the gateway's and the archive's."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..i18n import _


def read_config_text(path: Path) -> str:
    """The file's text (UTF-8, a BOM tolerated); ConfigError naming the file and the fix."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        reason = e.strerror or str(e)
        why = _("cannot read configuration file: {reason}; check the path and permissions")
        raise ConfigError(f"{path}: {why.format(reason=reason)}") from e
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        why = _("not valid UTF-8 (byte offset {offset}); save the file as UTF-8")
        raise ConfigError(f"{path}: {why.format(offset=e.start)}") from e


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """The TOML tables of `text`; a syntax error (or hostile nesting) is a ConfigError."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        why = _("TOML syntax error: {error}").format(error=e)
        raise ConfigError(f"{path}: {why}") from e
    except RecursionError as e:
        why = _("TOML syntax error: values nested too deeply")
        raise ConfigError(f"{path}: {why}") from e
