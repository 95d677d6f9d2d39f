"""Reading a configuration file: the same errors for the gateway's and the archive's."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..errors import ConfigError


def read_config_text(path: Path) -> str:
    """The file's text (UTF-8, a BOM tolerated); ConfigError naming the file and the fix."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        reason = e.strerror or str(e)
        raise ConfigError(
            f"{path}: cannot read configuration file: {reason}; check the path and permissions"
        ) from e
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"{path}: not valid UTF-8 (byte offset {e.start}); save the file as UTF-8"
        ) from e


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    """The TOML tables of `text`; a syntax error (or hostile nesting) is a ConfigError."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: TOML syntax error: {e}") from e
    except RecursionError as e:
        raise ConfigError(f"{path}: TOML syntax error: values nested too deeply") from e
