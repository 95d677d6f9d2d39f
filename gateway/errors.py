"""Errors of the gateway package: configuration and command-line use."""

from evgw.errors import EvgwError, UsageError


class ConfigError(UsageError):
    """The configuration file is missing, malformed or invalid.

    The message names the file, the key path and the reason, e.g.
    ``/etc/evgw/evgw.toml: cameras[1].rtsp: must be an rtsp:// or rtsps:// URL, got 'http://x'``.
    """


__all__ = ["ConfigError", "EvgwError", "UsageError"]
