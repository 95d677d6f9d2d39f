"""The configured data dir as a command that only reads needs it: there already."""

from __future__ import annotations

from evgw.errors import ConfigError

from .model import Config


def existing_data_dir(config: Config) -> None:
    """Refuse a data dir that does not exist (a mistyped path must not read as "nothing")."""
    data_dir = config.gateway.data_dir
    if not data_dir.is_dir():
        what = "is not a folder" if data_dir.exists() else "does not exist"
        raise ConfigError(
            f"{config.path}: [gateway] data_dir: {data_dir} {what}; check the path (the "
            "gateway creates it when it first runs, `evgw run`)"
        )
