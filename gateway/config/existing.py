"""The configured data dir as a command that only reads needs it: there already."""

from __future__ import annotations

from evgw.errors import ConfigError
from evgw.i18n import _

from .model import Config


def existing_data_dir(config: Config) -> None:
    """Refuse a data dir that does not exist (a mistyped path must not read as "nothing")."""
    data_dir = config.gateway.data_dir
    if not data_dir.is_dir():
        if data_dir.exists():
            why = _(
                "{path} is not a folder; check the path (the gateway creates it when it first "
                "runs, `evgw run`)"
            )
        else:
            why = _(
                "{path} does not exist; check the path (the gateway creates it when it first "
                "runs, `evgw run`)"
            )
        raise ConfigError(f"{config.path}: [gateway] data_dir: {why.format(path=data_dir)}")
