"""The gateway's configuration: one TOML file, validated once at start into typed records.

`load_config` reads and checks the file and returns a frozen `Config`; any mistake is a
`ConfigError` naming the file, the key path and the reason (several at once: `ConfigProblems`,
one line each). Each key is declared once, with
its type, default, bounds, help text and example (`fields.setting`); the example file
`config/evgw.example.toml` is generated from those declarations (`python -m
gateway.config.example`).

Names are imported on first use: a camera process unpickles its plan's records (`model`)
without loading the loader and what it checks with (X.509, RFC 3161).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uplink.config_tables import MqttConfig, UploadConfig

    from .commands import CommandsConfig
    from .load import AGE_IDENTITY_MARK, config_from_mapping, load_config, parse_config
    from .model import (
        CameraConfig,
        Config,
        DiscoveryConfig,
        GatewayConfig,
        KeysConfig,
        LedgerConfig,
        LocationConfig,
        RecordingConfig,
        StorageConfig,
    )

_HOME = {
    "MqttConfig": "uplink.config_tables",
    "UploadConfig": "uplink.config_tables",
    "CommandsConfig": f"{__name__}.commands",
    "AGE_IDENTITY_MARK": f"{__name__}.load",
    "config_from_mapping": f"{__name__}.load",
    "load_config": f"{__name__}.load",
    "parse_config": f"{__name__}.load",
    "CameraConfig": f"{__name__}.model",
    "Config": f"{__name__}.model",
    "DiscoveryConfig": f"{__name__}.model",
    "GatewayConfig": f"{__name__}.model",
    "KeysConfig": f"{__name__}.model",
    "LedgerConfig": f"{__name__}.model",
    "LocationConfig": f"{__name__}.model",
    "RecordingConfig": f"{__name__}.model",
    "StorageConfig": f"{__name__}.model",
}

__all__ = [
    "AGE_IDENTITY_MARK",
    "CameraConfig",
    "CommandsConfig",
    "Config",
    "DiscoveryConfig",
    "GatewayConfig",
    "KeysConfig",
    "LedgerConfig",
    "LocationConfig",
    "MqttConfig",
    "RecordingConfig",
    "StorageConfig",
    "UploadConfig",
    "config_from_mapping",
    "load_config",
    "parse_config",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
