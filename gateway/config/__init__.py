"""The gateway's configuration: one TOML file, validated once at start into typed records.

`load_config` reads and checks the file and returns a frozen `Config`; any mistake is a
`ConfigError` naming the file, the key path and the reason (several at once: `ConfigProblems`,
one line each). Each key is declared once, with
its type, default, bounds, help text and example (`fields.setting`); the example file
`config/evgw.example.toml` is generated from those declarations (`python -m
gateway.config.example`).
"""

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
