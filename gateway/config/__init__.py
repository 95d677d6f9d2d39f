"""The gateway's configuration, validated once at start (`load.py`; validators in `checks.py`)."""

from .load import (
    AGE_IDENTITY_MARK,
    CameraConfig,
    Config,
    DiscoveryConfig,
    GatewayConfig,
    KeysConfig,
    LedgerConfig,
    LocationConfig,
    MqttConfig,
    RecordingConfig,
    StorageConfig,
    UploadConfig,
    config_from_mapping,
    load_config,
    parse_config,
)

__all__ = [
    "AGE_IDENTITY_MARK",
    "CameraConfig",
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
