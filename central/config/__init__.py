"""The archive's configuration: one TOML file, validated once at start into typed records.

Declared with the same machinery as the gateway's (`evgw.config`); ``[store]`` is the
gateway's ``[upload]`` table, so both sides name the bucket and its credentials alike.
`config/central.example.toml` is generated from the declarations (`python -m
central.config.example > config/central.example.toml`).
"""

from .load import CentralConfig, load_central_config, parse_central_config

__all__ = ["CentralConfig", "load_central_config", "parse_central_config"]
